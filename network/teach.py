"""Teach: fine-tune a trained model on the user's drawings without letting it forget MNIST.

The model goes on training (the one loop, `network.train.train` with `start_from`) on a stream
that mixes MNIST's training images with the drawings, both augmented as MNIST is in training:
each epoch is `mnist_per_epoch` MNIST images drawn afresh plus drawings making up
`drawing_share` of the epoch, each drawing repeated (oversampled) so that a few dozen of them
weigh as much as that share, but none more than `max_repeats` times an epoch (so that a handful
of drawings is not learnt by heart); a gentle Adam rate keeps what the model knew.

Honest measurement: a held-out share of the drawings (`held_out`, stratified by digit, chosen
by the seed) is never trained on. Before and after, the model is scored on those held-out
drawings and on MNIST's 10,000 test images, and `TeachOutcome` holds both pairs. The held-out
drawings are left out of the taught model too, so what it is said to do on them stays true.

Drawings are kept as raw canvases; they are normalized here, exactly as the Paint screen does
before recognizing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from network.config import TrainConfig
from network.drawings import DrawingSet, training_images
from network.errors import ModelError
from network.evaluate import Evaluation, evaluate, evaluation_from_probabilities
from network.model import is_layer_stack
from network.recognize import recognize_proba
from network.train import ProgressEvent, TrainResult, train

__all__ = ["TeachConfig", "Scores", "TeachOutcome", "split_drawings", "teach", "taught_metadata",
           "evaluate_drawings"]


@dataclass
class TeachConfig:
    """The settings of a fine-tune (the defaults: about 43,000 samples, see the README)."""

    epochs: int = 3
    mnist_per_epoch: int = 10_000  #: MNIST training images per epoch (drawn afresh each epoch)
    drawing_share: float = 0.3  #: fraction of each epoch's samples that are drawings...
    max_repeats: int = 30  #: ...but no drawing is shown more than this many times an epoch
    held_out: float = 0.2  #: share of each digit's drawings kept out of training, to measure
    optimizer: str = "adam"  #: 'adam' or 'momentum' (SGD with Nesterov momentum)
    lr: float = 1e-4  #: peak rate, decayed along a cosine (a tenth of the presets' Adam rate)
    batch_size: int = 128
    seed: int = 0

    def validate(self) -> TeachConfig:
        """ModelError naming the valid range of the first bad value; returns self."""
        checks = [
            ("epochs", isinstance(self.epochs, int) and 1 <= self.epochs <= 1000, "1..1000"),
            ("mnist_per_epoch", isinstance(self.mnist_per_epoch, int)
             and 0 <= self.mnist_per_epoch <= 60_000, "0..60000"),
            ("drawing_share", _in(self.drawing_share, 0.01, 1.0), "[0.01, 1]"),
            ("max_repeats", isinstance(self.max_repeats, int) and 1 <= self.max_repeats <= 10_000,
             "1..10000"),
            ("held_out", _in(self.held_out, 0.0, 0.9), "[0, 0.9]"),
            ("optimizer", self.optimizer in ("momentum", "adam"), "momentum or adam"),
            ("lr", _in(self.lr, 1e-7, 1.0), "[1e-7, 1]"),
            ("batch_size", isinstance(self.batch_size, int) and 1 <= self.batch_size <= 4096,
             "1..4096"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0"),
        ]
        for name, ok, valid in checks:
            if not ok:
                raise ModelError(f"{name} must be in {valid}, got {getattr(self, name)!r}")
        return self

    def train_config(self, model: Any) -> TrainConfig:
        """The TrainConfig of the fine-tune: the model's own network fields (from its
        `architecture()`), its augmentation if it was trained with one, the optimizer at `lr`
        with a cosine decay."""
        arch = model.architecture()
        base = dict((getattr(model, "metadata", None) or {}).get("config") or {})
        augmentation = TrainConfig().augmentation
        if isinstance(base.get("augmentation"), dict):
            try:
                augmentation = TrainConfig.from_dict(
                    {"augmentation": base["augmentation"]}).augmentation
                augmentation.validate()
            except (ModelError, TypeError):
                augmentation = TrainConfig().augmentation
        if is_layer_stack(arch):  # a ConvNet: its network fields, read from its layers
            net = _stack_fields(arch)
        else:
            net = {"hidden": tuple(arch["sizes"][1:-1]), "activation": arch["activation"],
                   "biases": bool(arch["biases"])}
        return TrainConfig(
            preset="custom", **net,
            output=arch["output"], init=arch.get("init", "he"),
            input_scaling=arch["input_scaling"], optimizer=self.optimizer, lr=self.lr,
            nesterov=True,
            schedule="cosine", epochs=self.epochs, batch_size=self.batch_size, augment=True,
            augmentation=augmentation, seed=self.seed,
        ).validate()


def _stack_fields(arch: dict[str, Any]) -> dict[str, Any]:
    """A ConvNet's network fields (conv, kernel, hidden, activation, dropout) read from its
    architecture's layers, the truth about the weights (the config in its metadata is only what
    the file says, and may be anything); ModelError when no TrainConfig builds those layers."""
    from network.activations import ACTIVATIONS
    from network.convnet import conv_stack, describe_stack

    layers = arch["layers"]

    def of(kind: str, key: str) -> list[Any]:
        return [layer.get(key) for layer in layers if layer.get("type") == kind]

    activations = [layer["type"] for layer in layers if layer.get("type") in ACTIVATIONS]
    net = {"conv": tuple(of("conv", "filters")), "kernel": (of("conv", "kernel") or [5])[0],
           "hidden": tuple(of("dense", "units")[:-1]),
           "activation": (activations or ["relu"])[0], "dropout": (of("dropout", "p") or [0.0])[0]}
    if conv_stack(**net, n_classes=10) != layers:
        raise ModelError(f"this network ({describe_stack(layers)}) is not one a training config "
                         f"builds, so it cannot be taught")
    return {**net, "biases": True}


def _in(value: Any, lo: float, hi: float) -> bool:
    """True for a real number (not bool) within [lo, hi]."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and lo <= value <= hi


