"""What every experiment shares: the metrics schema, all-or-nothing output directories,
progress bars."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field

from .. import __version__
from ..io.files import WRITER, remove_abandoned, write_atomically, writer

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
    "early_stopping": "by learner, the epoch (>= 1) of lowest validation error and the "
                      "validation and test errors there: best_epoch, validation_error, "
                      "test_error (dict; empty when the experiment has no epochs)",
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
        "apical_sq_before": None, "apical_sq_after": None, "angles_deg": {}, "early_stopping": {},
        "measurements": {},
        "paper": paper,
        "notes": notes,
    }


REGIMES = ("ours", "paper")
"""``--regime`` of self-prediction, fig1 and fig2: ``ours`` runs the values we calibrated so that
learning shows within seconds (each module says which and why); ``paper`` runs the paper's (SM?)
values (the presets ``fig-s1``, ``fig1``, ``fig2``: theta = 3, the SM rates, 100 ms patterns,
tau_0 = 3 ms) at the paper's horizon, so that both can be read side by side."""


def check_regime(regime):
    """Refuse a regime other than :data:`REGIMES` with a message naming it."""
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {list(REGIMES)}, got {regime!r}")


METRICS_FILE = "metrics.json"
FIGURE_FILE = "figure.html"
RESULT_FILES = (FIGURE_FILE, METRICS_FILE)
"""The files :meth:`OutputDirectory.save` writes, in the order a rerun moves them into place."""

_FALLBACK_NAME_MAX = 255  # Linux's and macOS's limit, for file systems pathconf cannot ask
_STAGING_NAME_CHARS = 32  # of the output's name kept in the staging name, which must fit too


class OutputDirectoryError(ValueError):
    """A path cannot receive results; ``reason`` says why.

    Attributes
    ----------
    path : str or path-like
        The path as given.
    reason : str
    """

    def __init__(self, path, reason):
        super().__init__(f"{os.fspath(path)!r}: {reason}")
        self.path = path
        self.reason = reason


class OutputDirectory:
    """Where one result will be saved: checked and prepared before the run, filled at its end.

    Creating it refuses a ``path`` that cannot receive results, then creates the missing parent
    directories and a hidden staging directory ``.NAME.HOST.PID.tmp-XXXXXXXX`` -- beside ``path``
    if ``path`` does not exist, inside it if it does (a rerun). Either way the staging directory
    lies where the final renames happen, so creating it proves that they are allowed. :meth:`save`
    writes into the staging directory, then moves the files into place:

    * ``path`` absent: the staging directory is renamed to ``path``, so a reader sees nothing
      or everything.
    * ``path`` present (a rerun): its ``metrics.json`` is removed first, ``figure.html`` is
      replaced (or removed, if the new result has no figure), and the new ``metrics.json`` is
      moved in last; every other file in ``path`` is kept. A ``metrics.json`` is thus never
      beside a ``figure.html`` of another run, even if the process is killed half-way.

    Ctrl-C (SIGINT) is held during these moves and delivered after them. Leaving a ``with``
    block without :meth:`save` (an exception, Ctrl-C), or calling :meth:`discard`, removes the
    staging directory and the parent directories created for it.

    Parameters
    ----------
    path : str or path-like

    Raises
    ------
    OutputDirectoryError
        If ``path`` is empty, is or lies under something that is not a directory, has a name
        longer than the file system allows, holds a ``metrics.json`` or ``figure.html`` that is
        a directory, or if the staging directory cannot be created (no permission, read-only
        file system, ...).

    Attributes
    ----------
    path : str
        The absolute path the results go to.
    staging : str or None
        The staging directory.
    saved : bool
        Whether :meth:`save` has moved the results into ``path``.
    """

    def __init__(self, path):
        self.path = _checked_output_path(path)
        self.staging = None
        self.saved = False
        self._created_parents = []
        where = self.path if os.path.isdir(self.path) else os.path.dirname(self.path)
        try:
            with _sigint_held():  # a staging directory created but not yet recorded would leak
                _make_missing_directories(where, self._created_parents)
                self.staging = _make_staging_directory(where, os.path.basename(self.path))
        except BaseException as exc:
            self.discard()
            if isinstance(exc, OSError):
                failed = os.path.dirname(exc.filename) if exc.filename else where
                raise OutputDirectoryError(
                    path, f"cannot write into {failed!r}: {exc.strerror or exc}") from None
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.saved:
            self.discard()

    def save(self, result):
        """Write ``metrics.json`` and ``figure.html`` (standalone Bokeh) and move them into place.

        Returns
        -------
        dict
            ``{"metrics": path, "figure": path or None}``.
        """
        validate_metrics(result.metrics)
        html = figure_html(result)  # the slow step, so the likeliest to be interrupted: first
        write_atomically(os.path.join(self.staging, METRICS_FILE),
                         lambda handle: json.dump(result.metrics, handle, indent=2, sort_keys=True))
        if html is not None:
            write_atomically(os.path.join(self.staging, FIGURE_FILE),
                             lambda handle: handle.write(html))
        with _sigint_held():
            self._move_into_place()
            self.saved = True
        return {"metrics": os.path.join(self.path, METRICS_FILE),
                "figure": os.path.join(self.path, FIGURE_FILE) if html is not None else None}

    def discard(self):
        """Remove the staging directory and the parent directories created for it."""
        with _sigint_held():
            if self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
            for directory in reversed(self._created_parents):
                try:
                    os.rmdir(directory)
                except OSError:  # someone else put something there meanwhile: theirs now
                    break
            self._created_parents.clear()

    def _move_into_place(self):
        if os.path.dirname(self.staging) != self.path:
            try:
                os.rename(self.staging, self.path)
                return
            # ``path`` was created by someone else since the check: merge as for a rerun.
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        _remove_if_present(os.path.join(self.path, METRICS_FILE))
        for name in RESULT_FILES:
            staged = os.path.join(self.staging, name)
            if os.path.lexists(staged):
                os.replace(staged, os.path.join(self.path, name))
            else:
                _remove_if_present(os.path.join(self.path, name))
        os.rmdir(self.staging)


