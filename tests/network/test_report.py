"""network.report: the throttle of progress events, time left, confusion summaries, evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from network.evaluate import evaluate
from network.mlp import MLP
from network.report import (
    EvaluationCancelled,
    ProgressThrottle,
    confused_pairs,
    evaluate_with_progress,
    mistake_indices,
    remaining_seconds,
    shade_levels,
)
from network.train import ProgressEvent


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def batch_event(epoch: int, batch: int, loss: float, batches: int = 100) -> ProgressEvent:
    """A batch event after `batch` batches of 10 samples, 1 ms each."""
    seen = ((epoch - 1) * batches + batch) * 10
    return ProgressEvent("batch", epoch, 3, batch, batches, seen, loss, 0.5, 10_000.0, 0.1,
                         seen / 10_000.0)


def test_throttle_lets_through_a_few_events_per_second_with_the_mean_loss():
    clock = FakeClock()
    throttle = ProgressThrottle(0.1, clock)
    shown = []
    for batch in range(1, 100):  # one event per batch, every 10 ms of wall time
        clock.now += 0.01
        shown += throttle.feed(batch_event(1, batch, loss=float(batch)))
    assert 9 <= len(shown) <= 11
    # Every batch's loss is counted exactly once, weighted by the batches each event covers.
    covered = [shown[0].batch] + [b.batch - a.batch for a, b in zip(shown, shown[1:], strict=False)]
    total = sum(e.loss * n for e, n in zip(shown, covered, strict=True))
    assert total == pytest.approx(sum(range(1, shown[-1].batch + 1)))
    assert all(e.samples_per_second == pytest.approx(10_000.0) for e in shown)


def test_throttle_always_passes_epoch_events_after_the_pending_span():
    clock = FakeClock()
    throttle = ProgressThrottle(10.0, clock)
    assert throttle.feed(batch_event(1, 1, 4.0)) == [batch_event(1, 1, 4.0)]  # the first passes
    assert throttle.feed(batch_event(1, 2, 2.0)) == []
    assert throttle.feed(batch_event(1, 4, 1.0)) == []  # covers batches 3 and 4
    end = ProgressEvent("epoch", 1, 3, 100, 100, 1000, 1.5, 0.6, 9_000.0, 0.1, 0.1, 0.9)
    out = throttle.feed(end)
    assert [e.kind for e in out] == ["batch", "epoch"]
    assert out[0].batch == 4 and out[0].loss == pytest.approx((2.0 + 1.0 * 2) / 3)
    assert out[1] is end
    # The next epoch's first span is counted from its start.
    clock.now += 20
    (first,) = throttle.feed(batch_event(2, 5, 3.0))
    assert first.loss == 3.0 and first.samples_per_second == pytest.approx(10_000.0)


def test_remaining_seconds():
    assert remaining_seconds(10.0, 1, 4) == pytest.approx(30.0)
    assert remaining_seconds(10.0, 4, 4) == 0.0
    assert remaining_seconds(0.0, 0, 4) is None
    assert remaining_seconds(5.0, 0, 4) is None


def test_confused_pairs_are_the_largest_off_diagonal_cells():
    c = np.diag([100] * 4)
    c[3, 1], c[1, 3], c[2, 0], c[0, 2] = 7, 7, 9, 1
    assert confused_pairs(c, top=3) == [(2, 0, 9), (1, 3, 7), (3, 1, 7)]
    assert confused_pairs(c, top=10)[-1] == (0, 2, 1)  # zero cells are never listed
    assert confused_pairs(np.diag([5, 5])) == []


def test_shade_levels_scale_diagonal_and_confusions_separately():
    c = np.array([[1000, 0, 4], [1, 500, 0], [16, 0, 10]])
    levels = shade_levels(c, 5)
    assert levels[0, 0] == 4 and levels[2, 0] == 4  # each group's largest gets the top level
    assert levels[0, 1] == 0 and levels[1, 2] == 0  # zero is blank
    assert 1 <= levels[1, 0] < levels[0, 2] < 4  # small counts stay visible, in order
    assert levels[2, 2] < levels[1, 1] < 4
    assert not shade_levels(np.zeros((3, 3), dtype=int)).any()


@pytest.fixture
def scored():
    """A small random model scored on 3000 random images (plenty of mistakes)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 3000)
    return MLP((784, 16, 10), rng=1), images, labels


def test_mistake_indices_filter_by_true_and_predicted_digit(scored):
    model, images, labels = scored
    ev = evaluate(model, images, labels)
    assert np.array_equal(mistake_indices(ev), ev.misclassified)
    fours = mistake_indices(ev, true=4)
    assert fours.size and (labels[fours] == 4).all() and (ev.predictions[fours] != 4).all()
    as_nine = mistake_indices(ev, true=4, predicted=9)
    assert set(as_nine) == {i for i in fours if ev.predictions[i] == 9}
    assert (np.diff(mistake_indices(ev, predicted=1)) > 0).all()


def test_evaluate_with_progress_equals_evaluate(scored):
    model, images, labels = scored
    reports = []
    ev = evaluate_with_progress(model, images, labels, on_progress=lambda d, n: reports.append(d))
    plain = evaluate(model, images, labels)
    assert reports == [2048, 3000]
    assert ev.accuracy == plain.accuracy
    assert np.array_equal(ev.confusion, plain.confusion)
    assert np.array_equal(ev.confidences, plain.confidences)
    assert np.array_equal(ev.misclassified, plain.misclassified)


def test_evaluate_with_progress_can_be_cancelled(scored):
    model, images, labels = scored
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(EvaluationCancelled):
        evaluate_with_progress(model, images, labels, should_stop=stop)
    assert len(calls) == 2