@dataclass(frozen=True)
class Scores:
    """A model's accuracy on the held-out drawings (None when none is held out) and on MNIST's
    test set (None when not measured), as fractions."""

    drawings: float | None
    mnist: float | None

    def to_dict(self) -> dict[str, float | None]:
        """{"drawings": fraction or null, "mnist": fraction or null}."""
        return asdict(self)


@dataclass
class TeachOutcome:
    """What a fine-tune did: the run, the scores before and after, which drawings it used."""

    config: TeachConfig
    train_config: TrainConfig
    result: TrainResult
    before: Scores
    after: Scores | None  #: None when the run was cancelled or diverged
    trained: np.ndarray  #: (T,) positions of the drawings trained on
    held_out: np.ndarray  #: (H,) positions of the drawings measured on
    mnist_evaluation: Evaluation | None = None  #: the taught model on the test set
    #: fingerprints (`DrawingSet.fingerprints`) of the drawings the model it started from was
    #: trained on, as its metadata records them (a model taught before)
    seen: frozenset[str] = frozenset()

    @property
    def model(self) -> Any:
        """The taught model (None unless the run finished)."""
        return self.result.model if self.result.ok else None

    def to_dict(self) -> dict[str, Any]:
        """{"before", "after", "drawings_held_out", "drawings_trained"} for --json."""
        return {"before": self.before.to_dict(),
                "after": self.after.to_dict() if self.after is not None else None,
                "drawings_held_out": int(self.held_out.size),
                "drawings_trained": int(self.trained.size)}


