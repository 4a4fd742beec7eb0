"""The model: its parameters, one function per equation of the paper, the rate functions, and the
network (sizes, weights, state). Data and mathematics only: no caches, no time stepping."""
