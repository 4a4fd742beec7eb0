"""Save and load a network -- weights, state, parameters and RNG -- to one ``.npz`` file.

The file holds plain arrays only (``allow_pickle=False`` on load) plus a JSON header with the
format version, layer sizes, parameter values and the generator's state. Writes go to a temporary
file in the same directory and are renamed into place, so an interrupted save never leaves a
half-written file.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from numbers import Real

import numpy as np

from . import __version__, validation
from .errors import FileFormatError
from .files import write_atomically
from .network import MATRICES, Network, State, Weights
from .parameters import ModelParameters

FORMAT = "dendritic-microcircuits-network"
FORMAT_VERSION = 1


def _header(net):
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "layer_sizes": list(net.sizes),
        "seed": net.seed,
        "nudging": bool(net.nudging),
        "parameters": net.params.values(),
        "rng_state": net.rng.bit_generator.state,
        "time": net.state.time,
        "steps": net.state.steps,
        "pattern_time": net.state.pattern_time,
    }


def _arrays(net):
    arrays = {}
    for name, k, array in net.weights.items():
        arrays[f"weights/{name}/{k}"] = array
    for name, k, array in net.state.traces.items():
        arrays[f"traces/{name}/{k}"] = array
    s = net.state
    arrays.update({f"state/u_P/{k}": u for k, u in s.u_P.items()})
    arrays.update({f"state/u_I/{k}": u for k, u in s.u_I.items()})
    for name in ("r_input", "u_target", "input_pattern", "target_pattern"):
        arrays[f"state/{name}"] = getattr(s, name)
    return arrays


def save(net, path):
    """Write ``net`` to ``path`` (``.npz``) atomically.

    Returns
    -------
    str
        The path written.
    """
    return write_atomically(path, lambda handle: _write(net, handle), binary=True)


def to_bytes(net):
    """The contents :func:`save` would write, as bytes (e.g. for a download button)."""
    buffer = io.BytesIO()
    _write(net, buffer)
    return buffer.getvalue()


def _write(net, handle):
    arrays = _arrays(net)
    arrays["header"] = np.frombuffer(json.dumps(_header(net)).encode(), dtype=np.uint8)
    np.savez(handle, **arrays)


def _read(path):
    source = path if hasattr(path, "read") else os.fspath(path)
    try:
        with np.load(source, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise
    # zipfile reports damage in many unrelated ways (an unsupported "version" or compression
    # method from a flipped byte, a corrupt deflate stream, an "encrypted" flag)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, NotImplementedError,
            RuntimeError, zlib.error) as error:
        raise FileFormatError(f"{_label(path)}: not a readable network file ({error})") from None


def load(path, *, expect_sizes=None):
    """Read a network written by :func:`save`; the round trip is exact.

    Parameters
    ----------
    path : str, path-like or binary file object
    expect_sizes : sequence of int, optional
        Refuse a file whose layer sizes differ (e.g. to replace a running network).

    Raises
    ------
    FileFormatError
        Corrupt file, another format or format version, a missing or invalid header field,
        missing or misshapen arrays, or sizes other than ``expect_sizes``.
    ValueError
        ``expect_sizes`` is not a valid list of layer sizes.
    """
    if expect_sizes is not None:
        expect_sizes = validation.layer_sizes(expect_sizes, "expect_sizes")
    arrays = _read(path)
    path = _label(path)  # what the messages call the file
    if "header" not in arrays:
        raise FileFormatError(f"{path}: no header; not written by core.storage.save")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(f"{path}: corrupt header ({error})") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{path}: corrupt header (a JSON {type(header).__name__}, not an "
                              "object)")
    if header.get("format") != FORMAT:
        raise FileFormatError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: format version {header.get('format_version')!r}; this package (version "
            f"{__version__}) reads version {FORMAT_VERSION} only. Load it with the package version "
            f"that wrote it ({header.get('package_version')!r}).")
    _check_header(header, path)
    try:
        sizes = validation.layer_sizes(header["layer_sizes"])
    except ValueError as error:
        raise FileFormatError(f"{path}: invalid header ({error})") from None
    if expect_sizes is not None and expect_sizes != sizes:
        raise FileFormatError(f"{path}: network has layer sizes {list(sizes)}, expected "
                              f"{list(expect_sizes)}")
    try:
        params = ModelParameters(**header["parameters"])
    except (ValueError, TypeError) as error:
        raise FileFormatError(f"{path}: invalid parameters ({error})") from None
    net = Network(sizes, params, seed=header["seed"])
    _fill(net, arrays, path)
    try:
        net.rng.bit_generator.state = header["rng_state"]
    except (TypeError, ValueError, KeyError) as error:
        raise FileFormatError(f"{path}: invalid header: rng_state is not a state of the "
                              f"{type(net.rng.bit_generator).__name__} generator ({error})") from None
    net.nudging = header["nudging"]
    net.state.time, net.state.steps = float(header["time"]), int(header["steps"])
    net.state.pattern_time = float(header["pattern_time"])
    return net


def _is_number(value, minimum=None, whole=False):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        return False
    if whole and not float(value).is_integer():
        return False
    return minimum is None or value >= minimum


# what every header field must be: (test, description for the message)
_HEADER_FIELDS = {
    "layer_sizes": (lambda v: isinstance(v, list), "a list of layer sizes"),
    "seed": (lambda v: _is_number(v, 0, whole=True), "a non-negative integer"),
    "nudging": (lambda v: isinstance(v, bool), "true or false"),
    "parameters": (lambda v: isinstance(v, dict), "an object of parameter values"),
    "rng_state": (lambda v: isinstance(v, dict), "an object (the generator's state)"),
    "time": (lambda v: _is_number(v, 0), "a finite number >= 0"),
    "steps": (lambda v: _is_number(v, 0, whole=True), "a non-negative integer"),
    "pattern_time": (lambda v: _is_number(v, 0), "a finite number >= 0"),
}


def _check_header(header, path):
    for key, (test, description) in _HEADER_FIELDS.items():
        if key not in header:
            raise FileFormatError(f"{path}: invalid header: no {key!r}")
        if not test(header[key]):
            raise FileFormatError(f"{path}: invalid header: {key!r} = {header[key]!r}; expected "
                                  f"{description}")


def from_bytes(content, *, expect_sizes=None):
    """:func:`load` for the contents of a file (e.g. an upload); same checks, same errors."""
    return load(io.BytesIO(content), expect_sizes=expect_sizes)


def _label(path):
    return getattr(path, "name", None) or ("the uploaded file" if hasattr(path, "read") else path)


def _take(arrays, key, shape, path):
    if key not in arrays:
        raise FileFormatError(f"{path}: missing array {key!r}")
    array = arrays.pop(key)
    if shape is not None and array.shape != shape:
        raise FileFormatError(f"{path}: array {key!r} has shape {array.shape}, expected {shape}")
    if array.dtype != np.float64 or not np.all(np.isfinite(array)):
        raise FileFormatError(f"{path}: array {key!r} is not finite float64")
    return array.copy()


def _fill(net, arrays, path):
    template = net.weights
    weights = Weights(**{name: {k: _take(arrays, f"weights/{name}/{k}", a.shape, path)
                                for k, a in getattr(template, name).items()} for name in MATRICES})
    traces = Weights(**{name: {k: _take(arrays, f"traces/{name}/{k}", a.shape, path)
                               for k, a in getattr(template, name).items()} for name in MATRICES})
    batch = arrays.get("state/r_input", np.zeros((1, 0))).shape[0]
    s = net.state
    state = State(
        u_P={k: _take(arrays, f"state/u_P/{k}", (batch, u.shape[1]), path) for k, u in s.u_P.items()},
        u_I={k: _take(arrays, f"state/u_I/{k}", (batch, u.shape[1]), path) for k, u in s.u_I.items()},
        **{name: _take(arrays, f"state/{name}", (batch, getattr(s, name).shape[1]), path)
           for name in ("r_input", "u_target", "input_pattern", "target_pattern")},
        traces=traces,
    )
    if arrays:
        raise FileFormatError(f"{path}: unexpected arrays {sorted(arrays)[:5]} (does the file's "
                              "use_bias setting match its arrays?)")
    net.weights, net.state = weights, state
