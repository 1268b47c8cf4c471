"""The user's own drawings, kept to teach the network their handwriting.

They live in the user data folder beside the models, `~/.local/share/digits/drawings/` on Linux
(platformdirs' user data path), in a format one can read without digits:

    index.json                       {"format": "digits-drawings", "version": 1, "count": N,
                                      "images": "images-<gen>-idx3-ubyte", "images_sha256": ...,
                                      "labels": "labels-<gen>-idx1-ubyte", "labels_sha256": ...,
                                      "next_id": K, "drawings": [{"id", "label", "time",
                                      "guess", "source"}, ...]}
    images-<gen>-idx3-ubyte          (N, 28, 28) uint8: the raw canvas, 0 paper .. 255 ink
    labels-<gen>-idx1-ubyte          (N,) uint8: the digit each drawing is kept as

The raw canvas is kept, never only its normalized form: `training_images` normalizes at
training time, exactly as the Paint screen does before recognizing.

Every change writes a new generation: the two IDX files under fresh names, then the index that
names them (each a temporary file, fsync, rename), and only then are the previous generation's
files removed. The rename of `index.json` is the commit point, so a crash or a full disk at any
moment leaves the drawings already kept readable: either the old index with its files, or the new
one with its. Changes take a lock (`.lock`, flock) so the app and the `digits drawings` commands
never interleave; reads take it shared, so a change waits until a read has its files.
Anything wrong with the files (not JSON, a checksum that does not match, a missing file) raises
`DrawingsError` with one line saying how to recover; nothing is ever overwritten while the
folder is damaged.

This lives in network/ beside the model registry because it shares its user data folder and its
atomic writes; the IDX encoding is mnist/idx.py's.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from network.errors import ModelError

__all__ = [
    "DrawingsError", "Drawing", "DrawingSet", "drawings_dir", "load_drawings", "add_drawings",
    "remove_drawings", "relabel_drawing", "clear_drawings", "export_drawings", "import_drawings",
    "training_images", "as_canvas",
]

FORMAT = "digits-drawings"
FORMAT_VERSION = 1
INDEX = "index.json"
SIDE = 28
MAX_DRAWINGS = 100_000  #: far more than anyone paints; bounds what a hostile index can claim
_MAX_INDEX_BYTES = 64 * 1024 * 1024
EXPORT_IMAGES = "drawings-images-idx3-ubyte"
EXPORT_LABELS = "drawings-labels-idx1-ubyte"
EXPORT_INDEX = "drawings.json"


class DrawingsError(ModelError):
    """A drawings file that cannot be used, or a change that cannot be made (one line)."""


@dataclass(frozen=True)
class Drawing:
    """What is kept with each drawing besides its pixels."""

    id: int  #: unique within the folder, never reused
    label: int  #: the digit it is kept as
    time: str  #: when it was kept, ISO 8601 UTC
    guess: int | None = None  #: what the active model said at that moment (None: unknown)
    source: str = "paint"  #: "paint", "file NAME" or "import"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return dict(self.__dict__)


@dataclass
class DrawingSet:
    """The kept drawings: (N, 28, 28) uint8 raw canvases and one `Drawing` record each."""

    images: np.ndarray = field(default_factory=lambda: np.zeros((0, SIDE, SIDE), np.uint8))
    records: list[Drawing] = field(default_factory=list)
    next_id: int = 1

    def __len__(self) -> int:
        """Number of drawings."""
        return len(self.records)

    @property
    def labels(self) -> np.ndarray:
        """(N,) int64 digits."""
        return np.array([r.label for r in self.records], dtype=np.int64)

    def counts(self) -> list[int]:
        """Drawings per digit, ten ints."""
        return np.bincount(self.labels, minlength=10).astype(int).tolist()

    def checksum(self) -> str:
        """SHA-256 over the images then the labels (as IDX content): identifies the set."""
        digest = hashlib.sha256(np.ascontiguousarray(self.images, np.uint8).tobytes())
        digest.update(self.labels.astype(np.uint8).tobytes())
        return digest.hexdigest()

    def fingerprints(self) -> list[str]:
        """Per drawing, the first 16 hex digits of the SHA-256 of its raw canvas: identical
        drawings have the same one, whatever their label or id."""
        return [hashlib.sha256(np.ascontiguousarray(image, np.uint8).tobytes()).hexdigest()[:16]
                for image in self.images]

    def of_digit(self, digit: int) -> list[int]:
        """Positions of the drawings kept as `digit`, oldest first."""
        return [i for i, r in enumerate(self.records) if r.label == digit]

    def position(self, drawing_id: int) -> int:
        """Position of the drawing with this id; DrawingsError if there is none."""
        for i, r in enumerate(self.records):
            if r.id == drawing_id:
                return i
        raise DrawingsError(f"no drawing #{drawing_id} (it was removed meanwhile?)")


def drawings_dir() -> Path:
    """Folder of the user's drawings (not created until one is kept)."""
    from network.registry import APP_NAME

    return platformdirs.user_data_path(APP_NAME) / "drawings"


