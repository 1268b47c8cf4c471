"""The four canonical MNIST files: names, shapes, checksums, and verifying one on disk.

Checksums are SHA-256 digests of the *decompressed* content (the published MD5s are kept for
reference), so a file verifies whether it is the published .gz, a recompressed .gz or raw IDX.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist.errors import MnistError
from mnist.idx import read_idx


@dataclass(frozen=True)
class MnistFile:
    """One canonical MNIST file: its name (without .gz), expected shape and checksums."""

    name: str
    shape: tuple[int, ...]
    sha256: str
    md5: str

    @property
    def gz_name(self) -> str:
        """The published, gzip-compressed file name, e.g. 'train-images-idx3-ubyte.gz'."""
        return self.name + ".gz"

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """File names accepted in a data directory, in order of preference.

        The published .gz, the raw file, and the dotted variant some copies use
        ('train-images.idx3-ubyte').
        """
        dotted = self.name.replace("-idx", ".idx")
        return (self.gz_name, self.name, dotted, dotted + ".gz")


TRAIN_IMAGES = MnistFile(
    "train-images-idx3-ubyte",
    (60000, 28, 28),
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "6bbc9ace898e44ae57da46a324031adb",
)
TRAIN_LABELS = MnistFile(
    "train-labels-idx1-ubyte",
    (60000,),
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "a25bea736e30d166cdddb491f175f624",
)
TEST_IMAGES = MnistFile(
    "t10k-images-idx3-ubyte",
    (10000, 28, 28),
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "2646ac647ad5339dbf082846283269ea",
)
TEST_LABELS = MnistFile(
    "t10k-labels-idx1-ubyte",
    (10000,),
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "27ae3e4e09519cfbb04c329615203637",
)
FILES: tuple[MnistFile, ...] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


#: What to do about a damaged data file (load_verified's errors end with it).
REPAIR_HINT = "delete it and run `digits data download`, or point MNIST_DIR at a good copy"


def find_file(directory: Path, spec: MnistFile) -> Path | None:
    """Return the path of `spec` in `directory` under any accepted name, or None if absent."""
    for candidate in spec.candidate_names:
        path = directory / candidate
        if path.exists():
            return path
    return None


def load_verified(path: Path, spec: MnistFile, *, repair_hint: bool = True) -> np.ndarray:
    """Read `path` as the canonical file `spec` and verify its shape, dtype and SHA-256.

    Returns a read-only uint8 array of shape `spec.shape`. Raises MnistError, naming the file
    and what to do (`digits data download`), on any damage or mismatch: a truncated, empty,
    unreadable or foreign file as much as a wrong checksum. `repair_hint=False` leaves the "what
    to do" out (for a download being verified, where it would not make sense).
    """
    hint = f"; {REPAIR_HINT}" if repair_hint else ""
    try:
        idx = read_idx(path)
    except MnistError as exc:  # damaged or unreadable: say how to repair it
        raise MnistError(f"{exc}{hint}") from None
    if idx.array.dtype != np.uint8 or idx.array.shape != spec.shape:
        raise MnistError(
            f"{path}: holds a {idx.array.dtype} array of shape {idx.array.shape}, expected "
            f"uint8 {spec.shape} for {spec.name}{hint}"
        )
    if idx.sha256 != spec.sha256:
        raise MnistError(
            f"{path}: checksum mismatch (SHA-256 of the content is {idx.sha256[:12]}..., "
            f"expected {spec.sha256[:12]}...); the file is damaged{hint}"
        )
    return idx.array
