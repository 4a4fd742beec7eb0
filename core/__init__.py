"""Dendritic cortical microcircuits (Sacramento, Costa, Bengio & Senn, NeurIPS 2018) in NumPy."""

__version__ = "0.1.0"
