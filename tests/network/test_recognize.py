"""Tests for network.recognize: probabilities averaged over one-pixel shifts, in one call."""

from __future__ import annotations

import numpy as np
import pytest

from mnist.normalize import normalize
from network.recognize import SHIFTS, recognize_proba, shifted_copies
from network.store import load_model, shipped_model_path


def test_each_copy_is_moved_by_its_shift_and_edge_ink_is_dropped() -> None:
    x = np.zeros((2, 28, 28), dtype=np.float32)
    x[0, 10, 20] = 255.0
    x[1, 0, 5] = 100.0  # on the top edge: gone from the copy moved up
    copies = shifted_copies(x)
    assert copies.shape == (2, len(SHIFTS), 28, 28) and copies.dtype == np.float32
    for k, (dr, dc) in enumerate(SHIFTS):
        assert copies[0, k, 10 + dr, 20 + dc] == 255.0 and copies[0, k].sum() == 255.0
    up = SHIFTS.index((-1, 0))
    assert not copies[1, up].any() and copies[1, SHIFTS.index((0, 0))].sum() == 100.0


@pytest.fixture(scope="module")
def model():
    return load_model(shipped_model_path())


class _Counting:
    """Wraps a model, counting its predict_proba calls and the images each got."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, []

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.calls.append(len(images))
        return self.model.predict_proba(images)


def test_the_mean_of_the_shifted_copies_in_one_call(model) -> None:
    seven = np.zeros((28, 28))
    seven[4, 6:22] = 255.0
    for r in range(4, 24):
        seven[r, 21 - (r - 4) // 2] = 255.0  # the 7's diagonal stroke
    images = np.stack([normalize(seven), normalize(seven.T)])
    counting = _Counting(model)
    got = recognize_proba(counting, images)
    assert counting.calls == [2 * len(SHIFTS)]  # every copy in a single call
    expected = np.mean([model.predict_proba(shifted_copies(images)[:, k])
                        for k in range(len(SHIFTS))], axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert got.shape == (2, 10) and got.dtype == np.float64
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
    assert got[0].argmax() == 7  # recognized the same way as without the shifts
    assert model.predict_proba(images[:1]).argmax() == 7


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_single_batches(model, n: int) -> None:
    images = np.zeros((n, 28, 28), dtype=np.float32)
    if n:
        images[0, 6:22, 13:15] = 255.0  # a 1
    assert recognize_proba(model, images).shape == (n, 10)