def _now() -> str:
    """The current time, ISO 8601 UTC to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _recover(folder: Path) -> str:
    """The one-line advice for a damaged drawings folder."""
    return (f"nothing was changed. To recover, move the folder {folder} aside (your drawings "
            f"stay in it) and digits starts a new one; a set saved with `digits drawings "
            f"export DIR` comes back with `digits drawings import DIR`")


def _read_json(path: Path) -> Any:
    """A JSON file of the store or of an export: a regular file of at most _MAX_INDEX_BYTES
    (else FileRefused: a FIFO would block, /dev/zero never end), in UTF-8; ValueError or
    RecursionError when it is not JSON."""
    from mnist.fileio import read_limited

    return json.loads(read_limited(path, _MAX_INDEX_BYTES).decode("utf-8"))


def as_canvas(image: np.ndarray) -> np.ndarray:
    """A drawing's pixels as kept: (28, 28) uint8 from (28, 28) 0..255 values (rounded, clipped).

    An image of any other size (an image file) is first fitted into 28x28 by the MNIST
    normalization, which normalizing again at training time leaves as it is.
    """
    from mnist.normalize import normalize

    x = np.asarray(image, dtype=np.float64)
    if x.shape != (SIDE, SIDE):
        x = normalize(x)
    if not np.isfinite(x).all():
        raise DrawingsError("a drawing cannot hold NaN or infinite pixels")
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# -- reading ------------------------------------------------------------------------------------


def _records(raw: Any, where: str, why: str = "") -> list[Drawing]:
    """The Drawing records of an index's "drawings" list; DrawingsError if malformed (its
    message ends with `why`, the advice on recovering, when given)."""
    why = f"; {why}" if why else ""
    if not isinstance(raw, list) or len(raw) > MAX_DRAWINGS:
        raise DrawingsError(f"{where}: damaged index (no list of drawings){why}")
    records = []
    for item in raw:
        if not isinstance(item, dict):
            raise DrawingsError(f"{where}: damaged index (a drawing is not an object){why}")
        ident, label, guess = item.get("id"), item.get("label"), item.get("guess")
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (ident, label))
        if not ints or not 0 <= label <= 9 or ident < 1 or not (
                guess is None or (isinstance(guess, int) and not isinstance(guess, bool)
                                  and 0 <= guess <= 9)):
            raise DrawingsError(f"{where}: damaged index (drawing {ident!r}){why}")
        records.append(Drawing(ident, label, str(item.get("time", ""))[:40], guess,
                               str(item.get("source", ""))[:200]))
    return records


def _read_idx(path: Path, shape: tuple[int, ...], sha256: Any, why: str) -> np.ndarray:
    """An IDX file's uint8 array, checked against its expected shape and checksum."""
    from mnist.errors import MnistError
    from mnist.idx import read_idx

    try:
        idx = read_idx(path, max_file_bytes=MAX_DRAWINGS * SIDE * SIDE + 64)
    except MnistError as exc:
        raise DrawingsError(f"{exc}; {why}") from None
    if idx.array.dtype != np.uint8 or idx.array.shape != shape:
        raise DrawingsError(f"{path}: holds {idx.array.dtype} {idx.array.shape}, expected "
                            f"uint8 {shape}; {why}")
    if idx.sha256 != sha256:
        raise DrawingsError(f"{path}: checksum does not match the index (damaged); {why}")
    return np.array(idx.array)


