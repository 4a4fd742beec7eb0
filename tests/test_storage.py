"""Save/load: exact round trip, atomic writes, clear errors for other versions and corrupt files."""

import json
import zipfile

import numpy as np
import pytest

from core import storage
from core.errors import FileFormatError
from core.network import Network
from core.parameters import ModelParameters


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
