"""Command line: ``python -m core reproduce EXPERIMENT [--quick] [--seed N] [--out DIR]
[--dataset NAME]`` (``--dataset`` for ``classification`` only).

Also installed as the ``dendritic-microcircuits`` console script.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .experiments import EXPERIMENTS, get_runner
from .experiments.classification import DATASETS
from .experiments.common import save_result


DATASET_CHOICES = sorted(DATASETS)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Dendritic cortical microcircuits (Sacramento et al., NeurIPS 2018).")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    reproduce = commands.add_parser(
        "reproduce", help="run one experiment of the paper and write metrics.json and figure.html")
    reproduce.add_argument("experiment", choices=sorted(EXPERIMENTS))
    reproduce.add_argument("--quick", action="store_true",
                           help="classroom-size run (under a minute) instead of the paper-sized one")
    reproduce.add_argument("--seed", type=_non_negative_int, default=0,
                           help="seed of every random generator (default 0)")
    reproduce.add_argument("--out", default=None,
                           help="output directory (default: results/EXPERIMENT[-quick]-seedN)")
    reproduce.add_argument("--no-progress", action="store_true", help="no progress bar")
    reproduce.add_argument("--dataset", choices=DATASET_CHOICES, default=None,
                           help="classification only: data set (default: digits with --quick, "
                                "fashion-mnist otherwise)")
    return parser


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def main(argv=None):
    """Entry point; returns the exit code (2 for usage errors, as argparse does)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    options = {}
    if args.dataset is not None:
        if args.experiment != "classification":
            parser.error(f"--dataset applies to the classification experiment only, not to "
                         f"{args.experiment!r}")
        options["dataset"] = args.dataset
    out = args.out or f"results/{args.experiment}{'-quick' if args.quick else ''}-seed{args.seed}"
    result = get_runner(args.experiment)(quick=args.quick, seed=args.seed,
                                          show_progress=not args.no_progress, **options)
    paths = save_result(result, out)
    summary = {key: value for key, value in result.metrics.items()
               if key in ("experiment", "quick", "seed", "run_time_s", "initial_error",
                          "final_error", "baselines", "apical_sq_before", "apical_sq_after",
                          "angles_deg") and value not in (None, {})}
    print(json.dumps(summary, indent=2))
    print(f"wrote {paths['metrics']}" + (f" and {paths['figure']}" if paths["figure"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