def load_drawings(folder: Path | None = None) -> DrawingSet:
    """The drawings kept in `folder` (default `drawings_dir()`); empty when there are none.

    Reads under the folder's lock, shared: a change made meanwhile (by the app or by `digits
    drawings`) waits, so the files the index names are not removed while they are read.
    Raises DrawingsError (one line, with how to recover) when the index or a file it names is
    unreadable, damaged, from a newer digits or inconsistent.
    """
    folder = drawings_dir() if folder is None else Path(folder)
    try:
        lock = os.open(folder / ".lock", os.O_RDONLY)
    except OSError:  # no change ever started here (or the lock is unreadable): nothing to wait
        return _load(folder)
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)
        return _load(folder)
    finally:
        os.close(lock)


def _load(folder: Path) -> DrawingSet:
    """`load_drawings` of `folder`, its lock already held (shared or exclusive)."""
    path = folder / INDEX
    why = _recover(folder)
    from mnist.fileio import FileRefused

    try:
        if not os.path.lexists(path):
            return DrawingSet()
        index = _read_json(path)
    except FileRefused as exc:
        raise DrawingsError(f"{path}: {exc}; not a drawings index; {why}") from None
    except OSError as exc:
        raise DrawingsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DrawingsError(f"{path}: damaged (not JSON); {why}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise DrawingsError(f"{path}: not a drawings index; {why}")
    version = index.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DrawingsError(f"{path}: damaged (version {version!r}); {why}")
    if version > FORMAT_VERSION:
        raise DrawingsError(f"{path} was written by a newer digits (drawings format {version}); "
                            f"upgrade digits to use it")
    records = _records(index.get("drawings"), str(path), why)
    count, next_id = index.get("count"), index.get("next_id")
    if count != len(records) or not isinstance(next_id, int) or isinstance(next_id, bool) or \
            any(r.id >= next_id for r in records) or len({r.id for r in records}) < len(records):
        raise DrawingsError(f"{path}: damaged index (inconsistent counts or ids); {why}")
    if not records:
        return DrawingSet(next_id=next_id)
    files = []
    for key in ("images", "labels"):
        name = index.get(key)
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise DrawingsError(f"{path}: damaged index (file name {name!r}); {why}")
        files.append(folder / name)
    images = _read_idx(files[0], (count, SIDE, SIDE), index.get("images_sha256"), why)
    labels = _read_idx(files[1], (count,), index.get("labels_sha256"), why)
    if not np.array_equal(labels, [r.label for r in records]):
        raise DrawingsError(f"{files[1]}: labels differ from the index; {why}")
    return DrawingSet(images, records, next_id)


# -- writing ------------------------------------------------------------------------------------


def _write(folder: Path, drawings: DrawingSet) -> None:
    """Commit `drawings` as the folder's new generation (see the module docstring)."""
    from mnist.fileio import atomic_write
    from mnist.idx import encode_idx

    n = len(drawings)
    index: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "count": n,
                             "next_id": drawings.next_id}
    if n:
        gen = secrets.token_hex(4)
        payloads = {"images": encode_idx(np.ascontiguousarray(drawings.images, np.uint8)),
                    "labels": encode_idx(drawings.labels.astype(np.uint8))}
        for key, payload in payloads.items():
            name = f"{key}-{gen}-idx{3 if key == 'images' else 1}-ubyte"
            atomic_write(folder / name, lambda f, payload=payload: f.write(payload))
            index[key] = name
            # the checksum of the IDX content, as mnist.idx.read_idx computes it
            index[f"{key}_sha256"] = hashlib.sha256(payload).hexdigest()
    index["drawings"] = [r.to_dict() for r in drawings.records]
    blob = json.dumps(index, indent=1, allow_nan=False).encode("utf-8") + b"\n"
    atomic_write(folder / INDEX, lambda f: f.write(blob))
    keep = {index.get("images"), index.get("labels")}
    for old in folder.glob("*-idx?-ubyte"):
        if old.name not in keep:
            with contextlib.suppress(OSError):
                old.unlink()


