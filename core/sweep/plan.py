"""What a sweep runs: the seeds and parameter values read from the command line, and their cross
product as :class:`Run` s, each with its own directory and ``reproduce`` arguments."""

from __future__ import annotations

import argparse
import itertools
import os
import re
from dataclasses import dataclass

from ..arguments import parameter_setting, run_name

MAX_RUNS = 10_000
"""More runs than this is a typing mistake (``--seeds 0-99999``), refused before anything starts."""
RATES_SEPARATOR = ";"
"""Between the values of a learning-rate list parameter, whose single value already uses commas
(``--set eta_IP=0.1,0.05;0.2,0.1``: two values)."""


def parse_seeds(text):
    """``--seeds`` as a list of seeds: ``0-9`` (a range, both ends included), ``3``, ``0,2,5``,
    or a mix such as ``0-3,7``.

    Raises
    ------
    argparse.ArgumentTypeError
        For an empty or malformed text, a range whose first seed exceeds its last, a seed listed
        twice, or more than :data:`MAX_RUNS` seeds.
    """
    seeds = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", item)
        if not match:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected seeds such as 0-9, 3 or 0,2,5 (non-negative integers)")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the range {item.strip()!r} is empty; write the smaller seed first")
        if len(seeds) + last - first + 1 > MAX_RUNS:
            raise argparse.ArgumentTypeError(f"{text!r}: more than {MAX_RUNS} seeds")
        seeds.extend(range(first, last + 1))
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(
            f"{text!r}: seed {repeated[0]} is listed twice; list each seed once")
    return seeds


@dataclass(frozen=True)
class SweptParameter:
    """One ``--set NAME=V1,V2,...``: the parameter's name, the values as written (passed on to
    ``reproduce`` verbatim, so that each run is exactly the ``reproduce`` command alone) and as
    read."""

    name: str
    texts: tuple
    values: tuple


def sweep_setting(text):
    """``NAME=V1,V2,...`` of ``sweep --set`` as a :class:`SweptParameter`, each value checked
    as ``reproduce --set`` checks it (:func:`core.arguments.parameter_setting`: name, type, bounds).

    Values of a learning-rate list are separated by :data:`RATES_SEPARATOR` instead of commas.

    Raises
    ------
    argparse.ArgumentTypeError
        Naming the parameter, the value and what is allowed.
    """
    from ..model.parameters import ModelParameters

    name, equals, written = text.partition("=")
    name = name.strip()
    if not equals:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE[,VALUE...], got {text!r}")
    kind = type(ModelParameters.param[name]).__name__ if name in ModelParameters.param else None
    texts = tuple(piece.strip() for piece in
                  written.split(RATES_SEPARATOR if kind == "PaperRates" else ","))
    values = tuple(parameter_setting(f"{name}={piece}")[1] for piece in texts)
    return SweptParameter(name, texts, values)


@dataclass(frozen=True)
class Run:
    """One ``reproduce`` run of a sweep.

    Attributes
    ----------
    name : str
        Its directory's name, as ``reproduce`` names a default output directory
        (:func:`core.arguments.run_name`).
    directory : str
        Absolute path of its output directory, inside the sweep's.
    seed : int
    values : tuple of (str, str)
        The swept parameters' names and values as written.
    arguments : tuple of str
        What follows ``python -m core reproduce``.
    """

    name: str
    directory: str
    seed: int
    values: tuple
    arguments: tuple


def plan_runs(experiment, seeds, swept, *, quick, regime, out):
    """The cross product of ``swept`` values and ``seeds``, values varying slowest.

    Parameters
    ----------
    experiment : str
    seeds : list of int
    swept : list of SweptParameter
    quick : bool
    regime : str or None
    out : str
        The sweep's directory (absolute).

    Raises
    ------
    ValueError
        If a parameter is swept twice, if two values of one parameter would share a run
        directory (``0`` and ``0.0``, or values equal to 6 digits), or if there are more than
        :data:`MAX_RUNS` runs.
    """
    names = [parameter.name for parameter in swept]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"--set {name} is given twice; list all its values in one --set")
    total = len(seeds)
    for parameter in swept:
        total *= len(parameter.values)
        _check_distinct_names(parameter, experiment, quick, regime)
    if total > MAX_RUNS:
        raise ValueError(f"{total} runs; a sweep runs at most {MAX_RUNS}")
    runs = []
    choices = [list(zip(p.texts, p.values)) for p in swept]
    for combination in itertools.product(*choices):
        for seed in seeds:
            settings = [(p.name, value) for p, (_, value) in zip(swept, combination)]
            name = run_name(experiment, regime, settings, quick, seed)
            directory = os.path.join(out, name)
            arguments = [experiment, "--seed", str(seed), "--out", directory, "--no-progress"]
            arguments += ["--quick"] if quick else []
            arguments += ["--regime", regime] if regime is not None else []
            for parameter, (text, _) in zip(swept, combination):
                arguments += ["--set", f"{parameter.name}={text}"]
            runs.append(Run(name, directory, seed,
                            tuple((p.name, text) for p, (text, _) in zip(swept, combination)),
                            tuple(arguments)))
    return runs


def _check_distinct_names(parameter, experiment, quick, regime):
    seen = {}
    for text, value in zip(parameter.texts, parameter.values):
        name = run_name(experiment, regime, [(parameter.name, value)], quick, 0)
        if name in seen:
            raise ValueError(
                f"--set {parameter.name}: the values {seen[name]!r} and {text!r} would share the "
                f"run directory {name[:-len('-seed0')]}-seedN; list each value once (run names "
                "keep 6 significant digits)")
        seen[name] = text
