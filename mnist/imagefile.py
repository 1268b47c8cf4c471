"""Read (and write) the image files `digits predict` accepts: PGM, .npy and text art.

Every reader returns a list of ``(index, image)`` pairs: ``index`` is the position within a stack
(a 3-D .npy, a multi-image P5 file) or None for a single image, and ``image`` is a 2-D float32
array in 0..255 with higher = ink, MNIST's convention. Any problem with a file (missing, a
directory, truncated, absurd header, NaN, an object array...) raises MnistError with one line
naming the file; no other exception escapes, whatever the bytes.

* PGM (P2 plain / P5 binary, maxval up to 65535, ``#`` comments): scaled to 0..255 by maxval.
  Paper is usually light; by default an image whose paper is light (`mnist.paper.light_is_paper`:
  its four corners and its 1-pixel border, averaged, are lighter than mid-grey) is inverted;
  ``invert=True/False`` forces it (the CLI's ``--invert``).
* .npy: a 2-D image or a 3-D (N, H, W) stack, bool/int/float, values 0..255 or 0..1 (a file
  whose maximum is <= 1 is multiplied by 255). Never unpickled; the header is checked against the
  file size before anything is allocated. An (H, W, 3) or (H, W, 4) array is a colour image, not
  a stack of H images W pixels wide by 3, and is refused with a message saying so.
* .txt text art: one row per line, ``# @ * X x 1`` are ink (255), anything else background.
  Ragged lines are padded on the right, trailing blank lines ignored.

``invert=True`` also inverts .npy and text-art images (255 - x); auto-inversion is PGM only.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from mnist.errors import MnistError
from mnist.fileio import open_regular, read_limited
from mnist.paper import light_is_paper

Image = tuple[int | None, np.ndarray]

SUPPORTED = ".pgm (P2/P5), .npy, .txt (text art)"
MAX_PIXELS = 64 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_PLAIN_PGM_BYTES = 64 * 1024 * 1024
MAX_TEXT_SIDE = 4096
#: Images one file may hold (a P5 chain, a .npy stack): MNIST's training set fits.
MAX_IMAGES_PER_FILE = 60_000
INK_CHARS = "#@*Xx1"
_INK_CODES = np.array([ord(c) for c in INK_CHARS], dtype=np.uint32)
_FIELD = re.compile(rb"(?:\s|#[^\n]*(?:\n|$))*([^\s#]{0,16})")
_WS = b" \t\n\r\v\f"
_SPACE = re.compile(rb"[ \t\n\r\v\f]*")


def _check_file(path: str | os.PathLike[str]) -> int:
    """Size in bytes of the regular file at `path`; MnistError if missing or a directory.

    Only for early, clear messages: the protection is `_open`, which checks what it opened.
    """
    p = Path(path)
    try:
        info = p.stat()  # not is_dir() / exists(): they say False for a loop of links
    except (FileNotFoundError, NotADirectoryError):
        raise MnistError(f"{p}: no such file") from None
    except OSError as exc:
        raise MnistError(f"{p}: cannot read the file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise MnistError(f"{p}: is a directory, not an image file")
    return info.st_size


def _open(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> IO[bytes]:
    """The file opened for reading if it is a regular file of at most `limit` bytes (a FIFO,
    a device or /dev/zero is refused without blocking); MnistError otherwise."""
    _check_file(path)
    try:
        return open_regular(path, limit)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _read_bytes(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """Whole file content, after checking it is a regular file of at most `limit` bytes."""
    _check_file(path)
    try:
        return read_limited(path, limit)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _pgm_header(data: bytes, pos: int, name: str) -> tuple[bytes, int, int, int, int]:
    """Parse a PGM header at `pos`: (magic, width, height, maxval, offset of the raster)."""
    magic = data[pos : pos + 2]
    if magic not in (b"P2", b"P5"):
        raise MnistError(f"{name}: not a PGM file (expected 'P2' or 'P5', found {magic[:2]!r})")
    pos += 2
    fields = []
    for what in ("width", "height", "maxval"):
        m = _FIELD.match(data, pos)
        token = m.group(1) if m else b""
        if not token:
            raise MnistError(f"{name}: PGM header is truncated or malformed (no {what})")
        if not token.isdigit() or len(token) > 12:
            shown = token.decode("ascii", "replace")
            raise MnistError(f"{name}: bad PGM {what} {shown!r} (need a positive integer)")
        fields.append(int(token))
        pos = m.end()
    width, height, maxval = fields
    if width == 0 or height == 0:
        raise MnistError(f"{name}: PGM image is empty ({width} x {height} pixels)")
    if not 1 <= maxval <= 65535:
        raise MnistError(f"{name}: bad PGM maxval {maxval} (must be 1..65535)")
    if width * height > MAX_PIXELS:
        raise MnistError(
            f"{name}: PGM header declares {width} x {height} pixels, over the limit of "
            f"{MAX_PIXELS // (1024 * 1024)} megapixels"
        )
    if pos >= len(data) or data[pos] not in _WS:
        raise MnistError(f"{name}: PGM header is truncated (no pixel data after maxval)")
    return magic, width, height, maxval, pos + 1


def _p5_size(data: bytes, w: int, h: int, maxval: int, pos: int, name: str) -> int:
    """Bytes of a P5 raster at `pos`; MnistError if the data is shorter."""
    need = w * h * (2 if maxval > 255 else 1)
    if len(data) - pos < need:
        raise MnistError(
            f"{name}: PGM is truncated ({w} x {h} needs {need} bytes of pixels, "
            f"found {len(data) - pos})"
        )
    return need


def _pgm_raster(data: bytes, magic: bytes, w: int, h: int, maxval: int, pos: int, name: str):
    """Decode one raster: ((h, w) int array, offset after it). Checks size before allocating."""
    if magic == b"P5":
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
        need = _p5_size(data, w, h, maxval, pos, name)
        pixels = np.frombuffer(data, dtype=dtype, count=w * h, offset=pos)
        end = pos + need
    else:
        raster = data[pos:]
        if len(raster) > MAX_PLAIN_PGM_BYTES:
            raise MnistError(f"{name}: plain (P2) PGM over 64 MB; convert it to binary P5")
        raster = re.sub(rb"#[^\n]*", b"", raster)
        bad = raster.translate(None, b"0123456789" + _WS)
        if bad:
            raise MnistError(f"{name}: invalid character {bad[:1]!r} in P2 pixel data")
        if re.search(rb"(?<!\d)0*[1-9]\d{5}", raster):  # leading zeros are fine: 000001
            raise MnistError(f"{name}: P2 pixel value too large (maxval is {maxval})")
        pixels = np.fromstring(raster, dtype=np.int32, sep=" ") if raster.strip() else np.array([])
        if pixels.size != w * h:
            raise MnistError(
                f"{name}: P2 PGM has {pixels.size} pixel values, the header declares {w * h}"
            )
        end = len(data)
    if int(pixels.max()) > maxval:
        raise MnistError(f"{name}: pixel value {int(pixels.max())} exceeds maxval {maxval}")
    return pixels.reshape(h, w), end


def _to_ink(pixels: np.ndarray, maxval: int, invert: bool | None) -> np.ndarray:
    """(H, W) PGM levels -> (H, W) float32 0..255 ink, inverted if forced or the paper is light.

    Auto (invert=None): `mnist.paper.light_is_paper`, which still finds the paper of a digit
    cropped tight to its ink, where most of the border may be ink.
    """
    img = pixels.astype(np.float32) * np.float32(255.0 / maxval)
    if invert is None:
        invert = light_is_paper(img)
    return np.float32(255.0) - img if invert else img


def _pgm_frames(data: bytes, name: str) -> list[tuple[bytes, int, int, int, int]]:
    """(magic, width, height, maxval, raster offset) of each image in PGM bytes: a P2 image, or
    P5 images one after another (a P2 may end the chain). Headers only, no pixels decoded; more
    than MAX_IMAGES_PER_FILE images are refused."""
    frames = []
    pos = 0
    while True:
        magic, w, h, maxval, pos = _pgm_header(data, pos, name)
        frames.append((magic, w, h, maxval, pos))
        if magic == b"P2":
            break
        after = _SPACE.match(data, pos + _p5_size(data, w, h, maxval, pos, name)).end()
        if not data.startswith((b"P2", b"P5"), after):
            break  # anything else after the last image is ignored
        if len(frames) == MAX_IMAGES_PER_FILE:
            raise MnistError(f"{name}: more than {MAX_IMAGES_PER_FILE:,} images in one file "
                             "(the limit per file); split it")
        pos = after
    return frames


def iter_pgm(data: bytes, name: str = "<pgm>", invert: bool | None = None) -> Iterator[Image]:
    """Decode PGM bytes (P2, or one or more concatenated P5 images) into (index, image) pairs,
    one image at a time. Every header is checked before the first image is decoded.

    Each image is (H, W) float32 in 0..255, higher = ink; index is None for a single image.
    """
    frames = _pgm_frames(data, name)
    for index, (magic, w, h, maxval, pos) in enumerate(frames):
        pixels, _ = _pgm_raster(data, magic, w, h, maxval, pos, name)
        yield (None if len(frames) == 1 else index), _to_ink(pixels, maxval, invert)


def parse_pgm(data: bytes, name: str = "<pgm>", invert: bool | None = None) -> list[Image]:
    """All of `iter_pgm` as a list."""
    return list(iter_pgm(data, name, invert))


def read_pgm(path: str | os.PathLike[str], invert: bool | None = None) -> list[Image]:
    """Read a .pgm file -> [(index | None, (H, W) float32 0..255 ink)], see `iter_pgm`."""
    return parse_pgm(_read_bytes(path), str(path), invert)


def iter_npy(path: str | os.PathLike[str]) -> Iterator[Image]:
    """Read a .npy image (H, W) or stack (N, H, W) -> (index | None, (H, W) float32 0..255)
    pairs, converted one image at a time.

    The header is validated (dtype, dimensions, number of images, size against the file)
    before the array is read, from the same open file, with allow_pickle=False; object arrays
    are refused without unpickling.
    """
    name = str(path)
    fmt = np.lib.format
    with _open(path) as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            available = os.fstat(f.fileno()).st_size - f.tell()
        except OSError as exc:
            raise MnistError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
        except Exception as exc:
            raise MnistError(f"{name}: not a valid .npy file ({str(exc)[:120]})") from exc
        if dtype.hasobject:
            raise MnistError(f"{name}: holds Python objects; refusing to unpickle it "
                             "(need numbers)")
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise MnistError(f"{name}: unsupported dtype {dtype} (need bool, int or float)")
        if len(shape) not in (2, 3):
            raise MnistError(f"{name}: expected a 2-D image or a 3-D (N, H, W) stack, got {shape}")
        if min(shape) <= 0:
            raise MnistError(f"{name}: array has no pixels (shape {shape})")
        if len(shape) == 3 and shape[2] in (3, 4) and min(shape[:2]) > 4:
            raise MnistError(
                f"{name}: shape {shape} looks like one colour image (height, width, channels), "
                f"not a stack of {shape[0]} images {shape[1]} x {shape[2]}; save a 2-D grey image"
            )
        count = int(np.prod(shape, dtype=object))
        if count > MAX_PIXELS:
            raise MnistError(f"{name}: {count} pixels, over the limit of 64 megapixels")
        if len(shape) == 3 and shape[0] > MAX_IMAGES_PER_FILE:
            raise MnistError(f"{name}: a stack of {shape[0]:,} images, over the limit of "
                             f"{MAX_IMAGES_PER_FILE:,} per file; split it")
        if available < count * dtype.itemsize:
            raise MnistError(f"{name}: .npy is truncated (shape {shape} needs more data)")
        try:
            f.seek(0)
            arr = fmt.read_array(f, allow_pickle=False)
        except Exception as exc:
            raise MnistError(f"{name}: cannot load the .npy file ({str(exc)[:120]})") from exc
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MnistError(f"{name}: contains NaN or infinite values")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 255:
        raise MnistError(f"{name}: values span {low:g}..{high:g}; expected 0..255 (or 0..1)")
    scale = np.float32(255.0 if high <= 1.0 else 1.0)
    if arr.ndim == 2:
        yield None, arr.astype(np.float32) * scale
        return
    for i in range(arr.shape[0]):
        yield i, arr[i].astype(np.float32) * scale


def read_npy(path: str | os.PathLike[str]) -> list[Image]:
    """All of `iter_npy` as a list."""
    return list(iter_npy(path))


def parse_text_art(text: str, name: str = "<text>") -> np.ndarray:
    """Text art -> (rows, width) float32, 255 where a line has one of INK_CHARS, else 0."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MnistError(f"{name}: text art is empty")
    width = max(len(line) for line in lines)
    if len(lines) > MAX_TEXT_SIDE or width > MAX_TEXT_SIDE:
        raise MnistError(
            f"{name}: text art is {len(lines)} x {width} characters, over the limit of "
            f"{MAX_TEXT_SIDE} x {MAX_TEXT_SIDE}"
        )
    flat = "".join(line.ljust(width) for line in lines).encode("utf-32-le", "surrogatepass")
    codes = np.frombuffer(flat, dtype="<u4").reshape(len(lines), width)
    return np.isin(codes, _INK_CODES).astype(np.float32) * np.float32(255.0)


