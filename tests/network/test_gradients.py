"""Every activation, every loss and whole networks against numerical derivatives (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from network.activations import ACTIVATIONS
from network.losses import SigmoidMSE, SoftmaxCrossEntropy
from network.mlp import MLP

H = 1e-6


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_central_difference(name):
    act = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 2.0, (7, 5))
    z[np.abs(z) < 1e-3] = 0.5  # keep ReLU away from its kink
    upstream = rng.normal(size=z.shape)
    a = act.forward(z)
    analytic = act.backward(a, upstream)
    numeric = (act.forward(z + H) - act.forward(z - H)) / (2 * H) * upstream
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_in_place_matches_out_of_place(name):
    act = ACTIVATIONS[name]
    z = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    expected = act.forward(z.copy())
    buf = z.copy()
    assert act.forward(buf, out=buf) is buf
    np.testing.assert_array_equal(buf, expected)
    g = np.ones_like(z)
    assert act.backward(expected, g, out=g) is g
    assert g.dtype == np.float32


def test_sigmoid_matches_expit():
    from scipy.special import expit

    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].forward(z), expit(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), SigmoidMSE()], ids=["softmax", "mse"])
def test_loss_gradient_matches_central_difference(loss):
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 2.0, (6, 10))
    labels = rng.integers(0, 10, 6)
    grad = np.empty_like(z)
    value = loss.loss_and_grad(z, labels, grad)
    assert value == pytest.approx(loss.loss(z, labels))
    numeric = np.empty_like(z)
    for i in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i] += H
        zm[i] -= H
        numeric[i] = (loss.loss(zp, labels) - loss.loss(zm, labels)) / (2 * H)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_softmax_cross_entropy_values():
    loss = SoftmaxCrossEntropy()
    z = np.array([[0.0, 0.0], [1000.0, 0.0]])  # the second row would overflow a naive exp
    value = loss.loss(z, np.array([0, 0]))
    assert value == pytest.approx(np.log(2.0) / 2)
    np.testing.assert_allclose(loss.output(z), [[0.5, 0.5], [1.0, 0.0]])


def test_sigmoid_mse_is_the_originals_error():
    loss = SigmoidMSE()
    z = np.array([[0.3, -0.2, 1.5]])
    o = 1 / (1 + np.exp(-z))
    t = np.array([[0.01, 0.99, 0.01]])
    assert loss.loss(z, np.array([1])) == pytest.approx(0.5 * np.sum((t - o) ** 2))
    grad = np.empty_like(z)
    loss.loss_and_grad(z, np.array([1]), grad)
    # the original's update direction: (t - o) * o * (1 - o) is minus this gradient
    np.testing.assert_allclose(-grad, (t - o) * o * (1 - o))


NETS = [
    ("sigmoid", "sigmoid", False, (7, 5, 3)),
    ("sigmoid", "softmax", True, (7, 5, 4, 3)),
    ("tanh", "softmax", True, (7, 6, 3)),
    ("tanh", "sigmoid", True, (7, 3)),
    ("relu", "softmax", True, (7, 8, 6, 3)),
    ("relu", "sigmoid", False, (7, 8, 3)),
]


@pytest.mark.parametrize("activation,output,biases,sizes", NETS)
def test_network_backward_matches_central_difference(activation, output, biases, sizes):
    net = MLP(sizes, activation=activation, output=output, biases=biases, rng=4,
              dtype=np.float64)
    if biases:
        net.params[net.n_weights :] = np.random.default_rng(5).normal(0, 0.3, net.params.size
                                                                       - net.n_weights)
    rng = np.random.default_rng(6)
    x = rng.random((5, sizes[0]))
    y = rng.integers(0, sizes[-1], 5)

    def loss_at(params):
        saved = net.params.copy()
        net.params[...] = params
        net.forward(x)
        value = net.backward(y)
        net.params[...] = saved
        return value

    net.forward(x)
    net.backward(y)
    analytic = net.grads.copy()
    numeric = np.empty_like(analytic)
    base = net.params.copy()
    for i in range(base.size):
        plus, minus = base.copy(), base.copy()
        plus[i] += H
        minus[i] -= H
        numeric[i] = (loss_at(plus) - loss_at(minus)) / (2 * H)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_float32_engine_agrees_with_float64(float32_error):
    logit_error, _ = float32_error
    x = np.random.default_rng(7).random((9, 784))
    n64 = MLP((784, 50, 10), rng=8, dtype=np.float64)
    n32 = MLP((784, 50, 10), rng=8)
    n32.params[...] = n64.params
    # The float64 result is exact to within 1e-13 here; the float32 one is within float32's
    # rounding of its sums plus the rounding of x and of the weights to float32.
    bound = logit_error(n32, x, from_float64=True) + 1e-12
    out32, out64 = n32.forward(x.astype(np.float32)), n64.forward(x)
    assert np.all(np.abs(out32 - out64) <= bound)
    assert bound.max() < 0.01 * np.abs(out64).max()