@contextlib.contextmanager
def _changing(folder: Path | None) -> Iterator[tuple[Path, DrawingSet]]:
    """Lock the folder, load its drawings, let the caller change them, write them back.

    The caller replaces the DrawingSet's fields in place; nothing is written if it raises.
    """
    folder = drawings_dir() if folder is None else Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "a+b")  # noqa: SIM115 - held for the whole change
    except OSError as exc:
        raise DrawingsError(f"cannot use the drawings folder {folder} "
                            f"({exc.strerror or exc})") from None
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        drawings = _load(folder)
        yield folder, drawings
        try:
            _write(folder, drawings)
        except OSError as exc:
            raise DrawingsError(f"cannot save the drawings in {folder} "
                                f"({exc.strerror or exc}); the drawings kept before are "
                                f"unchanged") from None


def add_drawings(images: Sequence[np.ndarray] | np.ndarray, labels: Sequence[int],
                 guesses: Sequence[int | None] | None = None,
                 source: str | Sequence[str] = "paint", folder: Path | None = None
                 ) -> DrawingSet:
    """Keep images (each (28, 28) 0..255, or any size: see `as_canvas`) as drawings, in one
    change; `source` is one for all, or one per image.

    Blank images are refused (DrawingsError), as are labels outside 0..9. Returns the new set.
    """
    from mnist.normalize import is_blank

    canvases = [as_canvas(image) for image in images]
    labels = [int(label) for label in labels]
    guesses = list(guesses) if guesses is not None else [None] * len(canvases)
    sources = [source] * len(canvases) if isinstance(source, str) else list(source)
    if not len(canvases) == len(labels) == len(guesses) == len(sources):
        raise DrawingsError("one label (and guess) per image")
    if any(not 0 <= label <= 9 for label in labels):
        raise DrawingsError("a drawing's label must be a digit 0..9")
    if any(is_blank(c) for c in canvases):
        raise DrawingsError("a blank canvas is not kept")
    with _changing(folder) as (_, drawings):
        if len(drawings) + len(canvases) > MAX_DRAWINGS:
            raise DrawingsError(f"at most {MAX_DRAWINGS:,} drawings can be kept")
        when = _now()
        new = [Drawing(drawings.next_id + k, label, when,
                       None if guess is None else int(guess), str(origin)[:200])
               for k, (label, guess, origin) in enumerate(zip(labels, guesses, sources,
                                                              strict=True))]
        if canvases:
            drawings.images = np.concatenate([drawings.images, np.stack(canvases)])
        drawings.records = drawings.records + new
        drawings.next_id += len(new)
    return drawings


def remove_drawings(ids: Sequence[int] | None = None, *, label: int | None = None,
                    folder: Path | None = None) -> int:
    """Remove the drawings with these ids, or every drawing of `label`; returns how many."""
    with _changing(folder) as (_, drawings):
        if ids is not None:
            gone = set(ids)
            for ident in gone:
                drawings.position(ident)  # DrawingsError for an unknown id
        else:
            gone = {r.id for r in drawings.records if r.label == label}
        keep = [i for i, r in enumerate(drawings.records) if r.id not in gone]
        removed = len(drawings) - len(keep)
        drawings.images = drawings.images[keep]
        drawings.records = [drawings.records[i] for i in keep]
    return removed


def relabel_drawing(drawing_id: int, label: int, folder: Path | None = None) -> None:
    """Keep the drawing `drawing_id` as digit `label` from now on."""
    if not 0 <= int(label) <= 9:
        raise DrawingsError("a drawing's label must be a digit 0..9")
    with _changing(folder) as (_, drawings):
        i = drawings.position(drawing_id)
        drawings.records[i] = replace(drawings.records[i], label=int(label))


def clear_drawings(folder: Path | None = None) -> int:
    """Remove every drawing; returns how many there were."""
    with _changing(folder) as (_, drawings):
        removed = len(drawings)
        drawings.images = drawings.images[:0]
        drawings.records = []
    return removed


