"""`ConvNet`: a stack of layers (convolutions, pooling, dense...) with a fused output loss.

The network reads 28x28 images as (B, 28, 28, 1), channels last, through any stack of the layers
in `network.layers`, `network.conv` and `network.pooling`, and ends in logits (B, K) scored by an
output layer from `network.losses` (softmax cross-entropy). It offers what the training loop, the
model files and the app use of `network.mlp.MLP`:

    params / grads      (P,) flat vectors, [all weights | all biases], with per-layer views, so
                        the optimizers (`network.optim`) and L2 on the `n_weights` prefix work
    forward / backward  the training passes, in per-instance reused buffers
    logits / predict_proba / predict
                        inference in new arrays only: several threads may run them at once
    architecture() / from_architecture / copy / named_arrays / metadata / n_params

The architecture is JSON: {"kind": "convnet", "input_shape": [28, 28, 1], "layers": [{"type":
"conv", "filters": 32, "kernel": 5}, {"type": "pool"}, {"type": "relu"}, ...], "output":
"softmax", "input_scaling": "unit", "init": "he"}. `stack_problem` checks such a dict (types,
sizes, geometry, parameter count) without allocating anything, for files that may be hostile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from network.activations import ACTIVATIONS
from network.classifier import Classifier
from network.conv import Conv2D
from network.errors import ModelError
from network.inputs import get_scaling
from network.layers import Activation, Dense, Dropout, Flatten, Layer
from network.losses import get_output
from network.mlp import INITS
from network.pooling import MaxPool2D, PooledConv

__all__ = ["ConvNet", "KIND", "conv_stack", "stack_problem", "describe_stack", "make_layer"]

KIND = "convnet"
INPUT_SHAPE = (28, 28, 1)
#: Limits on a layer stack (what a model file may declare), checked before allocating.
MAX_STACK = 32
MAX_FILTERS = 1024
MAX_KERNEL = 9
MAX_UNITS = 8192
#: Rows per inference chunk: bounds the image-to-columns temporaries (about 50 MB for the
#: `conv` preset's second layer at 256 images).
INFER_CHUNK = 256


def _int_in(value: Any, lo: int, hi: int) -> bool:
    """True for an int (not bool) in lo..hi."""
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def make_layer(spec: Any, rng: np.random.Generator | None = None) -> Layer:
    """The layer a spec dict describes (see the module docstring); ModelError if invalid."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ModelError(f"a layer must be an object with a 'type', got {spec!r}"[:120])
    kind = spec["type"]
    allowed = {"conv": {"filters", "kernel"}, "dense": {"units"}, "dropout": {"p"}}
    extra = set(spec) - {"type"} - allowed.get(kind, set())
    if extra:
        raise ModelError(f"layer {kind!r} has unknown keys: {', '.join(sorted(map(str, extra)))}"
                         [:120])
    if kind == "conv":
        filters, kernel = spec.get("filters"), spec.get("kernel")
        if not _int_in(filters, 1, MAX_FILTERS) or not _int_in(kernel, 1, MAX_KERNEL):
            raise ModelError(f"conv layer needs filters in 1..{MAX_FILTERS} and kernel in "
                             f"1..{MAX_KERNEL}, got {filters!r}, {kernel!r}"[:160])
        return Conv2D(filters, kernel)
    if kind == "pool":
        return MaxPool2D()
    if kind == "flatten":
        return Flatten()
    if kind == "dense":
        units = spec.get("units")
        if not _int_in(units, 1, MAX_UNITS):
            raise ModelError(f"dense layer needs units in 1..{MAX_UNITS}, got {units!r}"[:120])
        return Dense(units)
    if kind == "dropout":
        return Dropout(spec.get("p"), rng)
    if kind in ACTIVATIONS:
        return Activation(kind)
    known = ["conv", "pool", "flatten", "dense", "dropout", *sorted(ACTIVATIONS)]
    raise ModelError(f"unknown layer type {kind!r}: choose one of {', '.join(known)}"[:160])


