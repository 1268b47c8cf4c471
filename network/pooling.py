"""2 x 2 max-pooling with stride 2, channels last.

For x (B, H, W, C) with H and W even, y (B, H/2, W/2, C) is the maximum of each 2 x 2 block,
taken as three elementwise maxima of the four strided quarter-views of x (no copies). In
training, x may also come in pool order, (B, 2, 2, H/2, W/2, C) quarter-major, [b, r, s, i, j]
being x at row 2i + r, column 2j + s (as the first convolution hands it over, see
`network.conv.Conv2D`): then each quarter-view is one contiguous run of H/2 W/2 C values per
image instead of runs of C, and dx goes back in that order. The gradient goes to one input per
block: the first (in row order) that equals the maximum, so a block of ties (a flat background,
say) passes it on once, not four times:

    dx[b, 2i + r, 2j + s, ch] = dy[b, i, j, ch] * mask[b, r, s, i, j, ch]
"""

from __future__ import annotations

import numpy as np

from network.errors import ModelError
from network.layers import Layer

__all__ = ["MaxPool2D"]


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

    def _blocks(self, x: np.ndarray) -> np.ndarray:
        """x (B, H, W, C), or (B, 2, 2, H/2, W/2, C) in pool order, viewed as (B, 2, 2, H/2,
        W/2, C): [b, r, s, i, j, ch] is x at row 2i + r, column 2j + s."""
        h2, w2, c = self.out_shape
        if x.ndim == 6:
            return x
        return x.reshape(x.shape[0], h2, 2, w2, 2, c).transpose(0, 2, 4, 1, 3, 5)

    def _max(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """The (B, H/2, W/2, C) block maxima of x, into `out` (allocated if None)."""
        q = self._blocks(x)
        out = np.maximum(q[:, 0, 0], q[:, 0, 1], out=out)
        np.maximum(out, q[:, 1, 0], out=out)
        return np.maximum(out, q[:, 1, 1], out=out)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y (B, H/2, W/2, C) from x (B, H, W, C) or (B, 2, 2, H/2, W/2, C) in pool order; the
        mask of the first maximum of each block is kept.

        With top = max(x00, x01) and bottom = max(x10, x11), the first maximum in row order is
        x00 where top >= bottom and x00 >= x01, x01 where top >= bottom and x00 < x01, x10
        where top < bottom and x10 >= x11, else x11: three comparisons of the quarter-views
        and four boolean combinations, rather than four equality tests and a running "taken".
        """
        b = x.shape[0]
        shape = (b, *self.out_shape)
        q = self._blocks(x)
        top = np.maximum(q[:, 0, 0], q[:, 0, 1], out=self._buffer("y", shape, x.dtype))
        bottom = np.maximum(q[:, 1, 0], q[:, 1, 1],
                            out=self._buffer("bottom", shape, x.dtype))
        upper = np.greater_equal(top, bottom, out=self._buffer("upper", shape, np.bool_))
        left_top = np.greater_equal(q[:, 0, 0], q[:, 0, 1],
                                    out=self._buffer("left_top", shape, np.bool_))
        left_bottom = np.greater_equal(q[:, 1, 0], q[:, 1, 1],
                                       out=self._buffer("left_bottom", shape, np.bool_))
        mask = self._blocks(self._buffer("mask", x.shape, np.bool_))
        np.logical_and(upper, left_top, out=mask[:, 0, 0])
        np.greater(upper, left_top, out=mask[:, 0, 1])  # upper and not left_top
        np.greater(left_bottom, upper, out=mask[:, 1, 0])  # left_bottom and not upper
        np.logical_or(upper, left_bottom, out=mask[:, 1, 1])
        np.logical_not(mask[:, 1, 1], out=mask[:, 1, 1])
        self._mask, self._x_shape = mask, x.shape[1:]
        return np.maximum(top, bottom, out=top)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dx (B, H, W, C), or in pool order if x was: dy routed to each block's first
        maximum, zero elsewhere."""
        if not need_dx:
            return None
        dx = self._buffer("dx", (dy.shape[0], *self._x_shape), dy.dtype)
        np.multiply(self._mask, dy[:, None, None], out=self._blocks(dx))
        return dx

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The block maxima, a new array."""
        return self._max(x, None)
