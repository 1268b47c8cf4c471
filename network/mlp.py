"""The engine: a multilayer perceptron of any depth, vectorized over mini-batches, in float32.

Activations are rows: a batch is X (B, n_0), and layer l computes

    z_l = a_{l-1} @ W_l + b_l          W_l: (n_{l-1}, n_l), b_l: (n_l,)
    a_l = f(z_l)                       f: the hidden activation; the last layer's z is the logits

and backpropagation, with d_l = dL/dz_l (B, n_l) starting from the fused output gradient, is

    dW_l = a_{l-1}.T @ d_l        db_l = sum over the batch of d_l
    d_{l-1} = (d_l @ W_l.T) * f'(a_{l-1})

All parameters live in one flat vector `params` laid out as [W_1 | W_2 | ... | b_1 | b_2 | ...]
(the weights first, so L2 touches one contiguous prefix), and `weights[l]` / `biases[l]` are views
into it; gradients mirror it in `grads`. The optimizer then updates everything with a handful of
whole-vector NumPy calls. Forward and backward buffers are allocated once per batch size and
reused: a training step allocates nothing bigger than a (B, K) temporary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from network.activations import get_activation
from network.classifier import Classifier
from network.errors import ModelError
from network.inputs import get_scaling
from network.losses import get_output

__all__ = ["MLP", "INITS", "gemm", "few_rows_product"]

#: Up to this many rows, `logits` multiplies through `few_rows_product` instead of one matrix
#: product. The Paint screen recognizes a drawing as 5 rows (the image and its one-pixel shifts).
SMALL_BATCH = 5

#: `few_rows_product` multiplies weight matrices smaller than this (in weights) with one matrix
#: product, which OpenBLAS runs on one thread at this size (it splits a product only above
#: 4 x 65,536 multiply-adds): 784 x 10 on 5 rows took 11 us so against 41 us through np.einsum.
FEW_ROWS_MIN_WEIGHTS = 2**15

#: Weight inits: std of normal(0, std) for a layer with n_in inputs. Biases start at 0.
INITS = {
    "original": lambda n_in: n_in**-0.5,  # the original app's normal(0, n_in ** -0.5)
    "he": lambda n_in: (2.0 / n_in) ** 0.5,  # He et al. 2015, for ReLU
}


def few_rows_product(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a @ w for a few rows a (B, n) and weights w (n, m), into a new (B, m) array, on the
    calling thread alone.

    For w of at least `FEW_ROWS_MIN_WEIGHTS` weights the inputs that are zero in every row
    (blank pixels on a 0..1 scale, ReLU units that are off) are left out first, when that drops
    at least half of them; 0 * w adds nothing to a sum, so for finite weights the result is
    a @ w up to the order of the additions (float32 rounding). The rest is multiplied with
    np.einsum, NumPy's own loop on one thread: OpenBLAS packs (copies) the whole of w for a
    matrix product, and splits it over its threads, whose hand-over waits for the scheduler
    when the other core is busy (the Paint screen's own thread, or another process).

    Measured on the Paint screen's 5 rows (a normalized MNIST digit and its one-pixel shifts)
    with the shipped 784-800-800-10 ReLU network, 'unit' inputs: 185 of 784 pixels and about
    250 of 800 hidden units were non-zero in some row. Its first layer took 135 us this way
    (92 us with one BLAS matrix-vector product per row instead of einsum) against 443 us as one
    matrix product (medians of 2000 on one drawing, whose weights then stay in the caches;
    over 100 drawings in turn, the whole forward pass took 0.86 ms against 1.46 ms, one BLAS
    thread). The whole recognition, with 2 BLAS threads while other processes kept 1.2 cores
    busy: median 0.98 ms and p99 13 ms this way, 0.82 and 64 ms with the matrix-vector
    products, 4.5 and 82 ms as one product per layer. Only reads `w`.
    """
    if w.size < FEW_ROWS_MIN_WEIGHTS:
        return a @ w
    used = np.flatnonzero(a.any(axis=0))
    if 2 * used.size <= a.shape[1]:
        a, w = a[:, used], w.take(used, axis=0)
    return np.einsum("bi,ij->bj", a, w)