def conv_stack(conv: Sequence[int], kernel: int, hidden: Sequence[int], activation: str = "relu",
               dropout: float = 0.0, n_classes: int = 10) -> list[dict[str, Any]]:
    """The layer specs of a config: per entry of `conv` a kxk convolution, 2x2 pooling and the
    activation (pooling first: it commutes with a rising activation, on 4x fewer values), then
    a flatten, per `hidden` width a dense layer, the activation and dropout, and the output."""
    layers: list[dict[str, Any]] = []
    for filters in conv:
        layers += [{"type": "conv", "filters": int(filters), "kernel": int(kernel)},
                   {"type": "pool"}, {"type": activation}]
    layers.append({"type": "flatten"})
    for units in hidden:
        layers += [{"type": "dense", "units": int(units)}, {"type": activation}]
        if dropout:
            layers.append({"type": "dropout", "p": float(dropout)})
    layers.append({"type": "dense", "units": int(n_classes)})
    return layers


def _setup(specs: Any, input_shape: Any, rng: np.random.Generator | None = None
           ) -> tuple[list[Layer], int]:
    """Layers from specs, each given its input shape, and the parameter count; ModelError."""
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_STACK:
        raise ModelError(f"the layers must be a list of 1..{MAX_STACK} layers")
    if not isinstance(input_shape, (list, tuple)) or tuple(input_shape) != INPUT_SHAPE:
        raise ModelError(f"the input shape must be {list(INPUT_SHAPE)}, got {input_shape!r}"
                         [:120])
    layers, shape, n_params = [], tuple(input_shape), 0
    for spec in specs:
        layer = make_layer(spec, rng)
        shape = layer.setup(shape)
        w = layer.weight_shape()
        if w is not None:
            n_params += math.prod(w) + w[-1]
        layers.append(layer)
    if len(shape) != 1:
        raise ModelError(f"the last layer must give flat outputs, not shape {shape}")
    return layers, n_params


def stack_problem(arch: Any, max_params: int) -> str:
    """Why an architecture dict is not a layer stack digits can build, or "" (no allocation:
    the layers are built and their shapes worked out, but no weights exist yet)."""
    if not isinstance(arch, dict):
        return "not an object"
    try:
        layers, n_params = _setup(arch.get("layers"), arch.get("input_shape"))
    except ModelError as exc:
        return str(exc)
    if layers[-1].out_shape != (10,):
        return f"{layers[-1].out_shape[0]} outputs, not 10"
    if n_params > max_params:
        return f"{n_params:,} parameters (the limit is {max_params:,})"
    return ""


def describe_stack(specs: Any) -> str:
    """The layer stack as text, e.g. 'conv 5x5x32 · pool · conv 5x5x64 · pool · dense 128 · 10'
    (activations, flatten and dropout left out; the last dense layer shown as its width)."""
    parts = []
    for spec in specs if isinstance(specs, list) else []:
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "conv":
            parts.append(f"conv {spec.get('kernel')}x{spec.get('kernel')}x{spec.get('filters')}")
        elif kind == "pool":
            parts.append("pool")
        elif kind == "dense":
            parts.append(f"dense {spec.get('units')}")
    if parts and parts[-1].startswith("dense "):
        parts[-1] = parts[-1][len("dense "):]
    return " · ".join(parts) or "?"


