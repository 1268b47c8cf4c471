"""Optimizers against textbook references and on a toy problem; learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from network.errors import ModelError
from network.optim import SCHEDULES, Adam, Momentum, make_optimizer, scheduled_lr


def quadratic(seed: int = 0):
    """A least-squares problem 0.5 |A w - b|^2 / n with its gradient and its minimizer."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(40, 6))
    b = rng.normal(size=40)
    w_star = np.linalg.lstsq(a, b, rcond=None)[0]
    return (lambda w: a.T @ (a @ w - b) / len(b)), w_star


@pytest.mark.parametrize("name,lr,steps", [("sgd", 0.5, 3000), ("momentum", 0.1, 1500),
                                           ("adam", 0.02, 3000)])
def test_optimizers_solve_a_toy_problem(name, lr, steps):
    grad, w_star = quadratic()
    w = np.zeros(6)
    opt = make_optimizer(name, w, n_weights=6)
    for _ in range(steps):
        opt.step(grad(w), lr)
    np.testing.assert_allclose(w, w_star, atol=1e-3)


def test_adam_matches_the_textbook_update():
    rng = np.random.default_rng(1)
    w = rng.normal(size=50)
    ref_w, m, v = w.copy(), np.zeros(50), np.zeros(50)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = Adam(w, 50, beta1=b1, beta2=b2, eps=eps)
    for t in range(1, 21):
        g = rng.normal(size=50) * (0.1 if t % 2 else 3.0)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref_w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        opt.step(g.copy(), lr)
        np.testing.assert_allclose(w, ref_w, rtol=1e-10, atol=1e-12)


def test_adam_l2_is_decoupled_and_spares_biases():
    w = np.ones(4)
    opt = Adam(w, n_weights=2, l2=0.1)
    opt.step(np.zeros(4), 0.5)  # zero gradient: only the decay acts
    np.testing.assert_allclose(w, [0.95, 0.95, 1.0, 1.0])


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_pytorch_form(nesterov):
    rng = np.random.default_rng(2)
    w = rng.normal(size=10)
    ref, buf = w.copy(), np.zeros(10)
    opt = Momentum(w, 10, l2=0.01, momentum=0.8, nesterov=nesterov)
    for _ in range(10):
        g = rng.normal(size=10)
        d = g + 0.01 * ref
        buf = 0.8 * buf + d
        ref -= 0.05 * (d + 0.8 * buf if nesterov else buf)
        opt.step(g.copy(), 0.05)
        np.testing.assert_allclose(w, ref, rtol=1e-12)


def test_sgd_l2_only_on_weights():
    w = np.array([1.0, 2.0, 3.0])
    make_optimizer("sgd", w, n_weights=2, l2=0.5).step(np.array([1.0, 1.0, 1.0]), 0.1)
    np.testing.assert_allclose(w, [1 - 0.1 * (1 + 0.5), 2 - 0.1 * (1 + 1.0), 3 - 0.1])


def test_float32_updates_stay_float32():
    w = np.ones(8, np.float32)
    for name in ("sgd", "momentum", "adam"):
        make_optimizer(name, w, 8, l2=1e-3).step(np.full(8, 0.5, np.float32), 0.1)
    assert w.dtype == np.float32


def test_sgd_prescaled_gradients_take_one_pass():
    w = np.array([1.0, 2.0])
    make_optimizer("sgd", w, 2).step(np.array([0.1, 0.2]), 0.5, prescaled=True)
    np.testing.assert_allclose(w, [0.9, 1.8])
    for name in ("momentum", "adam"):
        with pytest.raises(ValueError):
            make_optimizer(name, w, 2).step(np.zeros(2), 0.5, prescaled=True)


def test_unknown_optimizer():
    with pytest.raises(ModelError, match="adam"):
        make_optimizer("rmsprop", np.zeros(2), 2)


def test_schedules():
    assert scheduled_lr(0.1, "constant", 3.3, 10) == 0.1
    assert scheduled_lr(0.1, "step", 0.5, 10, step_every=2, gamma=0.5) == 0.1
    assert scheduled_lr(0.1, "step", 4.0, 10, step_every=2, gamma=0.5) == pytest.approx(0.025)
    assert scheduled_lr(0.1, "cosine", 0.0, 10) == pytest.approx(0.1)
    assert scheduled_lr(0.1, "cosine", 5.0, 10) == pytest.approx(0.05)
    assert scheduled_lr(0.1, "cosine", 10.0, 10, min_factor=0.1) == pytest.approx(0.01)
    ramp = [scheduled_lr(1.0, "constant", p, 10, warmup_epochs=1.0) for p in (0.0, 0.5, 1.0)]
    assert ramp[0] < 0.01 and ramp[1] == pytest.approx(0.5, abs=0.01) and ramp[2] == 1.0
    assert set(SCHEDULES) == {"constant", "step", "cosine"}
    with pytest.raises(ModelError):
        scheduled_lr(0.1, "linear", 1.0, 10)
    assert all(math.isfinite(scheduled_lr(0.1, s, p, 3)) for s in SCHEDULES for p in (0, 1.5, 3))


@pytest.mark.parametrize("biases", [False, True])
def test_sgd_step_fused_into_backward_is_the_same_step(biases):
    # MLP.backward(decay=...) updates the weights inside the gradient products (gemm with
    # beta = decay); it must be exactly SGD's step with coupled L2, biases spared the decay.
    from network.mlp import MLP
    from network.optim import SGD

    a = MLP((20, 7, 5, 3), activation="sigmoid", output="softmax", biases=biases, rng=3,
            dtype=np.float64)
    a.params[a.n_weights:] = np.linspace(-0.5, 0.5, a.params.size - a.n_weights)
    b = a.copy()
    start = a.params.copy()
    rng = np.random.default_rng(4)
    x, y = rng.random((9, 20)), rng.integers(0, 3, 9)
    sgd_a, sgd_b = SGD(a.params, a.n_weights, l2=0.1), SGD(b.params, b.n_weights, l2=0.1)
    for _ in range(3):
        a.forward(x)
        loss_a = a.backward(y, 0.7)
        sgd_a.step(a.grads, 0.7, prescaled=True)
        b.forward(x)
        loss_b = b.backward(y, 0.7, decay=sgd_b.fused_step(0.7))
        assert loss_b == pytest.approx(loss_a, rel=1e-12)
    assert sgd_b.t == sgd_a.t == 3
    assert np.abs(a.params - start).min() > 0  # every parameter moved
    np.testing.assert_allclose(b.params, a.params, rtol=1e-12, atol=1e-15)
    assert all(np.shares_memory(w, b.params) for w in b.weights)  # still views of params
