"""Output layers with their losses: softmax + cross-entropy, and the original's sigmoid + MSE.

An output layer turns the last layer's pre-activations z (the logits, (B, K)) into outputs and
scores them against integer labels. Its gradient is *fused*: `loss_and_grad` writes dL/dz
directly, without ever forming dL/d(output), which is both cheaper and numerically better:

    softmax + cross-entropy   L = -mean_i log p_i[y_i]              dL/dz = (p - onehot(y)) / B
    sigmoid + MSE (original)  L = mean_i 0.5 * sum_k (t_ik - o_ik)^2  dL/dz = (o - t) o (1 - o) / B

with t = lo everywhere but hi at the label (0.01 / 0.99 in the original). With the batch mean,
plain SGD at rate lr * B on the MSE loss makes the same update as the original's B per-record
steps at rate lr would if they were all taken from the same weights.

z, the outputs and the gradient share one shape (B, K) and one dtype (float32 in the engine,
float64 in the gradient checks); labels are (B,) integers in 0..K-1.
"""

from __future__ import annotations

import numpy as np

from network.activations import Sigmoid
from network.errors import ModelError

__all__ = ["OutputLoss", "SoftmaxCrossEntropy", "SigmoidMSE", "OUTPUTS", "get_output"]


_ROWS = np.arange(0)


def _arange(n: int) -> np.ndarray:
    """np.arange(n) (intp), from a cache that grows to the largest n asked for."""
    global _ROWS
    if _ROWS.shape[0] < n:
        _ROWS = np.arange(n)
    return _ROWS[:n]


class OutputLoss:
    """Base class: an output activation and the loss that goes with it."""

    name = "output"

    def output(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The network's outputs from logits z (B, K); returns `out` (allocated if None)."""
        raise NotImplementedError

    def loss_and_grad(
        self, z: np.ndarray, labels: np.ndarray, grad: np.ndarray, scale: float = 1.0
    ) -> float:
        """Mean loss over the batch; writes scale * dL/dz (B, K) into `grad` (not aliasing z).

        `scale` multiplies the gradient (not the returned loss) at no extra cost: plain SGD
        passes its learning rate so that the whole backward pass yields lr * gradient.
        """
        raise NotImplementedError

    def loss(self, z: np.ndarray, labels: np.ndarray) -> float:
        """The mean loss alone (allocates a gradient buffer; for tests and evaluation). A
        saturated sigmoid's overflow (which gives the right 0) is not reported."""
        with np.errstate(over="ignore"):
            return self.loss_and_grad(z, labels, np.empty_like(z))

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        """Outputs normalized so each row sums to 1: (B, K) -> (B, K), same dtype."""
        return self.output(z)

    def __repr__(self) -> str:
        """The output layer's class name, e.g. 'SoftmaxCrossEntropy()'."""
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(OutputLoss):
    """Softmax outputs scored with cross-entropy (the usual classifier head)."""

    name = "softmax"

    def output(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """p = softmax(z) row by row, stabilized by subtracting each row's max."""
        out = np.empty_like(z) if out is None else out
        np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def loss_and_grad(
        self, z: np.ndarray, labels: np.ndarray, grad: np.ndarray, scale: float = 1.0
    ) -> float:
        """L = mean(logsumexp(z_i) - z_i[y_i]); grad = scale (softmax(z) - onehot(y)) / B."""
        b = z.shape[0]
        rows = _arange(b)
        np.subtract(z, np.maximum.reduce(z, axis=1, keepdims=True), out=grad)
        picked = grad[rows, labels]  # z_i[y_i] - max_i, (B,)
        np.exp(grad, out=grad)
        sums = np.add.reduce(grad, axis=1, keepdims=True)  # (B, 1)
        # what np.mean computes (a sum in z's dtype over b), without its Python-level overhead
        loss = float(np.add.reduce(np.log(sums[:, 0]) - picked) / b)
        sums *= b / scale
        np.divide(grad, sums, out=grad)
        grad[rows, labels] -= scale / b
        return loss


class SigmoidMSE(OutputLoss):
    """Sigmoid outputs scored with half the squared error against lo/hi targets (the original)."""

    name = "sigmoid"

    def __init__(self, lo: float = 0.01, hi: float = 0.99) -> None:
        """Targets are `lo` everywhere except `hi` at the label."""
        self.lo = float(lo)
        self.hi = float(hi)
        self._sigmoid = Sigmoid()
        self._tables: dict[tuple[int, np.dtype], np.ndarray] = {}

    def output(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """o = sigmoid(z), elementwise."""
        return self._sigmoid.forward(z, out)

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        """The sigmoid outputs divided by their row sum, so rows sum to 1 like probabilities."""
        o = self.output(z)
        o /= o.sum(axis=1, keepdims=True)
        return o

    def targets(self, labels: np.ndarray, k: int, dtype: np.dtype | type) -> np.ndarray:
        """(B, k) array of `dtype`: lo everywhere, hi at each row's label."""
        t = np.full((labels.shape[0], k), self.lo, dtype=dtype)
        t[np.arange(labels.shape[0]), labels] = self.hi
        return t

    def _target_table(self, k: int, dtype: np.dtype) -> np.ndarray:
        """(k, k) array of `dtype` whose row c is the target of label c (cached)."""
        table = self._tables.get((k, dtype))
        if table is None:
            table = self._tables[(k, dtype)] = self.targets(np.arange(k), k, dtype)
        return table

    def loss_and_grad(
        self, z: np.ndarray, labels: np.ndarray, grad: np.ndarray, scale: float = 1.0
    ) -> float:
        """L = mean_i 0.5 sum_k (t - o)^2; grad = scale (o - t) o (1 - o) / B.

        Floating-point errors (e^-z overflowing for z < -88.7, which gives the right o = 0) are
        left to the caller's np.errstate: the training loop ignores them all, and without one
        here a call on (128, 10) took 28-43 against 36-47 us (three alternating pairs, busy).

        The targets are gathered as rows of a (K, K) table, one `take` into `grad`: on (128, 10)
        a third of the time of writing lo everywhere and then hi at each label by fancy indexing.
        """
        b, k = z.shape
        # o = sigmoid(z) (B, K), without `output`'s np.errstate: a saturated sigmoid's overflow
        # (which gives the right 0) is left to the caller's, as in `Sigmoid.from_signed`
        o = np.negative(z)
        self._sigmoid.from_signed(o, o)
        # t (IndexError for a label >= K)
        self._target_table(k, z.dtype).take(labels, axis=0, out=grad)  # not np.take's wrapper
        np.subtract(o, grad, out=grad)  # o - t
        loss = 0.5 * float(np.vdot(grad, grad)) / b
        grad *= o
        np.subtract(1.0, o, out=o)
        grad *= o
        grad *= scale / b
        return loss


#: The output layers by name, as a `TrainConfig` spells them.
OUTPUTS: dict[str, type[OutputLoss]] = {"softmax": SoftmaxCrossEntropy, "sigmoid": SigmoidMSE}


def get_output(name: str) -> OutputLoss:
    """A new output layer: 'softmax' (cross-entropy) or 'sigmoid' (MSE, 0.01/0.99 targets)."""
    try:
        return OUTPUTS[name]()
    except (KeyError, TypeError):
        valid = ", ".join(sorted(OUTPUTS))
        raise ModelError(f"unknown output {name!r}: choose one of {valid}") from None
