"""``python -m core sweep EXPERIMENT --seeds 0-9 [--set NAME=V1,V2,...]... [--quick]
[--regime ours|paper] [--out DIR] [--scheduler ADDRESS] [--workers N] [--no-progress]``.

Everything the command line can get wrong is refused in one line before a run starts (as
``reproduce`` does, and with its messages for ``--set``); an unreachable ``--scheduler`` within
10 s. Exit codes: 0 every run finished, 1 some run failed (the others finished and the summary
is written), 2 bad usage (or Dask missing, or the scheduler unreachable), 130 Ctrl-C (the
finished runs are kept and summarised).
"""

from __future__ import annotations

import os
import sys

from ..arguments import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, PROG, REGIME_EXPERIMENTS,
                         check_regime_options, fail, positive_int)
from ..protocols import EXPERIMENTS
from ..protocols.common import REGIMES, OutputDirectoryError, _checked_output_path
from .plan import RATES_SEPARATOR, parse_seeds, plan_runs, sweep_setting
from .summary import SUMMARY_CSV, SUMMARY_HTML, row, write_csv, write_html
from .task import kept_outcome

FAILURES_LISTED = 10


def add_sweep_parser(commands):
    """Add the ``sweep`` command to ``commands`` (argparse sub-parsers)."""
    sweep = commands.add_parser(
        "sweep", help="run an experiment for many seeds and parameter values in parallel "
                      "(Dask) and summarise them in summary.csv and summary.html")
    sweep.add_argument("experiment", choices=sorted(EXPERIMENTS))
    sweep.add_argument("--seeds", type=parse_seeds, default=[0],
                       help="seeds: 0-9, 3 or 0,2,5 (default 0)")
    sweep.add_argument("--set", action="append", type=sweep_setting, default=[],
                       metavar="NAME=V1,V2,...", dest="settings",
                       help=f"{', '.join(REGIME_EXPERIMENTS)} only, repeatable: the values of a "
                            "model parameter to run (every combination with the other --set "
                            "and the seeds); learning-rate lists are separated by "
                            f"'{RATES_SEPARATOR}' (eta_IP='0.1,0.05{RATES_SEPARATOR}0.2,0.1')")
    sweep.add_argument("--quick", action="store_true", help="the --quick runs of reproduce")
    sweep.add_argument("--regime", choices=REGIMES, default=None,
                       help=f"{', '.join(REGIME_EXPERIMENTS)} only: as for reproduce")
    sweep.add_argument("--out", default=None,
                       help="directory of the runs and the summary (default: "
                            "results/sweep-EXPERIMENT[-paper][-quick]); a rerun skips the runs "
                            "finished there")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a running Dask scheduler (tcp://HOST:PORT) whose workers see --out "
                            "at the same path; default: a local cluster, one process per core")
    sweep.add_argument("--workers", type=positive_int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")


def sweep(parser, args, ctrl_c):
    """Run the sweep ``args`` asks for; returns the exit code (see the module docstring)."""
    check_regime_options(parser, args)
    if args.workers is not None and args.scheduler is not None:
        parser.error("--workers applies to the local cluster only, not with --scheduler")
    out = args.out if args.out is not None else (
        f"results/sweep-{args.experiment}{'-paper' if args.regime == 'paper' else ''}"
        f"{'-quick' if args.quick else ''}")
    try:
        out = _checked_output_path(out)
        runs = plan_runs(args.experiment, args.seeds, args.settings, quick=args.quick,
                         regime=args.regime, out=out)
    except OutputDirectoryError as exc:
        return fail(EXIT_USAGE, f"--out {exc}")
    except ValueError as exc:
        return fail(EXIT_USAGE, str(exc))
    try:
        from .engine import SchedulerUnreachable, dask_client, execute, print_dashboard
    except ImportError as exc:
        return fail(EXIT_USAGE, f"sweep needs Dask ({exc}); pip install -e \".[sweep]\"")

    outcomes = {run.name: kept_outcome(run.directory) for run in runs}
    outcomes = {name: outcome for name, outcome in outcomes.items() if outcome is not None}
    todo = [run for run in runs if run.name not in outcomes]
    news = (f"sweep: {len(runs)} runs into {out}: {len(outcomes)} finished earlier (kept), "
            f"{len(todo)} to run")

    def report(run, outcome):
        outcomes[run.name] = outcome

    interrupted = False
    try:
        if not todo:
            print(news, file=sys.stderr)
        else:
            with dask_client(args.scheduler, args.workers) as client:
                os.makedirs(out, exist_ok=True)
                print(news, file=sys.stderr)
                print_dashboard(client)
                execute(client, todo, report, ctrl_c=ctrl_c, show_progress=not args.no_progress)
    except SchedulerUnreachable as exc:
        return fail(EXIT_USAGE, str(exc))
    except OSError as exc:
        return fail(EXIT_USAGE, f"--out {out!r}: cannot create it: {exc.strerror or exc}")
    except KeyboardInterrupt:
        interrupted = True
        # a run that saved its results just as Ctrl-C came, but whose task did not report within
        # engine.STOP_WAIT_S, has finished all the same: its metrics.json is whole (a task that did
        # report such a run counted it itself, with its wall time: task.run_reproduce)
        for run in todo:
            if run.name not in outcomes and (finished := kept_outcome(run.directory)):
                outcomes[run.name] = {**finished, "status": "ok"}
    return _summarise(args, runs, outcomes, out, interrupted)


def _summarise(args, runs, outcomes, out, interrupted):
    """Write the summary of the runs that ended and say how the sweep went."""
    rows = [row(args.experiment, args.quick, run, outcomes[run.name])
            for run in runs if run.name in outcomes]
    swept = [parameter.name for parameter in args.settings]
    ok = sum(entries["status"] in ("ok", "kept") for entries in rows)
    kept = sum(entries["status"] == "kept" for entries in rows)
    failed = [entries for entries in rows if entries["status"] == "failed"]
    written = "nothing written"
    try:
        if rows:
            write_csv(os.path.join(out, SUMMARY_CSV), rows, swept)
            written = f"wrote {os.path.join(out, SUMMARY_CSV)}"
            title = (f"sweep of {args.experiment}{' --quick' if args.quick else ''}: "
                     f"{', '.join(swept) or 'seeds'}, mean ± s.d. over {len(args.seeds)} seeds")
            write_html(os.path.join(out, SUMMARY_HTML), rows, swept, args.experiment, title)
            written += f" and {SUMMARY_HTML}"
    except KeyboardInterrupt:
        interrupted = True
    except OSError as exc:
        return fail(EXIT_FAILURE, f"cannot write the summary into {out!r}: {exc}")
    for entries in failed[:FAILURES_LISTED]:
        print(f"failed: {entries['run_dir']}: {entries['error']}", file=sys.stderr)
    if len(failed) > FAILURES_LISTED:
        print(f"... and {len(failed) - FAILURES_LISTED} more failures", file=sys.stderr)
    counts = f"{ok} of {len(runs)} runs finished ({kept} kept), {len(failed)} failed"
    if interrupted:
        print(f"{PROG}: interrupted; {counts}; {written}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"sweep: {counts}; {written}")
    return EXIT_FAILURE if failed else 0