# -- moving a set between machines ----------------------------------------------------------------


def export_drawings(target: Path, folder: Path | None = None) -> int:
    """Write the drawings into folder `target` as MNIST-style IDX files plus their records.

    Writes `drawings-images-idx3-ubyte`, `drawings-labels-idx1-ubyte` and `drawings.json`
    (times, guesses, sources), each atomically; refuses to replace files that are not a
    drawings export. Returns the number of drawings written.
    """
    from mnist.errors import MnistError
    from mnist.fileio import FileRefused, atomic_write, check_output
    from mnist.idx import encode_idx, read_idx

    def earlier_export(path: Path) -> bool:
        """True for a file an earlier export wrote (so it may be replaced)."""
        try:
            if path.name == EXPORT_INDEX:
                return _read_json(path).get("format") == FORMAT + "-export"
            return read_idx(path).array.dtype == np.uint8
        except (OSError, ValueError, RecursionError, AttributeError, MnistError):
            return False

    target = Path(target)
    drawings = load_drawings(folder)
    if not target.is_dir():
        raise DrawingsError(f"{target}: not a folder (create it first)")
    records = {"format": FORMAT + "-export", "version": FORMAT_VERSION,
               "drawings": [r.to_dict() for r in drawings.records]}
    payloads = {EXPORT_IMAGES: encode_idx(drawings.images.astype(np.uint8)),
                EXPORT_LABELS: encode_idx(drawings.labels.astype(np.uint8)),
                EXPORT_INDEX: json.dumps(records, indent=1).encode("utf-8") + b"\n"}
    try:
        for name in payloads:
            check_output(target / name, is_ours=earlier_export, force=True,
                         what="drawings export")
    except FileRefused as exc:
        raise DrawingsError(f"{target / name}: {exc}; nothing was written") from None
    try:
        for name, payload in payloads.items():
            atomic_write(target / name, lambda f, payload=payload: f.write(payload))
    except OSError as exc:
        raise DrawingsError(f"cannot export to {target} ({exc.strerror or exc})") from None
    return len(drawings)


def import_drawings(source: Path, folder: Path | None = None) -> int:
    """Add the drawings exported into folder `source` (IDX images and labels; `drawings.json`
    for their times and guesses when present). Returns the number added."""
    from mnist.errors import MnistError
    from mnist.idx import read_idx

    source = Path(source)
    try:
        images = read_idx(source / EXPORT_IMAGES).array
        labels = read_idx(source / EXPORT_LABELS).array
    except MnistError as exc:
        raise DrawingsError(f"cannot import: {exc}") from None
    n = labels.shape[0] if labels.ndim == 1 else -1
    if images.dtype != np.uint8 or images.shape[1:] != (SIDE, SIDE) or images.shape[0] != n \
            or labels.dtype != np.uint8 or (n and labels.max() > 9):
        raise DrawingsError(f"cannot import from {source}: expected (N, 28, 28) uint8 images "
                            f"and N labels 0..9, got {images.shape} and {labels.shape}")
    guesses: list[int | None] = [None] * n
    try:
        exported = _read_json(source / EXPORT_INDEX)
        records = _records(exported.get("drawings"), str(source / EXPORT_INDEX))
        if len(records) == n:
            guesses = [r.guess for r in records]
    except (OSError, ValueError, RecursionError, AttributeError, DrawingsError):
        pass  # the records are optional: the IDX files are the drawings
    if n == 0:
        return 0
    add_drawings(list(images), labels.tolist(), guesses, source=f"import {source.name}"[:200],
                 folder=folder)
    return n


# -- for training -------------------------------------------------------------------------------


def training_images(drawings: DrawingSet) -> np.ndarray:
    """(N, 28, 28) uint8: each raw canvas normalized like MNIST, as the Paint screen does."""
    from mnist.normalize import normalize

    out = np.zeros((len(drawings), SIDE, SIDE), dtype=np.uint8)
    for i, image in enumerate(drawings.images):
        out[i] = np.clip(np.rint(normalize(image)), 0, 255).astype(np.uint8)
    return out