_GEMMS: dict[str, Any] = {}

#: `rng` for an MLP whose parameters are set right after it is built (`Classifier.copy`): no
#: weights are drawn (2.9 ms for 784-200-10; the training loop copies its model every epoch).
_NO_DRAW = object()


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float = 1.0,
         beta: float = 0.0) -> np.ndarray:
    """out <- alpha * a @ b + beta * out, in place, through SciPy's BLAS gemm.

    a (m, k) and b (k, n) are C-contiguous or transposes of C-contiguous arrays, out (m, n) is
    C-contiguous, all of out's float dtype: then no operand is copied (the BLAS works in
    Fortran order, where this is out.T <- alpha * b.T @ a.T + beta * out.T). Training runs
    every product through here rather than np.matmul: the weight update needs gemm's alpha and
    beta, and NumPy and SciPy each bring their own OpenBLAS with its own threads, which, used
    in turns, wait on each other: a `seed` batch's products took 88 ms with NumPy's forward and
    SciPy's updates, 51 ms all through NumPy and 38 ms all through SciPy (medians of 6 rounds,
    2 BLAS threads, while other processes kept both cores busy; 7.3-7.8 ms each with one BLAS
    thread). SciPy is imported on the first call, off the inference path.
    """
    fn = _GEMMS.get(out.dtype.char)
    if fn is None:
        from scipy.linalg.blas import get_blas_funcs

        fn = _GEMMS[out.dtype.char] = get_blas_funcs("gemm", dtype=out.dtype)
    at, bt = b.T, a.T
    ta, tb = not at.flags.f_contiguous, not bt.flags.f_contiguous
    res = fn(alpha, at.T if ta else at, bt.T if tb else bt, beta=beta, c=out.T, trans_a=ta,
             trans_b=tb, overwrite_c=True)
    if not np.may_share_memory(res, out):  # out was not C-contiguous of the right dtype
        raise ValueError("gemm could not write into `out` in place")
    return out