class ConvNet(Classifier):
    """A layer stack over (B, 28, 28, 1) images with a fused output loss.

    Attributes:
        layers: the layers, in order.
        params: (P,) flat parameters, [weights of every layer | biases of every layer].
        grads: (P,) gradients of the last `backward`, same layout.
        n_weights: number of weights; `params[:n_weights]` are all the weights.
        metadata: free-form dict, filled by `network.store.load_model`.

    `forward`/`backward` use per-layer buffers (one training loop per instance); `logits`,
    `predict_proba` and `predict` only read the parameters and allocate their own arrays.
    """

    max_chunk = INFER_CHUNK

    def __init__(
        self,
        layers: list[dict[str, Any]],
        *,
        output: str = "softmax",
        init: str = "he",
        input_scaling: str = "unit",
        rng: np.random.Generator | int | None = None,
        dtype: type = np.float32,
    ) -> None:
        """Build the layers from their specs and draw the weights (He normal; biases 0).

        Args:
            layers: layer specs (see the module docstring); the last must give K flat outputs.
            output: 'softmax' (cross-entropy) or 'sigmoid' (MSE), see `network.losses`.
            init: 'he' (normal(0, sqrt(2 / fan_in))) or 'original' (normal(0, fan_in ** -0.5)).
            input_scaling: how 0..255 pixels are scaled, see `network.inputs.SCALINGS`.
            rng: Generator or int seed for the weights and the dropout masks.
            dtype: np.float32 for training, np.float64 for gradient checks.
        """
        if init not in INITS:
            raise ModelError(f"unknown init {init!r}: choose one of {', '.join(sorted(INITS))}")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.layers, _ = _setup(layers, INPUT_SHAPE, gen)
        self.input_shape = INPUT_SHAPE
        self.n_inputs = math.prod(INPUT_SHAPE)
        self.n_outputs = self.layers[-1].out_shape[0]
        self.output_name, self.output = output, get_output(output)
        self.init = init
        self.input_scaling, self.scaling = input_scaling, get_scaling(input_scaling)
        self.dtype = np.dtype(dtype)
        self.metadata: dict[str, Any] = {}

        shaped = [(layer, layer.weight_shape()) for layer in self.layers]
        shaped = [(layer, shape) for layer, shape in shaped if shape is not None]
        self.n_weights = sum(math.prod(shape) for _, shape in shaped)
        n_biases = sum(shape[-1] for _, shape in shaped)
        self.params = np.zeros(self.n_weights + n_biases, dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        w_off, b_off = 0, self.n_weights
        for layer, shape in shaped:
            size, units = math.prod(shape), shape[-1]
            layer.weights = self.params[w_off : w_off + size].reshape(shape)
            layer.grad_weights = self.grads[w_off : w_off + size].reshape(shape)
            layer.biases = self.params[b_off : b_off + units]
            layer.grad_biases = self.grads[b_off : b_off + units]
            layer.weights[...] = gen.standard_normal(shape, dtype=np.float32) * np.float32(
                INITS[init](layer.fan_in()))
            w_off, b_off = w_off + size, b_off + units
        self._param_layers = [layer for layer, _ in shaped]
        # the training passes: the layers, except that a one-channel first convolution and
        # the pooling after it run as one `PooledConv` (in pool order, chunk by chunk: faster)
        self._passes: list[Layer | PooledConv] = list(self.layers)
        first, second = self.layers[0], self.layers[1] if len(self.layers) > 1 else None
        if isinstance(first, Conv2D) and isinstance(second, MaxPool2D) \
                and first.in_shape[2] == 1:
            first.pool_order = True
            self._passes[:2] = [PooledConv(first, second)]
        self._prepared: dict[int, np.ndarray] = {}  # see `prepare`

    # -- description ----------------------------------------------------------------------

    def architecture(self) -> dict[str, Any]:
        """JSON-ready description from which `from_architecture` rebuilds the same network."""
        return {
            "kind": KIND,
            "input_shape": list(self.input_shape),
            "layers": [layer.spec() for layer in self.layers],
            "output": self.output_name,
            "init": self.init,
            "input_scaling": self.input_scaling,
        }

    @classmethod
    def from_architecture(cls, arch: dict[str, Any], rng: Any = None,
                          dtype: type = np.float32) -> ConvNet:
        """A new ConvNet from an `architecture()` dict (weights freshly drawn); ModelError."""
        if not isinstance(arch, dict) or arch.get("kind") != KIND:
            raise ModelError(f"not a layer-stack architecture: {arch!r}"[:160])
        if list(arch.get("input_shape") or []) != list(INPUT_SHAPE):
            raise ModelError(f"the input shape must be {list(INPUT_SHAPE)}")
        try:
            return cls(arch["layers"], output=arch["output"], init=arch.get("init", "he"),
                       input_scaling=arch["input_scaling"], rng=rng, dtype=dtype)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid architecture: {exc}"[:160]) from None

    def describe(self) -> str:
        """The layer stack as text (see `describe_stack`)."""
        return describe_stack([layer.spec() for layer in self.layers])

    def named_arrays(self) -> dict[str, np.ndarray]:
        """'weights_<l>' ((k, k, C, F) or (D, F)) and 'biases_<l>' (F,), l counting the layers
        that have parameters."""
        arrays = {f"weights_{i}": layer.weights for i, layer in enumerate(self._param_layers)}
        arrays.update({f"biases_{i}": layer.biases
                       for i, layer in enumerate(self._param_layers)})
        return arrays

    def activation_bound(self) -> float:
        """The largest absolute pre-activation any input can produce (interval arithmetic from
        the weights: see each layer's `bound`), for the model-file checks."""
        scale, offset = self.scaling
        u = np.full(self.input_shape[-1], max(abs(offset), abs(255.0 * scale + offset)),
                    np.float32)
        bound = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in self.layers:
                u, inside = layer.bound(u)
                if not math.isfinite(inside) or not np.isfinite(u).all():
                    return math.inf
                bound = max(bound, inside)
        return bound

    def __repr__(self) -> str:
        """E.g. 'ConvNet(conv 5x5x32 · pool · ... · 10)'."""
        return f"ConvNet({self.describe()})"

    # -- training -------------------------------------------------------------------------

    def _images(self, x: np.ndarray) -> np.ndarray:
        """Scaled rows (B, 784) (or images) viewed as (B, 28, 28, 1)."""
        return x.reshape(x.shape[0], *self.input_shape)

    def prepare(self, x: np.ndarray, slot: int) -> np.ndarray | None:
        """The part of the training forward pass on x that reads only x, done ahead of
        `forward(x, prepared)`: the first layer's columns when it runs as a `PooledConv`
        (else None), into the reused buffer of `slot`, so that the training loop's batch
        thread makes them with the batch while this thread trains on the one before (see
        `network.train`; for the `conv` preset that copy is about 2.5 ms of a 48 ms step of
        128 images). The buffer of a slot is written only by `prepare`; the caller alternates
        slots so that it never overwrites columns that `forward` or `backward` still reads.

        Args:
            x: (B, 784) or (B, 28, 28, 1) already-scaled inputs of the model's dtype.
            slot: which of the caller's buffers (any small int).

        Returns:
            The (B H' W', k k + 1) columns, or None.
        """
        first = self._passes[0]
        if not isinstance(first, PooledConv):
            return None
        conv, images = first.conv, self._images(x)
        size = (conv.fan_in() + 1) * images.shape[0] * conv.out_shape[0] * conv.out_shape[1]
        buf = self._prepared.get(slot)
        if buf is None or buf.size < size or buf.dtype != images.dtype:
            buf = self._prepared[slot] = np.empty(size, images.dtype)
        return conv.one_channel_columns(images, buf[:size])

    def forward(self, x: np.ndarray, prepared: np.ndarray | None = None) -> np.ndarray:
        """The training forward pass (dropout active), keeping what `backward` needs.

        Args:
            x: (B, 784) or (B, 28, 28, 1) already-scaled inputs of the model's dtype.
            prepared: what `prepare(x, slot)` returned, or None.

        Returns:
            (B, K) logits, a view into a buffer that the next `forward` overwrites.
        """
        a = self._images(x)
        passes = self._passes
        if prepared is not None:
            a = passes[0].forward(a, prepared)
            passes = passes[1:]
        for layer in passes:
            a = layer.forward(a)
        self._logits = a
        return a

    def backward(self, labels: np.ndarray, scale: float = 1.0) -> float:
        """Backpropagate the loss of the last `forward` against `labels` (B,) into `grads`.

        `scale` multiplies the gradient (plain SGD passes its rate). Returns the mean loss.
        """
        z = self._logits
        d = self.layers[-1]._buffer("dlogits", z.shape, z.dtype)
        loss = self.output.loss_and_grad(z, labels, d, scale)
        for i in range(len(self._passes) - 1, -1, -1):
            d = self._passes[i].backward(d, need_dx=i > 0)
        return loss

    # -- inference ------------------------------------------------------------------------

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Inference on scaled inputs x (B, 784) or (B, 28, 28, 1) -> new (B, K) logits."""
        a = self._images(x)
        for layer in self.layers:
            a = layer.infer(a)
        return a
