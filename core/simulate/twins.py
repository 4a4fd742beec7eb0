"""The compiled back end: :func:`core.simulate.euler.advance`, the same source, compiled by numba.

Nothing here is a second implementation. :func:`advance` gives numba a *twin* of
:func:`core.simulate.euler.advance`: the same code object, with globals in which every function of
a ``core`` module it calls -- the equations of :mod:`core.model.equations`, the rate functions of
:mod:`core.model.transfer` -- is itself such a twin, compiled the same way. The twins are built
from whatever those modules hold when :func:`advance` is called: replace an equation function (edit
its source, or assign another function to ``core.model.equations.basal_potential``) and the next
call compiles the new one.

One exception, made for speed and kept in sight: a function with a ``compiled_form`` attribute is
compiled from that function instead, which sits next to it in the same module, computes the same
numbers (a test pins each pair, bit for bit) and differs only in how it walks the arrays
(:func:`core.simulate.euler.consolidate`: one loop over the weights where NumPy needs whole-array
operations).

Compilation takes a few seconds the first time; numba then keeps the machine code on disk
(README) and later processes load it. The cache key includes a hash of the source of every
module involved, so an edited equation is never served from a stale cache, and twins of
functions that are not in their module's source (a monkeypatch) are not cached at all.

Both back ends compute the same trajectory (``tests/test_backends.py`` bounds their difference).
:mod:`core.simulate.compiled` prepares the compiled one off an interactive caller's thread.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
import threading
import types

_lock = threading.Lock()
_built = {}  # key (see _key) -> (twin of core.simulate.euler.advance, its watch list)
_latest = None  # the (twin, watch list) used last
KEPT = 4
"""Sets of twins kept (each compiled on first use): switching an equation back and forth, as a
notebook or a test does, reuses them instead of compiling again."""

PACKAGE = __name__.split(".")[0]
"""``core`` (or another name, when a benchmark loads a second copy of the package)."""
STEP = f"{PACKAGE}.simulate.euler"
SOURCES = (STEP, f"{PACKAGE}.model.equations", f"{PACKAGE}.model.transfer")
"""The modules whose functions the step calls: replacing one of their functions recompiles."""


def advance(*args):
    """:func:`core.simulate.euler.advance`, compiled (same arguments and results)."""
    return _twin_of_advance()(*args)


def _key():
    """What the twins were built from: every function the step may call, by identity."""
    return tuple(id(value) for module in SOURCES
                 for value in vars(sys.modules[module]).values()
                 if isinstance(value, types.FunctionType))


def _twin_of_advance():
    global _latest
    latest = _latest
    # the fast path of every block: the names the last twins were built from still hold the
    # same functions (a few dozen lookups, where _key reads every function of three modules)
    if latest is not None and all(namespace.get(name) is value
                                  for namespace, name, value in latest[1]):
        return latest[0]
    from . import euler  # loads every module of SOURCES; only that is wanted
    del euler  # (pyflakes ignores noqa: a del is what tells it the import is meant)

    key = _key()
    with _lock:
        if key not in _built:
            if len(_built) >= KEPT:  # the oldest set goes (dicts keep their insertion order)
                del _built[next(iter(_built))]
            twins = _Twins()
            _built[key] = (twins.function(twins.root), tuple(twins.watched.values()))
        _latest = _built[key]
        return _latest[0]


class _Twins:
    """Builds numba twins of core functions, each once, sharing one namespace of twins."""

    def __init__(self, root=None):
        """``root``: the function called from Python (the step; a test may compile another)."""
        import numba

        self.numba = numba
        self.root = sys.modules[STEP].advance if root is None else root
        self.functions = {}
        self.modules = {}
        self.defined = {}  # module name -> the function names its source defines
        # (namespace, name, value) of every name the twins are built from, by (namespace, name)
        self.watched = {}
        self._watch(vars(sys.modules[self.root.__module__]), self.root.__name__, self.root)
        reached = self._reach([self.root])
        # numba's cache does not tell a function compiled with a wrapper for Python from one
        # without: twins of another root must not share the step's cache
        self.cache = root is None and all(_in_its_module(f) for f in reached)
        digest = hashlib.sha1()
        for module in sorted({f.__module__ for f in reached if _is_core_name(f.__module__)}):
            digest.update(inspect.getsource(sys.modules[module]).encode())
        self.suffix = digest.hexdigest()[:12]

    def _reach(self, roots):
        """Every function a call of ``roots`` may reach through core functions and modules."""
        seen, stack = set(), list(roots)
        while stack:
            function = stack.pop()
            if function in seen:
                continue
            seen.add(function)
            for name, value in function.__globals__.items():
                if self._twinned(function, name, value):
                    self._watch(function.__globals__, name, value)
                    stack.append(value)
                elif _is_core_module(value):
                    self._watch(function.__globals__, name, value)
                    for attribute, v in vars(value).items():
                        if isinstance(v, types.FunctionType):
                            self._watch(vars(value), attribute, v)
                            stack.append(v)
        return seen

    def _watch(self, namespace, name, value):
        self.watched[id(namespace), name] = (namespace, name, value)

    def _twinned(self, caller, name, value):
        """Whether the global ``name`` of ``caller`` gets a twin: a function of the package, or
        whatever now stands where the caller's module defines a function of that name (a
        replacement defined elsewhere, e.g. in a notebook)."""
        if not isinstance(value, types.FunctionType):
            return False
        return _is_core_function(value) or name in self._defined_functions(caller.__module__)

    def _defined_functions(self, module_name):
        """Names of the functions the source of module ``module_name`` defines at top level."""
        if module_name not in self.defined:
            names = ()
            if _is_core_name(module_name):
                tree = ast.parse(inspect.getsource(sys.modules[module_name]))
                names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
            self.defined[module_name] = names
        return self.defined[module_name]

    def function(self, function):
        if function in self.functions:
            return self.functions[function]
        source = getattr(function, "compiled_form", function)  # see the module docstring
        namespace = dict(source.__globals__)
        clone = types.FunctionType(source.__code__, namespace, function.__name__,
                                   source.__defaults__, source.__closure__)
        clone.__kwdefaults__ = source.__kwdefaults__
        clone.__module__ = function.__module__
        # numba's cache is keyed by module and qualified name: the hash of the sources makes
        # an edit of any module involved a new entry
        clone.__qualname__ = f"{function.__qualname__}_{self.suffix}"
        # only the step is called from Python: the others need no wrapper for it, and no cache
        # of their own (the step's cached machine code holds theirs; writing ~45 more cache
        # entries cost a part of the first compilation)
        root = function is self.root
        twin = self.numba.njit(cache=root and self.cache, error_model="numpy",
                               no_cpython_wrapper=not root)(clone)
        self.functions[function] = twin
        for name, value in source.__globals__.items():
            if self._twinned(source, name, value):
                namespace[name] = self.function(value)
            elif _is_core_module(value):
                namespace[name] = self.module(value)
        return twin

    def module(self, module):
        """A stand-in for ``module`` (as in ``eq.basal_potential``) holding the twins of its
        functions; numba reads a module's attributes when it compiles."""
        if module not in self.modules:
            stand_in = types.ModuleType(module.__name__)
            self.modules[module] = stand_in
            for name, value in vars(module).items():
                if isinstance(value, types.FunctionType):
                    setattr(stand_in, name, self.function(value))
        return self.modules[module]


def _is_core_function(value):
    return isinstance(value, types.FunctionType) and _is_core_name(value.__module__)


def _is_core_module(value):
    return isinstance(value, types.ModuleType) and _is_core_name(value.__name__)


def _is_core_name(module_name):
    return (module_name or "").startswith(PACKAGE + ".")


def _in_its_module(function):
    """Whether ``function`` is what its module's source defines (not a replacement)."""
    module = sys.modules.get(function.__module__ or "")
    return (module is not None and _is_core_name(function.__module__)
            and getattr(module, function.__name__, None) is function)


def numba_installed():
    try:
        import numba
    except ImportError:
        return False
    del numba  # only whether it imports counts
    return True
