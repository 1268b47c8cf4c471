"""2 x 2 max-pooling with stride 2, channels last.

For x (B, H, W, C) with H and W even, y (B, H/2, W/2, C) is the maximum of each 2 x 2 block,
taken as three elementwise maxima of the four strided quarter-views of x (no copies). The
gradient goes to one input per block: the first (in row order) that equals the maximum, so a
block of ties (a flat background, say) passes it on once, not four times:

    dx[b, 2i + a, 2j + c, ch] = dy[b, i, j, ch] * mask[b, i, a, j, c, ch]
"""

from __future__ import annotations

import numpy as np

from network.errors import ModelError
from network.layers import Layer

__all__ = ["MaxPool2D"]

_CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


class MaxPool2D(Layer):
    """2 x 2 max-pooling, stride 2."""

    kind = "pool"

    def setup(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(H, W, C) -> (H/2, W/2, C); ModelError unless H and W are even."""
        if len(in_shape) != 3 or in_shape[0] % 2 or in_shape[1] % 2:
            raise ModelError(f"2x2 pooling needs an (H, W, C) input with H and W even, got "
                             f"{tuple(in_shape)}")
        h, w, c = in_shape
        self.in_shape, self.out_shape = tuple(in_shape), (h // 2, w // 2, c)
        return self.out_shape

    def describe(self) -> str:
        """'pool'."""
        return "pool"

    @staticmethod
    def _blocks(x: np.ndarray) -> np.ndarray:
        """x (B, H, W, C) viewed as (B, H/2, 2, W/2, 2, C)."""
        b, h, w, c = x.shape
        return x.reshape(b, h // 2, 2, w // 2, 2, c)

    @classmethod
    def _max(cls, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """The (B, H/2, W/2, C) block maxima of x, into `out` (allocated if None)."""
        q = cls._blocks(x)
        out = np.maximum(q[:, :, 0, :, 0], q[:, :, 0, :, 1], out=out)
        np.maximum(out, q[:, :, 1, :, 0], out=out)
        return np.maximum(out, q[:, :, 1, :, 1], out=out)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y (B, H/2, W/2, C); the mask of the first maximum of each block is kept."""
        b = x.shape[0]
        y = self._max(x, self._buffer("y", (b, *self.out_shape), x.dtype))
        q = self._blocks(x)
        mask = self._blocks(self._buffer("mask", x.shape, np.bool_))
        taken = self._buffer("taken", y.shape, np.bool_)
        for n, (a, c) in enumerate(_CORNERS):
            m = mask[:, :, a, :, c]
            np.equal(q[:, :, a, :, c], y, out=m)
            if n:
                np.greater(m, taken, out=m)  # m and not taken
                if n < 3:
                    np.logical_or(taken, m, out=taken)
            else:
                taken[...] = m
        self._mask = mask
        return y

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dx (B, H, W, C): dy routed to each block's first maximum, zero elsewhere."""
        if not need_dx:
            return None
        dx = self._buffer("dx", (dy.shape[0], *self.in_shape), dy.dtype)
        np.multiply(self._mask, dy[:, :, None, :, None, :], out=self._blocks(dx))
        return dx

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The block maxima, a new array."""
        return self._max(x, None)
