"""Save and load a network -- weights, state, parameters and RNG -- to one ``.npz`` file.

The file is a zip archive of ``.npy`` arrays (as :func:`numpy.savez` writes it) plus a JSON header
with the format version, layer sizes, parameter values and the generator's state. Writes go to a
temporary file in the same directory and are renamed into place, so an interrupted save never leaves
a half-written file.

A file may come from anyone (an upload in the dashboard, a file shared between students), so
:func:`load` reads the archive itself rather than through :func:`numpy.load`: it reads the header
first, works out from its layer sizes which arrays of which shapes the network needs, and checks
each member's declared dtype and shape before reading exactly that many bytes. A malformed file --
huge numbers, deep nesting, huge declared shapes, compression bombs, pickled objects, too many
members -- costs little memory and time and is refused with :class:`~core.errors.FileFormatError`.
The limits below are far above what any network of this simulator needs; :func:`save` refuses to
write a file that :func:`load` would refuse.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import struct
import sys
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from .. import __version__
from ..model import validation
from ..errors import FileFormatError
from .files import write_atomically
from ..model.layers import MATRICES, State, Weights
from ..model.network import Network
from ..model.parameters import ModelParameters, parameter_names

FORMAT = "dendritic-microcircuits-network"
FORMAT_VERSION = 1

MAX_HEADER_BYTES = 256 * 1024
"""Largest JSON header accepted (a network's header is about 1 kB)."""

MAX_HEADER_DEPTH = 16
"""Deepest nesting of JSON lists and objects in the header (a network's header nests 3 deep)."""

MAX_MEMBERS = 10_000
"""Most arrays in one file (a network of N layers has at most 14 N; so about 700 layers)."""

MAX_STATE_VALUES = 2**24
"""Most values in the state arrays (batch size times the neurons of all state arrays; 128 MiB)
when the batch has more than one pattern."""

MAX_SEED = 2**128
"""Seeds must be below this (NumPy recommends 128-bit seeds, e.g. ``secrets.randbits(128)``)."""

MAX_STEPS = 2**53
"""Most Euler steps a file may record (the largest count a float holds exactly)."""

MAX_TIME = 1e15
"""Largest simulated time (ms) a file may record (32,000 years)."""

_NPY_HEADER_BYTES = 10_000  # numpy.lib.format's own limit for an array's header
_DIRECTORY_BYTES_PER_MEMBER = 128  # a member's zip directory entry takes ~70 bytes
_QUOTE_LENGTH = 60
_REASON_LENGTH = 120
_CHUNK_BYTES = 1 << 20
_FLOAT64 = np.dtype(np.float64)
_BYTES = np.dtype(np.uint8)
_STATE_PATTERNS = ("r_input", "u_target", "input_pattern", "target_pattern")


# ------------------------------------------------------------------------------------------------
# saving
# ------------------------------------------------------------------------------------------------

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
    for name in _STATE_PATTERNS:
        arrays[f"state/{name}"] = getattr(s, name)
    return arrays


def save(net, path):
    """Write ``net`` to ``path`` (``.npz``) atomically.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        The network exceeds a limit of the file format (see the module's ``MAX_*`` constants);
        nothing is written.
    """
    return write_atomically(path, lambda handle: _write(net, handle), binary=True)


def to_bytes(net):
    """The contents :func:`save` would write, as bytes (e.g. for a download button)."""
    buffer = io.BytesIO()
    _write(net, buffer)
    return buffer.getvalue()


def _write(net, handle):
    arrays = _arrays(net)
    header = json.dumps(_header(net)).encode()
    _check_loadable(net, header, arrays)
    arrays["header"] = np.frombuffer(header, dtype=np.uint8)
    np.savez(handle, **arrays)


def _check_loadable(net, header, arrays):
    """Refuse to write a file that :func:`load` would refuse (only huge networks get here)."""
    max_batch = _max_batch(_state_widths(net.sizes))
    problems = [
        f"{len(arrays) + 1} arrays, at most {MAX_MEMBERS}" if len(arrays) + 1 > MAX_MEMBERS else "",
        f"a header of {len(header)} bytes, at most {MAX_HEADER_BYTES}"
        if len(header) > MAX_HEADER_BYTES else "",
        f"a batch of {net.batch_size} patterns, at most {max_batch} for its layer sizes "
        f"({MAX_STATE_VALUES} state values)" if net.batch_size > max_batch else "",
        f"seed {_quote(net.seed)}, at most 2**128 - 1" if not net.seed < MAX_SEED else "",
        f"{net.state.steps} steps, at most 2**53" if not net.state.steps <= MAX_STEPS else "",
        f"time {net.state.time} ms, at most {MAX_TIME:g}" if not net.state.time <= MAX_TIME else "",
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise ValueError(f"cannot save this network: it has {'; '.join(problems)} (limits of "
                         "the file format that core.io.storage.load checks)")


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------

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
        Corrupt file, another format or format version, a missing, out-of-range or invalid header
        field, missing, extra, misshapen, mistyped or non-finite arrays, sizes other than
        ``expect_sizes``, or a file beyond the limits of this module's ``MAX_*`` constants. The
        message is one line and quotes at most a few dozen characters of any value in the file.
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``expect_sizes`` is not a valid list of layer sizes.
    """
    if expect_sizes is not None:
        expect_sizes = validation.layer_sizes(expect_sizes, "expect_sizes")
    label = _label(path)  # what the messages call the file
    with contextlib.ExitStack() as stack:
        handle = path if hasattr(path, "read") else stack.enter_context(_open_file(path, label))
        with _unreadable_as_format_error(label):
            archive = stack.enter_context(_open_archive(handle))
            members = _members(archive, label)
            header = _parse_header(_read_header_bytes(archive, members, label), label)
            fields = _check_header(header, label)
            sizes = fields["layer_sizes"]
            if expect_sizes is not None and expect_sizes != sizes:
                raise FileFormatError(f"{label}: network has layer sizes {list(sizes)}, expected "
                                      f"{list(expect_sizes)}")
            arrays = _read_arrays(archive, members, fields, label)
    net = Network(fields["layer_sizes"], fields["parameters"], seed=fields["seed"])
    _fill(net, arrays, label)
    net.rng.bit_generator.state = fields["rng_state"]  # checked by _check_rng_state
    net.nudging = fields["nudging"]
    net.state.time, net.state.steps = fields["time"], fields["steps"]
    net.state.pattern_time = fields["pattern_time"]
    return net


def from_bytes(content, *, expect_sizes=None):
    """:func:`load` for the contents of a file (e.g. an upload); same checks, same errors."""
    return load(io.BytesIO(content), expect_sizes=expect_sizes)


def _label(path):
    return getattr(path, "name", None) or ("the uploaded file" if hasattr(path, "read") else path)


# ---- messages ------------------------------------------------------------------------------------

def _quote(value):
    """``repr(value)`` cut to a few dozen characters, long digit runs shortened: whoever wrote the
    file chose the value, and the message may be shown on a web page."""
    try:
        text = repr(value)
    except ValueError:  # an int of over 4300 digits (JSON cannot hold one; still, never crash)
        return f"a {type(value).__name__} holding a number too long to print"
    return _cut(_shorten_numbers(text))


def _shorten_numbers(text):
    return _LONG_NUMBER.sub(lambda m: f"{m.group()[:6]}...({len(m.group())} digits)", text)


_LONG_NUMBER = re.compile(r"\d{21,}")


def _cut(text, limit=_QUOTE_LENGTH):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _reason(error):
    """The message of a library's exception, on one short line, for the part in parentheses."""
    text = " ".join(str(error).split()) or type(error).__name__
    if "pickle" in text.lower():  # NumPy's advice to trust the file must not reach a student
        text = type(error).__name__
    return _cut(_shorten_numbers(text), _REASON_LENGTH)


@contextlib.contextmanager
def _unreadable_as_format_error(label):
    """Report what zipfile, zlib and NumPy raise on damaged bytes as one FileFormatError."""
    try:
        yield
    except FileFormatError:
        raise
    # zipfile reports damage in many unrelated ways (an unsupported "version" or compression
    # method from a flipped byte, a corrupt deflate stream, an "encrypted" flag, a bad CRC)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, NotImplementedError,
            RuntimeError, zlib.error, struct.error) as error:
        raise FileFormatError(f"{label}: not a readable network file ({_reason(error)}); "
                              "expected a .npz file saved by this app") from None


@contextlib.contextmanager
def _open_file(path, label):
    try:
        handle = open(os.fspath(path), "rb")
    except FileNotFoundError:
        raise
    except OSError as error:  # a directory, no permission, ...
        raise FileFormatError(f"{label}: not a readable network file ({_reason(error)})") from None
    with handle:
        yield handle


# ---- the archive ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _open_archive(handle):
    """A :class:`zipfile.ZipFile` on ``handle``, after checking that its directory is small.

    zipfile builds an object for every entry of the central directory before anything else can
    be checked (~7x the directory's size in memory), so the directory's declared size and entry
    count are checked first, with zipfile's own reader of the end record.
    """
    end_record = getattr(zipfile, "_EndRecData", None)  # private: check only if it is there
    if end_record is not None:
        record = end_record(handle)
        if record:
            entries, size = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]
            if entries > MAX_MEMBERS or size > MAX_MEMBERS * _DIRECTORY_BYTES_PER_MEMBER:
                raise zipfile.BadZipFile(
                    f"the archive lists {entries} members in {size} bytes; at most {MAX_MEMBERS} "
                    f"members in {MAX_MEMBERS * _DIRECTORY_BYTES_PER_MEMBER} bytes")
    with zipfile.ZipFile(handle) as archive:
        yield archive