def split_drawings(labels: np.ndarray, share: float, seed: int = 0,
                   images: np.ndarray | None = None, seen: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(trained, held_out) positions: per digit, round(share * count) drawings held out, at
    random (by `seed`), but never a digit's only drawing. labels: (N,) ints.

    With `images` ((N, 28, 28) raw canvases), identical drawings of a digit count as one (a
    drawing kept twice, an export imported twice): all its copies are held out or none, so no
    held-out drawing has a copy among those trained on, and the score on them stays honest.
    `seen` ((N,) bools) marks drawings the model was already trained on (it was taught
    before): they are never held out (fewer are held out when the others do not suffice).
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        units = _copies(images, where) if images is not None else [w[None] for w in where]
        free = [u for u, unit in enumerate(units) if seen is None or not np.any(seen[unit])]
        k = min(int(round(share * len(units))), len(units) - 1, len(free))
        if k > 0:
            chosen = np.asarray(free)[rng.choice(len(free), size=k, replace=False)]
            held.append(np.concatenate([units[u] for u in chosen]))
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.intp)
    trained = np.setdiff1d(np.arange(labels.size), held_out)
    return trained.astype(np.intp), held_out.astype(np.intp)


def _copies(images: np.ndarray, where: np.ndarray) -> list[np.ndarray]:
    """The positions `where` grouped by identical image, in order of first appearance: a list
    of (k,) position arrays. images: (N, 28, 28)."""
    groups: dict[bytes, list[int]] = {}
    for i in where:
        groups.setdefault(np.ascontiguousarray(images[i]).tobytes(), []).append(int(i))
    return [np.array(g, dtype=np.intp) for g in groups.values()]


def accuracy(model: Any, images: np.ndarray, labels: np.ndarray) -> float | None:
    """Fraction of (N, 28, 28) images whose prediction is `labels`, or None for N = 0."""
    if len(labels) == 0:
        return None
    return float(np.mean(model.predict(images) == np.asarray(labels)))


