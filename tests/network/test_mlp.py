"""The engine's network: layout, inits, determinism, inference on every accepted image shape."""

from __future__ import annotations

import numpy as np
import pytest

from network import mlp
from network.errors import ModelError
from network.inputs import SCALINGS, as_rows, scale_into
from network.mlp import MLP

U32 = 2.0**-24  # float32's unit roundoff


def test_flat_layout_and_views():
    net = MLP((784, 30, 20, 10), rng=0)
    assert [w.shape for w in net.weights] == [(784, 30), (30, 20), (20, 10)]
    assert [b.shape for b in net.biases] == [(30,), (20,), (10,)]
    assert net.n_weights == 784 * 30 + 30 * 20 + 20 * 10
    assert net.n_params == net.n_weights + 60
    assert net.params.dtype == np.float32
    net.weights[1][0, 0] = 42.0  # views: writing a layer writes the flat vector
    assert net.params[784 * 30] == 42.0
    assert all(b.base is net.params or np.shares_memory(b, net.params) for b in net.biases)
    assert not np.any(net.params[net.n_weights :])  # biases start at 0
    assert MLP((784, 10), biases=False, rng=0).biases == []


def test_same_seed_same_weights_different_seed_different():
    a, b, c = MLP((784, 64, 10), rng=7), MLP((784, 64, 10), rng=7), MLP((784, 64, 10), rng=8)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


@pytest.mark.parametrize("init,std", [("original", 784**-0.5), ("he", (2 / 784) ** 0.5)])
def test_inits(init, std):
    net = MLP((784, 400, 10), init=init, rng=1)
    assert net.weights[0].std() == pytest.approx(std, rel=0.02)


def test_predict_proba_accepts_every_image_shape(float32_error):
    logit_error, softmax_rtol = float32_error
    net = MLP((784, 32, 10), rng=2)
    imgs = np.random.default_rng(3).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    p = net.predict_proba(imgs)
    assert p.shape == (5, 10) and p.dtype == np.float32
    # Every input shape and dtype scales to the same float32 rows; other batch shapes may take
    # other GEMM blockings, so the results agree within float32 rounding, not bit for bit.
    rtol = softmax_rtol(logit_error(net, imgs.reshape(5, 784) / np.float32(255)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=16 * U32)  # 10 terms, each rounded
    np.testing.assert_array_equal(net.predict_proba(imgs.reshape(5, 784)), p)  # the same rows
    np.testing.assert_allclose(net.predict_proba(imgs.astype(np.float32)), p, rtol=rtol)
    np.testing.assert_allclose(net.predict_proba(imgs.astype(np.float64)), p, rtol=rtol)
    np.testing.assert_allclose(net.predict_proba(imgs[2]), p[2:3], rtol=rtol)
    np.testing.assert_allclose(net.predict_proba(imgs[2].ravel()), p[2:3], rtol=rtol)
    np.testing.assert_allclose(net.predict_proba(imgs, batch_size=2), p, rtol=rtol)
    assert rtol < 0.05  # a wrong row, scaling or chunk would move them by far more
    assert net.predict(imgs).shape == (5,)
    assert net.predict_proba(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)


def test_sigmoid_output_probabilities_are_normalized():
    net = MLP((784, 16, 10), activation="sigmoid", output="sigmoid", biases=False, rng=4)
    p = net.predict_proba(np.full((3, 784), 200, np.uint8))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=16 * U32)  # 10 terms, each rounded


@pytest.mark.parametrize("shape", [(27, 27), (3, 28, 27), (785,), (2, 3, 4, 5)])
def test_bad_image_shapes(shape):
    with pytest.raises(ModelError, match="shape"):
        MLP((784, 8, 10), rng=0).predict_proba(np.zeros(shape, np.uint8))


def test_bad_pixels():
    net = MLP((784, 8, 10), rng=0)
    with pytest.raises(ModelError, match="NaN"):
        net.predict_proba(np.full((28, 28), np.nan))
    with pytest.raises(ModelError, match="dtype"):
        net.predict_proba(np.full((28, 28), "x"))


