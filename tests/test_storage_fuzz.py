"""Hostile network files (issue "Hostile input", items 3 and 5): whatever a shared or uploaded
``.npz`` holds, :func:`core.io.storage.load` gives the saved network or raises
:class:`~core.errors.FileFormatError` with a short one-line message -- never an OverflowError,
RecursionError or MemoryError, never gigabytes of memory or minutes of work.

The hand-made files below are built member by member with :mod:`zipfile`, so each one holds exactly
the damage it is named after; the hypothesis tests then put random JSON into every header field.
"""

import io
import json
import re
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.io import storage
from core.errors import FileFormatError
from core.model.network import Network
from core.model.parameters import ModelParameters

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

_NET = Network((3, 4, 2), ModelParameters(use_bias=True), seed=0)
_NET.present(np.ones(3), np.zeros(2))
_NET.run(5, backend="numpy")
GOOD = storage.to_bytes(_NET)
W_UP_1 = "weights/W_up/1.npy"  # shape (4, 3)
HUGE = 10**400


def members(content=GOOD):
    """``{member name: bytes}`` of an archive."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def archive(files, compression=zipfile.ZIP_STORED):
    """A zip archive of ``{member name: bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as out:
        for name, content in files.items():
            out.writestr(name, content)
    return buffer.getvalue()


def npy(array, **options):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, **options)
    return buffer.getvalue()


