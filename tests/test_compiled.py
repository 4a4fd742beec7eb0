"""The compiled step is prepared off the caller's thread; until then ``compiled.backend()``
(what the live simulation runs on) names the NumPy path instead of waiting."""

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from core.simulate import compiled


@pytest.fixture
def fresh(monkeypatch):
    """This process's preparation state as if nothing had been prepared yet."""
    for name in ("_states", "_threads"):
        monkeypatch.setattr(compiled, name, {})
    yield compiled
    compiled.wait(30)


def test_the_numpy_path_runs_until_the_compiled_step_is_prepared(fresh, monkeypatch):
    pytest.importorskip("numba")
    release = threading.Event()

    def slow_preparation(n_layers):
        release.wait(30)
        with compiled._lock:
            compiled._states[n_layers] = "ready"

    monkeypatch.setattr(compiled, "_prepare", slow_preparation)
    assert compiled.status() == "not started"
    assert compiled.backend() == "numpy"
    assert compiled.status() == "preparing"
    assert compiled.backend() == "numpy"  # one preparation only
    release.set()
    assert compiled.wait(30) == "ready"
    assert compiled.backend() == "numba"


def test_without_numba_or_after_a_failure_the_numpy_path_runs(fresh, monkeypatch):
    monkeypatch.setattr(compiled, "numba_installed", lambda: False)
    assert compiled.status() == "unavailable"
    assert compiled.backend() == "numpy"
    assert compiled.status() == "unavailable"

    monkeypatch.setattr(compiled, "numba_installed", lambda: True)

    def broken(n_layers):
        with compiled._lock:
            compiled._states[n_layers] = RuntimeError("no compiler")

    monkeypatch.setattr(compiled, "_prepare", broken)
    assert compiled.backend() == "numpy"
    assert compiled.wait(30) == "failed"
    assert compiled.backend() == "numpy"


APP = Path(__file__).resolve().parents[1] / "app"  # live.py


def test_a_live_simulation_does_not_wait_for_a_real_compilation(tmp_path):
    """In a fresh process with an empty numba cache, the first pieces of a live simulation run
    while the kernel compiles; once it is ready, the pieces run compiled."""
    pytest.importorskip("numba")
    script = textwrap.dedent("""
        from core.simulate import compiled
        from live import LiveSimulation

        simulation = LiveSimulation("fig1", seed=0)
        frame = simulation.advance(200)
        print("first piece:", compiled.status(), frame.error)
        print("after:", compiled.wait(600))
        assert compiled.backend() == "numba"
        print("then:", simulation.advance(200).error)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=900, env={"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin",
                                              "OMP_NUM_THREADS": "1", "PYTHONPATH": str(APP)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["first piece: preparing None", "after: ready",
                                          "then: None"]


def test_another_depth_is_prepared_off_the_callers_thread(fresh):
    """numba compiles the step once per depth: a deeper network (e.g. custom layer sizes in the
    dashboard) runs on the NumPy path until its step is ready, instead of compiling in the
    caller's thread."""
    pytest.importorskip("numba")
    import time

    assert compiled.backend(3) == "numpy"
    assert compiled.status(3) in ("preparing", "ready")
    deadline = time.monotonic() + 600
    while compiled.backend(3) != "numba":
        assert compiled.status(3) != "failed"
        assert time.monotonic() < deadline, "the step for 3 layers was not prepared in 600 s"
        time.sleep(0.2)
