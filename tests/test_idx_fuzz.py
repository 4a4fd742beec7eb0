"""Fuzzing the IDX reader (core.io.data.read_idx / parse_idx) with hypothesis.

Whatever the bytes -- valid, truncated, corrupted, random, raw or gzip-compressed -- the reader
either returns exactly the array the header declares or raises
:class:`~core.errors.FileFormatError`: never a silently wrong array, never an unrelated exception
(IndexError, struct.error, zlib.error, EOFError, a MemoryError from a huge declared size, ...).
"""

import gzip
import os
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.io import data
from core.errors import FileFormatError

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

def idx_bytes(array, code):
    """An IDX file holding ``array`` with type ``code``."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(data.IDX_DTYPES[code]).tobytes()


@st.composite
def idx_arrays(draw):
    code = draw(st.sampled_from(sorted(data.IDX_DTYPES)))
    dtype = data.IDX_DTYPES[code].newbyteorder("=")
    array = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)))
    return array, code


def _read_file(content, name="f.idx"):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(content)
        return data.read_idx(path)


def _declared(content):
    """(dtype, shape) of a header that the reader accepted."""
    ndim = content[3]
    shape = struct.unpack(f">{ndim}I", content[4:4 + 4 * ndim])
    return data.IDX_DTYPES[content[2]], shape


def _exact_or_refused(read, content):
    """``read()`` gives the array the (uncompressed) ``content`` declares, or FileFormatError."""
    try:
        array = read()
    except FileFormatError:
        return None
    dtype, shape = _declared(content)
    assert array.shape == shape and array.dtype == dtype.newbyteorder("=")
    header_size = 4 + 4 * len(shape)
    assert len(content) - header_size == array.nbytes  # no byte missing, none left over
    np.testing.assert_array_equal(
        array, np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape))
    return array


@FUZZ
@given(case=idx_arrays(), compress=st.booleans())
def test_valid_files_round_trip_exactly(case, compress):
    array, code = case
    content = idx_bytes(array, code)
    read = _read_file(gzip.compress(content) if compress else content)
    assert read.shape == array.shape and read.dtype == array.dtype
    np.testing.assert_array_equal(read, array)
    assert read.flags.writeable
    np.testing.assert_array_equal(data.parse_idx(content, expected_shape=array.shape), array)


@FUZZ
@given(case=idx_arrays(), data_=st.data())
def test_truncated_or_extended_files_are_refused(case, data_):
    array, code = case
    content = idx_bytes(array, code)
    if data_.draw(st.booleans(), label="extend"):
        changed = content + data_.draw(st.binary(min_size=1, max_size=16), label="tail")
    else:
        changed = content[:data_.draw(st.integers(0, len(content) - 1), label="cut")]
    with pytest.raises(FileFormatError):
        data.parse_idx(changed)
    with pytest.raises(FileFormatError):
        _read_file(changed)
    with pytest.raises(FileFormatError):
        _read_file(gzip.compress(changed), "f.idx.gz")


@FUZZ
@given(case=idx_arrays(),
       edits=st.lists(st.tuples(st.integers(0, 64), st.integers(0, 255)), min_size=1, max_size=6))
def test_corrupted_files_give_the_declared_array_or_are_refused(case, edits):
    array, code = case
    content = bytearray(idx_bytes(array, code))
    for position, byte in edits:
        if position < len(content):
            content[position] = byte
    content = bytes(content)
    _exact_or_refused(lambda: data.parse_idx(content), content)
    _exact_or_refused(lambda: _read_file(content), content)


@FUZZ
@given(content=st.binary(max_size=80))
def test_random_bytes_give_the_declared_array_or_are_refused(content):
    _exact_or_refused(lambda: data.parse_idx(content), content)
    _exact_or_refused(lambda: _read_file(content), content)


@FUZZ
@given(code=st.integers(0, 255), ndim=st.integers(0, 255), dims=st.lists(
    st.integers(0, 2**32 - 1), max_size=8), tail=st.binary(max_size=32))
def test_any_header_with_any_declared_size_is_refused_quickly_or_read_exactly(code, ndim, dims,
                                                                              tail):
    # dimensions up to 2**32 - 1 each: the declared size may be astronomically large; the reader
    # must compare it with the bytes at hand instead of allocating it
    content = bytes([0, 0, code, ndim]) + b"".join(struct.pack(">I", d) for d in dims) + tail
    _exact_or_refused(lambda: data.parse_idx(content), content)


@pytest.mark.parametrize("ndim", [33, 64, 65, 255])
def test_more_dimensions_than_numpy_supports_are_refused_clearly(ndim):
    # found by fuzzing: 65+ dimensions raised NumPy's own ValueError from reshape
    content = bytes([0, 0, 0x08, ndim]) + struct.pack(f">{ndim}I", *[1] * ndim) + b"\x07"
    with pytest.raises(FileFormatError, match=f"declares {ndim} dimensions; at most 32"):
        data.parse_idx(content)


@FUZZ
@given(case=idx_arrays(), data_=st.data())
def test_corrupted_gzip_streams_give_the_exact_array_or_are_refused(case, data_):
    array, code = case
    content = idx_bytes(array, code)
    packed = bytearray(gzip.compress(content, mtime=0))
    how = data_.draw(st.sampled_from(["cut", "flip", "insert", "append"]), label="how")
    if how == "cut":
        packed = packed[:data_.draw(st.integers(2, len(packed) - 1), label="cut")]
    elif how == "flip":
        for _ in range(data_.draw(st.integers(1, 4), label="n")):
            position = data_.draw(st.integers(2, len(packed) - 1), label="position")
            packed[position] = data_.draw(st.integers(0, 255), label="byte")
    elif how == "insert":
        position = data_.draw(st.integers(2, len(packed)), label="position")
        packed[position:position] = data_.draw(st.binary(min_size=1, max_size=8), label="bytes")
    else:
        packed += data_.draw(st.binary(min_size=1, max_size=16), label="bytes")
    try:
        read = _read_file(bytes(packed), "f.idx.gz")
    except FileFormatError:
        return
    # gzip's CRC-32 and length checks passed: only the exact data may come out
    np.testing.assert_array_equal(read, array)
    assert read.shape == array.shape


@FUZZ
@given(content=st.binary(max_size=80))
def test_random_bytes_behind_the_gzip_magic_are_refused(content):
    with pytest.raises(FileFormatError):
        _read_file(b"\x1f\x8b" + content, "f.idx.gz")


def test_a_huge_declared_size_is_refused_without_allocating():
    content = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    with pytest.raises(FileFormatError, match="truncated"):
        data.parse_idx(content + b"\x00" * 8)
    with pytest.raises(FileFormatError, match="truncated"):
        _read_file(gzip.compress(content))
