"""Scoring a model on a labelled set: accuracy, confusion matrix, per-class P/R/F1, mistakes.

    confusion[t, p]  = number of images of true class t predicted as p   (rows true, cols pred)
    precision[k]     = confusion[k, k] / column k's sum    (of those predicted k, how many are k)
    recall[k]        = confusion[k, k] / row k's sum       (of the true k, how many were found)
    f1[k]            = 2 P R / (P + R)

A class that is never predicted (or never present) gets precision (or recall) 0, not NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from network.errors import ModelError
from network.inputs import as_rows

__all__ = ["Evaluation", "evaluate", "evaluation_from_probabilities", "confusion_matrix",
           "per_class_scores"]


class _Predictor(Protocol):
    """Anything that maps N raw images to (N, K) class probabilities, like `MLP`."""

    def predict_proba(self, images: np.ndarray, batch_size: int = ...) -> np.ndarray:
        """(N, K) probabilities for N raw 0..255 images."""
        ...


@dataclass
class Evaluation:
    """The scores of a model on N labelled images with K classes."""

    accuracy: float  #: fraction correct, in [0, 1]
    confusion: np.ndarray  #: (K, K) int64, rows = true class, columns = predicted class
    precision: np.ndarray  #: (K,) float64
    recall: np.ndarray  #: (K,) float64
    f1: np.ndarray  #: (K,) float64
    labels: np.ndarray  #: (N,) int64 true labels
    predictions: np.ndarray  #: (N,) int64 predicted labels
    confidences: np.ndarray  #: (N,) float32 probability of the predicted label
    misclassified: np.ndarray  #: (M,) int64 indices of the wrong predictions, ascending

    @property
    def n(self) -> int:
        """Number of images scored."""
        return int(self.labels.shape[0])

    @property
    def misclassified_predicted(self) -> np.ndarray:
        """(M,) int64: what the model said for each misclassified image."""
        return self.predictions[self.misclassified]

    @property
    def misclassified_confidence(self) -> np.ndarray:
        """(M,) float32: how sure it was, for each misclassified image."""
        return self.confidences[self.misclassified]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: accuracy, confusion, per-class scores, number of mistakes."""
        return {
            "accuracy": self.accuracy,
            "confusion": self.confusion.tolist(),
            "precision": self.precision.tolist(),
            "recall": self.recall.tolist(),
            "f1": self.f1.tolist(),
            "n": self.n,
            "misclassified": int(self.misclassified.size),
        }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = 10
                     ) -> np.ndarray:
    """(K, K) int64 counts, rows = true label, columns = prediction; inputs (N,) ints 0..K-1."""
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    p = np.asarray(predictions).astype(np.int64).reshape(-1)
    if y.shape != p.shape:
        raise ModelError(f"{y.size} labels but {p.size} predictions")
    return np.bincount(y * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def per_class_scores(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, f1), each (K,) float64, from a (K, K) confusion matrix."""
    c = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(c)
    predicted, actual = c.sum(axis=0), c.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def evaluation_from_probabilities(labels: np.ndarray, probabilities: np.ndarray) -> Evaluation:
    """Score (N, K) class probabilities against (N,) integer labels."""
    probs = np.asarray(probabilities)
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if probs.ndim != 2 or probs.shape[0] != y.shape[0]:
        raise ModelError(f"expected ({y.shape[0]}, K) probabilities, got {probs.shape}")
    k = probs.shape[1]
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ModelError(f"labels must be in 0..{k - 1}")
    pred = np.argmax(probs, axis=1).astype(np.int64)
    conf = probs[np.arange(y.size), pred].astype(np.float32)
    confusion = confusion_matrix(y, pred, k)
    precision, recall, f1 = per_class_scores(confusion)
    correct = pred == y
    return Evaluation(
        accuracy=float(correct.mean()) if y.size else 0.0,
        confusion=confusion,
        precision=precision,
        recall=recall,
        f1=f1,
        labels=y,
        predictions=pred,
        confidences=conf,
        misclassified=np.flatnonzero(~correct).astype(np.int64),
    )


def evaluate(model: _Predictor, images: np.ndarray, labels: np.ndarray,
             batch_size: int = 2048) -> Evaluation:
    """Score a model on raw images.

    Args:
        model: anything with `predict_proba(images, batch_size) -> (N, K)`, e.g. an `MLP`.
        images: (N, 28, 28) or (N, 784) 0..255 pixels, uint8 or float.
        labels: (N,) integer labels.
        batch_size: images per forward pass (bounds memory).

    Returns:
        An `Evaluation`.
    """
    rows = as_rows(images)
    if rows.shape[0] != np.asarray(labels).reshape(-1).shape[0]:
        raise ModelError(f"{rows.shape[0]} images but {np.asarray(labels).size} labels")
    return evaluation_from_probabilities(labels, model.predict_proba(rows, batch_size=batch_size))
