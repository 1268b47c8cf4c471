"""Teach: the training loop fine-tunes (start_from, sampler), the held-out split, the honest
before/after, the taught model's metadata, and the base model left untouched."""

from __future__ import annotations

import numpy as np
import pytest

from network.config import TrainConfig
from network.drawings import Drawing, DrawingSet, add_drawings, load_drawings
from network.errors import ModelError
from network.mlp import MLP
from network.teach import TeachConfig, split_drawings, taught_metadata, teach
from network.train import train

SMALL = TeachConfig(epochs=1, mnist_per_epoch=1000, drawing_share=0.2, batch_size=64)


def blobs(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n (28, 28) uint8 images of two separable classes (ink on the left / on the right)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 8:20, (4 if label == 0 else 18):(10 if label == 0 else 24)] = 250
    return images, labels


def test_start_from_trains_a_copy_and_the_sampler_chooses_the_rows():
    images, labels = blobs()
    config = TrainConfig(hidden=(16,), epochs=2, batch_size=32, seed=3)
    base = train(config, images, labels).model
    before = base.params.copy()
    seen: list[int] = []

    def sampler(rng: np.random.Generator) -> np.ndarray:
        order = rng.permutation(50)  # only the first 50 rows, every epoch
        seen.extend(order.tolist())
        return order

    result = train(config, images, labels, start_from=base, sampler=sampler)
    assert result.ok and result.samples_seen == 100
    assert set(seen) == set(range(50))
    np.testing.assert_array_equal(base.params, before)  # the base model is never changed
    assert not np.array_equal(result.model.params, before)
    with pytest.raises(ModelError, match="sampler"):
        train(config, images, labels, start_from=base,
              sampler=lambda rng: np.array([0, 10**6]))


def test_held_out_split_is_stratified_and_never_takes_a_digits_only_drawing():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 1 + [3] * 2)
    trained, held = split_drawings(labels, 0.2, seed=1)
    assert sorted(np.concatenate([trained, held]).tolist()) == list(range(labels.size))
    assert np.bincount(labels[held], minlength=4).tolist() == [2, 1, 0, 0]
    again, _ = split_drawings(labels, 0.2, seed=1)
    np.testing.assert_array_equal(trained, again)


def test_no_copy_of_a_held_out_drawing_is_trained_on():
    """An export imported twice keeps every drawing twice: the split held one copy out and
    trained on the other, so "held out, never trained on" was not true and the score on them
    was flattering. Identical drawings now go to the same side."""
    images, labels = blobs(20, seed=4)
    drawings = DrawingSet(np.concatenate([images, images]),
                          [Drawing(i + 1, int(label), "") for i, label in
                           enumerate(np.concatenate([labels, labels]))], next_id=41)
    for seed in range(3):
        outcome = teach(MLP((784, 8, 10), rng=0), drawings, images, labels,
                        config=TeachConfig(epochs=1, mnist_per_epoch=20, batch_size=32,
                                           seed=seed))
        held = {drawings.images[i].tobytes() for i in outcome.held_out}
        trained = {drawings.images[i].tobytes() for i in outcome.trained}
        assert outcome.held_out.size >= 4 and not held & trained
    # distinct drawings are split exactly as before: by digit, by the seed
    distinct, _ = split_drawings(labels, 0.2, seed=1, images=images)
    np.testing.assert_array_equal(distinct, split_drawings(labels, 0.2, seed=1)[0])


@pytest.fixture
def kept_drawings(mnist_data):
    """40 drawings: 4 per digit, MNIST training digits (shifted, so the raw canvas differs)."""
    picks = np.concatenate([np.flatnonzero(mnist_data.train_labels == d)[:4] for d in range(10)])
    images = np.roll(mnist_data.train_images[picks], 2, axis=2)
    add_drawings(list(images), mnist_data.train_labels[picks].tolist())
    return load_drawings()


def test_teach_measures_before_and_after_on_held_out_drawings_and_mnist(
        mnist_data, kept_drawings):
    base = MLP((784, 32, 10), rng=0)
    base.metadata = {"config": {"augmentation": {"rotate": 5.0}}}
    events = []
    outcome = teach(base, kept_drawings, mnist_data.train_images, mnist_data.train_labels,
                    mnist_data.test_images[:500], mnist_data.test_labels[:500], SMALL,
                    on_progress=events.append)
    assert outcome.result.ok and events and events[-1].kind == "epoch"
    assert outcome.held_out.size == 10 and outcome.trained.size == 30  # one per digit held out
    assert outcome.train_config.augment and outcome.train_config.augmentation.rotate == 5.0
    # an epoch: 1000 MNIST rows plus the drawings making up 20% of it
    assert outcome.result.samples_seen == 1000 + 250
    untrained = base.predict(mnist_data.test_images[:500]) == mnist_data.test_labels[:500]
    assert outcome.before.mnist == pytest.approx(float(untrained.mean()))
    assert outcome.after.mnist > outcome.before.mnist  # an untrained model learns
    meta = taught_metadata(outcome, kept_drawings, {"name": "base"}, command="test")
    assert meta["preset"] == "teach" and meta["base_model"] == {"name": "base"}
    assert meta["drawings"]["count"] == 40
    assert meta["drawings"]["sha256"] == kept_drawings.checksum()
    assert meta["drawings"]["held_out"] == 10
    assert meta["teach"]["after"] == outcome.after.to_dict()
    assert meta["architecture"] == base.architecture()


