"""The four presets the screens and the CLI offer: `seed`, `fast`, `best` and `conv`.

seed  The original's network and loss -- 784-200-10, sigmoid, no biases, 0.01..1.0 inputs,
      sigmoid outputs against 0.01/0.99 targets, normal(0, n_in ** -0.5) init -- trained with
      plain SGD in mini-batches of 128 instead of one record at a time. The batch loss is a
      mean, so lr 20 is about 0.16 per record (the original: 0.1), halved every 4 epochs; a
      one-epoch linear warm-up keeps the first big steps from saturating the sigmoid outputs
      (without it, a batch of 128 at this rate pins every output near 0 and learning stalls).
      Measured: 97.76-97.91% on the test set after 10 epochs over 5 seeds (the original: 97.5%),
      about 3 s of training on two cores of the first machine README was measured on (AVX-512
      kernels); on README's machine now, 14.4 s with two BLAS threads, 26.5 s with one
      (README, "The network and its presets").
fast  784-256-10 ReLU, softmax cross-entropy, standardized inputs, Adam with a cosine decay
      over 6 epochs: 98.2-98.3% over 3 seeds, about 3 s of training (98.0% after 4 epochs,
      about 2 s) on that first machine; 98.0% in 5.63 s on README's machine now
      (`benchmarks/train_speed.py --quick`, README's Performance table).
best  784-800-800-10 ReLU, Adam with a one-epoch warm-up and a cosine decay over 60 epochs,
      on-the-fly augmentation (rotation, scale, stretch, shear, shift, elastic distortion,
      thicker and thinner strokes, 2x2 hard cells, stretching toward the 20x20 box by up to 8x
      per axis, so that a narrow 1 may become a bar, hard edges): 99.43% on the test set
      (preset seed; the shipped `shipped` model), with 98.39% on scikit-learn's `load_digits`
      and 98.07% on test digits cropped, stretched to 16x16 and binarized, each image read
      once (through the app's recognition, which averages the one-pixel shifts, 98.61% on
      `load_digits`: README, Robustness).
      The same preset with the stretch bounded at 1.6x per axis scored 99.48%, 96.83% and
      95.87% (the model shipped before 2026-11-29). About 4.5 s an epoch, 5 minutes in all, on
      two otherwise idle cores of the first machine; the shipped model took 1,523 s with one
      BLAS thread on README's machine, busy with other work.
conv  A convolutional network (`network.convnet`): 5x5 convolutions with 16 then 32 filters,
      each followed by 2x2 max-pooling and ReLU, a dense layer of 128 and the softmax output
      (80,202 parameters), trained with the `best` augmentation, Adam at 2e-3 with a half-epoch
      warm-up and a cosine decay over 18 epochs: 99.55% on the test set in 710 s of training
      (the shipped `shipped-conv` model). Sized to the time limit: on this 2-core machine,
      shared with other work, an epoch of it took 36-45 s (32 then 64 filters: about 75 s,
      too slow for enough epochs in 15 minutes). No dropout: with this
      augmentation the network underfits its training batches (in a 3-epoch trial on 20,000
      images, 88.6% on the augmented batches against 97.8% on the test set), so there is no
      overfitting for dropout to curb; a run with dropout was not measured to the end.
"""

from __future__ import annotations

from typing import Any

from network.augment import AugmentConfig
from network.config import PRESET_NAMES, TrainConfig
from network.errors import ModelError

__all__ = ["PRESETS", "preset_config", "preset_names"]

PRESETS: dict[str, TrainConfig] = {
    "seed": TrainConfig(
        preset="seed",
        hidden=(200,),
        activation="sigmoid",
        output="sigmoid",
        biases=False,
        init="original",
        input_scaling="original",
        optimizer="sgd",
        lr=20.0,
        schedule="step",
        step_every=4,
        gamma=0.5,
        warmup_epochs=1.0,
        epochs=10,
        batch_size=128,
        seed=1,
    ),
    "fast": TrainConfig(
        preset="fast",
        hidden=(256,),
        activation="relu",
        output="softmax",
        biases=True,
        init="he",
        input_scaling="standard",
        optimizer="adam",
        lr=2e-3,
        schedule="cosine",
        min_lr_factor=0.02,
        epochs=6,
        batch_size=128,
        seed=1,
    ),
    "best": TrainConfig(
        preset="best",
        hidden=(800, 800),
        activation="relu",
        output="softmax",
        biases=True,
        init="he",
        input_scaling="unit",
        optimizer="adam",
        lr=1e-3,
        schedule="cosine",
        min_lr_factor=0.0,
        warmup_epochs=1.0,
        epochs=60,
        batch_size=128,
        augment=True,
        augmentation=AugmentConfig(fill_max=8.0),
        seed=1,
    ),
    "conv": TrainConfig(
        preset="conv",
        conv=(16, 32),
        kernel=5,
        hidden=(128,),
        dropout=0.0,
        activation="relu",
        output="softmax",
        biases=True,
        init="he",
        input_scaling="unit",
        optimizer="adam",
        lr=2e-3,
        schedule="cosine",
        min_lr_factor=0.0,
        warmup_epochs=0.5,
        epochs=18,
        batch_size=128,
        augment=True,
        augmentation=AugmentConfig(),
        seed=1,
    ),
}

assert set(PRESETS) | {"custom"} == set(PRESET_NAMES)


def preset_names() -> tuple[str, ...]:
    """The preset names, in the order the screens list them."""
    return tuple(PRESETS)


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """A fresh, validated copy of preset `name` with some fields overridden.

    Overriding fields keeps the preset name (the metadata records the full config anyway).
    Raises ModelError for an unknown preset, an unknown field or an invalid value.
    """
    if name not in PRESETS:
        raise ModelError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name].with_overrides(**overrides).validate()