def read_text_art(path: str | os.PathLike[str]) -> list[Image]:
    """Read a .txt text-art file (UTF-8, undecodable bytes replaced) -> [(None, (H, W) float32)]."""
    data = _read_bytes(path, limit=4 * MAX_TEXT_SIDE * (MAX_TEXT_SIDE + 2))
    return [(None, parse_text_art(data.decode("utf-8", errors="replace"), str(path)))]


def iter_images(path: str | os.PathLike[str], invert: bool | None = None) -> Iterator[Image]:
    """Read any supported image file -> (index | None, (H, W) float32 0..255, higher = ink)
    pairs, one image at a time (a stack is never converted whole). Files are refused when they
    are not regular files, are larger than MAX_FILE_BYTES, or hold more than
    MAX_IMAGES_PER_FILE images.

    `invert`: None = auto (PGM only: invert light-paper images), True/False = force.
    """
    p = Path(path)
    _check_file(p)
    ext = p.suffix.lower()
    if ext == ".pgm":
        yield from iter_pgm(_read_bytes(p), str(p), invert)
        return
    if ext == ".npy":
        images = iter_npy(p)
    elif ext == ".txt":
        images = iter(read_text_art(p))
    else:
        shown = f"'{ext}'" if ext else "(no extension)"
        raise MnistError(f"{p}: unsupported image format {shown}; supported: {SUPPORTED}")
    for i, img in images:
        yield i, (np.float32(255.0) - img if invert else img)


