"""Save and load a network -- weights, state, parameters and RNG -- to one ``.npz`` file.

The file holds plain arrays only (``allow_pickle=False`` on load) plus a JSON header with the
format version, layer sizes, parameter values and the generator's state. Writes go to a temporary
file in the same directory and are renamed into place, so an interrupted save never leaves a
half-written file.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from . import __version__
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
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
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
        Corrupt file, another format or format version, missing or misshapen arrays, or sizes
        other than ``expect_sizes``.
    """
    arrays = _read(path)
    path = _label(path)  # what the messages call the file
    if "header" not in arrays:
        raise FileFormatError(f"{path}: no header; not written by core.storage.save")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(f"{path}: corrupt header ({error})") from None
    if header.get("format") != FORMAT:
        raise FileFormatError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: format version {header.get('format_version')!r}; this package (version "
            f"{__version__}) reads version {FORMAT_VERSION} only. Load it with the package version "
            f"that wrote it ({header.get('package_version')!r}).")
    sizes = tuple(header["layer_sizes"])
    if expect_sizes is not None and tuple(expect_sizes) != sizes:
        raise FileFormatError(f"{path}: network has layer sizes {list(sizes)}, expected "
                              f"{list(expect_sizes)}")
    try:
        params = ModelParameters(**header["parameters"])
    except (ValueError, TypeError) as error:
        raise FileFormatError(f"{path}: invalid parameters ({error})") from None
    net = Network(sizes, params, seed=header["seed"])
    _fill(net, arrays, path)
    net.rng.bit_generator.state = header["rng_state"]
    net.nudging = header["nudging"]
    net.state.time, net.state.steps = header["time"], header["steps"]
    net.state.pattern_time = header["pattern_time"]
    return net


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
