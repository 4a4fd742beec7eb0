"""Simulating the model: the full time-continuous dynamics (:mod:`.euler`, run by
:mod:`.dynamics`, compiled from the same source by :mod:`.twins`), the steady-state approximation
(:mod:`.steady_state`) and the plasticity of the whole network (:mod:`.plasticity`)."""