def read_images(path: str | os.PathLike[str], invert: bool | None = None) -> list[Image]:
    """All of `iter_images` as a list."""
    return list(iter_images(path, invert))


def write_pgm(
    path: str | os.PathLike[str], image: np.ndarray, *, plain: bool = False, maxval: int = 255
) -> None:
    """Write an (H, W) 0..255 ink image as a PGM with dark ink on light paper (P5, or P2 if plain).

    maxval > 255 writes 16-bit big-endian samples. Reading it back with invert=None restores it.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or img.size == 0 or not np.isfinite(img).all() or not 1 <= maxval <= 65535:
        raise MnistError(f"{path}: cannot write {img.shape} image as PGM (maxval {maxval})")
    levels = np.rint((255.0 - np.clip(img, 0, 255)) * (maxval / 255.0)).astype(np.int64)
    header = f"P{2 if plain else 5}\n# digits\n{img.shape[1]} {img.shape[0]}\n{maxval}\n"
    if plain:
        body = "\n".join(" ".join(map(str, row)) for row in levels.tolist()).encode() + b"\n"
    else:
        body = levels.astype(">u2" if maxval > 255 else "u1").tobytes()
    try:
        Path(path).write_bytes(header.encode("ascii") + body)
    except OSError as exc:
        raise MnistError(f"{path}: cannot write the file ({exc.strerror or exc})") from exc


def write_text_art(image: np.ndarray, threshold: float = 128.0) -> str:
    """(H, W) 0..255 ink -> text art: '#' where ink >= threshold, else '.'; each row ends in \\n."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise MnistError(f"text art needs a 2-D image, got shape {img.shape}")
    chars = np.where(img >= threshold, "#", ".")
    return "".join("".join(row) + "\n" for row in chars.tolist())