def test_teach_cancels_and_refuses_without_drawings(mnist_data, kept_drawings):
    base = MLP((784, 16, 10), rng=0)
    outcome = teach(base, kept_drawings, mnist_data.train_images, mnist_data.train_labels,
                    config=SMALL, should_stop=lambda: True)
    assert outcome.result.cancelled and outcome.after is None and outcome.model is None
    from network.drawings import DrawingSet

    with pytest.raises(ModelError, match="no drawings"):
        teach(base, DrawingSet(), mnist_data.train_images, mnist_data.train_labels)
    with pytest.raises(ModelError, match="epochs"):
        TeachConfig(epochs=0).validate()


def test_no_drawing_is_shown_more_than_max_repeats_times_an_epoch(mnist_data, kept_drawings):
    """40 drawings (30 trained on) at a 90% share would be 9,000 samples; capped at 30 x 30."""
    config = TeachConfig(epochs=1, mnist_per_epoch=1000, drawing_share=0.9, max_repeats=30)
    outcome = teach(MLP((784, 16, 10), rng=0), kept_drawings, mnist_data.train_images,
                    mnist_data.train_labels, config=config)
    assert outcome.result.samples_seen == 1000 + 30 * 30


def test_teach_starts_from_a_conv_network_too(mnist_data, kept_drawings, tmp_path):
    """The same fine-tune from a layer stack: a taught copy of the same stack, the base left
    as it was, and a file that loads back as that stack."""
    from network.convnet import ConvNet, conv_stack
    from network.store import load_model, save_model

    base = ConvNet(conv_stack((4,), 5, (16,)), rng=0)
    before = base.params.copy()
    outcome = teach(base, kept_drawings, mnist_data.train_images, mnist_data.train_labels,
                    mnist_data.test_images[:300], mnist_data.test_labels[:300], SMALL)
    assert outcome.result.ok and isinstance(outcome.model, ConvNet)
    assert outcome.model.architecture() == base.architecture()
    np.testing.assert_array_equal(base.params, before)
    assert not np.array_equal(outcome.model.params, before)
    assert outcome.after.mnist > outcome.before.mnist  # an untrained stack learns
    meta = taught_metadata(outcome, kept_drawings, {"name": "conv base"}, command="test")
    assert meta["architecture"] == base.architecture()
    save_model(tmp_path / "taught.npz", outcome.model, meta)
    loaded = load_model(tmp_path / "taught.npz")
    assert isinstance(loaded, ConvNet)
    np.testing.assert_array_equal(loaded.params, outcome.model.params)


def test_a_convnet_is_taught_as_its_layers_say_whatever_its_metadata_claims():
    """A ConvNet's network fields were copied from the config in its file's metadata, which is
    only what the file says: `"conv": 5` there made `digits teach` end in a TypeError traceback
    (and the Drawings screen's Teach never end). They are now read from its layers."""
    from network.convnet import ConvNet, conv_stack

    model = ConvNet(conv_stack((4, 6), 5, (8,), "tanh", 0.25), rng=0)
    for claimed in ({"conv": 5, "hidden": "128", "kernel": None}, {}, None):
        model.metadata = {"config": claimed}
        config = TeachConfig().train_config(model)
        assert (config.conv, config.kernel, config.hidden, config.activation, config.dropout) \
            == ((4, 6), 5, (8,), "tanh", 0.25)
    mixed = ConvNet([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "pool"},
                     {"type": "relu"}, {"type": "conv", "filters": 4, "kernel": 5},
                     {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 10}],
                    rng=0)
    with pytest.raises(ModelError, match="cannot be taught"):
        TeachConfig().train_config(mixed)


def test_teaching_a_taught_model_never_holds_out_what_it_was_trained_on():
    """Teaching the taught model again after keeping more drawings chose the held-out share
    afresh: drawings the model had been trained on the first time came out as "held out,
    never trained on" (4 of 22 with a tmux session's 98 drawings and 14 more 9s), and its
    before/after scores on them flattered it. A taught model's metadata now lists what it was
    trained on (its base's included), and those are never held out."""
    images, labels = blobs(60, seed=5)
    first = DrawingSet(images[:40], [Drawing(i + 1, int(label), "")
                                     for i, label in enumerate(labels[:40])], next_id=41)
    small = TeachConfig(epochs=1, mnist_per_epoch=20, batch_size=32)
    taught = teach(MLP((784, 8, 10), rng=0), first, images, labels, config=small)
    taught.model.metadata = taught_metadata(taught, first, {"name": "base"})
    learnt = {first.fingerprints()[i] for i in taught.trained}
    more = DrawingSet(images, [Drawing(i + 1, int(label), "") for i, label in enumerate(labels)],
                      next_id=61)
    for seed in range(4):
        again = teach(taught.model, more, images, labels,
                      config=TeachConfig(epochs=1, mnist_per_epoch=20, batch_size=32, seed=seed))
        assert again.held_out.size > 0
        assert not {more.fingerprints()[i] for i in again.held_out} & learnt
        meta = taught_metadata(again, more, {"name": "taught"})
        assert learnt <= set(meta["drawings"]["trained_on_sha256"])  # passed on down the line
