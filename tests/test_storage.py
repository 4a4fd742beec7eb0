"""Save/load: exact round trip, atomic writes, clear errors for other versions and corrupt files."""

import json
import zipfile

import numpy as np
import pytest

from core.io import storage
from core.errors import FileFormatError
from core.model.network import Network
from core.model.parameters import ModelParameters


def _trained_network(use_bias=False):
    params = ModelParameters(sigma=0.2, use_bias=use_bias, transfer="logistic" if use_bias else
                             "soft_rectifier", eta_PP_up=[0.01], g_A=0.5)
    net = Network((5, 4, 3, 2), params, seed=11)
    net.present(np.random.default_rng(0).uniform(0, 1, (3, 5)), np.ones(2))
    net.nudging = True
    net.run(50, backend="numpy")
    return net


@pytest.mark.parametrize("use_bias", [False, True])
def test_round_trip_is_exact_and_continues_identically(tmp_path, use_bias):
    net = _trained_network(use_bias)
    path = storage.save(net, tmp_path / "net.npz")
    loaded = storage.load(path)
    assert loaded.sizes == net.sizes and loaded.nudging and loaded.params.values() == net.params.values()
    for (name, k, a), (name2, k2, b) in zip(net.weights.items(), loaded.weights.items()):
        assert (name, k) == (name2, k2)
        np.testing.assert_array_equal(a, b)
    for (_, _, a), (_, _, b) in zip(net.state.traces.items(), loaded.state.traces.items()):
        np.testing.assert_array_equal(a, b)
    assert loaded.state.time == net.state.time and loaded.state.steps == net.state.steps
    # the generator state travels too: both continue with the same noise
    net.run(30, backend="numpy")
    loaded.run(30, backend="numpy")
    for k in net.state.u_P:
        np.testing.assert_array_equal(net.state.u_P[k], loaded.state.u_P[k])


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    net = _trained_network()
    target = tmp_path / "net.npz"
    storage.save(net, target)
    original = target.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        storage.save(net, target)
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def _rewrite_header(path, **changes):
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(arrays["header"].tobytes())
    header.update(changes)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_other_format_version_is_refused(tmp_path):
    path = storage.save(_trained_network(), tmp_path / "net.npz")
    _rewrite_header(path, format_version=99)
    with pytest.raises(FileFormatError, match="format version 99.*reads version 1"):
        storage.load(path)


def test_corrupt_and_truncated_files_are_refused(tmp_path):
    path = storage.save(_trained_network(), tmp_path / "net.npz")
    data = open(path, "rb").read()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="not a readable network file"):
        storage.load(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(FileFormatError):
        storage.load(garbage)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.zeros(3))
    with pytest.raises(FileFormatError, match="no header"):
        storage.load(plain)


def test_misshapen_or_wrong_architecture_is_refused(tmp_path):
    path = storage.save(_trained_network(), tmp_path / "net.npz")
    with pytest.raises(FileFormatError, match=r"layer sizes \[5, 4, 3, 2\], expected \[5, 4, 2\]"):
        storage.load(path, expect_sizes=(5, 4, 2))
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["weights/W_up/1"] = np.zeros((3, 3))
    np.savez(path, **arrays)
    with pytest.raises(FileFormatError, match=r"'weights/W_up/1' has shape \(3, 3\)"):
        storage.load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        storage.load(tmp_path / "absent.npz")


def test_zip_member_corruption_is_reported(tmp_path):
    path = storage.save(_trained_network(), tmp_path / "net.npz")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.npy", b"\x93NUMPY garbage")
    with pytest.raises(FileFormatError):
        storage.load(path)


def test_a_save_removes_temporaries_abandoned_by_killed_writers_only(tmp_path):
    """``kill -9`` during a save leaves ``.net.npz.HOST.PID.RANDOM.part``; the next save of the same
    file removes it once PID is gone, and never touches a live writer's file or another file's."""
    import os
    import subprocess
    import sys
    import time

    from core.io import files

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    host = files._host()
    hour_ago = time.time() - 2 * files.LEGACY_TEMPORARY_AGE
    abandoned = [f".net.npz.{host}.{finished.pid}.abcd_123.part", ".net.npz.old12345.part"]
    kept = [f".net.npz.{host}.{os.getpid()}.abcd_123.part",     # a live writer (this process)
            f".net.npz.{host}.{os.getppid()}.x1y2z3w4.part",    # another live writer
            f".net.npz.other-host.{finished.pid}.abcd_123.part",  # on another machine: unknown
            ".net.npz.new12345.part",                            # old-style, written just now
            f".other.npz.{host}.{finished.pid}.abcd_123.part",   # another file's
            f".net.npz.bak.{host}.{finished.pid}.abcd_123.part",  # ... of net.npz.bak
            "net.npz.part"]
    for name in abandoned + kept:
        (tmp_path / name).write_bytes(b"partial")
    os.utime(tmp_path / ".net.npz.old12345.part", (hour_ago, hour_ago))
    storage.save(_trained_network(), tmp_path / "net.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["net.npz"])


def test_the_expected_arrays_are_those_a_network_has():
    for sizes in [(2, 1), (5, 4, 3, 2), (3, 1, 4, 1, 5)]:
        for use_bias in (False, True):
            net = Network(sizes, ModelParameters(use_bias=use_bias))
            net.present(np.ones((3, sizes[0])))
            arrays = storage._arrays(net)
            expected = {f"{kind}/{name}": shape for kind in ("weights", "traces")
                        for name, shape in storage._weight_shapes(sizes, use_bias).items()}
            expected.update({name: (3, width)
                             for name, width in storage._state_widths(sizes).items()})
            assert {name: a.shape for name, a in arrays.items()} == expected


def test_a_network_beyond_the_format_limits_is_not_saved(tmp_path, monkeypatch):
    net = _trained_network()
    monkeypatch.setattr(storage, "MAX_MEMBERS", 10)
    with pytest.raises(ValueError, match="cannot save this network: it has 28 arrays, at most 10"):
        storage.save(net, tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    net.seed = 2**130
    with pytest.raises(ValueError, match=r"seed 136112...\(40 digits\), at most 2\*\*128 - 1"):
        storage.to_bytes(net)


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs kill -9")
def test_the_temporary_of_a_save_killed_with_sigkill_is_removed_by_the_next_save(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    target = tmp_path / "net.npz"
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from core.io.files import write_atomically; "
         "write_atomically(sys.argv[1], lambda h: (h.write(b'x'), h.flush(), time.sleep(60)), "
         "binary=True)", str(target)], cwd=Path(__file__).resolve().parents[1])
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".net.npz.*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(list(tmp_path.glob(".net.npz.*.part"))) == 1
    storage.save(_trained_network(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
