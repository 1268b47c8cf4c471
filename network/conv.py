"""2-D convolution, channels last, as an image-to-columns view plus one matrix product.

For a batch x (B, H, W, C), k x k kernels, F filters and no padding (stride 1), the output is
(B, H', W', F) with H' = H - k + 1, W' = W - k + 1:

    cols[b, i, j, :] = x[b, i:i+k, j:j+k, :] flattened in (di, dj, c) order   (B H' W', k k C)
    z = cols @ W + b                                                           W: (k k C, F)

`cols` is a copy of `numpy.lib.stride_tricks.sliding_window_view(x)` into a reused buffer (with
one input channel, built kernel-offset-major and used transposed: see `Conv2D._columns`); the
product is one GEMM whose (B H' W', F) result already is the channels-last output. In training
the biases ride in that product: the columns end in a column of ones and the weights in a row of
biases, z = [cols 1] @ [W; b], and backward gets both gradients from one product too:

    [dW; db] = [cols 1].T @ dz      (for C > 1 computed as its transpose, dz.T @ [cols 1])
    dx[:, di:di+H', dj:dj+W', :] += dz @ W[di, dj].T    for each of the k k kernel offsets

The weights are saved as (k, k, C, F) (a view of the same memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from network.errors import ModelError
from network.layers import Layer

__all__ = ["CHUNK", "Conv2D", "im2col", "windows"]

#: Images per chunk where a training pass interleaves a copy (or the pooling) with the product
#: that reads (or writes) it, so the chunk's operand is still in cache: see `Conv2D.forward`
#: and `network.pooling.PooledConv`.
CHUNK = 16


def windows(x: np.ndarray, k: int) -> np.ndarray:
    """The k x k windows of x (B, H, W, C): a (B, H', W', k, k, C) view, no copy."""
    view = sliding_window_view(x, (k, k), axis=(1, 2))  # (B, H', W', C, k, k)
    return view.transpose(0, 1, 2, 4, 5, 3)


def im2col(x: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """The k x k windows of x (B, H, W, C) as rows: (B, H', W', k, k, C), copied into `out`.

    When each image row of x is evenly spaced (W C values, as in any contiguous x), a window's
    row di, x[b, i + di, j : j + k, :], is one run of k C values, and the copy goes by such
    runs rather than by runs of C: for the `conv` preset's second layer (C = 16, k = 5) that
    measured 2.05 ms against 2.36 ms a batch of 128 (one thread).
    """
    b, h, w, c = x.shape
    shape = (b, h - k + 1, w - k + 1, k, k, c)
    if out is None:
        out = np.empty(shape, x.dtype)
    sb, sh, sw, sc = x.strides
    if sw == c * sc:
        runs = as_strided(x, (*shape[:4], k * c), (sb, sh, sw, sh, sc), writeable=False)
        np.copyto(np.reshape(out, runs.shape, copy=False), runs)
    else:
        np.copyto(out, windows(x, k))
    return out


class Conv2D(Layer):
    """k x k convolution with F filters, stride 1, no padding, channels last.

    `pool_order` (set by `network.convnet.ConvNet` for a first layer followed by 2x2 pooling)
    makes the training passes hand the output over as (B, 2, 2, H'/2, W'/2, F), quarter-major:
    [b, r, s, i, j] is the output at row 2i + r, column 2j + s, so that each of the pooling's
    four quarter-views is one contiguous run of H'/2 W'/2 F values per image rather than F
    values at a time (see `network.pooling`). Backward then takes dy in the same order.
    Inference is unaffected.
    """

    kind = "conv"

    def __init__(self, filters: int, kernel: int) -> None:
        """F = `filters` output channels, `kernel` x `kernel` windows."""
        super().__init__()
        self.filters, self.kernel = int(filters), int(kernel)
        self.pool_order = False

    def setup(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(H, W, C) -> (H - k + 1, W - k + 1, F); ModelError if the image is too small."""
        if len(in_shape) != 3:
            raise ModelError(f"a convolution needs (H, W, C) inputs, got shape {in_shape}")
        h, w, _ = in_shape
        if h < self.kernel or w < self.kernel:
            raise ModelError(f"a {self.kernel}x{self.kernel} convolution does not fit a "
                             f"{h}x{w} input")
        self.in_shape = tuple(in_shape)
        self.out_shape = (h - self.kernel + 1, w - self.kernel + 1, self.filters)
        return self.out_shape

    def weight_shape(self) -> tuple[int, ...]:
        """(k, k, C, F)."""
        return (self.kernel, self.kernel, self.in_shape[2], self.filters)

    def fan_in(self) -> int:
        """k k C."""
        return self.kernel * self.kernel * self.in_shape[2]

    def spec(self) -> dict[str, Any]:
        """{'type': 'conv', 'filters': F, 'kernel': k}."""
        return {"type": self.kind, "filters": self.filters, "kernel": self.kernel}

    def describe(self) -> str:
        """'conv kxkxF'."""
        return f"conv {self.kernel}x{self.kernel}x{self.filters}"

    @property
    def _w2(self) -> np.ndarray:
        """The weights as the GEMM's (k k C, F) matrix (a view)."""
        return self.weights.reshape(-1, self.filters)

    def _columns(self, x: np.ndarray) -> np.ndarray:
        """The (B H' W', k k C + 1) columns of x (B, H, W, C), ending in a column of ones (the
        biases' input, see `forward`), in a reused buffer; with `pool_order`, their rows in
        (B, 2, 2, H'/2, W'/2) order.

        With one input channel (the first layer's image) the buffer is kernel-offset-major,
        (k k + 1, B H' W'), filled by k k copies of shifted (B, H', W') sub-images (in pool
        order, of their four (B, H'/2, W'/2) quarters), each running along image rows, and a
        last row of ones, and returned transposed (a view, (B H' W', k k + 1)); otherwise
        copies of the windows, which run over C values at a time, next to the ones. Measured
        on the `conv` preset's first layer (one BLAS thread), these copies take a third (plain
        order) to a half (pool order) of the windows copy's time, and the products read the
        transposed columns at about the same rate.
        """
        b = x.shape[0]
        ho, wo, _ = self.out_shape
        k, c = self.kernel, self.in_shape[2]
        rows = b * ho * wo
        if c > 1:
            cols = self._buffer("cols", (rows, k * k * c + 1), x.dtype)
            cols[:, -1] = 1.0
            windows_out = cols[:, :-1].reshape(b, ho, wo, k, k, c)
            if self.pool_order:
                view = windows(x, k).reshape(b, ho // 2, 2, wo // 2, 2, k, k, c)
                np.copyto(windows_out.reshape(b, 2, 2, ho // 2, wo // 2, k, k, c),
                          view.transpose(0, 2, 4, 1, 3, 5, 6, 7))
            else:
                im2col(x, k, windows_out)
            return cols
        return self.one_channel_columns(x, self._buffer("cols_t", ((k * k + 1) * rows,),
                                                        x.dtype))

    def one_channel_columns(self, x: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """`_columns` of a one-channel x (B, H, W, 1), written into flat ((k k + 1) B H' W',)
        (any buffer of that size: see `network.convnet.ConvNet.prepare`): the transposed
        (B H' W', k k + 1) view of it."""
        b = x.shape[0]
        ho, wo, _ = self.out_shape
        k = self.kernel
        rows = b * ho * wo
        flat[k * k * rows :] = 1.0
        cols_t = flat[: k * k * rows]
        if self.pool_order:
            cols_t = cols_t.reshape(k, k, b, 2, 2, ho // 2, wo // 2)
            for di in range(k):
                for dj in range(k):
                    shifted = x[:, di : di + ho, dj : dj + wo, 0]
                    cols_t[di, dj] = shifted.reshape(b, ho // 2, 2, wo // 2, 2).transpose(
                        0, 2, 4, 1, 3)
        else:
            cols_t = cols_t.reshape(k, k, b, ho, wo)
            for di in range(k):
                for dj in range(k):
                    cols_t[di, dj] = x[:, di : di + ho, dj : dj + wo, 0]
        return flat.reshape(k * k + 1, rows).T

    def _weights_and_biases(self) -> np.ndarray:
        """The (k k C + 1, F) operand that goes with the columns: the weights and a last row of
        biases, copied into a reused buffer."""
        wb = self._buffer("wb", (self._w2.shape[0] + 1, self.filters), self.weights.dtype)
        wb[:-1], wb[-1] = self._w2, self.biases
        return wb

    def set_gradients(self, dwb: np.ndarray) -> None:
        """Store dL/dW and dL/db from [dW; db] (k k C + 1, F), the product of the columns (with
        their ones) and dz."""
        self.grad_weights.reshape(-1, self.filters)[...] = dwb[:-1]
        self.grad_biases[...] = dwb[-1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """z (B, H', W', F) (or (B, 2, 2, H'/2, W'/2, F) in pool order) from x (B, H, W, C);
        the columns are kept for backward.

        The biases ride in the product: the columns end in a column of ones and the weights in
        a row of biases, (k k C + 1, F), copied into a small buffer. The bias add over the
        (B H' W', F) output and the bias gradient's sums over it in backward then cost nothing
        apart: measured 7.3 ms against 8.3 ms a batch of 128 for the `conv` preset's first
        layer's two products with the separate add and sums (one BLAS thread); for its second
        layer, forward and weight gradient, 24.03 against 24.36 ms (medians of 60 interleaved
        pairs, thread time: 1.4%).
        """
        b = x.shape[0]
        ho, wo, f = self.out_shape
        k, c = self.kernel, self.in_shape[2]
        z = self._buffer("z", (b * ho * wo, f), x.dtype)
        wb = self._weights_and_biases()
        if c == 1 or self.pool_order:
            self._cols = self._columns(x)
            np.matmul(self._cols, wb, out=z)
        else:
            # the windows copied and multiplied CHUNK images at a time, the product reading
            # each chunk's columns right after the copy wrote them: 9.3 ms against 10.1 ms
            # for the whole batch's copy and then product, the `conv` preset's second layer
            cols = self._buffer("cols", (b * ho * wo, k * k * c + 1), x.dtype)
            cols[:, -1] = 1.0
            windows_out = cols[:, :-1].reshape(b, ho, wo, k, k, c)
            per = ho * wo
            for lo in range(0, b, CHUNK):
                hi = min(b, lo + CHUNK)
                im2col(x[lo:hi], k, windows_out[lo:hi])
                np.matmul(cols[lo * per : hi * per], wb, out=z[lo * per : hi * per])
            self._cols = cols
        if self.pool_order:
            return z.reshape(b, 2, 2, ho // 2, wo // 2, f)
        return z.reshape(b, ho, wo, f)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dy (B, H', W', F) (or in pool order) -> dW = cols.T @ dz, db = sum dz, and (if
        need_dx) dx (B, H, W, C).

        dx is a sum of k k shifted slabs rather than a col2im of dz @ W.T: for each kernel
        offset, slab = dz @ W[di, dj].T is a (B H' W', C) product written contiguously and
        added at its offset, so each add runs over rows of W' C contiguous values instead of
        C-value pieces of (B H' W', k k C). Each slab is added right after its product, into
        one reused (B H' W', C) buffer that stays in cache: for the `conv` preset's second
        layer (one BLAS thread) that measured 11.4 ms a batch of 128 against 12.6 ms for the
        k k products as one stacked matmul into (k k, B H' W', C) followed by the adds.
        """
        b = dy.shape[0]
        ho, wo, f = self.out_shape
        dz = dy.reshape(b * ho * wo, f)
        # [dW; db] in one product with the columns' column of ones (see forward)
        dwb = self._buffer("dwb", (self._cols.shape[1], f), dy.dtype)
        if self.in_shape[2] == 1:  # offset-major columns (see _columns): cols_t @ dz
            np.matmul(self._cols.T, dz, out=dwb)
        else:
            # [dW; db].T = dz.T @ cols, written through a transposed view: measured 2.6x
            # faster than cols.T @ dz for the `conv` preset's second layer (OpenBLAS, 1 thread)
            np.matmul(dz.T, self._cols, out=dwb.T)
        self.set_gradients(dwb)
        if not need_dx:
            return None
        k, c = self.kernel, self.in_shape[2]
        if self.pool_order:  # back to (B, H', W', F) order, a copy
            dz = np.ascontiguousarray(dy.reshape(b, 2, 2, ho // 2, wo // 2, f).transpose(
                0, 3, 1, 4, 2, 5)).reshape(-1, f)
        w_t = self.weights.reshape(k * k, c, f).transpose(0, 2, 1)  # (k k, F, C)
        slab = self._buffer("slab", (b * ho * wo, c), dy.dtype)
        dx = self._buffer("dx", (b, *self.in_shape), dy.dtype)
        dx[...] = 0
        for di in range(k):
            for dj in range(k):
                np.matmul(dz, w_t[di * k + dj], out=slab)
                dx[:, di : di + ho, dj : dj + wo, :] += slab.reshape(b, ho, wo, c)
        return dx

    def infer(self, x: np.ndarray) -> np.ndarray:
        """A new (B, H', W', F) array (the columns are a temporary)."""
        b = x.shape[0]
        ho, wo, f = self.out_shape
        cols = im2col(x, self.kernel).reshape(b * ho * wo, -1)
        z = cols @ self._w2
        z += self.biases
        return z.reshape(b, ho, wo, f)

    def bound(self, u: np.ndarray) -> tuple[np.ndarray, float]:
        """Per channel: |z_f| <= sum over the window of |W[., ., c, f]| u_c + |b_f|."""
        z = np.abs(self.weights).sum(axis=(0, 1)).T @ u + np.abs(self.biases)
        return z, float(z.max())