def _members(archive, label):
    """``{array name: ZipInfo}`` (the name without ``.npy``, as :func:`numpy.load` names it)."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FileFormatError(f"{label}: {len(infos)} arrays; at most {MAX_MEMBERS}")
    members = {}
    for info in infos:
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name in members:
            raise FileFormatError(f"{label}: the archive holds array {_quote(name)} twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2 and lzma inflate a few kB read by zipfile to gigabytes at once
            raise FileFormatError(f"{label}: array {_quote(name)} is compressed with zip method "
                                  f"{info.compress_type}; expected stored (0) or deflated (8)")
        members[name] = info
    return members


@contextlib.contextmanager
def _npy_member(archive, info, name, label):
    """Open member ``info`` and read its ``.npy`` header: yields ``(stream, shape, fortran_order,
    dtype)`` with the stream at the first byte of the data, none of which has been read."""
    with archive.open(info) as stream:
        magic = stream.read(npy_format.MAGIC_LEN)
        if len(magic) < npy_format.MAGIC_LEN or magic[:-2] != npy_format.MAGIC_PREFIX:
            raise FileFormatError(f"{label}: array {_quote(name)} is not a .npy array")
        version = (magic[-2], magic[-1])
        readers = {(1, 0): ("<H", npy_format.read_array_header_1_0),
                   (2, 0): ("<I", npy_format.read_array_header_2_0)}
        if version not in readers:  # 3.0 only adds non-Latin-1 field names, which no array here has
            raise FileFormatError(f"{label}: array {_quote(name)} is in .npy format version "
                                  f"{version[0]}.{version[1]}; expected 1.0 or 2.0")
        length_format, reader = readers[version]
        length_bytes = stream.read(struct.calcsize(length_format))
        # NumPy reads the whole declared header (up to 4 GB) before checking its length
        length = struct.unpack(length_format, length_bytes)[0] \
            if len(length_bytes) == struct.calcsize(length_format) else -1
        if not 0 <= length <= _NPY_HEADER_BYTES:
            raise FileFormatError(f"{label}: array {_quote(name)} has a .npy header of "
                                  f"{length} bytes; expected at most {_NPY_HEADER_BYTES}")
        text = stream.read(length)
        try:
            shape, fortran_order, dtype = reader(io.BytesIO(length_bytes + text),
                                                 max_header_size=_NPY_HEADER_BYTES)
        # NumPy parses the header with ast and tokenize, which fail in many ways on garbage
        # (ValueError, SyntaxError, tokenize.TokenError, RecursionError, ...)
        except Exception as error:  # noqa: BLE001
            raise FileFormatError(f"{label}: array {_quote(name)} has an unreadable .npy header "
                                  f"({_reason(error)})") from None
        yield stream, shape, fortran_order, dtype


def _read_data(stream, shape, dtype, fortran_order, name, label):
    """Exactly the declared bytes of a member, into a new array; a stream that ends early or
    goes on is refused (reading stops one chunk past the declared size: no compression bomb)."""
    flat = np.empty(math.prod(shape), dtype=dtype)
    buffer = memoryview(flat).cast("B")
    filled = 0
    while filled < len(buffer):
        chunk = stream.read(min(len(buffer) - filled, _CHUNK_BYTES))
        if not chunk:
            raise FileFormatError(f"{label}: array {_quote(name)} is truncated: {filled} of "
                                  f"{len(buffer)} data bytes")
        buffer[filled:filled + len(chunk)] = chunk
        filled += len(chunk)
    if stream.read(1):  # also makes zipfile check the member's CRC
        raise FileFormatError(f"{label}: array {_quote(name)} holds more data than its shape "
                              f"{shape} declares")
    array = flat.reshape(shape, order="F" if fortran_order else "C")
    return np.ascontiguousarray(array)


def _read_header_bytes(archive, members, label):
    info = members.pop("header", None)
    if info is None:
        raise FileFormatError(f"{label}: no header; not written by core.io.storage.save")
    with _npy_member(archive, info, "header", label) as (stream, shape, fortran_order, dtype):
        if dtype != _BYTES or len(shape) != 1:
            raise FileFormatError(f"{label}: corrupt header (an array of {_cut(str(dtype))} and "
                                  f"shape {_quote(shape)}; expected a 1-D array of bytes)")
        if shape[0] > MAX_HEADER_BYTES:
            raise FileFormatError(f"{label}: corrupt header ({shape[0]} bytes; a network's header "
                                  f"has about 1 kB, at most {MAX_HEADER_BYTES} are read)")
        return _read_data(stream, shape, dtype, fortran_order, "header", label).tobytes()


# ---- the header ----------------------------------------------------------------------------------

_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def _nesting_exceeds(text, limit):
    """Whether JSON ``text`` nests lists and objects deeper than ``limit`` (a scan without
    recursion: :func:`json.loads` would exhaust Python's stack on 100000 nested lists)."""
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_STRUCTURE.finditer(text):
        char, position = match.group(), match.start()
        if position == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _parse_header(content, label):
    try:
        text = content.decode()
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{label}: corrupt header ({_reason(error)})") from None
    if _nesting_exceeds(text, MAX_HEADER_DEPTH):
        raise FileFormatError(f"{label}: corrupt header (lists or objects nested more than "
                              f"{MAX_HEADER_DEPTH} deep; a network's header nests 3 deep)")
    try:
        header = json.loads(text)
    # ValueError: an integer of over 4300 digits; RecursionError: in case the scan missed a nesting
    except (ValueError, RecursionError) as error:
        raise FileFormatError(f"{label}: corrupt header ({_reason(error)})") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{label}: corrupt header (a JSON {type(header).__name__}, not an "
                              "object)")
    if header.get("format") != FORMAT:
        raise FileFormatError(f"{label}: format {_quote(header.get('format'))}, expected "
                              f"{FORMAT!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise FileFormatError(
            f"{label}: format version {_quote(header.get('format_version'))}; this package "
            f"(version {__version__}) reads version {FORMAT_VERSION} only. Load it with the "
            f"package version that wrote it ({_quote(header.get('package_version'))}).")
    return header


def _is_number(value, low, high, whole=False):
    """Whether ``value`` is a JSON number (not a bool) from ``low`` to ``high``, and whole if asked.

    The range is checked first and exactly (Python compares ints and floats without converting),
    so a huge integer cannot overflow a conversion to float; NaN fails every comparison.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if not low <= value <= high:
        return False
    return not whole or float(value).is_integer()


def _is_layer_list(value):
    return isinstance(value, list) and 2 <= len(value) <= MAX_MEMBERS and \
        all(_is_number(n, 1, validation.MAX_WEIGHTS, whole=True) for n in value)


# what every header field must be: (test, description for the message)
_HEADER_FIELDS = {
    "layer_sizes": (_is_layer_list, "a list of 2 or more whole numbers from 1 to "
                                    f"{validation.MAX_WEIGHTS:.0e}"),
    "seed": (lambda v: _is_number(v, 0, MAX_SEED - 1, whole=True),
             "a whole number from 0 to 2**128 - 1"),
    "nudging": (lambda v: isinstance(v, bool), "true or false"),
    "parameters": (lambda v: isinstance(v, dict), "an object of parameter values"),
    "rng_state": (lambda v: isinstance(v, dict), "an object (the generator's state)"),
    "time": (lambda v: _is_number(v, 0, MAX_TIME), f"a number from 0 to {MAX_TIME:g} (ms)"),
    "steps": (lambda v: _is_number(v, 0, MAX_STEPS, whole=True),
              "a whole number from 0 to 2**53"),
    "pattern_time": (lambda v: _is_number(v, 0, MAX_TIME), f"a number from 0 to {MAX_TIME:g} (ms)"),
}


def _check_header(header, label):
    """The header's fields, checked and converted: ``layer_sizes`` a tuple, ``parameters`` a
    :class:`ModelParameters`, ``seed`` and ``steps`` ints, times floats."""
    for key, (test, description) in _HEADER_FIELDS.items():
        if key not in header:
            raise FileFormatError(f"{label}: invalid header: no {key!r}")
        if not test(header[key]):
            raise FileFormatError(f"{label}: invalid header: {key!r} = {_quote(header[key])}; "
                                  f"expected {description}")
    try:
        sizes = validation.layer_sizes(header["layer_sizes"])
    except ValueError as error:
        raise FileFormatError(f"{label}: invalid header ({_reason(error)})") from None
    return {
        "layer_sizes": sizes,
        "parameters": _check_parameters(header["parameters"], label),
        "rng_state": _check_rng_state(header["rng_state"], label),
        "seed": int(header["seed"]),
        "nudging": header["nudging"],
        "time": float(header["time"]),
        "steps": int(header["steps"]),
        "pattern_time": float(header["pattern_time"]),
    }


def _check_parameters(values, label):
    unknown = sorted(set(values) - set(parameter_names()))
    if unknown:
        raise FileFormatError(f"{label}: invalid parameters (unknown names {_quote(unknown)}; "
                              "expected those of core.model.parameters.ModelParameters)")
    for name, value in values.items():
        # param would fail on math.isfinite(10**400) with a message that names no parameter
        if any(_beyond_float(item) for item in (value if isinstance(value, list) else [value])):
            raise FileFormatError(f"{label}: invalid parameters (parameter {name!r} = "
                                  f"{_quote(value)}; expected finite numbers)")
    try:
        return ModelParameters(**values)
    except (ValueError, TypeError, OverflowError) as error:
        raise FileFormatError(f"{label}: invalid parameters ({_reason(error)})") from None


def _beyond_float(value):
    return isinstance(value, int) and not isinstance(value, bool) and \
        not -sys.float_info.max <= value <= sys.float_info.max


def _same_structure(value, template):
    """Whether ``value`` has the keys of ``template`` all the way down, whole numbers from 0 to
    2**128 - 1 where it has ints, and its strings."""
    if isinstance(template, dict):
        return isinstance(value, dict) and value.keys() == template.keys() and \
            all(_same_structure(value[key], template[key]) for key in template)
    if isinstance(template, int):
        return not isinstance(value, bool) and isinstance(value, int) and 0 <= value < 2**128
    return value == template


def _check_rng_state(state, label):
    """``state`` if it is a state of the network's bit generator (set on a scratch one to see)."""
    generator = np.random.default_rng(0).bit_generator
    problem = None
    if not _same_structure(state, generator.state):
        problem = f"expected an object like {_quote(generator.state)}"
    else:
        try:
            generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            problem = _reason(error)
        else:
            if generator.state != state:
                problem = "a value out of range"
    if problem is not None:
        raise FileFormatError(f"{label}: invalid header: rng_state is not a state of the "
                              f"{type(generator).__name__} generator ({problem})")
    return state


# ---- the arrays ----------------------------------------------------------------------------------

def _weight_shapes(sizes, use_bias):
    """``{name: shape}`` of the weights (and their traces) of a network of ``sizes``, in the
    order of :func:`core.model.network.random_weights`."""
    N = len(sizes) - 1
    shapes = {}
    shapes.update({f"W_up/{k}": (sizes[k], sizes[k - 1]) for k in range(1, N + 1)})
    shapes.update({f"W_down/{k}": (sizes[k], sizes[k + 1]) for k in range(1, N)})
    shapes.update({f"W_IP/{k}": (sizes[k + 1], sizes[k]) for k in range(1, N)})
    shapes.update({f"W_PI/{k}": (sizes[k], sizes[k + 1]) for k in range(1, N)})
    if use_bias:
        shapes.update({f"b_up/{k}": (sizes[k],) for k in range(1, N + 1)})
        shapes.update({f"b_IP/{k}": (sizes[k + 1],) for k in range(1, N)})
    return shapes


def _state_widths(sizes):
    """``{name: neurons}`` of the state arrays (each of shape (batch, neurons)), as in
    :func:`core.model.network.initial_state`."""
    N = len(sizes) - 1
    widths = {f"state/u_P/{k}": sizes[k] for k in range(1, N + 1)}
    widths.update({f"state/u_I/{k}": sizes[k + 1] for k in range(1, N)})
    widths.update({"state/r_input": sizes[0], "state/u_target": sizes[N],
                   "state/input_pattern": sizes[0], "state/target_pattern": sizes[N]})
    return widths


def _max_batch(widths):
    """Largest batch whose state arrays fit in :data:`MAX_STATE_VALUES` (1 if none does)."""
    return max(MAX_STATE_VALUES // sum(widths.values()), 1)


def _read_arrays(archive, members, fields, label):
    """Every array the header's network needs, each shape checked before its data is read."""
    sizes = fields["layer_sizes"]
    weight_shapes = _weight_shapes(sizes, fields["parameters"].use_bias)
    shapes = {f"{kind}/{name}": shape for kind in ("weights", "traces")
              for name, shape in weight_shapes.items()}
    widths = _state_widths(sizes)
    for name in list(shapes) + list(widths):
        if name not in members:
            raise FileFormatError(f"{label}: missing array {name!r}")
    unexpected = sorted(set(members) - set(shapes) - set(widths))
    if unexpected:
        raise FileFormatError(f"{label}: unexpected arrays {_quote(unexpected[:5])} (does the "
                              "file's use_bias setting match its arrays?)")
    # the batch size is the one dimension the header does not fix: r_input declares it
    max_batch = _max_batch(widths)
    r_input = _read_array(archive, members["state/r_input"], "state/r_input",
                          (None, sizes[0]), label, max_batch)
    batch = r_input.shape[0]
    shapes.update({name: (batch, width) for name, width in widths.items()})
    arrays = {"state/r_input": r_input}
    for name, shape in shapes.items():
        if name not in arrays:
            arrays[name] = _read_array(archive, members[name], name, shape, label)
    return arrays


def _read_array(archive, info, name, shape, label, max_batch=None):
    """Member ``name``: finite float64 of ``shape`` (``None`` in it: any size from 1 to
    ``max_batch``), refused on its ``.npy`` header before any data is read."""
    with _npy_member(archive, info, name, label) as (stream, declared, fortran_order, dtype):
        if dtype != _FLOAT64:
            raise FileFormatError(f"{label}: array {name!r} has dtype {_cut(str(dtype))}, "
                                  "expected float64")
        if not _shape_matches(declared, shape, max_batch):
            expected = str(shape) if None not in shape else \
                f"{str(shape).replace('None', 'B')} with 1 <= B <= {max_batch}"
            raise FileFormatError(f"{label}: array {name!r} has shape {_quote(declared)}, "
                                  f"expected {expected}")
        array = _read_data(stream, declared, dtype, fortran_order, name, label)
    if not np.all(np.isfinite(array)):
        raise FileFormatError(f"{label}: array {name!r} contains non-finite values; expected "
                              "finite float64")
    return array


def _shape_matches(declared, expected, max_batch):
    return len(declared) == len(expected) and all(
        n == want if want is not None else 1 <= n <= max_batch
        for n, want in zip(declared, expected))


def _take(arrays, key, shape, path):
    # a missing or misshapen array here means _weight_shapes or _state_widths disagree with
    # network.py (the file's arrays were checked against those)
    array = arrays.pop(key, None)
    if array is None:
        raise FileFormatError(f"{path}: missing array {key!r}")
    if array.shape != shape:
        raise FileFormatError(f"{path}: array {key!r} has shape {array.shape}, expected {shape}")
    return array


def _fill(net, arrays, path):
    template = net.weights
    weights = Weights(**{name: {k: _take(arrays, f"weights/{name}/{k}", a.shape, path)
                                for k, a in getattr(template, name).items()} for name in MATRICES})
    traces = Weights(**{name: {k: _take(arrays, f"traces/{name}/{k}", a.shape, path)
                               for k, a in getattr(template, name).items()} for name in MATRICES})
    batch = arrays["state/r_input"].shape[0]
    s = net.state
    state = State(
        u_P={k: _take(arrays, f"state/u_P/{k}", (batch, u.shape[1]), path) for k, u in s.u_P.items()},
        u_I={k: _take(arrays, f"state/u_I/{k}", (batch, u.shape[1]), path) for k, u in s.u_I.items()},
        **{name: _take(arrays, f"state/{name}", (batch, getattr(s, name).shape[1]), path)
           for name in _STATE_PATTERNS},
        traces=traces,
    )
    if arrays:
        raise FileFormatError(f"{path}: unexpected arrays {_quote(sorted(arrays)[:5])}")
    net.weights, net.state = weights, state
