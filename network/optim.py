"""Optimizers (SGD, momentum, Adam) on one flat parameter vector, and learning-rate schedules.

An optimizer owns the state vectors (velocity, moments) and updates `params` in place from
`grads`, both (P,) of one float dtype, laid out as in `network.mlp.MLP` (the first `n_weights`
entries are weights: L2 applies to those only, never to biases). Every update is a handful of
whole-vector ufunc calls with `out=` into preallocated scratch, so a step allocates nothing.

L2 with SGD and momentum adds l2 * w to the gradient (the classic weight decay); with Adam it is
applied decoupled, w -= lr * l2 * w (AdamW, Loshchilov & Hutter 2019), which regularizes
as intended instead of being rescaled by Adam's per-weight step sizes.

Adam keeps its moments unnormalized (m' = m / (1 - b1), v' = v / (1 - b2)) so that each moment
update is one multiply and one add, and folds both bias corrections into one scalar step and
one scalar epsilon: the same update as PyTorch's Adam in 10 passes over the parameters, with
the gradient buffer as the only scratch.
(Splitting the update over two threads was measured slower on two cores: the BLAS threads are
still spinning after the GEMMs and compete for the second core.)
"""

from __future__ import annotations

import math

import numpy as np

from network.errors import ModelError

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "OPTIMIZERS", "make_optimizer", "SCHEDULES",
           "scheduled_lr"]

class Optimizer:
    """Base class: updates `params` (P,) in place from gradients (P,) at a given rate."""

    name = "optimizer"
    #: whether `step` accepts gradients already multiplied by lr (see MLP.backward's scale)
    takes_prescaled = False

    def __init__(self, params: np.ndarray, n_weights: int, l2: float = 0.0) -> None:
        """Remember the parameter vector; `params[:n_weights]` get the L2 penalty `l2`."""
        self.params = params
        self.n_weights = int(n_weights)
        self.l2 = float(l2)
        self.t = 0  # steps taken
        self._tmp = np.empty_like(params)

    def step(self, grads: np.ndarray, lr: float, prescaled: bool = False) -> None:
        """One update from `grads` (P,), same dtype as params; `grads` may be overwritten.

        `prescaled` (only where `takes_prescaled`) says grads already hold lr * gradient.
        """
        raise NotImplementedError

    def _add_l2(self, grads: np.ndarray) -> None:
        """grads[:n_weights] += l2 * params[:n_weights] (coupled L2), in place."""
        if self.l2:
            w, g, tmp = (a[: self.n_weights] for a in (self.params, grads, self._tmp))
            np.multiply(w, self.l2, out=tmp)
            g += tmp


class SGD(Optimizer):
    """Plain gradient descent: w -= lr * (g + l2 * w)."""

    name = "sgd"
    takes_prescaled = True

    def step(self, grads: np.ndarray, lr: float, prescaled: bool = False) -> None:
        """w -= lr * (g + l2 * w), with the L2 part done as one scaling of the weights.

        With `prescaled` (grads = lr * g, see MLP.backward's scale) this is a single pass.
        """
        self.t += 1
        if self.l2:
            w = self.params[: self.n_weights]
            w *= w.dtype.type(1.0 - lr * self.l2)
        if prescaled:
            self.params -= grads
            return
        np.multiply(grads, grads.dtype.type(lr), out=self._tmp)
        self.params -= self._tmp

    def fused_step(self, lr: float) -> float:
        """Count a step the model takes itself (`MLP.backward` with `decay`, gradients scaled
        by lr) and return its weight decay factor, 1 - lr * l2: the same update as `step`."""
        self.t += 1
        return 1.0 - lr * self.l2