class MLP(Classifier):
    """A dense feed-forward network with a fused output loss.

    Attributes:
        sizes: layer widths, e.g. (784, 200, 10): input, hidden..., output.
        params: (P,) flat parameters, `dtype` (float32 unless asked otherwise).
        grads: (P,) gradients of the last `backward`, same layout (an optimizer step may use
            them as scratch afterwards).
        weights: list of (n_in, n_out) views into `params`, one per layer.
        biases: list of (n_out,) views into `params`, or [] without biases.
        n_weights: number of weights; `params[:n_weights]` are all the weights.
        metadata: free-form dict, filled by `network.store.load_model`.

    `forward`/`backward` use per-instance buffers (one training loop per instance); the
    inference methods (`logits`, `predict_proba`, `predict`) only read the parameters, so
    several threads may run them at once on a model that is not being trained.
    """

    copy_rng = _NO_DRAW  # `Classifier.copy` overwrites the parameters: draw none

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str = "relu",
        output: str = "softmax",
        biases: bool = True,
        init: str = "he",
        input_scaling: str = "unit",
        rng: np.random.Generator | int | None = None,
        dtype: type = np.float32,
    ) -> None:
        """Build the layers and draw the weights (biases start at 0).

        Args:
            sizes: at least two ints >= 1: the input width, any hidden widths, the output width.
            activation: hidden activation, 'sigmoid', 'tanh' or 'relu'.
            output: 'softmax' (cross-entropy) or 'sigmoid' (MSE against 0.01/0.99 targets).
            biases: whether the layers have biases.
            init: 'original' (normal(0, n_in ** -0.5)) or 'he' (normal(0, sqrt(2 / n_in))).
            input_scaling: how 0..255 pixels are scaled, see `network.inputs.SCALINGS`.
            rng: Generator or int seed for the weights; None draws a fresh seed.
            dtype: np.float32 for the engine, np.float64 for gradient checks.
        """
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(
            isinstance(n, bool) or int(n) != n or n < 1 for n in sizes
        ):
            raise ModelError(f"layer sizes must be at least two integers >= 1, got {sizes}")
        if init not in INITS:
            raise ModelError(f"unknown init {init!r}: choose one of {', '.join(sorted(INITS))}")
        self.sizes: tuple[int, ...] = tuple(int(n) for n in sizes)
        self.activation_name = activation
        self.output_name = output
        self.activation = get_activation(activation)
        self.output = get_output(output)
        self.use_biases = bool(biases)
        self.init = init
        self.input_scaling = input_scaling
        self.scaling = get_scaling(input_scaling)
        self.dtype = np.dtype(dtype)
        self.metadata: dict[str, Any] = {}

        shapes = list(zip(self.sizes[:-1], self.sizes[1:], strict=False))
        self.n_weights = sum(a * b for a, b in shapes)
        n_biases = sum(self.sizes[1:]) if self.use_biases else 0
        self.params = np.zeros(self.n_weights + n_biases, dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        self.weights, self.grad_weights = self._views(self.params), self._views(self.grads)
        self.biases, self.grad_biases = self._bias_views(self.params), self._bias_views(self.grads)

        if rng is _NO_DRAW:  # `copy`: the parameters are written right after
            self._capacity = 0
            return
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        for w in self.weights:
            w[...] = gen.standard_normal(w.shape, dtype=np.float32) * np.float32(
                INITS[init](w.shape[0])
            )
        self._capacity = 0  # batch size the buffers below are allocated for

    # -- layout ---------------------------------------------------------------------------

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        """(n_in, n_out) weight views into a flat (P,) vector, one per layer."""
        views, off = [], 0
        for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=False):
            views.append(flat[off : off + a * b].reshape(a, b))
            off += a * b
        return views

    def _bias_views(self, flat: np.ndarray) -> list[np.ndarray]:
        """(n_out,) bias views into a flat (P,) vector after the weights, or [] without biases."""
        if not self.use_biases:
            return []
        views, off = [], self.n_weights
        for b in self.sizes[1:]:
            views.append(flat[off : off + b])
            off += b
        return views

    @property
    def n_layers(self) -> int:
        """Number of weight layers (len(sizes) - 1)."""
        return len(self.sizes) - 1

    @property
    def n_inputs(self) -> int:
        """Pixels per image (the input width)."""
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        """Number of classes (the output width)."""
        return self.sizes[-1]

    def architecture(self) -> dict[str, Any]:
        """JSON-ready description from which `from_architecture` rebuilds the same network."""
        return {
            "sizes": list(self.sizes),
            "activation": self.activation_name,
            "output": self.output_name,
            "biases": self.use_biases,
            "init": self.init,
            "input_scaling": self.input_scaling,
        }

    @classmethod
    def from_architecture(
        cls, arch: dict[str, Any], rng: Any = None, dtype: type = np.float32
    ) -> MLP:
        """A new MLP from an `architecture()` dict (weights freshly drawn); ModelError if bad."""
        try:
            return cls(
                arch["sizes"],
                activation=arch["activation"],
                output=arch["output"],
                biases=bool(arch["biases"]),
                init=arch.get("init", "he"),
                input_scaling=arch["input_scaling"],
                rng=rng,
                dtype=dtype,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid architecture {arch!r}: {exc}") from None

    def named_arrays(self) -> dict[str, np.ndarray]:
        """The parameters as named arrays: 'weights_<l>' (n_in, n_out), 'biases_<l>' (n_out,)."""
        arrays = {f"weights_{i}": w for i, w in enumerate(self.weights)}
        arrays.update({f"biases_{i}": b for i, b in enumerate(self.biases)})
        return arrays

    def __repr__(self) -> str:
        """E.g. 'MLP(784-200-10, sigmoid, sigmoid output, no biases)'."""
        shape = "-".join(map(str, self.sizes))
        bias = "biases" if self.use_biases else "no biases"
        return f"MLP({shape}, {self.activation_name}, {self.output_name} output, {bias})"

    # -- training -------------------------------------------------------------------------

    def _ensure_buffers(self, batch: int) -> None:
        """(Re)allocate the per-layer activation, delta and scratch buffers for `batch` rows."""
        if batch <= self._capacity:
            return
        widths = self.sizes[1:]
        self._acts = [np.empty((batch, n), self.dtype) for n in widths]
        self._deltas = [np.empty((batch, n), self.dtype) for n in widths]
        self._scratch = [np.empty((batch, n), self.dtype) for n in widths]
        self._capacity = batch

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The training forward pass, keeping what `backward` needs.

        Args:
            x: (B, n_0) already-scaled inputs of the model's dtype (see `scale_into`); kept by
                reference until `backward`.

        Returns:
            (B, n_L) logits (the last layer's pre-activations), a view into an internal buffer
            that the next `forward` overwrites.

        Floating-point errors (a saturated sigmoid's e^-z overflowing to inf, which gives the
        right 0) are left to the caller's np.errstate; `network.train.train` ignores them all.
        """
        b = x.shape[0]
        self._ensure_buffers(b)
        self._x = x
        a = x
        last = self.n_layers - 1
        act = self.activation
        for i, w in enumerate(self.weights):
            z = self._acts[i][:b]
            if i == last:
                gemm(a, w, z)
                if self.use_biases:
                    z += self.biases[i]
                return z
            gemm(a, w, z, alpha=act.sign)  # sign * z: what the activation starts from
            if self.use_biases:
                if act.sign < 0:
                    z -= self.biases[i]
                else:
                    z += self.biases[i]
            a = act.from_signed(z, out=z)
        return a

    def backward(
        self, labels: np.ndarray, scale: float = 1.0, decay: float | None = None
    ) -> float:
        """Backpropagate the loss of the last `forward` against `labels` into `grads`, or
        straight into `params` as one plain gradient-descent step.

        Args:
            labels: (B,) integer labels in 0..n_L-1 of the batch given to `forward`.
            scale: `grads` receives scale * gradient (applied once, to the (B, n_L) output
                delta); plain SGD passes its learning rate to save a pass over the parameters.
            decay: None fills `grads`. A float takes the step itself and leaves `grads` as it
                was: W_l <- decay * W_l - scale * dW_l and b_l <- b_l - scale * db_l (decay is
                1 - lr * l2 for SGD's coupled L2, 1.0 without). Each weight update is fused
                into the product that computes its gradient, one BLAS gemm with beta = decay
                on W_l's own memory (see `gemm`), once W_l has backpropagated the delta: no
                gradient array and no separate pass over the parameters.

        Returns:
            The batch's mean loss (a Python float, NaN or inf if the run diverged).
        """
        x = self._x
        b = x.shape[0]
        last = self.n_layers - 1
        d = self._deltas[last][:b]
        loss = self.output.loss_and_grad(self._acts[last][:b], labels, d, scale)
        for i in range(last, -1, -1):
            prev = x if i == 0 else self._acts[i - 1][:b]
            if i > 0:
                d_prev = self._deltas[i - 1][:b]
                gemm(d, self.weights[i].T, d_prev)
            if decay is None:
                gemm(prev.T, d, self.grad_weights[i])
                if self.use_biases:
                    np.sum(d, axis=0, out=self.grad_biases[i])
            else:
                gemm(prev.T, d, self.weights[i], alpha=-1.0, beta=decay)
                if self.use_biases:
                    self.biases[i] -= np.add.reduce(d, axis=0)
            if i > 0:
                self.activation.backward(prev, d_prev, out=d_prev, scratch=self._scratch[i - 1][:b])
                d = d_prev
        return loss

    # -- inference ------------------------------------------------------------------------

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Inference forward pass on scaled inputs x (B, n_0) -> new (B, n_L) logits array.

        Batches of at most `SMALL_BATCH` rows go through `few_rows_product` (see there); the
        sums are then taken in another order, so results differ from a bigger batch's in the
        last bits.
        """
        a = x
        last = self.n_layers - 1
        small = x.shape[0] <= SMALL_BATCH
        for i, w in enumerate(self.weights):
            a = few_rows_product(a, w) if small else a @ w
            if self.use_biases:
                a += self.biases[i]
            if i < last:
                self.activation.forward(a, out=a)
        return a
