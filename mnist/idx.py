"""Reading and writing IDX files, gzip-compressed or raw.

The IDX format (LeCun et al.) is a 4-byte magic number ``00 00 TT DD`` (TT: element type, DD:
number of dimensions), then DD big-endian uint32 sizes, then the elements, big-endian, in C order.

The reader validates everything before it trusts anything: the magic number, the dimensions, the
sizes, and that the byte count is *exactly* right. A header that claims more data than the file
can hold is an error before any allocation: a raw file must be exactly as long as its header says,
and a gzip stream cannot inflate by more than a factor of about 1032 (DEFLATE's limit), so a claim
beyond that is impossible. Decompression is bounded by the claimed size, so a gzip bomb (a small
.gz that inflates far past its header's claim) is stopped after one byte too many.

The SHA-256 of the decompressed content is computed on the way, so the same checksum verifies the
published .gz, a recompressed .gz and a raw file alike.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist.errors import MnistError
from mnist.fileio import FileRefused, atomic_write, read_limited

# IDX element type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_CODES = {np.dtype(v).newbyteorder(">").str: k for k, v in IDX_DTYPES.items()}

GZIP_MAGIC = b"\x1f\x8b"
# DEFLATE cannot expand data by more than 1032:1; anything claiming more is not in the file.
DEFLATE_MAX_RATIO = 1032
# No IDX file we read is near this (MNIST's largest is 47 MB); refuse to allocate past it.
MAX_CONTENT_BYTES = 1 << 30


@dataclass(frozen=True)
class IdxHeader:
    """The parsed header of an IDX file: element dtype, shape, and byte sizes."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def header_bytes(self) -> int:
        """Length of the header: magic (4 bytes) plus one uint32 per dimension."""
        return 4 + 4 * len(self.shape)

    @property
    def body_bytes(self) -> int:
        """Length of the element data the header claims."""
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no overflow

    @property
    def total_bytes(self) -> int:
        """Exact length of the decompressed file."""
        return self.header_bytes + self.body_bytes


@dataclass(frozen=True)
class IdxFile:
    """An IDX file's content: the array (native byte order, read-only) and its SHA-256."""

    array: np.ndarray
    sha256: str


def parse_header(head: bytes, name: str) -> IdxHeader:
    """Parse an IDX header from the first bytes of the decompressed content.

    `head` must hold at least the 4-byte magic; if it holds fewer than the full header, the file
    is truncated. Raises MnistError naming `name` on a bad magic number or type code.
    """
    if len(head) < 4:
        raise MnistError(
            f"{name}: too short to be an IDX file ({len(head)} bytes); it is truncated"
        )
    zero, code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise MnistError(
            f"{name}: not an IDX file (bad magic number 0x{head[:4].hex()}); "
            "expected 0x0000TTDD with a known type TT"
        )
    if ndim == 0:
        raise MnistError(f"{name}: IDX header declares 0 dimensions")
    need = 4 + 4 * ndim
    if len(head) < need:
        raise MnistError(f"{name}: IDX header is truncated ({len(head)} of {need} bytes)")
    shape = struct.unpack(f">{ndim}I", head[4:need])
    return IdxHeader(np.dtype(IDX_DTYPES[code]), tuple(int(s) for s in shape))


def _check_claim(header: IdxHeader, name: str, limit: int) -> None:
    """Refuse a header whose claimed size cannot be in the file (no allocation happens first)."""
    # Zero-sized dimensions do not excuse absurd others (NumPy cannot even hold such a shape).
    span = math.prod(max(size, 1) for size in header.shape) * header.dtype.itemsize
    if header.total_bytes > min(limit, MAX_CONTENT_BYTES) or span > MAX_CONTENT_BYTES:
        raise MnistError(
            f"{name}: header claims {header.shape} ({header.total_bytes:,} bytes), "
            f"more than the file can hold; the file is truncated or not a real IDX file"
        )


def _read_raw(data: bytes, name: str) -> tuple[IdxHeader, bytes]:
    """Validate an uncompressed IDX file held in `data`; return its header and full content."""
    header = parse_header(data[: 4 + 4 * 255], name)
    _check_claim(header, name, MAX_CONTENT_BYTES)
    if len(data) < header.total_bytes:
        raise MnistError(
            f"{name}: truncated: {len(data):,} of the {header.total_bytes:,} bytes its header "
            f"claims for shape {header.shape}"
        )
    if len(data) > header.total_bytes:
        extra = len(data) - header.total_bytes
        raise MnistError(f"{name}: {extra:,} unexpected bytes after the data (trailing garbage)")
    return header, data


