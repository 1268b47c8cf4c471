"""Tests for network.recognize: probabilities averaged over one-pixel shifts, in one call."""

from __future__ import annotations

import numpy as np
import pytest

from mnist.normalize import normalize
from network.inputs import scale_into
from network.recognize import (
    SHIFTS,
    read_drawing,
    recognize_drawings,
    recognize_proba,
    shifted_copies,
)
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


def _drawn(digit: str) -> np.ndarray:
    """A small (20, 16) drawing of a 1 or a 7, 0..255 floats."""
    image = np.zeros((20, 16))
    if digit == "1":
        image[2:18, 7:9] = 255.0
    else:
        image[2, 2:14] = 255.0
        for r in range(2, 18):
            image[r, 13 - (r - 2) * 10 // 16] = 255.0
    return image


def test_read_drawing_normalizes_or_says_why_not() -> None:
    one = _drawn("1")
    np.testing.assert_array_equal(read_drawing(one), normalize(one))
    assert read_drawing(np.zeros((20, 16))) == "blank (no ink)"
    assert read_drawing(np.full((20, 16), 255.0)).startswith("all ink")


def test_recognize_drawings_in_batches_with_refusals_as_they_are_read(model,
                                                                    float32_error) -> None:
    logit_error, softmax_rtol = float32_error
    drawings = {"a": _drawn("7"), "blank": np.zeros((9, 9)), "b": _drawn("1"),
                "c": _drawn("7").T, "ink": np.full((5, 5), 200.0)}
    counting = _Counting(model)
    got = list(recognize_drawings(counting, drawings.items(), batch=2))
    # a refusal comes as soon as it is read, ahead of the batch it was read in
    assert [key for key, _ in got] == ["blank", "a", "b", "ink", "c"]
    assert got[0][1] == "blank (no ink)" and got[3][1].startswith("all ink")
    assert counting.calls == [2 * len(SHIFTS), len(SHIFTS)]  # batches of 2, then the rest
    results = dict(got)
    images = np.stack([normalize(drawings[key]) for key in "abc"])
    copies = shifted_copies(images).reshape(-1, 784)
    # each result and the reference within float32 rounding of exact (other batch sizes may
    # take other BLAS kernels)
    rtol = softmax_rtol(logit_error(model, scale_into(copies, model.scaling,
                                                      np.empty(copies.shape, np.float32))))
    for key, expected in zip("abc", recognize_proba(model, images), strict=True):
        np.testing.assert_allclose(results[key], expected, rtol=rtol)
    assert results["a"].argmax() == 7 and results["b"].argmax() == 1
    plain = dict(recognize_drawings(model, [("b", drawings["b"])], shifts=False))
    np.testing.assert_array_equal(plain["b"], model.predict_proba(images[1:2])[0])
    assert list(recognize_drawings(model, [])) == []
