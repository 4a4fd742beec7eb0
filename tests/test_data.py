"""Data loading: IDX parsing and its errors, offline-first lookup, checked downloads from a real
local HTTP server, clear instructions when offline, and the real Fashion-MNIST if installed."""

import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from core.io import data
from core.errors import DatasetUnavailableError, FileFormatError

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


# ---------------------------------------------------------------------------------------------
# Fixture files
# ---------------------------------------------------------------------------------------------

def idx_bytes(array):
    """The bytes of a real IDX file holding ``array`` (header, then big-endian data)."""
    array = np.asarray(array)
    header = bytes([0, 0, TYPE_CODES[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, *, compress=True):
    raw = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return Path(path)


def tiny_arrays(seed=0):
    """A 12-image training set and 5-image test set, MNIST-shaped."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train_labels": np.arange(12, dtype=np.uint8) % 10,
        "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "test_labels": np.array([3, 1, 4, 1, 5], dtype=np.uint8),
    }


NAMES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real HTTP server on 127.0.0.1 serving ``good/`` (correct files), ``bad/`` (one corrupt
    file), ``truncated/`` (connection dropped mid-body) and nothing else (404)."""
    root = tmp_path_factory.mktemp("served")
    arrays = tiny_arrays()
    (root / "good").mkdir()
    (root / "bad").mkdir()
    for role, name in NAMES.items():
        write_idx(root / "good" / name, arrays[role])
        body = bytearray((root / "good" / name).read_bytes())
        if role == "train_images":
            body[len(body) // 2] ^= 0xFF
        (root / "bad" / name).write_bytes(bytes(body))
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            if self.path.startswith("/truncated/"):
                body = (root / "good" / self.path.rsplit("/", 1)[1]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {"url": base, "root": root, "arrays": arrays, "requests": requests}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def tiny_description(served, *, system_dirs=(), install_hint=""):
    """A description of the served fixture files, checked by their real SHA-256."""
    files = {}
    for role, name in NAMES.items():
        body = (served["root"] / "good" / name).read_bytes()
        files[role] = data.IdxFile(name, served["arrays"][role].shape,
                                   (hashlib.sha256(body).hexdigest(),))
    return data.DatasetDescription("tiny", "Tiny", files, (), system_dirs, install_hint)


def leftovers(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


# ---------------------------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip_images_and_labels(tmp_path, compress):
    arrays = tiny_arrays()
    for role, array in arrays.items():
        path = write_idx(tmp_path / f"{role}.idx", array, compress=compress)
        out = data.read_idx(path, expected_shape=array.shape)
        assert out.dtype == np.uint8 and out.shape == array.shape
        np.testing.assert_array_equal(out, array)
        out[0] = 0  # the result is an ordinary writable array


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_big_endian_types_come_back_native(tmp_path, dtype):
    array = (np.arange(-30, 30).reshape(3, 4, 5) * 997).astype(dtype)
    out = data.read_idx(write_idx(tmp_path / "x.idx", array))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_compression_is_detected_by_content_not_name(tmp_path):
    labels = tiny_arrays()["train_labels"]
    raw_named_gz = write_idx(tmp_path / "labels.gz", labels, compress=False)
    gz_named_raw = write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True)
    np.testing.assert_array_equal(data.read_idx(raw_named_gz), labels)
    np.testing.assert_array_equal(data.read_idx(gz_named_raw), labels)


def _bad(tmp_path, body, compress=False):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(gzip.compress(body, mtime=0) if compress else body)
    with pytest.raises(FileFormatError) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_payload_is_reported_with_sizes(tmp_path, compress):
    good = idx_bytes(tiny_arrays()["train_images"])
    message = _bad(tmp_path, good[:16 + 1000], compress)
    assert f"expected {12 * 28 * 28} bytes of uint8 data" in message and "found 1000" in message
    assert "truncated" in message


def test_trailing_bytes_are_an_error(tmp_path):
    good = idx_bytes(tiny_arrays()["train_labels"])
    message = _bad(tmp_path, good + b"\0\0\0")
    assert "expected 12 bytes" in message and "found 15" in message and "trailing" in message


@pytest.mark.parametrize("head", [b"\x01\x00\x08\x01", b"\x00\x07\x08\x01", b"PK\x03\x04"])
def test_wrong_magic(tmp_path, head):
    good = idx_bytes(tiny_arrays()["train_labels"])
    assert "magic number" in _bad(tmp_path, head + good[4:])


def test_file_shorter_than_magic(tmp_path):
    assert "shorter than the 4-byte magic" in _bad(tmp_path, b"\0\0")


@pytest.mark.parametrize("code", [0x00, 0x0A, 0x0F, 0xFF])
def test_unknown_type_code(tmp_path, code):
    good = idx_bytes(tiny_arrays()["train_labels"])
    assert f"type code 0x{code:02X}" in _bad(tmp_path, good[:2] + bytes([code]) + good[3:])


def test_zero_dimensions(tmp_path):
    assert "0 dimensions" in _bad(tmp_path, b"\0\0\x08\0")


def test_header_declares_more_dimensions_than_bytes(tmp_path):
    assert "need 16 header bytes" in _bad(tmp_path, b"\0\0\x08\x03" + struct.pack(">2I", 5, 28))


def test_dims_that_do_not_match_the_payload(tmp_path):
    images = tiny_arrays()["train_images"]
    body = bytearray(idx_bytes(images))
    body[4:8] = struct.pack(">I", 13)  # one image more than stored
    assert f"expected {13 * 784} bytes" in _bad(tmp_path, bytes(body))
    body[4:8] = struct.pack(">I", 2**32 - 1)  # absurd sizes must not overflow
    assert "expected" in _bad(tmp_path, bytes(body))


def test_expected_shape_is_enforced(tmp_path):
    path = write_idx(tmp_path / "x.gz", tiny_arrays()["train_images"])
    with pytest.raises(FileFormatError, match=r"declares shape \(12, 28, 28\), expected \(60000, 28, 28\)"):
        data.read_idx(path, expected_shape=(60000, 28, 28))


@pytest.mark.parametrize("damage", ["cut", "flip", "crc"])
def test_corrupt_gzip_is_a_file_format_error(tmp_path, damage):
    gz = bytearray(gzip.compress(idx_bytes(tiny_arrays()["train_images"]), mtime=0))
    if damage == "cut":
        gz = gz[:len(gz) // 2]
    elif damage == "flip":
        gz[len(gz) // 2] ^= 0xFF
        gz[len(gz) // 2 + 1] ^= 0x55
    else:
        gz[-8] ^= 0xFF
    assert "corrupt gzip stream" in _bad(tmp_path, bytes(gz))


# ---------------------------------------------------------------------------------------------
# Descriptions and cache location
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", data.DATASET_NAMES)
def test_builtin_descriptions_are_complete(name):
    desc = data.describe(name)
    assert set(desc.files) == set(data.ROLES)
    shapes = {r: f.shape for r, f in desc.files.items()}
    assert shapes == {"train_images": (60000, 28, 28), "train_labels": (60000,),
                      "test_images": (10000, 28, 28), "test_labels": (10000,)}
    for role, spec in desc.files.items():
        assert spec.name == NAMES[role]
        for digest in spec.sha256 + spec.payload_sha256:
            assert len(digest) == 64 and int(digest, 16) >= 0
    assert desc.mirrors and all(m.startswith("http") for m in desc.mirrors)
    with pytest.raises(ValueError, match="known: mnist, fashion-mnist"):
        data.describe("cifar")


def test_system_dirs_are_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIRS", (str(tmp_path),))
    assert data.describe("fashion-mnist").system_dirs == (str(tmp_path),)
    assert data.describe("mnist").system_dirs == ()


def test_cache_directory_lookup_order(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv(data.ENV_DATA_DIR, raising=False)
    assert data.cache_directory("mnist") == tmp_path / "home/.cache/dendritic-microcircuits/mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_directory("mnist") == tmp_path / "xdg/dendritic-microcircuits/mnist"
    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path / "data"))
    assert data.cache_directory("fashion-mnist") == tmp_path / "data/fashion-mnist"


def test_env_var_cache_is_used_by_load_dataset(monkeypatch, tmp_path, served):
    desc = tiny_description(served)
    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path))
    (tmp_path / "tiny").mkdir()
    for role, name in NAMES.items():
        write_idx(tmp_path / "tiny" / name, served["arrays"][role])
    ds = data.load_dataset(desc, allow_download=False)
    assert ds.sources["train_images"] == str(tmp_path / "tiny" / NAMES["train_images"])


# ---------------------------------------------------------------------------------------------
# load_dataset: local files
# ---------------------------------------------------------------------------------------------

def _check_tiny(ds, arrays):
    assert ds.train_images.shape == (12, 784) and ds.test_images.shape == (5, 784)
    assert ds.train_images.dtype == np.float64 and ds.train_labels.dtype == np.int64
    assert 0.0 <= ds.train_images.min() and ds.train_images.max() <= 1.0
    np.testing.assert_allclose(ds.train_images * 255, arrays["train_images"].reshape(12, 784))
    np.testing.assert_array_equal(ds.test_labels, arrays["test_labels"])


def test_system_dir_is_used_after_the_cache(tmp_path, served):
    system = tmp_path / "system"
    system.mkdir()
    for role, name in NAMES.items():
        write_idx(system / name, served["arrays"][role])
    cache = tmp_path / "cache"
    ds = data.load_dataset(tiny_description(served, system_dirs=(str(system),)), cache_dir=cache,
                           allow_download=False)
    _check_tiny(ds, served["arrays"])
    assert set(ds.sources.values()) == {str(system / n) for n in NAMES.values()}
    assert leftovers(cache) == []  # system files are read in place, not copied


def test_recompressed_or_decompressed_copies_pass_by_payload_digest(tmp_path, served):
    """Debian rewrites gzip headers; a copy with the original content must still be accepted."""
    desc = tiny_description(served)
    files = {}
    for role, spec in desc.files.items():
        payload = idx_bytes(served["arrays"][role])
        files[role] = data.IdxFile(spec.name, spec.shape, spec.sha256,
                                   (hashlib.sha256(payload).hexdigest(),))
        body = gzip.compress(payload, compresslevel=1, mtime=12345) if "images" in role else payload
        (tmp_path / spec.name).write_bytes(body)
    _check_tiny(data.load_dataset(data.DatasetDescription("tiny", "Tiny", files, ()),
                                  cache_dir=tmp_path, allow_download=False), served["arrays"])
    with pytest.raises(FileFormatError, match="corrupt or not the expected file"):
        data.load_dataset(desc, cache_dir=tmp_path, allow_download=False)  # no payload digests


def test_corrupt_cached_file_is_reported_with_path_and_advice(tmp_path, served):
    for role, name in NAMES.items():
        write_idx(tmp_path / name, served["arrays"][role])
    victim = tmp_path / NAMES["test_labels"]
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(FileFormatError) as info:
        data.load_dataset(tiny_description(served), cache_dir=tmp_path, allow_download=False)
    message = str(info.value)
    assert str(victim) in message and "SHA-256" in message and "Delete it" in message
    assert victim.exists()  # the user's file is reported, not silently removed


def test_labels_out_of_range_are_rejected(tmp_path, served):
    for role, name in NAMES.items():
        write_idx(tmp_path / name, served["arrays"][role])
    desc = tiny_description(served)
    narrow = data.DatasetDescription("tiny", "Tiny", desc.files, (), n_classes=3)
    with pytest.raises(FileFormatError, match="labels outside 0..2"):
        data.load_dataset(narrow, cache_dir=tmp_path, allow_download=False)


# ---------------------------------------------------------------------------------------------
# load_dataset: downloads from a real local server
# ---------------------------------------------------------------------------------------------

def test_download_lands_in_cache_and_loads(tmp_path, served):
    cache = tmp_path / "new" / "cache"
    desc = tiny_description(served)
    ds = data.load_dataset(desc, cache_dir=cache, mirrors=[served["url"] + "/good/"])
    _check_tiny(ds, served["arrays"])
    assert leftovers(cache) == sorted(NAMES.values())
    for name in NAMES.values():
        assert (cache / name).read_bytes() == (served["root"] / "good" / name).read_bytes()
    # a second load is offline
    before = len(served["requests"])
    _check_tiny(data.load_dataset(desc, cache_dir=cache, allow_download=False), served["arrays"])
    assert len(served["requests"]) == before


def test_only_missing_files_are_downloaded(tmp_path, served):
    write_idx(tmp_path / NAMES["train_labels"], served["arrays"]["train_labels"])
    before = len(served["requests"])
    ds = data.load_dataset(tiny_description(served), cache_dir=tmp_path,
                           mirrors=[served["url"] + "/good/"])
    _check_tiny(ds, served["arrays"])
    fetched = served["requests"][before:]
    assert len(fetched) == 3 and not any("train-labels" in p for p in fetched)


def test_corrupt_download_is_rejected_and_leaves_nothing(tmp_path, served):
    with pytest.raises(DatasetUnavailableError) as info:
        data.load_dataset(tiny_description(served), cache_dir=tmp_path,
                          mirrors=[served["url"] + "/bad/"])
    message = str(info.value)
    assert "SHA-256" in message and served["url"] + "/bad/train-images-idx3-ubyte.gz" in message
    assert leftovers(tmp_path) == []  # neither the bad file nor a temporary file


def test_dropped_connection_leaves_nothing(tmp_path, served):
    with pytest.raises(DatasetUnavailableError, match=r"connection closed after \d+ of \d+ bytes"):
        data.load_dataset(tiny_description(served), cache_dir=tmp_path,
                          mirrors=[served["url"] + "/truncated/"])
    assert leftovers(tmp_path) == []


def test_failing_mirrors_fall_through_to_the_next(tmp_path, served, closed_port_url):
    mirrors = [closed_port_url, served["url"] + "/missing/", served["url"] + "/bad/",
               served["url"] + "/good/"]
    ds = data.load_dataset(tiny_description(served), cache_dir=tmp_path, mirrors=mirrors)
    _check_tiny(ds, served["arrays"])
    assert leftovers(tmp_path) == sorted(NAMES.values())
    for name in NAMES.values():
        assert (tmp_path / name).read_bytes() == (served["root"] / "good" / name).read_bytes()


def test_offline_error_says_what_to_do(tmp_path, monkeypatch, closed_port_url):
    """The real Fashion-MNIST description, with no system copy and no network."""
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIRS", (str(tmp_path / "no-system"),))
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (closed_port_url, closed_port_url + "x/"))
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailableError) as info:
        data.load_dataset("fashion-mnist", cache_dir=cache, timeout=5)
    message = str(info.value)
    assert str(cache) in message
    for name in NAMES.values():
        assert name in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert closed_port_url + "train-images-idx3-ubyte.gz" in message
    assert closed_port_url + "x/train-images-idx3-ubyte.gz" in message
    assert "cannot connect" in message and "refused" in message.lower()
    assert leftovers(cache) == []


def test_unreachable_mirror_is_tried_once_per_load(tmp_path, served, closed_port_url, caplog):
    """An offline mirror costs one connection attempt, not one per file."""
    with caplog.at_level("WARNING", logger="core.io.data"):
        ds = data.load_dataset(tiny_description(served), cache_dir=tmp_path,
                               mirrors=[closed_port_url, served["url"] + "/good/"])
    _check_tiny(ds, served["arrays"])
    assert len([r for r in caplog.records if closed_port_url in r.getMessage()]) == 1


def test_no_network_when_downloads_are_disabled(tmp_path, served):
    before = len(served["requests"])
    with pytest.raises(DatasetUnavailableError, match="downloading was disabled") as info:
        data.load_dataset(tiny_description(served), cache_dir=tmp_path, allow_download=False,
                          mirrors=[served["url"] + "/good/"])
    assert "allow_download=True" in str(info.value)
    assert len(served["requests"]) == before and leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Splits, targets, digits
# ---------------------------------------------------------------------------------------------

def _toy_dataset(n_train=20, n_test=4):
    x = np.arange(n_train * 3, dtype=float).reshape(n_train, 3)
    return data.Dataset("toy", x, np.arange(n_train) % 10, np.zeros((n_test, 3)),
                        np.zeros(n_test, dtype=np.int64))


def test_default_split_holds_out_the_last_examples():
    ds = _toy_dataset()
    split = data.train_validation_split(ds, n_validation=5)
    np.testing.assert_array_equal(split.train_images, ds.train_images[:15])
    np.testing.assert_array_equal(split.validation_labels, ds.train_labels[15:])
    assert split.test_images is ds.test_images
    x_tr, y_tr, x_va, y_va, x_te, y_te = split
    assert len(x_tr) == len(y_tr) == 15 and len(x_va) == len(y_va) == 5 and len(x_te) == 4


def test_seeded_split_is_a_reproducible_permutation():
    ds = _toy_dataset()
    a = data.train_validation_split(ds, 5, seed=3)
    b = data.train_validation_split(ds, 5, seed=3)
    np.testing.assert_array_equal(a.validation_images, b.validation_images)
    rows = np.concatenate([a.train_images, a.validation_images])[:, 0] / 3
    assert sorted(rows) == list(range(20)) and not np.array_equal(rows, np.arange(20))
    np.testing.assert_array_equal(a.train_labels, (a.train_images[:, 0] / 3) % 10)


@pytest.mark.parametrize("n", [0, 20, -1])
def test_split_rejects_impossible_sizes(n):
    with pytest.raises(ValueError, match="n_validation"):
        data.train_validation_split(_toy_dataset(), n)


def test_one_hot_rates():
    targets = data.one_hot_rates([2, 0, 9])
    assert targets.shape == (3, 10) and targets.dtype == np.float64
    np.testing.assert_array_equal(targets.argmax(1), [2, 0, 9])
    assert set(np.unique(targets)) == {0.1, 0.8}
    np.testing.assert_array_equal(data.one_hot_rates(np.array([1]), 3, 0.0, 1.0), [[0, 1, 0]])
    for bad in ([10], [-1], [[1]], [0.5]):
        with pytest.raises(ValueError):
            data.one_hot_rates(bad)


def test_digits_without_sklearn_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.load_digits_8x8()


def test_digits_8x8():
    pytest.importorskip("sklearn", reason="scikit-learn is optional")
    ds = data.load_digits_8x8()
    assert ds.train_images.shape == (1500, 64) and ds.test_images.shape == (297, 64)
    assert ds.train_images.dtype == np.float64 and ds.train_labels.dtype == np.int64
    assert ds.train_images.min() >= 0 and ds.train_images.max() <= 1
    assert set(np.unique(ds.train_labels)) == set(range(10))


# ---------------------------------------------------------------------------------------------
# The real Fashion-MNIST, from Debian's dataset-fashion-mnist
# ---------------------------------------------------------------------------------------------

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_debian_fashion = pytest.mark.skipif(
    not all((DEBIAN_DIR / n).is_file() for n in NAMES.values()),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")

# Debian's build stripped the gzip FNAME field and set the mtime; upstream's were these.
UPSTREAM_MTIMES = {"train_images": 1504176606, "train_labels": 1504176606,
                   "test_images": 1504176627, "test_labels": 1504176627}


@needs_debian_fashion
def test_debian_files_are_the_published_upstream_streams():
    """Restoring the original gzip header reproduces the published .gz digests exactly: the
    checksum table and Debian's files vouch for each other."""
    desc = data.describe("fashion-mnist")
    for role, spec in desc.files.items():
        raw = (DEBIAN_DIR / spec.name).read_bytes()
        assert raw[:4] == b"\x1f\x8b\x08\x00"  # no FNAME: the header was rewritten
        upstream = (b"\x1f\x8b\x08\x08" + struct.pack("<I", UPSTREAM_MTIMES[role]) + raw[8:10]
                    + spec.name[:-3].encode() + b"\0" + raw[10:])
        assert hashlib.sha256(upstream).hexdigest() in spec.sha256


@needs_debian_fashion
def test_real_fashion_mnist_from_the_system_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIRS", (str(DEBIAN_DIR),))
    ds = data.load_dataset("fashion-mnist", cache_dir=tmp_path, allow_download=False)
    assert ds.train_images.shape == (60000, 784) and ds.test_images.shape == (10000, 784)
    assert ds.train_images.dtype == np.float64 and ds.test_labels.dtype == np.int64
    assert ds.train_images.min() == 0.0 and ds.train_images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.train_labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.test_labels), [1000] * 10)
    assert all(s.startswith(str(DEBIAN_DIR)) for s in ds.sources.values())
    assert leftovers(tmp_path) == []
    split = data.train_validation_split(ds)
    assert [len(a) for a in split] == [55000, 55000, 5000, 5000, 10000, 10000]
    np.testing.assert_array_equal(split.validation_images, ds.train_images[55000:])
    targets = data.one_hot_rates(split.validation_labels)
    np.testing.assert_array_equal(targets.argmax(1), split.validation_labels)
