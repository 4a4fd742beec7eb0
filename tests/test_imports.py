"""The architecture of ``core``: no import cycles, and nothing of the user interface.

Every ``import`` counts, also one inside a function: a cycle postponed into a function is still
one (two modules that each need the other), only harder to see.

The experiments (``core.protocols``) draw each result's standalone ``figure.html`` with
HoloViews and Bokeh; the rest of ``core`` -- the model, the simulators, the data -- imports no
plotting library, and no module of ``core`` imports Panel, IPython or the dashboard.
"""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
INTERFACE = ("panel", "app", "IPython", "param.ipython")
PLOTTING = ("bokeh", "holoviews")
FIGURES = "core.protocols"
"""The package whose modules may use :data:`PLOTTING`, for the results' figures."""


def _module_name(path):
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, modules):
    """``(modules of core, other top-level names)`` imported anywhere in the file at ``path``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    internal, external = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:  # "from . import storage" names a module
                submodule = f"{target}.{alias.name}"
                found = submodule if submodule in modules else target
                (internal if found in modules else external).add(found)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                (internal if alias.name in modules else external).add(alias.name)
    internal.discard(name)
    return internal, external


def _graph():
    paths = {_module_name(path): path for path in CORE.rglob("*.py")}
    return {name: _imports(path, paths) for name, path in paths.items()}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module][0]):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_core_has_no_import_cycle():
    graph = _graph()
    assert len(graph) > 20 and "core.simulate.dynamics" in graph["core.model.network"][0]  # the walk sees them
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": ({"b"}, set()), "b": ({"c"}, set()), "c": ({"a"}, set()), "d": (set(), set())}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    graph["c"] = (set(), set())
    assert _cycle(graph) is None


def _of(names, packages):
    return sorted(name for name in names
                  if any(name == top or name.startswith(top + ".") for top in packages))


def test_core_knows_nothing_of_the_user_interface():
    for module, (_, external) in _graph().items():
        assert _of(external, INTERFACE) == [], module
        if not module.startswith(FIGURES):
            assert _of(external, PLOTTING) == [], module
