"""`TrainConfig`: every hyper-parameter of a training run, with validation and JSON round trip.

A config describes the network (hidden sizes, activation, output layer, biases, init, input
scaling), the optimizer (name, rate, momentum/betas, L2, schedule), the run (epochs, batch
size, augmentation, seed) and the reporting cadence. `validate()` raises `ModelError` naming
the valid range of the first bad value, so the CLI and the Train screen can show it as is.
The presets (`network.presets`) are instances of it; a model file stores `to_dict()`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from network.activations import ACTIVATIONS
from network.augment import AugmentConfig
from network.errors import ModelError
from network.inputs import SCALINGS
from network.losses import OUTPUTS
from network.optim import OPTIMIZERS, SCHEDULES

__all__ = ["TrainConfig", "INIT_NAMES", "PRESET_NAMES", "MAX_LR", "parse_hidden"]

INIT_NAMES = ("original", "he")
PRESET_NAMES = ("seed", "fast", "best", "conv", "custom")
#: Largest accepted learning rate per optimizer (anything above is a typo, not a setting).
MAX_LR = {"sgd": 100.0, "momentum": 100.0, "adam": 1.0}
MAX_HIDDEN = 8192
MAX_LAYERS = 8
MAX_CONV = 4
MAX_FILTERS = 512
MAX_KERNEL = 9


def parse_hidden(text: str) -> tuple[int, ...]:
    """Hidden sizes typed as text: '200' -> (200,), '800,800' or '800 800' -> (800, 800), '' -> ().

    ValueError when a part is not a whole number; the sizes themselves are checked by
    `TrainConfig.validate()`.
    """
    return tuple(int(part) for part in text.replace(",", " ").split())


def _number(value: Any) -> bool:
    """True for a real int/float (not bool) that is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    """True for an int (not bool), or a float with an integer value."""
    return _number(value) and int(value) == value


