"""Loading the whole of MNIST, verified, as uint8 arrays.

    data = load_mnist()            # MNIST_DIR, else the user cache; MnistError if absent
    data = load_mnist(download=True, on_progress=...)   # fetch into the cache when absent
    data.train_images              # (60000, 28, 28) uint8, read-only

The arrays stay uint8 (47 MB for the training images); convert per batch when training.
The four files are read in parallel threads (zlib and hashlib release the GIL), so loading and
verifying the whole dataset takes a fraction of a second.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist.download import DownloadCancelled, ProgressCallback, download
from mnist.errors import MnistError
from mnist.files import FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, load_verified
from mnist.sources import Candidate, cache_dir, candidates, describe_missing, describe_places


@dataclass(frozen=True)
class Mnist:
    """The verified dataset: images (N, 28, 28) uint8 and labels (N,) uint8, read-only."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    directory: Path
    origin: str
    checksums: dict[str, str] = field(default_factory=dict)


def _read_all(candidate: Candidate) -> dict[str, np.ndarray]:
    """Read and verify the four files of a complete candidate, in parallel."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = {
            spec.name: pool.submit(load_verified, candidate.found[spec.name], spec)
            for spec in FILES
        }
        return {name: future.result() for name, future in futures.items()}


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download_missing: bool = False,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Mnist:
    """Find, read and verify MNIST; see `mnist.sources` for the search order.

    With `download_missing`, a dataset found nowhere is downloaded into the user cache (not when
    `data_dir` is given: an explicit directory is never silently replaced by another). Raises
    MnistError with one line saying what is missing or damaged and what to do.
    """
    looked = candidates(data_dir)
    chosen = next((c for c in looked if c.complete), None)
    if chosen is None:
        if not download_missing or data_dir is not None:
            raise MnistError(describe_missing(looked))
        try:
            download(cache_dir(), on_progress=on_progress, should_stop=should_stop)
        except DownloadCancelled:
            raise
        except MnistError as exc:
            raise MnistError(f"{exc} (looked first in: {describe_places(looked)})") from None
        chosen = candidates(cache_dir())[0]
        chosen = Candidate(chosen.directory, "cache", chosen.found)
    arrays = _read_all(chosen)
    return Mnist(
        train_images=arrays[TRAIN_IMAGES.name],
        train_labels=arrays[TRAIN_LABELS.name],
        test_images=arrays[TEST_IMAGES.name],
        test_labels=arrays[TEST_LABELS.name],
        directory=chosen.directory,
        origin=chosen.origin,
        checksums={spec.name: spec.sha256 for spec in FILES},
    )


def load_test_set(data_dir: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Only the 10,000 test images (10000, 28, 28) uint8 and labels (10000,) uint8."""
    looked = candidates(data_dir)
    chosen = next((c for c in looked if c.complete), None)
    if chosen is None:
        raise MnistError(describe_missing(looked))
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = pool.submit(load_verified, chosen.found[TEST_IMAGES.name], TEST_IMAGES)
        labels = pool.submit(load_verified, chosen.found[TEST_LABELS.name], TEST_LABELS)
        return images.result(), labels.result()
