"""Offline-first loading of the classification data sets (MNIST, Fashion-MNIST, 8x8 digits).

Files are looked up, for each of the four files of a data set, in this order:

1. the cache directory (see :func:`cache_directory`);
2. system directories filled by a package manager (Fashion-MNIST: Debian's
   ``dataset-fashion-mnist``, see :data:`FASHION_MNIST_SYSTEM_DIRS`);
3. the official mirrors, in order, saving into the cache.

Every file, wherever it comes from, is checked against its published SHA-256 before it is used
or placed in the cache, so a result never silently depends on a corrupt or substituted file.
When nothing works, :class:`~core.errors.DatasetUnavailableError` says where to put the files.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import socket
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DatasetUnavailableError, FileFormatError
from .files import write_atomically

log = logging.getLogger(__name__)

ROLES = ("train_images", "train_labels", "test_images", "test_labels")

ENV_DATA_DIR = "DENDRITIC_DATA_DIR"
CACHE_SUBDIR = "dendritic-microcircuits"

# Where Debian's ``dataset-fashion-mnist`` installs the four files. Read at call time (not frozen
# into the description) so tests and unusual installs can replace it.
FASHION_MNIST_SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

DOWNLOAD_TIMEOUT = 60.0
# The largest real file is ~26 MB; the cap stops a misbehaving server from filling memory.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MAX_IDX_DIMS = 32
"""Most dimensions an IDX header may declare (NumPy 1.x's limit for an array; MNIST uses 3)."""

# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------

def read_idx(path, *, expected_shape=None):
    """Read an IDX file, raw or gzip-compressed.

    Compression is detected from the gzip magic bytes, not from the file name, so a
    decompressed file that kept its ``.gz`` name still reads.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    expected_shape : tuple of int, optional
        If given, the shape the header must declare.

    Returns
    -------
    numpy.ndarray
        The data, in native byte order, with the dtype and shape declared in the header.

    Raises
    ------
    core.errors.FileFormatError
        If the gzip stream is corrupt, the header is invalid, the payload is shorter or longer
        than the header declares, or the shape differs from ``expected_shape``.
    """
    source = os.fspath(path)
    with open(source, "rb") as handle:
        raw = handle.read()
    return parse_idx(_decompress(raw, source), source, expected_shape=expected_shape)


def _decompress(raw, source):
    """Return the decompressed bytes if ``raw`` is gzip data, else ``raw`` itself."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    # gzip reports damage in three unrelated ways; callers should see one file-format error.
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"{source}: corrupt gzip stream ({exc})") from None


def _idx_header(data, source):
    """Return ``(dtype, shape, header_size)`` from the start of IDX ``data``."""
    if len(data) < 4:
        raise FileFormatError(f"{source}: not an IDX file: {len(data)} bytes, shorter than the "
                              "4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise FileFormatError(f"{source}: not an IDX file: magic number {data[:4].hex()} does not "
                              "start with two zero bytes")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise FileFormatError(f"{source}: unknown IDX type code 0x{type_code:02X} (known: {known})")
    if ndim == 0:
        raise FileFormatError(f"{source}: IDX header declares 0 dimensions")
    if ndim > MAX_IDX_DIMS:
        raise FileFormatError(f"{source}: IDX header declares {ndim} dimensions; at most "
                              f"{MAX_IDX_DIMS} are supported")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise FileFormatError(f"{source}: IDX header declares {ndim} dimensions, which need "
                              f"{header_size} header bytes, but the file has only {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[type_code], shape, header_size


def parse_idx(data, source="<bytes>", *, expected_shape=None):
    """Parse the bytes of an uncompressed IDX file; see :func:`read_idx`.

    ``source`` names the data in error messages.
    """
    dtype, shape, header_size = _idx_header(data, source)
    if expected_shape is not None and shape != tuple(expected_shape):
        raise FileFormatError(f"{source}: IDX header declares shape {shape}, expected "
                              f"{tuple(expected_shape)}")
    # Python ints, so a hostile header cannot overflow the product.
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        why = "the file is truncated" if found < expected else "trailing bytes after the data"
        raise FileFormatError(f"{source}: expected {expected} bytes of {dtype.name} data for shape "
                              f"{shape}, found {found} ({why})")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    # A native, writable copy: big-endian views are slow to compute with and read-only.
    return array.astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------------------------------------
# Data set descriptions
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdxFile:
    """One file of a data set.

    Attributes
    ----------
    name : str
        File name as distributed (``*-ubyte.gz``).
    shape : tuple of int
        Shape declared in its IDX header.
    sha256 : tuple of str
        Accepted SHA-256 digests of the file as distributed.
    payload_sha256 : tuple of str
        Accepted SHA-256 digests of the decompressed IDX content. These accept a copy that was
        recompressed or decompressed, e.g. Debian's, whose gzip headers were rewritten.
    """

    name: str
    shape: tuple
    sha256: tuple = ()
    payload_sha256: tuple = ()


@dataclass(frozen=True)
class DatasetDescription:
    """Everything needed to find, download and check a data set of four IDX files.

    Attributes
    ----------
    name : str
        Short name, also the cache sub-directory (``"mnist"``).
    title : str
        Name for messages (``"MNIST"``).
    files : dict
        :class:`IdxFile` for each role in :data:`ROLES`.
    mirrors : tuple of str
        Base URLs, tried in order; a file's URL is base + file name.
    system_dirs : tuple of str
        Directories filled by a system package, searched after the cache.
    install_hint : str
        A command that installs the files system-wide, or ``""``.
    n_classes : int
        Labels must lie in ``range(n_classes)``.
    """

    name: str
    title: str
    files: dict
    mirrors: tuple
    system_dirs: tuple = ()
    install_hint: str = ""
    n_classes: int = 10


def _files(names, shapes, sha256, payload_sha256):
    return {role: IdxFile(names[role], shapes[role], (sha256[role],), (payload_sha256[role],))
            for role in ROLES}


_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
_SHAPES = {
    "train_images": (60000, 28, 28),
    "train_labels": (60000,),
    "test_images": (10000, 28, 28),
    "test_labels": (10000,),
}

# Digests of the .gz files as distributed: tensorflow/datasets,
# tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt. The Fashion-MNIST ones were checked
# against Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1: Debian's build
# (strip-nondeterminism) drops the gzip FNAME field and resets the mtime; restoring the original
# name and mtime (2017-08-31) reproduces all four digests exactly, so the compressed streams are
# byte-identical to upstream.
_MNIST_SHA256 = {
    "train_images": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train_labels": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "test_images": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "test_labels": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_MNIST_SHA256 = {
    "train_images": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train_labels": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "test_images": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "test_labels": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# Digests of the decompressed IDX files, needed because Debian's .gz files differ from upstream's
# in their headers. Fashion-MNIST: computed from Debian's files (whose streams are upstream's, see
# above). MNIST: published by two independent public projects that also list the .gz digests
# above; one of them lists the same Fashion-MNIST payload digests as computed here.
_MNIST_PAYLOAD_SHA256 = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_FASHION_MNIST_PAYLOAD_SHA256 = {
    "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

DATASET_NAMES = ("mnist", "fashion-mnist")


def describe(name):
    """Return the :class:`DatasetDescription` of a built-in data set.

    Built on each call from the module-level tables, so changes to :data:`MNIST_MIRRORS`,
    :data:`FASHION_MNIST_MIRRORS` or :data:`FASHION_MNIST_SYSTEM_DIRS` take effect.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    """
    if name == "mnist":
        return DatasetDescription(
            "mnist", "MNIST", _files(_NAMES, _SHAPES, _MNIST_SHA256, _MNIST_PAYLOAD_SHA256),
            tuple(MNIST_MIRRORS))
    if name == "fashion-mnist":
        return DatasetDescription(
            "fashion-mnist", "Fashion-MNIST",
            _files(_NAMES, _SHAPES, _FASHION_MNIST_SHA256, _FASHION_MNIST_PAYLOAD_SHA256),
            tuple(FASHION_MNIST_MIRRORS), tuple(FASHION_MNIST_SYSTEM_DIRS),
            "apt-get install dataset-fashion-mnist")
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASET_NAMES)}")


def cache_directory(name):
    """Directory where the files of data set ``name`` are cached.

    ``$DENDRITIC_DATA_DIR/<name>`` if that variable is set, else
    ``$XDG_CACHE_HOME/dendritic-microcircuits/<name>``, else
    ``~/.cache/dendritic-microcircuits/<name>``. One sub-directory per data set, because MNIST
    and Fashion-MNIST use the same file names.
    """
    root = os.environ.get(ENV_DATA_DIR)
    if root:
        return Path(root).expanduser() / name
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / CACHE_SUBDIR / name


# ---------------------------------------------------------------------------------------------
# Checking and fetching files
# ---------------------------------------------------------------------------------------------

class _ChecksumMismatch(Exception):
    """Internal: bytes that match none of the accepted digests."""


def _verified_payload(raw, spec, source):
    """Return the decompressed IDX bytes of ``raw`` if it matches a published digest.

    Raises
    ------
    _ChecksumMismatch
        With the file's digest, if it matches neither an archive nor a payload digest.
    """
    digest = hashlib.sha256(raw).hexdigest()
    if digest in spec.sha256:
        return _decompress(raw, source)
    if spec.payload_sha256:
        try:
            payload = _decompress(raw, source)
        except FileFormatError:
            payload = None  # damaged gzip: report the mismatch, which is what the user can act on
        if payload is not None and hashlib.sha256(payload).hexdigest() in spec.payload_sha256:
            return payload
    raise _ChecksumMismatch(f"SHA-256 {digest} matches none of the published digests of "
                            f"{spec.name} ({', '.join(spec.sha256) or 'none'})")


def _load_local(path, spec, advice):
    """Read and check a file found on disk; ``advice`` says how to fix it if it is corrupt."""
    source = str(path)
    raw = path.read_bytes()
    try:
        payload = _verified_payload(raw, spec, source)
    except _ChecksumMismatch as exc:
        raise FileFormatError(f"{source} is corrupt or not the expected file: {exc}. "
                              f"{advice}") from None
    return parse_idx(payload, source, expected_shape=spec.shape)


def _fetch(url, timeout):
    """Return the body at ``url``; raises OSError or http.client.HTTPException on failure."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        body = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(body) > MAX_DOWNLOAD_BYTES:
        raise OSError(f"more than {MAX_DOWNLOAD_BYTES} bytes; not a data file")
    # read(n) returns a short body without complaint when the server hangs up early.
    if declared is not None and declared.isdigit() and int(declared) != len(body):
        raise OSError(f"connection closed after {len(body)} of {declared} bytes")
    return body


def _reason(exc):
    """Short human-readable cause of a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect: {exc.reason}"
    if isinstance(exc, (_ChecksumMismatch, FileFormatError)):
        return f"rejected: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _is_unreachable(exc):
    """Whether the server itself could not be reached (as opposed to refusing one file)."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    return isinstance(exc, (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError))


def _download(spec, cache_dir, mirrors, timeout, attempts, unreachable):
    """Fetch ``spec`` from the first mirror that serves a file with a published digest.

    The file is verified in memory, then written atomically into ``cache_dir``. Failures are
    appended to ``attempts`` as ``(url, reason)``; mirrors that could not be reached at all are
    added to ``unreachable`` and skipped for the remaining files, so an offline machine waits
    for each server once, not four times.

    Returns
    -------
    (numpy.ndarray, str) or None
        The data and where they now are (the cached path, or the URL if caching failed).
    """
    for base in mirrors:
        url = base.rstrip("/") + "/" + spec.name
        if base in unreachable:
            attempts.append((url, "skipped: mirror unreachable for an earlier file"))
            continue
        try:
            raw = _fetch(url, timeout)
            payload = _verified_payload(raw, spec, url)
            array = parse_idx(payload, url, expected_shape=spec.shape)
        except (OSError, http.client.HTTPException, _ChecksumMismatch, FileFormatError) as exc:
            if _is_unreachable(exc):
                unreachable.add(base)
            reason = _reason(exc)
            attempts.append((url, reason))
            log.warning("could not use %s: %s", url, reason)
            continue
        path = cache_dir / spec.name
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda handle: handle.write(raw), binary=True)
        except OSError as exc:
            # The data are good; failing to cache them should not fail the experiment.
            log.warning("downloaded %s but could not cache it in %s: %s", url, cache_dir, exc)
            return array, url
        log.info("downloaded %s to %s", url, path)
        return array, str(path)
    return None


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """A classification data set with pixel values scaled to [0, 1].

    Attributes
    ----------
    name : str
    train_images, test_images : numpy.ndarray
        float64, shape ``(n, n_pixels)``.
    train_labels, test_labels : numpy.ndarray
        int64, shape ``(n,)``.
    sources : dict
        The file each role was read from (a path, or the URL it was downloaded from).
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    sources: dict = field(default_factory=dict)


def _unavailable_message(desc, cache_dir, missing, attempts, allow_download):
    """Tell the user exactly how to make the data set available."""
    names = "\n".join(f"      {spec.name}" + ("   (missing)" if role in missing else "")
                      for role, spec in desc.files.items())
    lines = [f"{desc.title} is not available: {len(missing)} of its 4 files are not on disk"
             + (" and downloading was disabled." if not allow_download else
                " and could not be downloaded."),
             "Make it available in one of these ways:",
             f"  - put the four files\n{names}\n    into {cache_dir}"
             f"\n    (or pass cache_dir=..., or set {ENV_DATA_DIR} to a directory that holds "
             f"a {desc.name}/ sub-directory with them);"]
    if desc.install_hint:
        where = ", ".join(desc.system_dirs) or "the system data directory"
        lines.append(f"  - {desc.install_hint}   (installs them into {where});")
    if desc.mirrors:
        how = ("check the network connection and call again" if allow_download else
               "call again with allow_download=True (needs the network)")
        lines.append(f"  - {how}; it downloads from {', '.join(desc.mirrors)}.")
    if attempts:
        lines.append("URLs tried:")
        lines.extend(f"  {url}: {reason}" for url, reason in attempts)
    return "\n".join(lines)


def _find_local(spec, directories):
    for directory in directories:
        path = Path(directory) / spec.name
        if path.is_file():
            return path
    return None


def _read_files(desc, cache_dir, mirrors, allow_download, timeout):
    """Return ``{role: array}`` and ``{role: source}``; raise when a file cannot be had."""
    arrays, sources, attempts, unreachable = {}, {}, [], set()
    delete = "Delete it and call again (it will be downloaded again), or replace it with a good copy."
    reinstall = (f"Reinstall it (`{desc.install_hint} --reinstall`) or delete it."
                 if desc.install_hint else "Replace or delete it.")
    for role, spec in desc.files.items():
        path = _find_local(spec, [cache_dir])
        if path is not None:
            arrays[role], sources[role] = _load_local(path, spec, delete), str(path)
            continue
        path = _find_local(spec, desc.system_dirs)
        if path is not None:
            arrays[role], sources[role] = _load_local(path, spec, reinstall), str(path)
            continue
        got = (_download(spec, cache_dir, mirrors, timeout, attempts, unreachable)
               if allow_download else None)
        if got is None:
            # Stop at the first file that cannot be had: the rest would fail the same way, and
            # an offline user should not wait for every timeout.
            missing = [r for r in ROLES if r not in arrays]
            raise DatasetUnavailableError(
                _unavailable_message(desc, cache_dir, missing, attempts, allow_download))
        arrays[role], sources[role] = got
    return arrays, sources


def _check_pairs(desc, arrays, sources):
    """Images and labels of a split must agree in count, and labels must be class indices."""
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise FileFormatError(f"{desc.title}: {images.shape[0]} {split} images but "
                                  f"{labels.shape[0]} labels")
        if labels.size and (labels.min() < 0 or labels.max() >= desc.n_classes):
            raise FileFormatError(f"{sources[f'{split}_labels']}: labels outside "
                                  f"0..{desc.n_classes - 1}")


def load_dataset(name, *, cache_dir=None, allow_download=True, mirrors=None,
                 timeout=DOWNLOAD_TIMEOUT):
    """Load MNIST or Fashion-MNIST, from disk if possible, else from the official mirrors.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"} or DatasetDescription
        A built-in data set, or a description of another one (used by the tests).
    cache_dir : str or os.PathLike, optional
        Directory holding (or receiving) the four files. Default: :func:`cache_directory`.
    allow_download : bool
        If False, never touch the network.
    mirrors : sequence of str, optional
        Base URLs to try in order, replacing the description's.
    timeout : float
        Seconds to wait for each mirror.

    Returns
    -------
    Dataset
        Images as float64 in [0, 1] with shape ``(n, 784)``, labels as int64.

    Raises
    ------
    core.errors.DatasetUnavailableError
        If a file is neither on disk nor downloadable; the message says where to put it.
    core.errors.FileFormatError
        If a file on disk does not match its published SHA-256 (the message names it).
    """
    desc = name if isinstance(name, DatasetDescription) else describe(name)
    if mirrors is not None:
        desc = replace(desc, mirrors=tuple(mirrors))
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else cache_directory(desc.name)
    arrays, sources = _read_files(desc, cache_dir, desc.mirrors, allow_download, timeout)
    _check_pairs(desc, arrays, sources)
    return Dataset(
        desc.name,
        _scaled_images(arrays["train_images"]),
        arrays["train_labels"].astype(np.int64),
        _scaled_images(arrays["test_images"]),
        arrays["test_labels"].astype(np.int64),
        sources,
    )


def _scaled_images(images):
    """Flatten to ``(n, pixels)`` and map 8-bit intensities to [0, 1]."""
    flat = images.reshape(images.shape[0], -1)
    if flat.dtype == np.uint8:
        return flat.astype(np.float64) / 255.0
    return flat.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Splits and targets
# ---------------------------------------------------------------------------------------------

class Split(NamedTuple):
    """Training, validation and test arrays; unpacks as a 6-tuple."""

    train_images: np.ndarray
    train_labels: np.ndarray
    validation_images: np.ndarray
    validation_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def train_validation_split(dataset, n_validation=5000, seed=None):
    """Hold out part of the training set for validation (the paper's 55k/5k/10k split).

    Parameters
    ----------
    dataset : Dataset
    n_validation : int
        Number of training examples moved to the validation set.
    seed : int, optional
        None (default): the last ``n_validation`` training examples, deterministic and the same
        everywhere. An int: a permutation drawn with ``numpy.random.default_rng(seed)``.

    Returns
    -------
    Split
    """
    n_train = dataset.train_images.shape[0]
    if not 0 < n_validation < n_train:
        raise ValueError(f"n_validation must be in 1..{n_train - 1} (the training set has "
                         f"{n_train} examples), got {n_validation}")
    if seed is None:
        order = np.arange(n_train)
    else:
        order = np.random.default_rng(seed).permutation(n_train)
    keep, held_out = order[:n_train - n_validation], order[n_train - n_validation:]
    x, y = dataset.train_images, dataset.train_labels
    return Split(x[keep], y[keep], x[held_out], y[held_out],
                 dataset.test_images, dataset.test_labels)


def one_hot_rates(labels, n_classes=10, low=0.1, high=0.8):
    """Target rates for classification: ``high`` for the label's unit, ``low`` elsewhere.

    The targets stay inside the transfer function's range instead of 0/1, which saturating
    output units could only approach with unbounded potentials.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
    n_classes : int
    low, high : float

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n, n_classes)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} "
                         f"and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    targets = np.full((labels.size, n_classes), float(low))
    targets[np.arange(labels.size), labels] = float(high)
    return targets


def load_digits_8x8(n_test=297):
    """scikit-learn's 8x8 handwritten digits (1797 images), a small set that needs no files.

    Parameters
    ----------
    n_test : int
        The last ``n_test`` images form the test set (deterministic; 297 leaves 1500 for
        training).

    Returns
    -------
    Dataset
        Images as float64 in [0, 1] with shape ``(n, 64)``, labels as int64.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (it is an optional dependency).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("load_digits_8x8 needs scikit-learn, which is optional: "
                          "pip install scikit-learn") from exc
    digits = load_digits()
    # Pixel intensities are integers 0..16.
    images = np.asarray(digits.data, dtype=np.float64) / 16.0
    labels = np.asarray(digits.target, dtype=np.int64)
    n = labels.size
    if not 0 < n_test < n:
        raise ValueError(f"n_test must be in 1..{n - 1}, got {n_test}")
    cut = n - n_test
    return Dataset("digits-8x8", images[:cut], labels[:cut], images[cut:], labels[cut:],
                   {"all": "sklearn.datasets.load_digits"})
