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

from network.conv import CHUNK, Conv2D
from network.errors import ModelError
from network.layers import Layer

__all__ = ["MaxPool2D", "PooledConv"]


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
        mask of the first maximum of each block is kept."""
        b = x.shape[0]
        y = self._buffer("y", (b, *self.out_shape), x.dtype)
        self._start(x.shape)
        return self._pool_into(x, y, self._mask)

    def _start(self, x_shape: tuple[int, ...]) -> None:
        """Make the (reused) mask for a batch of inputs shaped x_shape: `self._mask`."""
        self._mask = self._blocks(self._buffer("mask", x_shape, np.bool_))
        self._x_shape = x_shape[1:]

    def _pool_into(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """y (n, H/2, W/2, C) = the block maxima of x (n images, either order), and mask (the
        (n, 2, 2, H/2, W/2, C) `_blocks` view of the mask's rows for these images) = where each
        block's first maximum is; returns y.

        With top = max(x00, x01) and bottom = max(x10, x11), the first maximum in row order is
        x00 where top >= bottom and x00 >= x01, x01 where top >= bottom and x00 < x01, x10
        where top < bottom and x10 >= x11, else x11: three comparisons of the quarter-views
        and four boolean combinations, rather than four equality tests and a running "taken".
        """
        shape = y.shape
        q = self._blocks(x)
        top = np.maximum(q[:, 0, 0], q[:, 0, 1], out=y)
        bottom = np.maximum(q[:, 1, 0], q[:, 1, 1],
                            out=self._buffer("bottom", shape, x.dtype))
        upper = np.greater_equal(top, bottom, out=self._buffer("upper", shape, np.bool_))
        left_top = np.greater_equal(q[:, 0, 0], q[:, 0, 1],
                                    out=self._buffer("left_top", shape, np.bool_))
        left_bottom = np.greater_equal(q[:, 1, 0], q[:, 1, 1],
                                       out=self._buffer("left_bottom", shape, np.bool_))
        np.logical_and(upper, left_top, out=mask[:, 0, 0])
        np.greater(upper, left_top, out=mask[:, 0, 1])  # upper and not left_top
        np.greater(left_bottom, upper, out=mask[:, 1, 0])  # left_bottom and not upper
        np.logical_or(upper, left_bottom, out=mask[:, 1, 1])
        np.logical_not(mask[:, 1, 1], out=mask[:, 1, 1])
        return np.maximum(top, bottom, out=top)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dx (B, H, W, C), or in pool order if x was: dy routed to each block's first
        maximum, zero elsewhere."""
        if not need_dx:
            return None
        dx = self._buffer("dx", (dy.shape[0], *self._x_shape), dy.dtype)
        return self._route(dy, self._mask, dx)

    def _route(self, dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> np.ndarray:
        """dx (n images, either order) = dy (n, H/2, W/2, C) at the first maxima that mask (the
        `_blocks` view of their mask rows) marks, zero elsewhere; returns dx."""
        np.multiply(mask, dy[:, None, None], out=self._blocks(dx))
        return dx

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The block maxima, a new array."""
        return self._max(x, None)



class PooledConv:
    """The training passes of a one-channel convolution and the 2 x 2 pooling after it, run
    over the batch in chunks of `network.conv.CHUNK` images (a chunk's (16 H' W', F) output is
    590 kB for the `conv` preset's first layer; `network.convnet.ConvNet` uses this for such a
    first layer; each layer keeps its parameters, buffers and inference).

    Forward: the columns of the whole batch are built once (kept for backward, see
    `network.conv.Conv2D`); then, per chunk, the product writes that chunk's (n H' W', F)
    output, in pool order, into one reused buffer, and the pooling reads it from cache into
    the batch's y and mask rows. Backward: per chunk, dy is routed through the mask into one
    reused buffer and its [dW; db] product added up. The (B H' W', F) output and gradient of
    the whole batch (4.7 MB each for the `conv` preset at 128 images) are never written:
    measured 4.9 ms against 6.2 ms for the first layer's product and pooling forward, and 4.9
    against 5.3 ms for the routing and product backward, a batch of 128 on one BLAS thread.
    """

    def __init__(self, conv: Conv2D, pool: MaxPool2D) -> None:
        """conv (one input channel, `pool_order` set) followed by pool."""
        self.conv, self.pool = conv, pool

    def forward(self, x: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """y (B, H'/2, W'/2, F) from x (B, H, W, 1); the columns (made here, or given as
        `cols`, x's columns made ahead by `Conv2D.one_channel_columns`) and the mask are
        kept."""
        conv, pool = self.conv, self.pool
        b, per, f = x.shape[0], conv.out_shape[0] * conv.out_shape[1], conv.filters
        cols = conv._cols = conv._columns(x) if cols is None else cols
        wb = conv._weights_and_biases()
        y = pool._buffer("y", (b, *pool.out_shape), x.dtype)
        pool._start((b, 2, 2, *pool.out_shape))
        for lo in range(0, b, CHUNK):
            hi = min(b, lo + CHUNK)
            z = conv._buffer("z", ((hi - lo) * per, f), x.dtype)
            np.matmul(cols[lo * per : hi * per], wb, out=z)
            pool._pool_into(z.reshape(hi - lo, 2, 2, *pool.out_shape), y[lo:hi],
                            pool._mask[lo:hi])
        return y

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dy (B, H'/2, W'/2, F) -> the convolution's dW and db, and (if need_dx, through the
        two layers' own whole-batch passes) dx (B, H, W, 1)."""
        conv, pool = self.conv, self.pool
        if need_dx:
            return conv.backward(pool.backward(dy), need_dx=True)
        b, per, f = dy.shape[0], conv.out_shape[0] * conv.out_shape[1], conv.filters
        cols_t = conv._cols.T  # (k k + 1, B H' W')
        dwb = conv._buffer("dwb", (cols_t.shape[0], f), dy.dtype)
        part = conv._buffer("dwb_part", dwb.shape, dy.dtype)
        for lo in range(0, b, CHUNK):
            hi = min(b, lo + CHUNK)
            dz = pool._route(dy[lo:hi], pool._mask[lo:hi],
                             pool._buffer("dx", (hi - lo, 2, 2, *pool.out_shape), dy.dtype))
            np.matmul(cols_t[:, lo * per : hi * per], dz.reshape(-1, f),
                      out=dwb if lo == 0 else part)
            if lo:
                dwb += part
        conv.set_gradients(dwb)
        return None
