"""Layers for a stack of any shape: the base class, Dense, an activation, Flatten and Dropout.

A layer maps a batch x of per-sample shape `in_shape` to y of shape `out_shape`, channels last
for images ((B, H, W, C)). Each layer offers three passes:

    forward(x)              training: y, keeping what backward needs (in reused buffers)
    backward(dy, need_dx)   dL/dx from dL/dy, writing dL/dparams into its gradient views
    infer(x)                inference: y in new arrays, touching no state (thread-safe)

Parameters are views into the owning network's flat `params` / `grads` vectors (see
`network.convnet.ConvNet`), weights first, so the optimizers in `network.optim` update every
layer with whole-vector calls. `bound(u)` carries interval bounds through the layer: given
|x| <= u (per channel, or per unit for flat inputs) it returns the bound on |y| and the largest
pre-activation bound inside the layer, which `network.store` checks before trusting a file.

The convolution and pooling layers live in `network.conv` and `network.pooling`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from network.activations import get_activation
from network.errors import ModelError

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Dropout"]


class Layer:
    """Base class: a differentiable map with optional weights and biases."""

    kind = "layer"

    def __init__(self) -> None:
        """No shape yet (`setup` gives it one); no buffers."""
        self.in_shape: tuple[int, ...] = ()
        self.out_shape: tuple[int, ...] = ()
        self._buffers: dict[str, np.ndarray] = {}
        self.weights: np.ndarray | None = None
        self.biases: np.ndarray | None = None
        self.grad_weights: np.ndarray | None = None
        self.grad_biases: np.ndarray | None = None

    # -- shape and parameters -----------------------------------------------------------

    def setup(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Fix the per-sample input shape; return the output shape (ModelError if invalid)."""
        self.in_shape = self.out_shape = tuple(in_shape)
        return self.out_shape

    def weight_shape(self) -> tuple[int, ...] | None:
        """Shape of the weights (as saved), or None for a layer without parameters."""
        return None

    def fan_in(self) -> int:
        """Inputs feeding one output unit (for He initialization)."""
        return 1

    def spec(self) -> dict[str, Any]:
        """JSON-ready description, from which `network.convnet.make_layer` rebuilds it."""
        return {"type": self.kind}

    def describe(self) -> str:
        """Short text for the Models screen, e.g. 'conv 5x5x32', or '' to leave it out."""
        return ""

    # -- passes -------------------------------------------------------------------------

    def _buffer(self, key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A reused work array of `shape` (the first axis is the batch, grown as needed)."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:] \
                or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            self._buffers[key] = buf
        return buf[: shape[0]]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Training pass: x (B, *in_shape) -> y (B, *out_shape), valid until the next call."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dy (B, *out_shape) -> dx (B, *in_shape) (None unless need_dx); sets the gradients.

        May overwrite dy.
        """
        raise NotImplementedError

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Inference pass: x (B, *in_shape) -> new y (B, *out_shape); no state is written."""
        raise NotImplementedError

    def bound(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """(bound on |y|, largest pre-activation bound inside) from a bound u on |x|."""
        return u, 0.0

    def __repr__(self) -> str:
        """E.g. 'Dense(128)'."""
        return f"{type(self).__name__}({self.describe() or self.kind})"


class Dense(Layer):
    """Fully connected: y = x @ W + b with W (D, F), b (F,) and x (B, D)."""

    kind = "dense"

    def __init__(self, units: int) -> None:
        """`units` outputs."""
        super().__init__()
        self.units = int(units)

    def setup(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Input (D,) -> output (units,)."""
        if len(in_shape) != 1:
            raise ModelError(f"a dense layer needs flat inputs, got shape {in_shape}")
        self.in_shape, self.out_shape = tuple(in_shape), (self.units,)
        return self.out_shape

    def weight_shape(self) -> tuple[int, ...]:
        """(D, F)."""
        return (self.in_shape[0], self.units)

    def fan_in(self) -> int:
        """D."""
        return self.in_shape[0]

    def spec(self) -> dict[str, Any]:
        """{'type': 'dense', 'units': F}."""
        return {"type": self.kind, "units": self.units}

    def describe(self) -> str:
        """'dense F'."""
        return f"dense {self.units}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """z (B, F) = x (B, D) @ W + b; x is kept by reference for backward."""
        self._x = x
        z = self._buffer("z", (x.shape[0], self.units), x.dtype)
        np.matmul(x, self.weights, out=z)
        z += self.biases
        return z

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dW = x.T @ dy, db = sum_B dy, dx (B, D) = dy @ W.T."""
        np.matmul(self._x.T, dy, out=self.grad_weights)
        np.sum(dy, axis=0, out=self.grad_biases)
        if not need_dx:
            return None
        dx = self._buffer("dx", self._x.shape, dy.dtype)
        return np.matmul(dy, self.weights.T, out=dx)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """x (B, D) @ W + b, a new (B, F) array."""
        z = x @ self.weights
        z += self.biases
        return z

    def bound(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """|z| <= |W|.T @ u + |b|, elementwise."""
        z = np.abs(self.weights).T @ u + np.abs(self.biases)
        return z, float(z.max())


class Activation(Layer):
    """An elementwise nonlinearity from `network.activations` ('relu', 'tanh', 'sigmoid')."""

    def __init__(self, name: str) -> None:
        """The activation called `name`; ModelError if unknown."""
        super().__init__()
        self.fn = get_activation(name)
        self.kind = name

    def forward(self, x: np.ndarray) -> np.ndarray:
        """a = f(x), kept (the derivative is written through a)."""
        a = self._buffer("a", x.shape, x.dtype)
        self._a = self.fn.forward(x, out=a)
        return a

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dx = dy * f'(x), in place in dy."""
        if not need_dx:
            return None
        scratch = self._buffer("scratch", dy.shape, dy.dtype)
        return self.fn.backward(self._a, dy, out=dy, scratch=scratch)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """f(x), a new array."""
        return self.fn.forward(x)

    def bound(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """Sigmoid and tanh squash to 1; ReLU passes the bound on."""
        return (np.ones_like(u) if self.kind in ("sigmoid", "tanh") else u), 0.0


class Flatten(Layer):
    """(B, H, W, C) -> (B, H * W * C), a view (channels-last order)."""

    kind = "flatten"

    def setup(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Any shape -> its product."""
        self.in_shape, self.out_shape = tuple(in_shape), (int(np.prod(in_shape)),)
        return self.out_shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x reshaped to (B, D) (a view of a contiguous x)."""
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dy reshaped back to (B, *in_shape)."""
        return dy.reshape(dy.shape[0], *self.in_shape) if need_dx else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Same as forward."""
        return self.forward(x)

    def bound(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """A per-channel bound (C,) repeated over the H * W positions, channels last."""
        if len(self.in_shape) > 1:
            u = np.tile(u, int(np.prod(self.in_shape[:-1])))
        return u, 0.0


class Dropout(Layer):
    """Inverted dropout: in training each unit is kept with probability 1 - p and scaled by
    1 / (1 - p); at inference it is the identity."""

    kind = "dropout"

    def __init__(self, p: float, rng: np.random.Generator | None = None) -> None:
        """Drop probability p in [0, 1); `rng` draws the masks (a fresh one if None)."""
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
            raise ModelError(f"dropout must be a number in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng()

    def spec(self) -> dict[str, Any]:
        """{'type': 'dropout', 'p': p}."""
        return {"type": self.kind, "p": self.p}

    def describe(self) -> str:
        """'dropout p'."""
        return f"dropout {self.p:g}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x * mask, mask = [u >= p] / (1 - p) with u uniform, one per element."""
        mask = self._buffer("mask", x.shape, x.dtype)
        self.rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, x.dtype.type(self.p), out=mask, casting="unsafe")
        mask *= x.dtype.type(1.0 / (1.0 - self.p))
        self._mask = mask
        y = self._buffer("y", x.shape, x.dtype)
        return np.multiply(x, mask, out=y)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dx = dy * mask, in place in dy."""
        return np.multiply(dy, self._mask, out=dy) if need_dx else None

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The identity."""
        return x