class Momentum(Optimizer):
    """Heavy-ball momentum (PyTorch's form): v = mu * v + g; w -= lr * v (or Nesterov)."""

    name = "momentum"

    def __init__(
        self, params: np.ndarray, n_weights: int, l2: float = 0.0, momentum: float = 0.9,
        nesterov: bool = False,
    ) -> None:
        """Velocity starts at 0; `momentum` is mu in [0, 1)."""
        super().__init__(params, n_weights, l2)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = np.zeros_like(params)

    def step(self, grads: np.ndarray, lr: float, prescaled: bool = False) -> None:
        """v = mu v + g (+ l2 w); w -= lr * v, or lr * (g + mu v) with Nesterov."""
        if prescaled:
            raise ValueError("momentum needs the plain gradient, not lr * gradient")
        self.t += 1
        self._add_l2(grads)
        v, tmp, dt = self.velocity, self._tmp, grads.dtype.type
        v *= dt(self.momentum)
        v += grads
        if self.nesterov:
            np.multiply(v, dt(self.momentum), out=tmp)
            tmp += grads
            tmp *= dt(lr)
        else:
            np.multiply(v, dt(lr), out=tmp)
        self.params -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with decoupled L2 (AdamW) when l2 > 0."""

    name = "adam"

    def __init__(
        self, params: np.ndarray, n_weights: int, l2: float = 0.0, beta1: float = 0.9,
        beta2: float = 0.999, eps: float = 1e-8,
    ) -> None:
        """Moments start at 0; beta1, beta2 in [0, 1), eps > 0."""
        super().__init__(params, n_weights, l2)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = np.zeros_like(params)  # m / (1 - beta1)
        self.v = np.zeros_like(params)  # v / (1 - beta2)

    def step(self, grads: np.ndarray, lr: float, prescaled: bool = False) -> None:
        """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr m^ / (sqrt(v^) + eps)."""
        if prescaled:
            raise ValueError("Adam needs the plain gradient, not lr * gradient")
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        c = math.sqrt((1.0 - b2) / (1.0 - b2**self.t))  # sqrt(v^) = c * sqrt(v')
        step = lr * (1.0 - b1) / (1.0 - b1**self.t) / c
        dt = grads.dtype.type
        beta1, beta2, step, eps = dt(b1), dt(b2), dt(step), dt(self.eps / c)
        if self.l2:
            w = self.params[: self.n_weights]
            w *= dt(1.0 - lr * self.l2)
        # `grads` is the scratch once m has it: four (P,) arrays in play instead of five, which
        # measured 0.90x the time with the caches cold (as they are after the GEMMs of a step)
        g, m, v, w = grads, self.m, self.v, self.params
        v *= beta2
        m *= beta1
        m += g
        np.square(g, out=g)
        v += g
        np.sqrt(v, out=g)
        g += eps
        np.divide(m, g, out=g)
        g *= step
        w -= g


#: The optimizers by name, as a `TrainConfig` spells them.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(
    name: str, params: np.ndarray, n_weights: int, *, l2: float = 0.0, momentum: float = 0.9,
    nesterov: bool = False, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
) -> Optimizer:
    """The optimizer called `name` ('sgd', 'momentum' or 'adam') over `params` (P,)."""
    if name == "sgd":
        return SGD(params, n_weights, l2)
    if name == "momentum":
        return Momentum(params, n_weights, l2, momentum, nesterov)
    if name == "adam":
        return Adam(params, n_weights, l2, beta1, beta2, eps)
    valid = ", ".join(sorted(OPTIMIZERS))
    raise ModelError(f"unknown optimizer {name!r}: choose one of {valid}")


#: Learning-rate schedules: constant; step (times gamma every step_every epochs);
#: cosine (from lr down to lr * min_factor over the run).
SCHEDULES = ("constant", "step", "cosine")


def scheduled_lr(
    base_lr: float, schedule: str, progress: float, total_epochs: int, *, step_every: int = 1,
    gamma: float = 0.5, min_factor: float = 0.0, warmup_epochs: float = 0.0,
) -> float:
    """The learning rate after `progress` epochs (a float: 2.5 is the middle of epoch 3).

    Args:
        base_lr: the peak rate.
        schedule: one of `SCHEDULES`.
        progress: epochs done so far, 0 <= progress <= total_epochs.
        total_epochs: length of the run.
        step_every, gamma: for 'step': lr * gamma ** (progress // step_every).
        min_factor: for 'cosine': the rate ends at base_lr * min_factor.
        warmup_epochs: a linear ramp from ~0 to the scheduled rate over this many epochs.

    Returns:
        The rate, a Python float.
    """
    if schedule == "constant":
        lr = base_lr
    elif schedule == "step":
        lr = base_lr * gamma ** int(progress // max(step_every, 1))
    elif schedule == "cosine":
        frac = min(max(progress / max(total_epochs, 1e-12), 0.0), 1.0)
        lr = base_lr * (min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * frac)))
    else:
        raise ModelError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    if warmup_epochs > 0 and progress < warmup_epochs:
        lr *= (progress + 1e-3) / (warmup_epochs + 1e-3)
    return lr
