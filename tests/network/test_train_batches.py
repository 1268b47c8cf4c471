"""The training loop's batch preparation: the augmented batches made one ahead on a second
thread are the augmenter's own, in order, and no thread outlives a run however it ends."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from network.augment import Augmenter
from network.config import TrainConfig
from network.inputs import get_scaling, scale_into
from network.train import _Batches, train


def _batch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("digits-batches")]


def test_prefetched_batches_equal_augmenting_in_turn(blob_factory):
    images, _ = blob_factory(300, seed=3)
    rows = images.reshape(len(images), -1)
    scaling = get_scaling("unit")
    orders = [np.random.default_rng(s).permutation(300) for s in (1, 2)]  # two "epochs"
    size = 64  # 5 batches an epoch, the last one short
    made = []
    with _Batches(rows, size, scaling, Augmenter(rng=7)) as batches:
        for order in orders:
            for lo in range(0, 300, size):
                hi = min(300, lo + size)
                following = order[hi : hi + size] if hi < 300 else None
                made.append(batches.get(order[lo:hi], following).copy())
    reference = Augmenter(rng=7)
    expected = []
    for order in orders:
        for lo in range(0, 300, size):
            batch = rows[order[lo : lo + size]]
            x = reference(batch, out=np.empty(batch.shape, np.float32))
            expected.append(scale_into(x, scaling, x))
    assert [m.shape for m in made] == [e.shape for e in expected]
    for m, e in zip(made, expected, strict=True):
        np.testing.assert_array_equal(m, e)
    assert not _batch_threads()


def _config() -> TrainConfig:
    return TrainConfig(hidden=(16,), epochs=1, batch_size=50, lr=3e-3, seed=5, augment=True,
                       report_every=2)


def test_no_batch_thread_outlives_a_run(blobs):
    assert train(_config(), *blobs).ok
    assert not _batch_threads()

    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    assert train(_config(), *blobs, should_stop=should_stop).cancelled
    assert not _batch_threads()

    def on_progress(event) -> None:
        raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError, match="the caller failed"):
        train(_config(), *blobs, on_progress=on_progress)
    assert not _batch_threads()
