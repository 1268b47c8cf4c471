"""The original network, kept exactly: one step checked against scalar arithmetic by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from network.errors import ModelError
from network.faithful import NeuralNetwork, faithful_accuracy, make_targets, scale_inputs


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def tiny_net() -> NeuralNetwork:
    net = NeuralNetwork(2, 2, 2, 0.1, rng=0)
    net.wih = np.array([[0.1, 0.2], [0.3, -0.4]])
    net.who = np.array([[0.5, -0.6], [0.7, 0.8]])
    return net


def test_one_training_step_by_hand():
    net = tiny_net()
    x, t, lr = [1.0, 0.5], [0.99, 0.01], 0.1
    wih = [[0.1, 0.2], [0.3, -0.4]]
    who = [[0.5, -0.6], [0.7, 0.8]]
    # forward, one scalar at a time
    h = [sig(wih[j][0] * x[0] + wih[j][1] * x[1]) for j in range(2)]
    o = [sig(who[k][0] * h[0] + who[k][1] * h[1]) for k in range(2)]
    e_o = [t[k] - o[k] for k in range(2)]
    e_h = [who[0][j] * e_o[0] + who[1][j] * e_o[1] for j in range(2)]  # old who, transposed
    new_who = [[who[k][j] + lr * e_o[k] * o[k] * (1 - o[k]) * h[j] for j in range(2)]
               for k in range(2)]
    new_wih = [[wih[j][i] + lr * e_h[j] * h[j] * (1 - h[j]) * x[i] for i in range(2)]
               for j in range(2)]
    np.testing.assert_allclose(net.query(x), np.array(o).reshape(2, 1), rtol=1e-14)

    net.train(x, t)
    np.testing.assert_allclose(net.who, new_who, rtol=1e-14)
    np.testing.assert_allclose(net.wih, new_wih, rtol=1e-14)
    # sanity on the numbers themselves: h0 = sigmoid(0.2)
    assert h[0] == pytest.approx(0.549833997312478)


def test_query_returns_a_column_of_sigmoid_outputs():
    net = NeuralNetwork(784, 20, 10, 0.1, rng=1)
    out = net.query(np.full(784, 0.5))
    assert out.shape == (10, 1) and out.dtype == np.float64
    assert np.all((out > 0) & (out < 1))


def test_weights_shapes_and_init_scale():
    net = NeuralNetwork(784, 200, 10, 0.1, rng=2)
    assert net.wih.shape == (200, 784) and net.who.shape == (10, 200)
    assert net.wih.std() == pytest.approx(784**-0.5, rel=0.02)
    assert net.who.std() == pytest.approx(200**-0.5, rel=0.1)
    assert net.wih.mean() == pytest.approx(0.0, abs=0.002)


def test_same_seed_same_weights():
    a, b, c = (NeuralNetwork(10, 5, 3, 0.1, rng=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.wih, b.wih)
    np.testing.assert_array_equal(a.who, b.who)
    assert not np.array_equal(a.wih, c.wih)


def test_scale_inputs_and_targets_match_the_original():
    img = np.array([[0, 255], [128, 1]], dtype=np.uint8).reshape(1, 4)
    np.testing.assert_allclose(scale_inputs(img), img / 255.0 * 0.99 + 0.01)
    assert scale_inputs(np.zeros((28, 28), np.uint8)).shape == (1, 784)
    assert scale_inputs(np.zeros((5, 28, 28), np.uint8)).shape == (5, 784)
    t = make_targets(np.array([3, 0]))
    assert t.shape == (2, 10)
    assert t[0, 3] == 0.99 and t[1, 0] == 0.99
    assert np.count_nonzero(t == 0.01) == 18


def test_learns_a_toy_problem(blobs):
    images, labels = blobs
    net = NeuralNetwork(784, 30, 10, 0.1, rng=5)
    x, t = scale_inputs(images), make_targets(labels)
    for _ in range(2):
        for i in range(len(x)):
            net.train(x[i], t[i])
    assert faithful_accuracy(net, images, labels) > 0.9


@pytest.mark.parametrize("args", [(0, 5, 3, 0.1), (10, 5, 3, 0.0), (10, 5, 3, float("nan"))])
def test_bad_arguments(args):
    with pytest.raises(ModelError):
        NeuralNetwork(*args)