def _read_gzip(data: bytes, name: str) -> tuple[IdxHeader, bytes]:
    """Inflate a gzip IDX file, never producing more than its header claims plus one byte."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = inflater.decompress(data, 4)
        if len(head) == 4 and head[3] > 0:
            head += inflater.decompress(inflater.unconsumed_tail, 4 * head[3])
        header = parse_header(head, name)
        _check_claim(header, name, DEFLATE_MAX_RATIO * len(data))
        body = inflater.decompress(inflater.unconsumed_tail, header.body_bytes + 1)
        content = head + body
        if len(content) < header.total_bytes:
            raise MnistError(
                f"{name}: truncated: {len(content):,} of {header.total_bytes:,} bytes "
                "after decompression"
            )
        if len(content) > header.total_bytes or (inflater.unconsumed_tail and not inflater.eof):
            raise MnistError(
                f"{name}: decompresses to more than the {header.total_bytes:,} bytes its header "
                "claims (trailing garbage or a gzip bomb); refusing it"
            )
        if not inflater.eof:
            # The data is all there but the gzip trailer (CRC, size) is missing.
            raise MnistError(f"{name}: the gzip stream is truncated (no end-of-stream marker)")
        if inflater.unused_data.strip(b"\x00"):
            raise MnistError(f"{name}: unexpected bytes after the end of the gzip stream")
    except zlib.error as exc:
        raise MnistError(f"{name}: not a valid gzip file ({exc})") from None
    return header, content


def read_idx(path: str | os.PathLike[str], *, max_file_bytes: int = 256 << 20) -> IdxFile:
    """Read and validate an IDX file, gzip-compressed or raw (detected by content, not name).

    Returns the array with the header's shape (e.g. (N, 28, 28) uint8 images or (N,) uint8
    labels) in native byte order, read-only, and the SHA-256 hex digest of the decompressed
    content. Every problem (missing, unreadable, truncated, wrong magic, trailing bytes, bad gzip,
    impossible header) raises MnistError with one line naming the file.
    """
    path = Path(path)
    name = str(path)
    try:
        if path.is_dir():
            raise MnistError(f"{name}: is a directory, expected an IDX file")
        # Never blocks on a FIFO, never reads a device or past the limit.
        data = read_limited(path, max_file_bytes)
    except FileRefused as exc:
        raise MnistError(f"{name}: {exc} (no MNIST file is larger than 48 MB)"
                         if "too large" in str(exc) else f"{name}: {exc}") from None
    except FileNotFoundError:
        raise MnistError(f"{name}: file not found") from None
    except PermissionError:
        raise MnistError(f"{name}: permission denied") from None
    except OSError as exc:
        raise MnistError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise MnistError(f"{name}: file is empty")
    if data[:2] == GZIP_MAGIC:
        header, content = _read_gzip(data, name)
    else:
        header, content = _read_raw(data, name)
    digest = hashlib.sha256(content).hexdigest()
    del data  # the compressed bytes (or, raw, the same object as `content`)
    # One copy into memory NumPy allocates, and the bytes freed: NumPy asks the kernel for huge
    # pages for large arrays (44 of the 45 MB of MNIST's training images, by /proc/self/smaps,
    # against none under `np.frombuffer` over the decompressed bytes), and gathering training
    # batches' random rows from there took a `seed` epoch's work outside its matrix products
    # from 153-154 to 142-144 ms of CPU (one BLAS thread, medians of 7, two alternating pairs).
    array = np.empty(header.shape, header.dtype.newbyteorder("="))
    array[...] = np.frombuffer(content, dtype=header.dtype,
                               offset=header.header_bytes).reshape(header.shape)
    del content
    array.flags.writeable = False
    return IdxFile(array=array, sha256=digest)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode an array (any supported dtype, 1 to 255 dimensions) as IDX bytes."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = _CODES.get(np.dtype(big).str)
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise MnistError(f"cannot encode a {array.ndim}-D {array.dtype} array as IDX")
    head = struct.pack(">HBB", 0, code, array.ndim)
    head += struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.ascontiguousarray(array, dtype=big).tobytes()


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> None:
    """Write `array` as an IDX file; gzip it when `compress` is True (default: name ends in .gz).

    The write is atomic: a temporary file beside `path` is renamed into place.
    """
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    payload = encode_idx(array)
    if compress:
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, lambda fh: fh.write(payload))
