"""Command line: ``python -m core reproduce EXPERIMENT [--quick] [--seed N] [--out DIR] [--dataset
NAME] [--epochs N] [--learners A,B,...] [--regime ours|paper] [--set NAME=VALUE]...``
(``--dataset``, ``--epochs`` and ``--learners`` for ``classification`` only, ``--regime`` and
``--set`` for ``self-prediction``, ``fig1`` and ``fig2``), and ``python -m core sweep EXPERIMENT
--seeds 0-9 [--set NAME=V1,V2,...]...``, many reproduce runs in parallel (:mod:`core.sweep`, which
documents its own exit codes).

Also installed as the ``dendritic-microcircuits`` console script.

What can go wrong is checked before the experiment starts, so that a mistake costs seconds, not
the hours of a paper-sized run: ``--out`` must name a directory that can be created or reused,
and the classification data set is loaded once (the run loads it again, a second or two). The
results are written into a hidden staging directory and moved into ``DIR`` at the end
(:class:`~core.protocols.common.OutputDirectory`): a failed or interrupted run leaves ``DIR``
as it was, and a rerun into an existing ``DIR`` replaces its ``metrics.json`` and
``figure.html`` and keeps every other file there.

Every error is one line on stderr, ``python -m core: error: ...`` (argparse puts the usage
before its own), and the exit code says what happened:

=====  ========================================================================================
0      the results were written
1      the run failed: data set unavailable or corrupt, divergence, a solver that did not
       converge, a file that could not be read or written
2      bad usage: an option argparse rejects, an unusable ``--out``, a value the experiment
       rejects
130    interrupted by Ctrl-C; one line says whether anything was written (CPython sometimes
       ends the process by SIGINT itself instead, python/cpython#128130, which a shell also
       reports as 130)
=====  ========================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

# Only light modules here: the experiments and NumPy take about half a second to import,
# and main imports them inside the block that turns Ctrl-C into one line.
from . import __version__
from .errors import ConvergenceError, DatasetUnavailableError, DivergenceError, FileFormatError
from .arguments import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, PROG, REGIME_EXPERIMENTS,
                        check_regime_options, fail, non_negative_int, parameter_setting,
                        positive_int, run_name)
from .protocols import EXPERIMENTS, get_runner
from .protocols.common import REGIMES, OutputDirectory, OutputDirectoryError

RUN_FAILURES = (DatasetUnavailableError, FileFormatError, DivergenceError, ConvergenceError,
                OSError, ImportError)
"""Exceptions that end a run with exit code 1 and a one-line message (ImportError: scikit-learn,
optional, is missing for the 8x8 digits)."""
SUMMARY_KEYS = ("experiment", "quick", "seed", "run_time_s", "initial_error", "final_error",
                "baselines", "apical_sq_before", "apical_sq_after", "angles_deg",
                "early_stopping")


def build_parser():
    from .io import data
    from .protocols.classification import DATASETS, LEARNERS, STEADY_STATE_FORMS

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Dendritic cortical microcircuits (Sacramento et al., NeurIPS 2018).")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    reproduce = commands.add_parser(
        "reproduce", help="run one experiment of the paper and write metrics.json and figure.html")
    reproduce.add_argument("experiment", choices=sorted(EXPERIMENTS))
    reproduce.add_argument("--quick", action="store_true",
                           help="classroom-size run (under a minute) instead of the paper-sized one")
    reproduce.add_argument("--seed", type=non_negative_int, default=0,
                           help="seed of every random generator (default 0)")
    reproduce.add_argument("--out", default=None,
                           help="output directory (default: "
                                "results/EXPERIMENT[-paper][-NAME=VALUE...][-quick]-seedN); "
                                "an existing one keeps its other files")
    reproduce.add_argument("--no-progress", action="store_true", help="no progress bar")
    reproduce.add_argument("--set", action="append", type=parameter_setting, default=[],
                           metavar="NAME=VALUE", dest="settings",
                           help=f"{', '.join(REGIME_EXPERIMENTS)} only, repeatable: a model "
                                "parameter's value instead of the regime's (a list of learning "
                                "rates as 0.1,0.05; a switch as true or false)")
    reproduce.add_argument("--regime", choices=REGIMES, default=None,
                           help=f"{', '.join(REGIME_EXPERIMENTS)} only: our calibrated values "
                                "(default) or the paper's (SM?) values at the paper's horizon")
    reproduce.add_argument("--dataset", choices=sorted(DATASETS), default=None,
                           help="classification only: data set (default: digits with --quick, "
                                "fashion-mnist otherwise; files are looked up in "
                                f"${data.ENV_DATA_DIR}/NAME/ if that is set)")
    from .sweep.command import add_sweep_parser  # imports only light modules, like this one
    add_sweep_parser(commands)
    reproduce.add_argument("--steady-state", choices=STEADY_STATE_FORMS, default=None,
                           dest="steady_state_form",
                           help="classification only: settle the microcircuits by the "
                                "self-consistent two passes (default) or as the paper's Sec. 3.4 "
                                "writes them")
    reproduce.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                           help="classification only: epochs of every learner, the cap of the "
                                "reported early stopping (default: the data set's, "
                                + ", ".join(f"{name} {full} ({quick} with --quick)"
                                            for name, (full, quick) in
                                            ((name, DATASETS[name]["epochs"])
                                             for name in sorted(DATASETS)))
                                + ")")
    reproduce.add_argument("--learners", type=learner_list, default=None, metavar="A,B,...",
                           help="classification only: train only these, comma-separated, on the "
                                "same images in the same order as all of them (default: "
                                f"all: {', '.join(LEARNERS)})")
    return parser


def learner_list(text):
    """``--learners``: comma-separated names of classification learners, in the order of
    :data:`~core.protocols.classification.LEARNERS`."""
    from .protocols.classification import check_learners

    try:
        return check_learners(name.strip() for name in text.split(",") if name.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv=None):
    """Entry point; returns the exit code (see the module docstring).

    Usage errors argparse detects itself end in ``SystemExit(2)`` after the usage text.
    """
    output = None
    try:
        with ctrl_c_remembered() as ctrl_c:
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command == "sweep":
                from .sweep.command import sweep
                return sweep(parser, args, ctrl_c)
            options = _experiment_options(parser, args)
            output = OutputDirectory(_out_dir(args))
            with output:
                if args.experiment == "classification":
                    _check_dataset(options.get("dataset"), args.quick)
                result = get_runner(args.experiment)(quick=args.quick, seed=args.seed,
                                                      show_progress=not args.no_progress,
                                                      **options)
                ctrl_c.honour()  # one the run swallowed: nothing written yet
                paths = output.save(result)
                ctrl_c.honour()  # one the figure rendering swallowed: the results are complete
        _print_summary(result.metrics, paths)
        return 0
    except KeyboardInterrupt:
        kept = output is not None and output.saved
        print(f"{PROG}: interrupted; "
              + (f"kept the complete results in {output.path}" if kept else "nothing written"),
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except OutputDirectoryError as exc:
        return fail(EXIT_USAGE, f"--out {exc}")
    except RUN_FAILURES as exc:  # before ValueError: FileFormatError is one
        return fail(EXIT_FAILURE, _describe(exc))
    except ValueError as exc:
        # Options reach the experiment only after argparse has checked them one by one; a
        # ValueError is the experiment rejecting what they ask for together.
        return fail(EXIT_USAGE, str(exc))


class _CtrlC:
    """Whether Ctrl-C was pressed, whatever became of its KeyboardInterrupt."""

    def __init__(self):
        self.pressed = False

    def handle(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt

    def honour(self):
        """Raise KeyboardInterrupt if Ctrl-C was pressed."""
        if self.pressed:
            raise KeyboardInterrupt


@contextlib.contextmanager
def ctrl_c_remembered():
    """Turn Ctrl-C into KeyboardInterrupt as Python does, and remember that it was pressed.

    Python code called from C can lose a KeyboardInterrupt: about one Ctrl-C in four, sent
    right after the start by ``tests/test_cli_robustness.py``, went unnoticed, and the run wrote
    its results and exited 0. Where Python loses it in a callback (a weak reference's, as an
    import releases its module lock, or a ``__del__``) it would also print it, as "Exception
    ignored in ..." with a traceback, before the run's own one-line message: such a
    KeyboardInterrupt is not printed, as the press is remembered. Left alone when SIGINT has
    another handler than Python's (``nohup``, a background job of a script: ignored) or outside
    the main thread, which cannot set one.
    """
    ctrl_c = _CtrlC()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield ctrl_c
        return
    unraisable = sys.unraisablehook

    def unless_interrupt(lost):
        if not isinstance(lost.exc_value, KeyboardInterrupt):
            unraisable(lost)

    signal.signal(signal.SIGINT, ctrl_c.handle)
    sys.unraisablehook = unless_interrupt
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = unraisable


def _experiment_options(parser, args):
    """Keyword arguments of the experiment's ``run`` beyond ``quick``, ``seed`` and progress."""
    options = {}
    for option, name in (("--dataset", "dataset"), ("--steady-state", "steady_state_form"),
                         ("--epochs", "epochs"), ("--learners", "learners")):
        if getattr(args, name) is None:
            continue
        if args.experiment != "classification":
            parser.error(f"{option} applies to the classification experiment only, not to "
                         f"{args.experiment!r}")
        options[name] = getattr(args, name)
    check_regime_options(parser, args)
    if args.regime is not None:
        options["regime"] = args.regime
    if args.settings:
        options["overrides"] = dict(args.settings)
    return options