def teach(
    model: Any,
    drawings: DrawingSet,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    config: TeachConfig | None = None,
    *,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TeachOutcome:
    """Fine-tune a copy of `model` on MNIST mixed with `drawings` (the model is not changed).

    Args:
        model: the trained model to start from (any the engine loads: `architecture()`,
            `copy()`, `predict`).
        drawings: the kept drawings (raw canvases; normalized here).
        train_images, train_labels: MNIST's training set, (60000, 28, 28) uint8 and (60000,).
        test_images, test_labels: MNIST's test set, scored before, after each epoch and after.
        config: the fine-tune's settings (default `TeachConfig()`).
        on_progress, should_stop: as for `network.train.train`.

    Returns:
        A `TeachOutcome`; ModelError when there are no drawings to train on.
    """
    config = (config or TeachConfig()).validate()
    if len(drawings) == 0:
        raise ModelError("no drawings kept yet: keep some on the Paint screen (enter, or t and "
                         "a digit) or with `digits drawings add`")
    labels = drawings.labels
    images = training_images(drawings)
    seen = _seen_by(model)
    trained, held_out = split_drawings(
        labels, config.held_out, config.seed, drawings.images,
        np.array([p in seen for p in drawings.fingerprints()], dtype=bool))
    measured = test_images is not None and test_labels is not None

    def scores(m: Any) -> Scores:
        mnist = accuracy(m, test_images, test_labels) if measured else None
        return Scores(accuracy(m, images[held_out], labels[held_out]), mnist)

    before = scores(model)
    n_mnist = min(config.mnist_per_epoch, len(train_labels))
    rows = np.concatenate([np.asarray(train_images, np.uint8).reshape(-1, 28, 28),
                           images[trained]])
    targets = np.concatenate([np.asarray(train_labels, np.int64), labels[trained]])
    n_drawn = max(1, int(round(config.drawing_share / (1.0 - config.drawing_share + 1e-12)
                               * n_mnist))) if config.drawing_share < 1.0 else \
        max(trained.size, config.batch_size)
    # a handful of drawings repeated thousands of times would be learnt by heart (and MNIST
    # forgotten): each is shown at most max_repeats times an epoch
    n_drawn = min(n_drawn, config.max_repeats * trained.size)
    offset = len(train_labels)

    def sampler(rng: np.random.Generator) -> np.ndarray:
        """One epoch: n_mnist MNIST rows drawn afresh plus the drawings, each repeated about
        n_drawn / T times (every one the same number of times, give or take one), shuffled."""
        mnist_rows = rng.choice(offset, size=n_mnist, replace=False) if n_mnist else \
            np.zeros(0, np.intp)
        cycles = np.resize(rng.permutation(trained.size), n_drawn) + offset
        order = np.concatenate([mnist_rows, cycles])
        rng.shuffle(order)
        return order

    train_config = config.train_config(model)
    result = train(train_config, rows, targets, test_images, test_labels,
                   on_progress=on_progress, should_stop=should_stop, start_from=model,
                   sampler=sampler)
    outcome = TeachOutcome(config, train_config, result, before, None, trained, held_out,
                           seen=seen)
    if result.ok:
        outcome.after = scores(result.model)
        if measured:
            outcome.mnist_evaluation = evaluate(result.model, test_images, test_labels)
    return outcome


def _seen_by(model: Any) -> frozenset[str]:
    """Fingerprints of the drawings `model` was trained on, as a taught model's metadata
    records them ("drawings": {"trained_on_sha256": [...]}); none for any other model."""
    drawings = ((getattr(model, "metadata", None) or {}).get("drawings") or {})
    prints = drawings.get("trained_on_sha256") if isinstance(drawings, dict) else None
    if not isinstance(prints, list):
        return frozenset()
    return frozenset(p for p in prints if isinstance(p, str) and len(p) == 16)


def taught_metadata(outcome: TeachOutcome, drawings: DrawingSet, base: dict[str, Any],
                    *, dataset_checksums: dict[str, str] | None = None,
                    command: str | None = None, **extra: Any) -> dict[str, Any]:
    """The metadata of a taught model: the usual (see `network.store.build_metadata`), with
    "preset": "teach", "base_model" (`base`: name, path, test accuracy...) and "drawings":
    their count, checksum and counts per digit, how many were trained on and held out, and
    the before/after scores."""
    from network.store import build_metadata

    prints = drawings.fingerprints()
    return build_metadata(
        outcome.result.model, outcome.train_config, result=outcome.result,
        evaluation=outcome.mnist_evaluation, dataset_checksums=dataset_checksums,
        command=command, preset="teach", base_model=dict(base),
        drawings={"count": len(drawings), "sha256": drawings.checksum(),
                  "counts": drawings.counts(), "trained_on": int(outcome.trained.size),
                  # what this model has seen, its base's included: teaching it again never
                  # holds these out (they would not be new to it)
                  "trained_on_sha256": sorted(outcome.seen | {
                      prints[i] for i in outcome.trained.tolist()}),
                  "held_out": int(outcome.held_out.size),
                  "measured_on": "a held-out share of each digit's drawings, never trained on",
                  "held_out_share": outcome.config.held_out},
        teach={"config": asdict(outcome.config), "before": outcome.before.to_dict(),
               "after": outcome.after.to_dict() if outcome.after is not None else None},
        **extra,
    )


def evaluate_drawings(model: Any, drawings: DrawingSet) -> Evaluation | None:
    """How the app reads the drawings with `model` (normalized as for training, then
    `network.recognize.recognize_proba`, as the Paint screen reads a drawing): accuracy,
    confusion matrix (rows: the digit kept as, columns: the reading), per drawing; None if none.
    (Teach's own before/after scores measure the model itself, as `digits eval` does.)"""
    if len(drawings) == 0:
        return None
    return evaluation_from_probabilities(drawings.labels,
                                         recognize_proba(model, training_images(drawings)))