def npy_header(shape, descr="<f8", fortran_order=False):
    """Just the ``.npy`` header declaring ``shape`` and ``descr`` (version 1.0)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": fortran_order, "shape": shape})
    return buffer.getvalue()


def header():
    return json.loads(np.load(io.BytesIO(GOOD))["header"].tobytes())


def with_header_text(text):
    """GOOD with its header replaced by the JSON ``text``."""
    files = members()
    files["header.npy"] = npy(np.frombuffer(text.encode(), dtype=np.uint8))
    return archive(files)


def with_header_value(path, value):
    """GOOD with the header field at ``path`` (a tuple of keys and indices) set to ``value``."""
    changed = header()
    place = changed
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    return with_header_text(json.dumps(changed))


def with_member(name, content):
    files = members()
    files[name] = content
    return archive(files)


def refused(content, match=None, **options):
    """The message of the FileFormatError that loading ``content`` raises; checks it is short,
    one line and silent about pickling."""
    with pytest.raises(FileFormatError, match=match) as error:
        storage.from_bytes(content, **options)
    message = str(error.value)
    assert message.startswith("the uploaded file: ")
    assert "\n" not in message and len(message) < 400, message
    assert "pickle" not in message.lower() and "allow_pickle" not in message
    return message


def test_the_hand_made_files_start_from_a_loadable_one():
    assert archive(members()) != b""
    loaded = storage.from_bytes(archive(members()))
    np.testing.assert_array_equal(loaded.weights.W_up[1], _NET.weights.W_up[1])
    assert storage.from_bytes(with_header_text(json.dumps(header()))).state.steps == 5


# ---- numbers in the header ---------------------------------------------------------------------

NUMBER_FIELDS = [("seed",), ("steps",), ("time",), ("pattern_time",), ("layer_sizes", 0),
                 ("layer_sizes", 2), ("rng_state", "state", "state"), ("rng_state", "state", "inc"),
                 ("rng_state", "has_uint32"), ("rng_state", "uinteger"), ("parameters", "g_lk"),
                 ("parameters", "dt"), ("parameters", "eta_IP", 0), ("format_version",)]


@pytest.mark.parametrize("path", NUMBER_FIELDS, ids=lambda path: "/".join(map(str, path)))
@pytest.mark.parametrize("value", [HUGE, -HUGE, 10**4000, np.inf, -np.inf, np.nan],
                         ids=["1e400", "-1e400", "1e4000", "inf", "-inf", "nan"])
def test_an_overflowing_number_in_any_header_field_is_refused_by_name(path, value):
    message = refused(with_header_value(path, value))
    name = {"rng_state": "rng_state", "parameters": path[-1],
            "format_version": "format version"}.get(path[0], repr(path[0]))
    name = path[1] if path[0] == "parameters" else name
    assert name in message
    assert "0000000000" not in message  # a huge number is described, not printed


@pytest.mark.parametrize("path,value", [
    (("seed",), -1), (("seed",), 0.5), (("seed",), 2**128), (("steps",), -1), (("steps",), 0.5),
    (("steps",), 2**53 + 1), (("time",), -1e-9), (("time",), 1.01e15), (("pattern_time",), 1e300),
    (("layer_sizes", 0), 0), (("layer_sizes", 0), 10**8 + 1), (("layer_sizes", 0), "3"),
    (("layer_sizes", 0), True), (("layer_sizes",), [3]), (("rng_state", "state", "inc"), 2**128),
    (("rng_state", "state", "inc"), -1), (("rng_state", "uinteger"), 2**32),
    (("rng_state", "has_uint32"), 2**64), (("parameters", "g_lk"), -1), (("nudging",), 1),
])
def test_a_number_out_of_its_fields_range_is_refused_by_name(path, value):
    name = path[1] if path[0] == "parameters" else path[0]
    assert name in refused(with_header_value(path, value))


def test_an_integer_too_long_for_python_to_read_is_refused():
    text = json.dumps(header()).replace('"seed": 0', '"seed": ' + "9" * 5000)
    assert "9" * 5000 in text
    assert "corrupt header" in refused(with_header_text(text))


def test_the_largest_seed_step_count_and_time_load():
    content = with_header_text(json.dumps({**header(), "seed": storage.MAX_SEED - 1,
                                           "steps": storage.MAX_STEPS, "time": storage.MAX_TIME}))
    net = storage.from_bytes(content)
    assert net.seed == 2**128 - 1 and net.state.steps == 2**53 and net.state.time == 1e15
    refused(with_header_value(("seed",), storage.MAX_SEED),
            re.escape("'seed' = 340282...(39 digits)"))


@pytest.mark.parametrize("state", [
    {"bit_generator": "MT19937", "state": {"key": [0] * 624, "pos": 0}},
    {"bit_generator": "PCG64", "state": {"state": 1}, "has_uint32": 0, "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": 1, "inc": 1.5}, "has_uint32": 0, "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": 1, "inc": 1}, "has_uint32": True, "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": 1, "inc": 1}, "has_uint32": 0, "uinteger": 2**40},
    {"bit_generator": "PCG64", "state": {"state": 1, "inc": 1}, "has_uint32": 0, "uinteger": 0,
     "extra": 1},
])
def test_an_rng_state_of_another_shape_or_range_is_refused(state):
    assert "rng_state is not a state of the PCG64 generator" in \
        refused(with_header_value(("rng_state",), state))


# ---- structure and size of the header ----------------------------------------------------------

def test_deeply_nested_header_is_refused_without_recursion():
    deep = "[" * 100_000 + "]" * 100_000
    for text in (deep, json.dumps(header())[:-1] + ', "extra": ' + deep + "}",
                 json.dumps(header())[:-1] + ', "extra": ' + '{"a": ' * 20 + "1" + "}" * 21):
        assert "nested more than 16 deep" in refused(with_header_text(text))


def test_brackets_inside_header_strings_do_not_count_as_nesting():
    text = json.dumps({**header(), "note": "[{" * 1000 + '\\"[' + "\\\\"})
    assert storage.from_bytes(with_header_text(text)).sizes == (3, 4, 2)


def test_a_header_of_10_MB_is_refused_before_it_is_read():
    content = with_member("header.npy", npy(np.full(10 * 2**20, ord(" "), dtype=np.uint8)))
    tracemalloc.start()
    try:
        message = refused(content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "10485760 bytes" in message
    assert peak < 2**20, f"{peak / 2**20:.0f} MiB: the header was read"  # reading it takes 10


@pytest.mark.parametrize("key,value", [("format", "<script>alert(1)</script>" * 400),
                                       ("package_version", "x" * 100_000),
                                       ("layer_sizes", [3] * 50_000),
                                       ("parameters", {"g_lk": "<img onerror=1>" * 1000})])
def test_long_values_are_quoted_short(key, value):
    changed = {**header(), key: value}
    if key == "package_version":
        changed["format_version"] = 2
    message = refused(with_header_text(json.dumps(changed)))
    assert len(message) < 300


@pytest.mark.parametrize("header_member", [
    npy(np.zeros(3)),  # float64, not bytes
    npy(np.zeros((2, 2), dtype=np.uint8)),
    npy_header((10**12,), "|u1"),
    b"not an npy file",
])
def test_a_header_member_that_is_not_bytes_is_refused(header_member):
    refused(with_member("header.npy", header_member), "header|not a .npy array")


# ---- declared shapes, dtypes and sizes of the arrays -------------------------------------------

@pytest.mark.parametrize("name,declared", [(W_UP_1, (10**12,)), (W_UP_1, (10**12, 3)),
                                           (W_UP_1, (3, 4)), (W_UP_1, ()),
                                           ("state/r_input.npy", (10**12, 3)),
                                           ("state/r_input.npy", (0, 3)),
                                           ("state/u_P/1.npy", (2, 4))])
def test_a_declared_shape_other_than_the_networks_is_refused_before_reading(name, declared):
    message = refused(with_member(name, npy_header(declared)), "has shape")
    assert name[:-4] in message


def test_a_huge_batch_is_refused_but_a_large_one_loads():
    net = Network((3, 4, 2), seed=1)
    net.present(np.ones((1000, 3)), np.zeros(2))
    assert storage.from_bytes(storage.to_bytes(net)).batch_size == 1000
    files = members()
    files["state/r_input.npy"] = npy_header((2**24, 3))
    assert "1 <= B <=" in refused(archive(files))


@pytest.mark.parametrize("array", [np.zeros((4, 3), np.float32), np.zeros((4, 3), np.int64),
                                   np.zeros((4, 3), ">f8"), np.zeros((4, 3), bool),
                                   np.zeros((4, 3), complex), np.zeros(4, "f8,f8")],
                         ids=["float32", "int64", "big-endian", "bool", "complex", "structured"])
def test_an_array_of_another_dtype_is_refused(array):
    refused(with_member(W_UP_1, npy(array)), "'weights/W_up/1' has dtype")


class Unpickled:
    """Raises SystemExit if a reader unpickles it."""

    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled')",))


def test_a_pickled_object_array_is_refused_without_unpickling_or_mentioning_pickle():
    objects = np.empty((4, 3), dtype=object)
    objects[0, 0] = Unpickled()
    message = refused(with_member(W_UP_1, npy(objects, allow_pickle=True)))
    assert "dtype object, expected float64" in message


@pytest.mark.parametrize("data,match", [(b"", "truncated: 0 of 96"), (b"\0" * 95, "truncated"),
                                        (b"\0" * 97, "more data than its shape"),
                                        (b"\0" * 10_000, "more data than its shape")])
def test_a_member_shorter_or_longer_than_its_declared_shape_is_refused(data, match):
    refused(with_member(W_UP_1, npy_header((4, 3)) + data), match)


def test_non_finite_values_are_refused():
    refused(with_member(W_UP_1, npy(np.full((4, 3), np.nan))), "non-finite")


@pytest.mark.parametrize("content,match", [
    (npy_header((4, 3), descr="<f8")[:12], "unreadable .npy header|not a .npy array"),
    (b"\x93NUMPY\x03\x00" + npy_header((4, 3))[8:], "version 3.0"),
    (b"\x93NUMPY\x02\x00\xff\xff\xff\xff" + b" " * 100, "header of 4294967295 bytes"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}    ", "unreadable .npy header"),
    (b"\x93NUMPY\x01\x00\x90\x01" + b"(" * 399 + b"\n", "unreadable .npy header"),
])
def test_a_broken_npy_header_is_refused(content, match):
    refused(with_member(W_UP_1, content), match)


def test_fortran_ordered_and_compressed_files_load_exactly():
    files = members()
    files[W_UP_1] = npy(np.asfortranarray(_NET.weights.W_up[1]))
    assert b"'fortran_order': True" in files[W_UP_1]
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        loaded = storage.from_bytes(archive(files, compression))
        for (_, _, a), (_, _, b) in zip(_NET.weights.items(), loaded.weights.items()):
            np.testing.assert_array_equal(a, b)
        assert loaded.weights.W_up[1].flags.c_contiguous


# ---- the archive -------------------------------------------------------------------------------

def test_too_many_members_are_refused_before_zipfile_reads_them():
    files = members()
    files.update({f"x{i}": b"" for i in range(storage.MAX_MEMBERS)})
    assert "members" in refused(archive(files))
    files = members()
    files["weights/W_up/9.npy"] = npy(np.zeros((4, 3)))
    assert "unexpected arrays ['weights/W_up/9']" in refused(archive(files))


def test_a_member_listed_twice_or_compressed_otherwise_is_refused():
    buffer = io.BytesIO(archive(members()))
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(buffer, "a") as out:
        out.writestr(W_UP_1, npy(np.zeros((4, 3))))
    refused(buffer.getvalue(), "'weights/W_up/1' twice")
    refused(archive(members(), zipfile.ZIP_BZIP2), "zip method 12; expected stored")


def test_a_missing_array_or_header_is_named():
    files = members()
    del files["traces/b_IP/1.npy"]
    refused(archive(files), "missing array 'traces/b_IP/1'")
    del files["header.npy"]
    refused(archive(files), "no header")


def _deflated_zeros(prefix, name, size):
    """GOOD with member ``name`` replaced by ``prefix`` and ``size`` zero bytes (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for other, content in members().items():
            if other != name:
                out.writestr(other, content)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as member:
            member.write(prefix)
            chunk = bytes(2**22)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def compression_bombs():
    """200 MB of zeros deflated to 0.2 MB: behind a weight's right .npy header, behind the whole
    JSON header, and as a weight declared 200 MB large."""
    return {W_UP_1: _deflated_zeros(npy_header((4, 3)), W_UP_1, 200 * 2**20),
            "header.npy": _deflated_zeros(members()["header.npy"], "header.npy", 200 * 2**20),
            "declared": _deflated_zeros(npy_header((25 * 2**20,)), W_UP_1, 200 * 2**20)}


@pytest.mark.parametrize("bomb", [W_UP_1, "header.npy", "declared"])
def test_a_compression_bomb_is_refused_in_little_memory_and_time(compression_bombs, bomb):
    content = compression_bombs[bomb]
    assert len(content) < 2**20
    tracemalloc.start()
    start = time.perf_counter()
    try:
        message = refused(content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB to refuse a bomb: {message}"
    assert time.perf_counter() - start < 2
    assert ("more data" in message or "has shape" in message or "corrupt header" in message)


def test_a_flipped_crc_is_refused():
    files = members()
    content = bytearray(archive(files))
    start = content.index(b"\x93NUMPY", content.index(W_UP_1.encode()))
    content[start + 130] ^= 0xFF  # a data byte of weights/W_up/1
    refused(bytes(content), "not a readable network file .*CRC")


# ---- random JSON in every header field ---------------------------------------------------------

def _paths(value, prefix=()):
    """Every (key or index) path into the header's values."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


HEADER_PATHS = [path for path in _paths(header()) if path]
SCRIPT = "<script>window.__xss = 1</script>"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-HUGE, HUGE),
    st.sampled_from([HUGE, -HUGE, 2**63, 2**64, 2**128, -1, 0, 1]), st.floats(),
    st.text(max_size=8), st.sampled_from([SCRIPT, SCRIPT * 50, "PCG64", "MT19937", "[" * 40])
)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4) |
                           st.dictionaries(st.text(max_size=4), children, max_size=4),
                           max_leaves=12)


def _loads_or_refuses(content):
    try:
        net = storage.from_bytes(content)
    except FileFormatError as error:
        message = str(error)
        assert "\n" not in message and len(message) < 400, message
        assert "pickle" not in message.lower()
        return None
    assert all(np.all(np.isfinite(a)) for _, _, a in net.weights.items())
    assert 0 <= net.state.time <= storage.MAX_TIME and 0 <= net.state.steps <= storage.MAX_STEPS
    return net


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(HEADER_PATHS), json_values), min_size=1,
                      max_size=3))
def test_random_json_in_header_fields_loads_or_is_refused(edits):
    changed = header()
    for path, value in edits:
        _set(changed, path, value)
    _loads_or_refuses(with_header_text(json.dumps(changed)))


def _set(document, path, value):
    """Set the value at ``path`` if an earlier edit left the way there."""
    place = document
    for key in path:
        container = place
        if isinstance(place, dict) and isinstance(key, str) and key in place or \
                isinstance(place, list) and isinstance(key, int) and key < len(place):
            place = place[key]
        else:
            return
    container[path[-1]] = value


@FUZZ
@given(value=json_values, key=st.sampled_from(sorted(header())))
def test_random_json_in_place_of_a_whole_field_loads_or_is_refused(key, value):
    _loads_or_refuses(with_header_text(json.dumps({**header(), key: value})))


@FUZZ
@given(document=json_values)
def test_a_random_json_document_as_header_is_refused(document):
    with pytest.raises(FileFormatError):
        storage.from_bytes(with_header_text(json.dumps(document)))