def figure_html(result):
    """The figure of ``result`` as a standalone Bokeh HTML page, or None if it has none."""
    if result.figure is None:
        return None
    return standalone_html(result.figure,
                           f"{result.metrics['experiment']} (seed {result.metrics['seed']})")


def standalone_html(figure, title):
    """HoloViews ``figure`` as a standalone Bokeh HTML page (its scripts inlined) titled
    ``title``."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    return file_html(holoviews().render(figure, backend="bokeh"), INLINE, title=title)


def _checked_output_path(path):
    """``path`` made absolute; raises :class:`OutputDirectoryError` if it cannot hold results.

    Only looks: nothing is created.
    """
    text = os.fspath(path)
    if not text:
        raise OutputDirectoryError(path, "empty path")
    absolute = os.path.abspath(text)
    existing = absolute
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise OutputDirectoryError(path, "exists and is not a directory" if existing == absolute
                                   else f"{existing!r} is not a directory")
    if existing == absolute:
        for name in RESULT_FILES:
            if os.path.isdir(os.path.join(absolute, name)):
                raise OutputDirectoryError(path, f"its {name} is a directory; remove it or "
                                                 "choose another directory")
        return absolute
    name_max = _name_max(existing)
    for name in os.path.relpath(absolute, existing).split(os.sep):
        size = len(os.fsencode(name))
        if size > name_max:
            raise OutputDirectoryError(path, f"the name {name[:20]!r}... is {size} bytes long; "
                                             f"the file system allows at most {name_max}")
    return absolute


def _name_max(directory):
    """Longest file name, in bytes, that the file system of ``directory`` allows."""
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # AttributeError: Windows has no pathconf
        return _FALLBACK_NAME_MAX
    return limit if limit > 0 else _FALLBACK_NAME_MAX


def _make_missing_directories(directory, created):
    """Create ``directory`` and its missing parents, appending each one made to ``created``
    (outermost first) as it goes, so that a failure half-way can still be undone."""
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for path in reversed(missing):
        os.mkdir(path)
        created.append(path)


def _make_staging_directory(where, name):
    """Create a new directory ``.NAME.HOST.PID.tmp-XXXXXXXX`` in ``where`` and return its path.

    Unlike :func:`tempfile.mkdtemp`'s 0700, it gets the mode of a plain ``mkdir``, which it
    keeps when it becomes the results directory. A run killed outright (``kill -9``) cannot
    remove its staging directory, so the staging directories of ``NAME`` whose process on this
    host is gone are removed first (those of live processes, or of other hosts sharing the
    directory, are left alone).
    """
    name = name[:_STAGING_NAME_CHARS]
    abandoned = re.compile(re.escape(f".{name}.") + WRITER + r"tmp-[0-9a-f]{8}")
    remove_abandoned(where, abandoned, shutil.rmtree)
    for _ in range(100):
        path = os.path.join(where, f".{name}.{writer()}.tmp-{secrets.token_hex(4)}")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no unused staging directory name", where)


def _remove_if_present(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def _sigint_held():
    """Hold SIGINT (Ctrl-C) until the block has finished, then deliver it as usual.

    Keeps file moves that must happen together from being cut apart by a KeyboardInterrupt.
    Only the main thread may set signal handlers; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        # None: a handler installed outside Python, which cannot be restored; the default is
        # the closest.
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        if received:
            signal.raise_signal(signal.SIGINT)


def holoviews():
    """HoloViews with its Bokeh backend loaded (needed before styling options are applied)."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the backend without output)

    return hv


def progress(iterable, *, total=None, desc="", enabled=True, unit="step"):
    """A tqdm progress bar with an ETA on stderr (a plain iterator when disabled).

    ``iterable`` None gives a bar of ``total`` units advanced by hand (``update``), or None
    when disabled.
    """
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True)


def one_blas_thread():
    """A context in which NumPy's BLAS computes on one thread.

    The steady-state protocols multiply mini-batches by matrices of a few hundred thousand
    weights, where OpenBLAS starts a thread per core; those threads wait by spinning, so beside
    other busy processes (a shared classroom server, runs side by side, a sweep's workers) they
    slow every product instead of speeding it up (``benchmarks/README.md``). Inside this context
    the process's BLAS pool has one thread; on leaving it its size is restored.
    """
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


class Stopwatch:
    """Wall time since creation, in seconds."""

    def __init__(self):
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start