@dataclass
class TrainConfig:
    """Every hyper-parameter of a run. Defaults: a 784-256-10 ReLU/softmax net with Adam.

    A non-empty `conv` makes it a convolutional network (`network.convnet`): per entry a
    `kernel` x `kernel` convolution, 2x2 max-pooling and the activation, then the `hidden`
    dense layers (each followed by `dropout`) and the output layer.
    """

    preset: str = "custom"  #: the preset it came from, or 'custom'
    hidden: tuple[int, ...] = (256,)  #: hidden (dense) layer widths, () for none
    conv: tuple[int, ...] = ()  #: filters of each conv+pool block before the dense layers
    kernel: int = 5  #: side of the conv kernels
    dropout: float = 0.0  #: dropout after each hidden dense layer (conv networks only)
    activation: str = "relu"  #: 'sigmoid', 'tanh' or 'relu'
    output: str = "softmax"  #: 'softmax' (cross-entropy) or 'sigmoid' (MSE, 0.01/0.99)
    biases: bool = True
    init: str = "he"  #: 'original' (normal(0, n_in ** -0.5)) or 'he'
    input_scaling: str = "unit"  #: 'original', 'unit' or 'standard'
    optimizer: str = "adam"  #: 'sgd', 'momentum' or 'adam'
    lr: float = 1e-3  #: peak learning rate
    momentum: float = 0.9  #: for 'momentum'
    nesterov: bool = False  #: for 'momentum'
    beta1: float = 0.9  #: for 'adam'
    beta2: float = 0.999  #: for 'adam'
    eps: float = 1e-8  #: for 'adam'
    l2: float = 0.0  #: weight decay on the weights (not biases); decoupled with Adam
    schedule: str = "constant"  #: 'constant', 'step' or 'cosine'
    step_every: int = 1  #: 'step': epochs between decays
    gamma: float = 0.5  #: 'step': decay factor
    min_lr_factor: float = 0.0  #: 'cosine': final rate as a fraction of lr
    warmup_epochs: float = 0.0  #: linear warm-up length, epochs
    epochs: int = 10
    batch_size: int = 128
    augment: bool = False
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    report_every: int = 50  #: batches between progress events (plus one per epoch end)

    def validate(self) -> TrainConfig:
        """Check every field; raise ModelError naming the valid range. Returns self."""

        def bad(name: str, valid: str) -> ModelError:
            """The error for field `name`, saying what is valid and what was given."""
            return ModelError(f"{name} must be {valid}, got {getattr(self, name)!r}")

        choices = {
            "preset": PRESET_NAMES, "activation": tuple(ACTIVATIONS), "output": tuple(OUTPUTS),
            "init": INIT_NAMES, "input_scaling": tuple(SCALINGS),
            "optimizer": tuple(OPTIMIZERS), "schedule": SCHEDULES,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise bad(name, "one of " + ", ".join(valid))
        for name in ("biases", "nesterov", "augment"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "true or false")
        hidden = self.hidden
        if not isinstance(hidden, (tuple, list)) or len(hidden) > MAX_LAYERS or not all(
            _integer(h) and 1 <= h <= MAX_HIDDEN for h in hidden
        ):
            raise bad("hidden", f"up to {MAX_LAYERS} layer sizes, each an integer in "
                                f"1..{MAX_HIDDEN}")
        conv = self.conv
        if not conv:  # a dense network: what digits can save and load, before any allocation
            from network.store import architecture_problem

            problem = architecture_problem((784, *(int(h) for h in hidden), 10))
            if problem:
                raise ModelError(f"hidden {','.join(map(str, hidden))}: the network would have "
                                 f"{problem}; digits cannot save or load it")
        if not isinstance(conv, (tuple, list)) or len(conv) > MAX_CONV or not all(
            _integer(f) and 1 <= f <= MAX_FILTERS for f in conv
        ):
            raise bad("conv", f"up to {MAX_CONV} filter counts, each an integer in "
                              f"1..{MAX_FILTERS}")
        if not _integer(self.kernel) or not 1 <= self.kernel <= MAX_KERNEL:
            raise bad("kernel", f"an integer in 1..{MAX_KERNEL}")
        if not _number(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise bad("dropout", "a number in [0, 1)")
        if self.dropout and not conv:
            raise bad("dropout", "0 for a dense network (dropout is for conv networks)")
        if conv:
            from network.convnet import conv_stack, stack_problem
            from network.store import MAX_PARAMS

            arch = {"input_shape": [28, 28, 1], "layers": conv_stack(
                conv, int(self.kernel), self.hidden, self.activation, self.dropout)}
            problem = stack_problem(arch, MAX_PARAMS)
            if problem:
                raise ModelError(f"conv {list(conv)} with kernel {self.kernel}: {problem}")
        max_lr = MAX_LR[self.optimizer]
        if not _number(self.lr) or not 0 < self.lr <= max_lr:
            raise bad("lr", f"a number in (0, {max_lr:g}] for {self.optimizer}")
        ranges = {  # name: (lo, hi, lo_open, hi_open)
            "momentum": (0.0, 1.0, False, True), "beta1": (0.0, 1.0, False, True),
            "beta2": (0.0, 1.0, False, True), "eps": (0.0, 1.0, True, False),
            "l2": (0.0, 1.0, False, True), "gamma": (0.0, 1.0, True, False),
            "min_lr_factor": (0.0, 1.0, False, False),
        }
        for name, (lo, hi, lo_open, hi_open) in ranges.items():
            v = getattr(self, name)
            if not _number(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
                raise bad(name, f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}"
                                f"{')' if hi_open else ']'}")
        ints = {"epochs": (1, 10_000), "batch_size": (1, 65_536), "step_every": (1, 10_000),
                "seed": (0, 2**63 - 1), "report_every": (1, 1_000_000)}
        for name, (lo, hi) in ints.items():
            v = getattr(self, name)
            if not _integer(v) or not lo <= v <= hi:
                raise bad(name, f"an integer in {lo}..{hi}")
        if not _number(self.warmup_epochs) or not 0 <= self.warmup_epochs <= self.epochs:
            raise bad("warmup_epochs", f"a number in [0, epochs={self.epochs}]")
        if not isinstance(self.augmentation, AugmentConfig):
            raise ModelError("augmentation must be an AugmentConfig")
        self.augmentation.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (hidden as a list, augmentation as a dict)."""
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        data["conv"] = list(self.conv)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of `to_dict` (missing keys take defaults); ModelError for unknown keys."""
        if not isinstance(data, dict):
            raise ModelError("a training config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown training setting(s): {', '.join(unknown)}")
        values = dict(data)
        for name in ("hidden", "conv"):
            if name in values and isinstance(values[name], (list, tuple)):
                values[name] = tuple(values[name])
        if isinstance(values.get("augmentation"), dict):
            values["augmentation"] = AugmentConfig.from_dict(values["augmentation"])
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with some fields replaced (ModelError for unknown names); not validated."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ModelError(f"unknown training setting(s): {', '.join(unknown)}")
        for name in ("hidden", "conv"):
            if name in overrides and isinstance(overrides[name], list):
                overrides[name] = tuple(overrides[name])
        values = {"augmentation": replace(self.augmentation), **overrides}
        return replace(self, **values)
