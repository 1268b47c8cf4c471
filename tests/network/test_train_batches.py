"""The training loop's batch preparation: the augmented batches made one ahead on a second
thread are the augmenter's own, in order, and no thread outlives a run however it ends."""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import network.train
from network.augment import Augmenter
from network.config import TrainConfig
from network.convnet import ConvNet
from network.inputs import get_scaling, scale_into
from network.train import _Batches, _spare_core, train


def _batch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("digits-batches")]


def test_prefetched_batches_equal_augmenting_in_turn(blob_factory):
    images, _ = blob_factory(300, seed=3)
    rows = images.reshape(len(images), -1)
    scaling = get_scaling("unit")
    orders = [np.random.default_rng(s).permutation(300) for s in (1, 2)]  # two "epochs"
    size = 64  # 5 batches an epoch, the last one short
    made = []
    model = SimpleNamespace(scaling=scaling)  # prepares nothing
    with _Batches(rows, size, model, Augmenter(rng=7), ahead=True) as batches:
        for order in orders:
            for lo in range(0, 300, size):
                hi = min(300, lo + size)
                following = order[hi : hi + size] if hi < 300 else None
                x, prepared = batches.get(order[lo:hi], following)
                assert prepared is None
                made.append(x.copy())
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


def test_no_batch_thread_outlives_a_run(blob_factory, monkeypatch):
    blobs = blob_factory(200, seed=0)  # 4 batches
    monkeypatch.setattr(network.train, "_spare_core", lambda: True)
    alive = []
    assert train(_config(), *blobs, on_progress=lambda e: alive.append(_batch_threads())).ok
    assert alive and all(alive)  # the batches were made on the second thread...
    assert not _batch_threads()  # ... which stopped with the run

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


STACK = [{"type": "conv", "filters": 4, "kernel": 5}, {"type": "pool"}, {"type": "relu"},
         {"type": "conv", "filters": 6, "kernel": 3}, {"type": "pool"}, {"type": "relu"},
         {"type": "flatten"}, {"type": "dense", "units": 10}]


def test_columns_prepared_ahead_train_the_same_numbers(blob_factory):
    images, labels = blob_factory(40, seed=4)
    x = images.reshape(40, 784).astype(np.float32) / 255
    runs = []
    for ahead in (False, True):
        net = ConvNet(STACK, rng=2)
        prepared = [net.prepare(x[:20], 0), net.prepare(x[20:], 1)] if ahead else [None] * 2
        assert all(p is not None for p in prepared) == ahead
        for half, ready in zip((x[:20], x[20:]), prepared, strict=True):
            logits = net.forward(half) if ready is None else net.forward(half, ready)
            runs.append(logits.copy())
            net.backward(labels[:20])
            runs.append(net.grads.copy())
    for plain, ahead in zip(runs[:4], runs[4:], strict=True):
        np.testing.assert_array_equal(ahead, plain)


def test_a_spare_core_is_one_that_blas_leaves_free(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert not _spare_core()  # OpenBLAS takes every core
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    monkeypatch.setenv("OMP_NUM_THREADS", str(cpus))
    assert not _spare_core()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert _spare_core() == (cpus > 1)
