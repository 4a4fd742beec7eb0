"""What every experiment shares: the metrics schema, atomic output files, progress bars."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field

from .. import __version__
from ..files import write_atomically

METRICS_SCHEMA = {
    "experiment": "name of the experiment (str)",
    "quick": "whether the --quick classroom-size protocol ran (bool)",
    "seed": "seed of every random generator of the run (int)",
    "package_version": "version of dendritic-microcircuits that produced the file (str)",
    "python_version": "Python version (str)",
    "run_time_s": "wall-clock time of the run in seconds (float)",
    "layer_sizes": "network architecture [n_0, ..., n_N] (list of int)",
    "parameters": "every ModelParameters value used (dict)",
    "protocol": "protocol settings: patterns, durations, data (dict)",
    "initial_error": "task error before learning (float or null when the experiment has none)",
    "final_error": "task error after learning (float or null)",
    "baselines": "final errors of the baselines, by name (dict; empty when none)",
    "apical_sq_before": "mean squared apical potential before learning (float or null)",
    "apical_sq_after": "mean squared apical potential after learning (float or null)",
    "angles_deg": "alignment angles in degrees, by name (dict; empty when none)",
    "measurements": "other measured values of this experiment, by name (dict)",
    "paper": "the numbers the paper reports for this experiment (dict)",
    "notes": "what differs from the paper and why (str)",
}
"""Documented keys of ``metrics.json``; every file has all of them."""


def validate_metrics(metrics):
    """Check that ``metrics`` has exactly the documented keys and JSON-safe, finite numbers.

    Raises
    ------
    ValueError
        Naming the missing or unexpected keys or the non-finite value.
    """
    missing = set(METRICS_SCHEMA) - set(metrics)
    extra = set(metrics) - set(METRICS_SCHEMA)
    if missing or extra:
        raise ValueError(f"metrics keys differ from METRICS_SCHEMA: missing {sorted(missing)}, "
                         f"unexpected {sorted(extra)}")
    _check_finite("metrics", metrics)
    return metrics


def _check_finite(path, value):
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} is {value!r}; metrics must be finite")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(f"{path}.{key}", item)
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(f"{path}[{i}]", item)


@dataclass
class Result:
    """What an experiment returns: its metrics, a HoloViews figure mirroring the paper's panel,
    and ``extra`` objects for notebooks (e.g. the trained network), which are not saved."""

    metrics: dict
    figure: object = None
    extra: dict = field(default_factory=dict)


def base_metrics(name, quick, seed, layer_sizes, params, protocol, paper, notes):
    """Metrics with the bookkeeping keys filled and the measurements empty."""
    return {
        "experiment": name, "quick": bool(quick), "seed": int(seed),
        "package_version": __version__, "python_version": platform.python_version(),
        "run_time_s": 0.0, "layer_sizes": list(layer_sizes),
        "parameters": params.values() if params is not None else {},
        "protocol": protocol, "initial_error": None, "final_error": None, "baselines": {},
        "apical_sq_before": None, "apical_sq_after": None, "angles_deg": {}, "measurements": {},
        "paper": paper,
        "notes": notes,
    }


def save_result(result, out_dir):
    """Write ``metrics.json`` and ``figure.html`` (standalone Bokeh) into ``out_dir``.

    Returns
    -------
    dict
        ``{"metrics": path, "figure": path or None}``.
    """
    validate_metrics(result.metrics)
    metrics_path = write_atomically(
        os.path.join(out_dir, "metrics.json"),
        lambda handle: json.dump(result.metrics, handle, indent=2, sort_keys=True))
    figure_path = None
    if result.figure is not None:
        from bokeh.embed import file_html
        from bokeh.resources import INLINE

        hv = holoviews()
        model = hv.render(result.figure, backend="bokeh")
        html = file_html(model, INLINE, title=f"{result.metrics['experiment']} (seed "
                                               f"{result.metrics['seed']})")
        figure_path = write_atomically(os.path.join(out_dir, "figure.html"),
                                       lambda handle: handle.write(html))
    return {"metrics": metrics_path, "figure": figure_path}


def holoviews():
    """HoloViews with its Bokeh backend loaded (needed before styling options are applied)."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the backend without output)

    return hv


def progress(iterable, *, total=None, desc="", enabled=True):
    """A tqdm progress bar with an ETA on stderr (a plain iterator when disabled)."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, unit="step", dynamic_ncols=True)


class Stopwatch:
    """Wall time since creation, in seconds."""

    def __init__(self):
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start
