"""The compiled step is prepared off the caller's thread; until then ``compiled.backend()``
(what the live simulation runs on) names the NumPy path instead of waiting."""

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
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

    def slow_preparation(variant):
        release.wait(30)
        with compiled._lock:
            compiled._states[variant] = "ready"

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

    def broken(variant):
        with compiled._lock:
            compiled._states[variant] = RuntimeError("no compiler")

    monkeypatch.setattr(compiled, "_prepare", broken)
    assert compiled.backend() == "numpy"
    assert compiled.wait(30) == "failed"
    assert compiled.backend() == "numpy"


def test_a_network_with_thresholds_waits_for_its_own_variant_not_the_default(fresh, monkeypatch):
    pytest.importorskip("numba")
    release = threading.Event()
    started = []

    def slow_preparation(variant):
        started.append(variant)
        if variant[1]:
            release.wait(30)
        with compiled._lock:
            compiled._states[variant] = "ready"

    monkeypatch.setattr(compiled, "_prepare", slow_preparation)
    assert compiled.backend() == "numpy"
    assert compiled.wait(30) == "ready" and compiled.backend() == "numba"
    # a network with thresholds (e.g. an uploaded file) needs another compiled step
    assert compiled.backend(thresholds=True) == "numpy"
    assert compiled.status(thresholds=True) == "preparing"
    assert compiled.backend() == "numba"  # the default variant is not held up
    release.set()
    assert compiled.wait(30, thresholds=True) == "ready"
    assert compiled.backend(thresholds=True) == "numba"
    assert started == [(2, False), (2, True)]


@pytest.mark.parametrize("n_layers", [2, 3])
def test_the_prepared_variants_are_all_that_networks_of_their_depth_need(n_layers):
    """After both variants of a depth are prepared, no network of that depth -- any sizes, batch,
    rate function, with or without thresholds, learning or not -- compiles anything more: what
    ``compiled.backend`` calls ready never compiles on the caller's thread."""
    pytest.importorskip("numba")
    from core.model.network import Network
    from core.model.parameters import ModelParameters
    from core.simulate import twins
    from core.simulate.dynamics import run

    for thresholds in (False, True):
        compiled._compile(n_layers, thresholds)
    step = twins._twin_of_advance()
    prepared = len(step.signatures)
    rates = dict(eta_PP_up=[0.01] * n_layers, eta_IP=[0.01] * (n_layers - 1),
                 eta_PI=[0.01] * (n_layers - 1))
    for transfer, use_bias, batch in [("soft_rectifier", False, 1), ("logistic", True, 3),
                                      ("soft_rectifier", True, 2), ("logistic", False, 4)]:
        sizes = (5,) + (4,) * (n_layers - 1) + (3,)
        net = Network(sizes, ModelParameters(transfer=transfer, use_bias=use_bias, **rates),
                      seed=1)
        net.present(np.full((batch, 5), 0.5), np.zeros((batch, 3)))
        net.nudging = True
        assert compiled.variant(net) == (n_layers, use_bias)
        for learning in (False, True):
            run(net, 3, backend="numba", learning=learning)
    assert twins._twin_of_advance() is step
    assert len(step.signatures) == prepared


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
