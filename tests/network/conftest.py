"""Fixtures of the network tests: small synthetic digits, and the real MNIST when available.

Most tests run on tiny synthetic arrays so the suite stays fast; the real dataset comes from
the session-wide `mnist_data` fixture of tests/conftest.py, i.e. `mnist.dataset.load_mnist`
on $MNIST_DIR or ../shared/mnist (skipped when absent, a failure in CI).
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def mnist(mnist_data):
    """The real MNIST (`mnist.dataset.Mnist`): uint8 images (N, 28, 28), labels (N,)."""
    return mnist_data


def make_blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic, learnable 'digits': (n, 28, 28) uint8 images and (n,) uint8 labels.

    Class k is a bright 6x6 square at one of ten fixed positions plus uniform noise.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for k in range(10):
        r, c = 2 + (k // 5) * 14, 1 + (k % 5) * 5
        images[labels == k, r : r + 6, c : c + 6] = 230
    return images, labels


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """600 synthetic training 'digits' (see make_blobs)."""
    return make_blobs(600, seed=0)


@pytest.fixture
def blob_factory():
    """make_blobs itself, for tests that need other sizes or seeds."""
    return make_blobs
