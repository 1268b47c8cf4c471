"""The IDX reader on small files the tests write themselves: round trips and each kind of damage."""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib

import numpy as np
import pytest

from mnist.errors import MnistError
from mnist.idx import encode_idx, read_idx, write_idx


@pytest.fixture
def images() -> np.ndarray:
    """Seven 28x28 uint8 images with distinct content."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_round_trip_uint8(tmp_path, images, suffix):
    path = tmp_path / f"imgs-idx3-ubyte{suffix}"
    write_idx(path, images)
    idx = read_idx(path)
    assert idx.array.dtype == np.uint8
    assert idx.array.shape == (7, 28, 28)
    np.testing.assert_array_equal(idx.array, images)
    assert idx.sha256 == hashlib.sha256(encode_idx(images)).hexdigest()
    assert not idx.array.flags.writeable


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_the_array_owns_its_memory_and_keeps_no_file_bytes(tmp_path, images, suffix):
    # one copy of the pixels in memory NumPy allocated, not a view that keeps the file's bytes
    path = tmp_path / f"imgs-idx3-ubyte{suffix}"
    write_idx(path, images)
    array = read_idx(path).array
    assert array.flags.c_contiguous
    base = array
    while base is not None and isinstance(base, np.ndarray):
        base = base.base
    assert base is None


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_other_types(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "a.gz", array)
    back = read_idx(tmp_path / "a.gz").array
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)


def test_checksum_same_for_gz_recompressed_and_raw(tmp_path, images):
    raw = encode_idx(images)
    (tmp_path / "raw").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw, compresslevel=1))
    (tmp_path / "b.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=12345))
    digests = {read_idx(tmp_path / name).sha256 for name in ("raw", "a.gz", "b.gz")}
    assert digests == {hashlib.sha256(raw).hexdigest()}


def test_gzip_detected_by_content_not_name(tmp_path, images):
    (tmp_path / "looks-raw").write_bytes(gzip.compress(encode_idx(images)))
    (tmp_path / "looks.gz").write_bytes(encode_idx(images))
    np.testing.assert_array_equal(read_idx(tmp_path / "looks-raw").array, images)
    np.testing.assert_array_equal(read_idx(tmp_path / "looks.gz").array, images)


def _expect_error(path, *fragments):
    with pytest.raises(MnistError) as info:
        read_idx(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("compress", [False, True])
def test_truncated(tmp_path, images, compress):
    raw = encode_idx(images)[:-100]
    path = tmp_path / "t"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    _expect_error(path, "truncated")


def test_truncated_gzip_stream(tmp_path, images):
    data = gzip.compress(encode_idx(images))
    path = tmp_path / "t.gz"
    path.write_bytes(data[: len(data) // 2])
    _expect_error(path, "truncated")


def test_missing_gzip_trailer(tmp_path, images):
    data = gzip.compress(encode_idx(images))
    path = tmp_path / "t.gz"
    path.write_bytes(data[:-8])  # CRC32 and size gone, the data itself complete
    _expect_error(path, "truncated")


@pytest.mark.parametrize("magic", [b"\x00\x00\x07\x03", b"\x01\x00\x08\x03", b"PK\x03\x04"])
def test_bad_magic(tmp_path, images, magic):
    path = tmp_path / "m"
    path.write_bytes(magic + encode_idx(images)[4:])
    _expect_error(path, "magic")


def test_wrong_dimensions_count(tmp_path, images):
    # Header says 4 dimensions but only three sizes follow before the pixels start.
    raw = bytearray(encode_idx(images))
    raw[3] = 4
    path = tmp_path / "d"
    path.write_bytes(bytes(raw))
    with pytest.raises(MnistError):
        read_idx(path)


def test_zero_dimensions(tmp_path):
    path = tmp_path / "z"
    path.write_bytes(b"\x00\x00\x08\x00")
    _expect_error(path, "0 dimensions")


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_bytes(tmp_path, images, compress):
    raw = encode_idx(images) + b"extra"
    path = tmp_path / "x"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    _expect_error(path)


def test_garbage_after_gzip_stream(tmp_path, images):
    path = tmp_path / "g.gz"
    path.write_bytes(gzip.compress(encode_idx(images)) + b"garbage")
    _expect_error(path, "after the end")


def test_bad_gzip(tmp_path):
    path = tmp_path / "b.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 200)
    _expect_error(path, "gzip")


@pytest.mark.parametrize("compress", [False, True])
def test_header_claiming_a_billion_images(tmp_path, compress):
    raw = struct.pack(">HBB3I", 0, 8, 3, 10**9, 28, 28) + bytes(784 * 3)
    path = tmp_path / "huge"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    _expect_error(path, "claims")


def test_gzip_bomb_stopped_early(tmp_path):
    # Header claims 10 images, the stream inflates to 200 MB of zeros (a 200 KB file).
    head = struct.pack(">HBB3I", 0, 8, 3, 10, 28, 28)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunks = [compressor.compress(head)]
    block = bytes(1 << 20)
    for _ in range(200):
        chunks.append(compressor.compress(block))
    chunks.append(compressor.flush())
    path = tmp_path / "bomb.gz"
    path.write_bytes(b"".join(chunks))
    assert path.stat().st_size < 1 << 20
    _expect_error(path, "more than")


def test_empty_missing_directory(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _expect_error(empty, "empty")
    _expect_error(tmp_path / "nope", "not found")
    _expect_error(tmp_path, "directory")


def test_write_is_atomic_on_failure(tmp_path, images, monkeypatch):
    path = tmp_path / "keep-idx3-ubyte.gz"
    write_idx(path, images)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mnist.idx.os.replace", boom)
    with pytest.raises(OSError):
        write_idx(path, images[:3])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# -- property-based: arbitrary bytes never raise anything but MnistError ------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HEADERS = st.builds(
    lambda code, dims, sizes: bytes([0, 0, code, dims]) + b"".join(
        s.to_bytes(4, "big") for s in sizes
    ),
    st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    st.integers(0, 4),
    st.lists(st.integers(0, 2**32 - 1), max_size=4),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    head=st.one_of(st.just(b""), _HEADERS),
    body=st.binary(max_size=2048),
    compress=st.booleans(),
    cut=st.integers(0, 64),
)
def test_arbitrary_bytes_only_raise_mnist_error(tmp_path, head, body, compress, cut):
    data = head + body
    if compress:
        data = gzip.compress(data)
        data = data[: max(0, len(data) - cut)] if cut % 3 == 0 else data
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    try:
        idx = read_idx(path)
    except MnistError as exc:
        assert "\n" not in str(exc)
    else:
        assert idx.array.size * idx.array.itemsize == len(head + body) - (4 + 4 * head[3])
