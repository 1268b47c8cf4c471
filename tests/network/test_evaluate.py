"""Evaluation on a hand-made confusion: accuracy, the matrix, per-class scores, the mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from network.errors import ModelError
from network.evaluate import confusion_matrix, evaluate, per_class_scores
from network.mlp import MLP


class Stub:
    """A 'model' whose predictions are fixed: image i gets probabilities probs[i]."""

    def __init__(self, predicted: list[int], confidence: float = 0.8) -> None:
        n = len(predicted)
        self.probs = np.full((n, 10), (1 - confidence) / 9, np.float32)
        self.probs[np.arange(n), predicted] = confidence
        self.calls: list[int] = []

    def predict_proba(self, images, batch_size=2048):
        self.calls.append(batch_size)
        return self.probs[: len(images)]


def test_hand_made_confusion():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    predicted = [0, 0, 1, 1, 1, 2, 2, 0, 2, 3]
    model = Stub(predicted, confidence=0.7)
    ev = evaluate(model, np.zeros((10, 28, 28), np.uint8), labels, batch_size=4)
    assert model.calls == [4]
    assert ev.accuracy == pytest.approx(0.8)
    expected = np.zeros((10, 10), np.int64)
    for t, p in zip(labels, predicted, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(ev.confusion, expected)
    assert ev.confusion.dtype == np.int64 and ev.confusion.sum() == 10
    # class 0: predicted 3 times (2 right) of 3 true ones (2 found)
    assert ev.precision[0] == pytest.approx(2 / 3) and ev.recall[0] == pytest.approx(2 / 3)
    # class 1: predicted 3 times (2 right), 2 true ones (both found)
    assert ev.precision[1] == pytest.approx(2 / 3) and ev.recall[1] == 1.0
    assert ev.f1[1] == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))
    assert ev.precision[2] == 1.0 and ev.recall[2] == pytest.approx(0.75)
    assert ev.precision[3] == ev.recall[3] == ev.f1[3] == 1.0
    # classes 4..9: never present, never predicted -> 0, not NaN
    assert not np.isnan(ev.f1).any() and ev.f1[4:].sum() == 0
    np.testing.assert_array_equal(ev.misclassified, [2, 7])
    np.testing.assert_array_equal(ev.misclassified_predicted, [1, 0])
    np.testing.assert_allclose(ev.misclassified_confidence, [0.7, 0.7])
    assert ev.n == 10 and ev.to_dict()["misclassified"] == 2


def test_confusion_matrix_and_scores_helpers():
    c = confusion_matrix([1, 1, 0], [1, 0, 0], n_classes=2)
    np.testing.assert_array_equal(c, [[1, 0], [1, 1]])
    p, r, f = per_class_scores(c)
    np.testing.assert_allclose(p, [0.5, 1.0])
    np.testing.assert_allclose(r, [1.0, 0.5])
    np.testing.assert_allclose(f, [2 / 3, 2 / 3])


def test_evaluates_a_real_network(blobs):
    images, labels = blobs
    ev = evaluate(MLP((784, 16, 10), rng=0), images, labels)
    assert ev.confusion.sum() == len(labels)
    assert ev.accuracy == pytest.approx(np.trace(ev.confusion) / len(labels))
    assert ev.misclassified.size == len(labels) - np.trace(ev.confusion)


def test_mismatched_inputs():
    with pytest.raises(ModelError):
        evaluate(Stub([0, 1]), np.zeros((2, 28, 28), np.uint8), [0, 1, 2])
    with pytest.raises(ModelError):
        confusion_matrix([0, 1], [0])
