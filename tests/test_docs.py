"""Docstrings: every public equation function documents its equation; no stray control bytes."""

import importlib
import inspect
import pkgutil

import core
import core.protocols
from core.model import equations


def _modules():
    for package in (core, core.protocols):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            yield importlib.import_module(info.name)


def test_no_control_characters_in_docstrings():
    # a backslash escape in a non-raw docstring ("\f" in "\frac") silently becomes a control byte
    for module in _modules():
        for name, obj in [("<module>", module)] + list(vars(module).items()):
            doc = getattr(obj, "__doc__", None) if (obj is module or getattr(
                obj, "__module__", None) == module.__name__) else None
            if isinstance(doc, str):
                bad = [c for c in doc if ord(c) < 32 and c not in "\n\t"]
                assert not bad, f"{module.__name__}.{name} docstring contains {bad!r}"


def test_every_public_equation_function_shows_its_equation():
    for name, function in inspect.getmembers(equations, inspect.isfunction):
        if name.startswith("_") or function.__module__ != equations.__name__:
            continue
        assert function.__doc__ and "math:" in function.__doc__, name  # .. math:: or :math:
