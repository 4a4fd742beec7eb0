"""What the commands of ``python -m core`` (``reproduce``, ``sweep``) share: the program's name
and exit codes, reading ``--set NAME=VALUE``, the names of runs, and one-line errors.

A module of its own so that :mod:`core.cli` and :mod:`core.sweep` both use it without importing
each other.
"""

from __future__ import annotations

import argparse
import sys

PROG = "python -m core"
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd command
REGIME_EXPERIMENTS = ("self-prediction", "fig1", "fig2")
"""The experiments that run in either regime (``--regime``) and take ``--set``."""


def parameter_setting(text):
    """``NAME=VALUE`` of ``--set`` as ``(name, value)``, checked against
    :class:`~core.model.parameters.ModelParameters` (the name, the type and the bounds)."""
    from .model.parameters import ModelParameters, parameter_names

    name, equals, written = text.partition("=")
    name = name.strip()
    if not equals:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    if name not in parameter_names():
        raise argparse.ArgumentTypeError(
            f"unknown parameter {name!r}; choose one of {', '.join(parameter_names())}")
    kind = type(ModelParameters.param[name]).__name__
    written = written.strip()
    try:
        if kind == "PaperRates":
            value = [float(rate) for rate in written.split(",")]
        elif kind == "PaperBoolean":
            value = {"true": True, "false": False}[written.lower()]
        elif kind == "PaperSelector":
            value = written
        else:
            value = float(written)
        ModelParameters(**{name: value})
    except (ValueError, KeyError) as error:
        detail = str(error) if isinstance(error, ValueError) and "parameter" in str(error) else (
            "must be a list of numbers such as 0.1,0.05" if kind == "PaperRates" else
            "must be true or false" if kind == "PaperBoolean" else "must be a number")
        raise argparse.ArgumentTypeError(f"{name}={written!r}: {detail}") from None
    return name, value


def non_negative_int(text):
    """An ``argparse`` type: an integer >= 0."""
    return _integer_from(text, 0, "a non-negative integer")


def positive_int(text):
    """An ``argparse`` type: an integer >= 1."""
    return _integer_from(text, 1, "a positive integer")


def _integer_from(text, minimum, allowed):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
    return value


def check_regime_options(parser, args):
    """Refuse ``--regime`` and ``--set`` (``args.regime``, ``args.settings``) for an experiment
    that runs in one regime only, through ``parser.error``."""
    for option, given in (("--regime", args.regime is not None), ("--set", args.settings)):
        if given and args.experiment not in REGIME_EXPERIMENTS:
            parser.error(f"{option} applies to {', '.join(REGIME_EXPERIMENTS)} only, not to "
                         f"{args.experiment!r}")


def run_name(experiment, regime, settings, quick, seed):
    """The name of a run's directory: ``EXPERIMENT[-paper][-NAME=VALUE...][-quick]-seedN``.

    Parameters
    ----------
    experiment : str
    regime : str or None
    settings : list of (str, object)
        Parameter names and values, as :func:`parameter_setting` returns them, and the options
        that change what a run computes (``reproduce classification --epochs``, ``--learners``).
    quick : bool
    seed : int
    """
    regime = "-paper" if regime == "paper" else ""
    settings = "".join(f"-{name}={written(value)}" for name, value in settings)
    return f"{experiment}{regime}{settings}{'-quick' if quick else ''}-seed{seed}"


def written(value):
    """A parameter value as run names write it (6 significant digits, switches in lower case)."""
    if isinstance(value, list):
        return ",".join(f"{rate:g}" for rate in value)
    return f"{value:g}" if isinstance(value, float) else str(value).lower()


def fail(code, message):
    """Print ``message`` as one line, ``python -m core: error: ...``, on stderr; return ``code``."""
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return code