def _out_dir(args):
    # ``is None``, not falsiness: ``--out ""`` is a mistake to report, not a wish for the default.
    if args.out is not None:
        return args.out
    # --epochs and --learners change what the run computes, as --set does: named like it, so
    # that runs with different values do not overwrite each other
    chosen = [(option, value) for option, value in
              (("epochs", args.epochs),
               ("learners", ",".join(args.learners) if args.learners else None))
              if value is not None]
    return "results/" + run_name(args.experiment, args.regime, [*args.settings, *chosen],
                                 args.quick, args.seed)


def _check_dataset(name, quick):
    """Load data set ``name`` (None: the experiment's default) once, so that missing or corrupt
    files stop the command at once.

    Raises
    ------
    core.errors.DatasetUnavailableError
        Saying, in terms of the command line, where to put the files.
    """
    from .io import data
    from .protocols.classification import DEFAULT_DATASET, load_split

    name = name or DEFAULT_DATASET[quick]
    try:
        with _log_held_unless_failed(data.log):
            load_split(name)
    except DatasetUnavailableError as exc:
        raise DatasetUnavailableError(_where_to_put(name, exc)) from None


def _where_to_put(name, exc):
    """The summary line of ``exc`` and what a command-line user can do about it.

    :mod:`core.io.data`'s own advice names ``cache_dir=``, a Python argument the command lacks.
    """
    from .io import data

    description = data.describe(name)
    files = ", ".join(spec.name for spec in description.files.values())
    ways = [f"put {files} into {data.cache_directory(name)}",
            f"put them into DIR/{name}/ and set {data.ENV_DATA_DIR}=DIR"]
    if description.install_hint:
        ways.append(f"run `{description.install_hint}`")
    ways.append("use --dataset digits, which needs no files")
    summary = str(exc).splitlines()[0]
    return f"{summary} To make it available, {'; or '.join(ways)}."


@contextlib.contextmanager
def _log_held_unless_failed(logger):
    """Hold ``logger``'s records during the block and emit them only if the block succeeds.

    A failed data-set check ends in one line that replaces the warnings about each mirror.
    """
    held = []

    def hold(record):
        held.append(record)
        return False

    logger.addFilter(hold)
    try:
        yield
    finally:
        logger.removeFilter(hold)
    for record in held:
        logger.handle(record)


def _describe(exc):
    """``exc`` in a few words: an OSError as its cause and file, anything else as its message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _print_summary(metrics, paths):
    summary = {key: value for key, value in metrics.items()
               if key in SUMMARY_KEYS and value not in (None, {})}
    if "regime" in metrics["protocol"]:
        summary["regime"] = metrics["protocol"]["regime"]
    print(json.dumps(summary, indent=2))
    print(f"wrote {paths['metrics']}" + (f" and {paths['figure']}" if paths["figure"] else ""))


if __name__ == "__main__":
    sys.exit(main())
