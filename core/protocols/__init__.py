"""Experiment protocols of the paper, each runnable as ``python -m core reproduce NAME``.

Every protocol is a function ``run(quick=False, seed=0, show_progress=True) -> Result`` whose
metrics follow :data:`~core.protocols.common.METRICS_SCHEMA` (``classification`` also takes
``dataset=``, ``steady_state_form=``, ``epochs=`` and ``learners=``).
"""

from importlib import import_module

EXPERIMENTS = {
    "self-prediction": "core.protocols.self_prediction",
    "fig1": "core.protocols.fig1",
    "fig2": "core.protocols.fig2",
    "theory": "core.protocols.theory",
    "classification": "core.protocols.classification",
}
"""Experiment name -> module with its ``run`` function."""


def get_runner(name):
    """The ``run`` function of experiment ``name``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}")
    return import_module(EXPERIMENTS[name]).run
