"""Small numeric helpers the Train and Evaluate screens show: no widgets, no formatting of cells.

    ProgressThrottle        coalesces the training loop's progress events to a few per second
    remaining_seconds       a run's time left from its time so far and the fraction done
    confused_pairs          the most frequent off-diagonal cells of a confusion matrix
    shade_levels            a confusion matrix scaled to a few shading levels
    mistake_indices         the misclassified test images, filtered by true / predicted digit
    evaluate_with_progress  `network.evaluate.evaluate`, reporting per chunk and cancellable

`evaluate_with_progress` returns exactly what `evaluate` returns: it calls `evaluate` itself,
with the model wrapped so that its `predict_proba` runs the same chunks one at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from network.evaluate import Evaluation, evaluate
from network.inputs import as_rows
from network.train import ProgressEvent

__all__ = ["ProgressThrottle", "remaining_seconds", "confused_pairs", "shade_levels",
           "mistake_indices", "evaluate_with_progress", "EvaluationCancelled"]


class ProgressThrottle:
    """Let through at most one batch event per `interval` seconds, merging the ones in between.

    A merged event has the mean loss of the batches it covers (weighted by batch count) and the
    speed over its whole span; every other field is the latest event's. Epoch events always pass,
    preceded by the pending merged batch event, if any.
    """

    def __init__(self, interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        """`interval`: seconds between batch events let through; `clock`: monotonic seconds."""
        self.interval = interval
        self._clock = clock
        self._last_sent = -math.inf
        self._prev: ProgressEvent | None = None  # the last event fed
        self._start: ProgressEvent | None = None  # the event just before the pending span
        self._pending: ProgressEvent | None = None  # the latest event of the pending span
        self._loss_sum = 0.0
        self._batches = 0

    def _merged(self) -> ProgressEvent:
        """The pending span as one event."""
        event, start = self._pending, self._start
        assert event is not None
        speed = event.samples_per_second
        if start is not None and event.elapsed > start.elapsed:
            speed = (event.samples_seen - start.samples_seen) / (event.elapsed - start.elapsed)
        return replace(event, loss=self._loss_sum / max(self._batches, 1), samples_per_second=speed)

    def _flush(self) -> list[ProgressEvent]:
        """The pending merged event (if any) as a list; the next span starts empty."""
        out = [self._merged()] if self._pending is not None else []
        self._pending, self._loss_sum, self._batches = None, 0.0, 0
        return out

    def feed(self, event: ProgressEvent) -> list[ProgressEvent]:
        """Take one event from the loop; return the events to show now (often none)."""
        prev, self._prev = self._prev, event
        if event.kind == "epoch":
            out = self._flush()
            self._last_sent = self._clock()
            return [*out, event]
        same_epoch = prev is not None and prev.kind == "batch" and prev.epoch == event.epoch
        span = max(event.batch - prev.batch, 1) if same_epoch and prev else event.batch
        if self._pending is None:
            self._start = prev
        self._pending = event
        self._loss_sum += event.loss * span
        self._batches += span
        now = self._clock()
        if now - self._last_sent < self.interval:
            return []
        self._last_sent = now
        return self._flush()


def remaining_seconds(elapsed: float, done: float, total: float) -> float | None:
    """Seconds left if the rest goes as fast as what is done; None before anything is done."""
    if done <= 0 or total <= 0 or elapsed < 0:
        return None
    return max(elapsed * (total - done) / done, 0.0)


def confused_pairs(confusion: np.ndarray, top: int = 5) -> list[tuple[int, int, int]]:
    """The `top` largest off-diagonal cells of a (K, K) confusion matrix (rows true).

    Returns (true, predicted, count) triples, most frequent first, ties by true then predicted;
    cells with a zero count are left out.
    """
    c = np.asarray(confusion)
    cells = [(int(c[t, p]), t, p) for t in range(c.shape[0]) for p in range(c.shape[1])
             if t != p and c[t, p] > 0]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [(t, p, n) for n, t, p in cells[:top]]


def shade_levels(confusion: np.ndarray, levels: int = 5) -> np.ndarray:
    """(K, K) int: each cell's shading level 0..levels-1, 0 exactly for a zero count.

    The diagonal and the off-diagonal cells are scaled separately (each against its own largest
    count, by square root so small counts stay visible), since correct predictions outnumber
    any confusion a hundred to one.
    """
    c = np.asarray(confusion, dtype=np.float64)
    diag = np.eye(c.shape[0], dtype=bool)
    out = np.zeros(c.shape, dtype=np.int64)
    for mask in (diag, ~diag):
        values = np.where(mask, c, 0.0)
        peak = values.max()
        if peak > 0:
            scaled = np.ceil(np.sqrt(values / peak) * (levels - 1))
            out[mask] = scaled[mask].astype(np.int64)
    return np.clip(out, 0, levels - 1)


def mistake_indices(evaluation: Evaluation, true: int | None = None,
                    predicted: int | None = None) -> np.ndarray:
    """(M,) int64 test-set indices of the misclassified images, optionally of one true digit
    and/or one predicted digit, ascending."""
    idx = evaluation.misclassified
    keep = np.ones(idx.shape, dtype=bool)
    if true is not None:
        keep &= evaluation.labels[idx] == true
    if predicted is not None:
        keep &= evaluation.predictions[idx] == predicted
    return idx[keep]


class EvaluationCancelled(Exception):
    """`should_stop` turned true during `evaluate_with_progress`."""


class _ChunkedModel:
    """Wraps a model: `predict_proba` runs the model's own chunks one call at a time."""

    def __init__(self, model: Any, on_progress: Callable[[int, int], None] | None,
                 should_stop: Callable[[], bool] | None) -> None:
        """Wrap `model`; report and poll through the two callbacks."""
        self.model = model
        self.on_progress = on_progress
        self.should_stop = should_stop

    def predict_proba(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, K) probabilities of (N, 784) rows, chunk by chunk of `batch_size` rows."""
        rows = as_rows(images)
        n = rows.shape[0]
        parts = []
        for start in range(0, n, batch_size):
            if self.should_stop is not None and self.should_stop():
                raise EvaluationCancelled("evaluation cancelled")
            chunk = rows[start : start + batch_size]
            parts.append(self.model.predict_proba(chunk, batch_size=batch_size))
            if self.on_progress is not None:
                self.on_progress(start + chunk.shape[0], n)
        return np.concatenate(parts) if parts else self.model.predict_proba(rows)


def evaluate_with_progress(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Evaluation:
    """`evaluate(model, images, labels)` with `on_progress(done, total)` after each chunk.

    Args:
        model: anything with `predict_proba(images, batch_size)`, e.g. an `MLP`.
        images: (N, 28, 28) or (N, 784) 0..255 pixels.
        labels: (N,) integer labels.
        on_progress: called with (images done, N) after every chunk.
        should_stop: polled before every chunk; True raises EvaluationCancelled.

    Returns:
        The same `Evaluation` as `evaluate` (the same chunks through the same model).
    """
    return evaluate(_ChunkedModel(model, on_progress, should_stop), images, labels)