@pytest.mark.parametrize("sizes", [(784,), (784, 0, 10), (784, -3, 10), (784, 2.5, 10)])
def test_bad_sizes(sizes):
    with pytest.raises(ModelError):
        MLP(sizes)


@pytest.mark.parametrize("kw", [{"activation": "swish"}, {"output": "svm"}, {"init": "zeros"},
                                {"input_scaling": "centered"}])
def test_bad_names(kw):
    with pytest.raises(ModelError, match="choose one of"):
        MLP((784, 8, 10), **kw)


def test_copy_and_architecture_round_trip():
    net = MLP((784, 12, 10), activation="tanh", output="sigmoid", biases=False,
              init="original", input_scaling="original", rng=5)
    net.metadata["x"] = 1
    twin = net.copy()
    np.testing.assert_array_equal(twin.params, net.params)
    assert twin.architecture() == net.architecture() and twin.metadata == {"x": 1}
    twin.params[0] += 1.0
    assert twin.params[0] != net.params[0]
    rebuilt = MLP.from_architecture(net.architecture(), rng=5)
    np.testing.assert_array_equal(rebuilt.params, net.params)
    assert "784-12-10" in repr(net)


def test_forward_reuses_buffers_for_smaller_batches(float32_error):
    logit_error, _ = float32_error
    net = MLP((784, 16, 10), rng=6)
    x = np.random.default_rng(7).random((8, 784), dtype=np.float32)
    full = net.forward(x).copy()
    part = net.forward(x[:3])
    assert part.shape == (3, 10)
    # Batches of 8 and of 3 rows may take different GEMM blockings (they do with OpenBLAS's
    # Haswell kernels), so each logit is only within float32 rounding of the exact value, and
    # the two within twice that. A stale or misplaced buffer would be off by far more.
    bound = 2 * logit_error(net, x)
    assert np.all(np.abs(part - full[:3]) <= bound[:3])
    assert np.all(np.abs(net.logits(x) - full) <= bound)
    assert bound.max() < 0.01 * np.abs(full).max()


def test_a_few_rows_leave_out_the_inputs_zero_in_every_row(float32_error):
    logit_error, _ = float32_error
    net = MLP((784, 300, 300, 10), rng=8)  # ReLU, 'unit' inputs, biases
    rng = np.random.default_rng(9)
    net.params[net.n_weights :] = rng.normal(0.0, 0.1, net.params.size - net.n_weights)
    x = np.zeros((5, 784), np.float32)  # like a drawing: most pixels blank in every row
    x[:, 200:400] = rng.random((5, 200), dtype=np.float32)
    x[2, 250:300] = 0.0  # blank in one row only: still counted
    assert x.shape[0] <= mlp.SMALL_BATCH and net.weights[0].size >= mlp.FEW_ROWS_MIN_WEIGHTS
    exact = x.astype(np.float64)
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        exact = exact @ w.astype(np.float64) + b
        if i < 2:
            exact = np.maximum(exact, 0.0)
    # each logit within float32 rounding of the exact value (the probabilistic bound: its
    # worst case is loose enough to hide a small input left out)
    bound = logit_error(net, x, probable=10.0)
    assert np.all(np.abs(net.logits(x) - exact) <= bound)
    assert bound.max() < 1e-3 * np.abs(exact).max()
    blank = net.logits(np.zeros((1, 784), np.float32))  # no input used at all
    assert np.all(np.abs(blank - net.logits(np.zeros((8, 784), np.float32))[:1]) <= 1e-6)


def test_input_scalings():
    rows = np.array([[0, 255]], np.uint8)
    out = np.empty((1, 2), np.float32)
    np.testing.assert_allclose(scale_into(rows, SCALINGS["original"], out), [[0.01, 1.0]])
    np.testing.assert_allclose(scale_into(rows, SCALINGS["unit"], out), [[0.0, 1.0]])
    std = scale_into(rows, SCALINGS["standard"], out)
    assert std[0, 0] == pytest.approx(-0.1307 / 0.3081, rel=1e-3)
    assert as_rows(np.zeros((28, 28))).shape == (1, 784)

