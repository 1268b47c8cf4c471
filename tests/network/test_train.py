"""The training loop: progress events, cancelling, divergence, determinism, config checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from network.config import TrainConfig
from network.errors import ModelError
from network.mlp import MLP
from network.presets import preset_config
from network.train import ProgressEvent, train


def small_config(**kw) -> TrainConfig:
    base = dict(hidden=(32,), epochs=2, batch_size=50, lr=3e-3, report_every=3, seed=11)
    return TrainConfig(**{**base, **kw})


def test_learns_and_reports(blobs, blob_factory):
    images, labels = blobs
    test_images, test_labels = blob_factory(200, seed=1)
    events: list[ProgressEvent] = []
    result = train(small_config(), images, labels, test_images, test_labels,
                   on_progress=events.append)
    assert result.ok and not result.cancelled and not result.diverged
    assert result.epochs_completed == 2 and result.samples_seen == 1200
    assert result.test_accuracy > 0.9
    assert [h.epoch for h in result.history] == [1, 2]
    kinds = [(e.kind, e.epoch, e.batch) for e in events]
    # 12 batches an epoch, reported every 3 (the 12th is the epoch event)
    assert kinds == [("batch", 1, 3), ("batch", 1, 6), ("batch", 1, 9), ("epoch", 1, 12),
                     ("batch", 2, 3), ("batch", 2, 6), ("batch", 2, 9), ("epoch", 2, 12)]
    seen = [e.samples_seen for e in events]
    assert seen == sorted(seen) and seen[-1] == 1200
    for e in events:
        assert e.epochs == 2 and e.batches == 12
        assert math.isfinite(e.loss) and e.loss > 0
        assert 0 <= e.train_accuracy <= 1 and e.samples_per_second > 0 and e.lr > 0
        assert (e.test_accuracy is not None) == (e.kind == "epoch")
    assert events[3].test_accuracy == result.history[0].test_accuracy
    assert result.model is not None and result.last_epoch_model is not None
    np.testing.assert_array_equal(result.model.params, result.last_epoch_model.params)


def test_no_test_set_means_no_test_accuracy(blobs):
    result = train(small_config(epochs=1), *blobs)
    assert result.history[0].test_accuracy is None and result.test_accuracy is None


def test_same_seed_same_weights_different_seed_different(blobs):
    a = train(small_config(), *blobs).model
    b = train(small_config(), *blobs).model
    c = train(small_config(seed=12), *blobs).model
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_same_seed_same_weights_with_augmentation(blobs):
    cfg = small_config(epochs=1, augment=True)
    np.testing.assert_array_equal(train(cfg, *blobs).model.params,
                                  train(cfg, *blobs).model.params)


@pytest.mark.parametrize("stop_after", [0, 1, 5, 13])
def test_cancel_stops_within_one_batch(blobs, stop_after):
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > stop_after

    result = train(small_config(), *blobs, should_stop=should_stop)
    assert result.cancelled and not result.diverged and not result.ok
    assert result.samples_seen == 50 * stop_after  # exactly the batches before the cancel
    assert result.model is not None and np.isfinite(result.model.params).all()
    assert result.epochs_completed == (1 if stop_after >= 12 else 0)
    assert (result.last_epoch_model is None) == (stop_after < 12)
    assert "cancelled" in result.message


def test_divergence_is_detected(blobs):
    cfg = small_config(optimizer="momentum", lr=100.0, hidden=(32, 32, 32),
                       input_scaling="standard", epochs=3)
    result = train(cfg, *blobs)
    assert result.diverged and not result.cancelled and result.epochs_completed == 0
    assert result.model is None and result.last_epoch_model is None
    assert "diverged" in result.message and "learning rate" in result.message


def test_exploding_loss_counts_as_divergence(blobs):
    # Adam at rate 1 does not reach NaN quickly, but its loss explodes within a few batches
    result = train(small_config(lr=1.0, input_scaling="standard", hidden=(64, 64)), *blobs)
    assert result.diverged and "from" in result.message and "at the start" in result.message


def test_divergence_after_an_epoch_keeps_the_last_finite_model(blobs, monkeypatch):
    original = MLP.backward
    calls = 0

    def flaky_backward(self, labels, scale=1.0):
        nonlocal calls
        calls += 1
        loss = original(self, labels, scale)
        if calls == 15:  # third batch of epoch 2
            self.params[:] = np.nan
            return float("nan")
        return loss

    monkeypatch.setattr(MLP, "backward", flaky_backward)
    result = train(small_config(epochs=3), *blobs)
    assert result.diverged and result.epochs_completed == 1
    assert "epoch 2, batch 3" in result.message
    assert result.model is result.last_epoch_model
    assert np.isfinite(result.model.params).all()


def test_non_finite_weights_with_a_finite_loss_are_caught_at_the_epoch_end(blobs, monkeypatch):
    """A weight that turns infinite in the last step of an epoch leaves every loss finite; the
    end-of-epoch check must still stop the run and keep the last finite model."""
    original = MLP.backward
    calls = 0
    batches = math.ceil(len(blobs[1]) / small_config().batch_size)

    def last_step_breaks_a_weight(self, labels, scale=1.0):
        nonlocal calls
        calls += 1
        loss = original(self, labels, scale)
        if calls == 2 * batches:  # the last batch of epoch 2: its loss is already computed
            self.params[0] = np.inf
        return loss

    monkeypatch.setattr(MLP, "backward", last_step_breaks_a_weight)
    result = train(small_config(epochs=3), *blobs)
    assert result.diverged and result.epochs_completed == 1
    assert "epoch 2" in result.message and "non-finite weights" in result.message
    assert result.model is result.last_epoch_model
    assert np.isfinite(result.model.params).all()


BAD = [
    ({"epochs": 0}, "epochs"), ({"epochs": -1}, "epochs"), ({"epochs": 2.5}, "epochs"),
    ({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"lr": float("inf")}, "lr"),
    ({"lr": 1e9}, "lr"), ({"lr": 2.0}, r"\(0, 1\] for adam"), ({"hidden": (0,)}, "hidden"),
    ({"hidden": (10, -2)}, "hidden"), ({"hidden": (10**6,)}, "hidden"),
    ({"preset": "turbo"}, "preset"), ({"activation": "gelu"}, "activation"),
    ({"output": "hinge"}, "output"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"schedule": "linear"}, "schedule"), ({"batch_size": 0}, "batch_size"),
    ({"momentum": 1.0}, "momentum"), ({"l2": -0.1}, "l2"), ({"seed": -1}, "seed"),
    ({"augment": "yes"}, "augment"), ({"warmup_epochs": 5}, "warmup_epochs"),
    ({"init": "xavier"}, "init"), ({"input_scaling": "z"}, "input_scaling"),
]


@pytest.mark.parametrize("override,field", BAD)
def test_validate_names_the_field_and_range(override, field):
    cfg = small_config(**override)
    with pytest.raises(ModelError, match=field) as info:
        cfg.validate()
    assert "\n" not in str(info.value) and "must be" in str(info.value)


def test_train_validates_first(blobs):
    with pytest.raises(ModelError, match="epochs"):
        train(small_config(epochs=0), *blobs)


def test_bad_data(blobs):
    images, labels = blobs
    with pytest.raises(ModelError, match="labels"):
        train(small_config(), images, labels[:-1])
    with pytest.raises(ModelError, match="0..9"):
        train(small_config(), images, np.full(len(images), 10, np.uint8))
    with pytest.raises(ModelError, match="shape"):
        train(small_config(), images[:, :27], labels)


def test_config_dict_round_trip():
    cfg = preset_config("best")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(data) == cfg
    with pytest.raises(ModelError, match="unknown"):
        TrainConfig.from_dict({**data, "label_smoothing": 0.5})
    with pytest.raises(ModelError, match="unknown"):
        cfg.with_overrides(label_smoothing=0.5)


@pytest.mark.slow
def test_fast_preset_reaches_98_percent(mnist):
    result = train(preset_config("fast"), mnist.train_images, mnist.train_labels,
                   mnist.test_images, mnist.test_labels)
    assert result.ok
    assert result.test_accuracy >= 0.98


@pytest.mark.slow
def test_seed_preset_reaches_the_originals_97_5_percent(mnist):
    result = train(preset_config("seed"), mnist.train_images, mnist.train_labels,
                   mnist.test_images, mnist.test_labels)
    assert result.ok
    assert result.test_accuracy >= 0.975
