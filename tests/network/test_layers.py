"""The layer-stack engine: every layer's backward pass against numerical derivatives (float64),
and the ConvNet's training and inference passes against each other."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from network.conv import CHUNK, Conv2D, im2col
from network.convnet import ConvNet, conv_stack, describe_stack, stack_problem
from network.errors import ModelError
from network.layers import Activation, Dense, Dropout, Flatten
from network.pooling import MaxPool2D, PooledConv

H = 1e-6


def _bind(layer, in_shape, rng):
    """Set the layer up for `in_shape` with float64 parameters of its own."""
    layer.setup(in_shape)
    shape = layer.weight_shape()
    if shape is not None:
        layer.weights = rng.normal(0.0, 0.5, shape)
        layer.biases = rng.normal(0.0, 0.5, shape[-1])
        layer.grad_weights = np.zeros(shape)
        layer.grad_biases = np.zeros(shape[-1])
    return layer


def _numeric(f, array, idx):
    """Central difference of f() with respect to array[idx]."""
    old = array[idx]
    array[idx] = old + H
    up = f()
    array[idx] = old - H
    down = f()
    array[idx] = old
    return (up - down) / (2 * H)


def _check_layer(layer, in_shape, batch=2, seed=0, before=None):
    """Analytic dx, dW, db of L = sum(forward(x) * g) against central differences."""
    rng = np.random.default_rng(seed)
    _bind(layer, in_shape, rng)
    x = rng.normal(size=(batch, *in_shape))
    g = rng.normal(size=(batch, *layer.out_shape))

    def loss():
        if before is not None:
            before()
        return float(np.sum(layer.forward(x) * g))

    loss()
    dx = layer.backward(g.copy(), need_dx=True).copy()
    for idx in np.ndindex(x.shape):
        assert dx[idx] == pytest.approx(_numeric(loss, x, idx), rel=1e-6, abs=1e-8)
    if layer.weights is not None:
        loss()
        layer.backward(g.copy(), need_dx=False)
        for array, grad in ((layer.weights, layer.grad_weights), (layer.biases, layer.grad_biases)):
            grad = grad.copy()
            for idx in np.ndindex(array.shape):
                assert grad[idx] == pytest.approx(_numeric(loss, array, idx), rel=1e-6, abs=1e-8)


def test_dense_backward_matches_central_difference():
    _check_layer(Dense(3), (4,))


@pytest.mark.parametrize("kernel,shape", [(3, (5, 4, 2)), (2, (3, 3, 1)), (1, (2, 2, 3))])
def test_conv_backward_matches_central_difference(kernel, shape):
    _check_layer(Conv2D(2, kernel), shape)


def test_maxpool_backward_matches_central_difference():
    _check_layer(MaxPool2D(), (4, 2, 3))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_activation_layer_backward_matches_central_difference(name):
    _check_layer(Activation(name), (3, 2))


def test_flatten_backward_matches_central_difference():
    _check_layer(Flatten(), (2, 3, 2))


def test_dropout_backward_matches_central_difference_for_its_mask():
    layer = Dropout(0.4)

    def same_mask():
        layer.rng = np.random.default_rng(7)

    _check_layer(layer, (6,), batch=3, before=same_mask)
    x = np.ones((1000, 10))
    y = layer.forward(x)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6])
    assert 0.5 < np.mean(y > 0) < 0.7
    assert layer.infer(x) is x


@pytest.mark.parametrize("channels", [1, 2])  # one channel: the kernel-offset-major columns
def test_conv_equals_a_direct_sum_over_the_window(channels):
    rng = np.random.default_rng(1)
    layer = _bind(Conv2D(3, 3), (6, 5, channels), rng)
    x = rng.normal(size=(2, 6, 5, channels))
    z = layer.forward(x)
    w = layer.weights  # (k, k, C, F)
    for b, i, j, f in np.ndindex(z.shape):
        direct = np.sum(x[b, i : i + 3, j : j + 3, :] * w[..., f]) + layer.biases[f]
        assert z[b, i, j, f] == pytest.approx(direct, rel=1e-12)
    np.testing.assert_array_equal(layer.infer(x), z)
    assert im2col(x, 3).shape == (2, 4, 3, 3, 3, channels)


def test_im2col_copies_every_window_whatever_the_input_layout():
    rng = np.random.default_rng(9)
    wide = rng.normal(size=(2, 6, 5, 6))
    # evenly spaced rows (contiguous, every other channel: copied by window rows), then rows
    # with gaps and a reversed width (copied window by window), each into a new array and
    # into a strided `out`
    for x in (wide[..., :3].copy(), wide[..., ::2], wide[..., :3], wide[:, :, ::-1, :3]):
        expected = np.empty((2, 4, 3, 3, 3, 3))
        for b, i, j in np.ndindex(2, 4, 3):
            expected[b, i, j] = x[b, i : i + 3, j : j + 3, :]
        np.testing.assert_array_equal(im2col(x, 3), expected)
        rows = np.zeros((2 * 4 * 3, 3 * 3 * 3 + 1))
        im2col(x, 3, rows[:, :-1].reshape(2, 4, 3, 3, 3, 3))
        np.testing.assert_array_equal(rows[:, :-1], expected.reshape(24, -1))
        assert not rows[:, -1].any()


def test_conv_forward_in_chunks_matches_inference_and_keeps_every_column():
    rng = np.random.default_rng(6)
    layer = _bind(Conv2D(3, 3), (6, 5, 2), rng)
    x = rng.normal(size=(2 * CHUNK + 3, 6, 5, 2))  # two whole chunks and a short one
    np.testing.assert_allclose(layer.forward(x), layer.infer(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer._cols[:, :-1],
                                  im2col(x, 3).reshape(layer._cols.shape[0], -1))
    np.testing.assert_array_equal(layer._cols[:, -1], 1.0)  # the biases' input


@pytest.mark.parametrize("channels", [1, 3])
def test_conv_and_pool_in_pool_order_match_the_plain_order(channels):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 8, 6, channels))
    dy = rng.normal(size=(3, 3, 2, 4))
    results = []
    for pool_order in (False, True):
        conv = _bind(Conv2D(4, 3), (8, 6, channels), np.random.default_rng(3))
        conv.pool_order = pool_order
        pool = MaxPool2D()
        pool.setup(conv.out_shape)
        z = conv.forward(x)
        y = pool.forward(z)
        dx = conv.backward(pool.backward(dy.copy()), need_dx=True)
        results.append((y.copy(), dx.copy(), conv.grad_weights.copy(), conv.grad_biases.copy()))
    assert results[1][0].shape == (3, 3, 2, 4)
    for plain, ordered in zip(*results, strict=True):
        np.testing.assert_allclose(ordered, plain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("need_dx", [False, True])
def test_pooled_conv_in_chunks_matches_the_two_layers_passes(need_dx):
    batch = 2 * CHUNK + 3  # two whole chunks and a short one
    rng = np.random.default_rng(4)
    x = rng.normal(size=(batch, 8, 6, 1))
    x[:, :2] = 0.0  # blank rows: blocks of tied outputs
    dy = rng.normal(size=(batch, 3, 2, 4))
    results = []
    for pooled in (False, True):
        conv = _bind(Conv2D(4, 3), (8, 6, 1), np.random.default_rng(3))
        conv.pool_order = True
        pool = MaxPool2D()
        pool.setup(conv.out_shape)
        if pooled:
            pair = PooledConv(conv, pool)
            y = pair.forward(x)
            dx = pair.backward(dy.copy(), need_dx=need_dx)
        else:
            y = pool.forward(conv.forward(x))
            dx = conv.backward(pool.backward(dy.copy()), need_dx=need_dx)
        results.append((y.copy(), None if dx is None else dx.copy(), conv.grad_weights.copy(),
                        conv.grad_biases.copy()))
    assert (results[1][1] is None) == (not need_dx)
    for plain, pooled in zip(*results, strict=True):
        if plain is not None:
            np.testing.assert_allclose(pooled, plain, rtol=1e-12, atol=1e-12)


def test_maxpool_sends_a_tied_block_gradient_to_one_input():
    layer = MaxPool2D()
    layer.setup((2, 4, 1))
    x = np.zeros((1, 2, 4, 1))
    x[0, 1, 3, 0] = 2.0  # block 2 has one maximum; block 1 is a flat tie
    y = layer.forward(x)
    np.testing.assert_array_equal(y[0, 0, :, 0], [0.0, 2.0])
    dx = layer.backward(np.array([[[[5.0], [7.0]]]]))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 7.0]])


def test_pool_and_conv_refuse_shapes_they_cannot_take():
    with pytest.raises(ModelError, match="even"):
        MaxPool2D().setup((5, 4, 1))
    with pytest.raises(ModelError, match="does not fit"):
        Conv2D(4, 5).setup((4, 4, 1))


TINY = [{"type": "conv", "filters": 2, "kernel": 5}, {"type": "pool"}, {"type": "relu"},
        {"type": "conv", "filters": 3, "kernel": 3}, {"type": "pool"}, {"type": "tanh"},
        {"type": "flatten"}, {"type": "dense", "units": 5}, {"type": "relu"},
        {"type": "dense", "units": 10}]


def test_convnet_gradient_matches_central_difference():
    net = ConvNet(TINY, rng=3, dtype=np.float64)
    biases = net.params[net.n_weights :]
    biases[...] = np.random.default_rng(4).normal(0, 0.1, biases.size)
    rng = np.random.default_rng(5)
    x = rng.random((3, 784))
    labels = rng.integers(0, 10, 3)

    def loss():
        net.forward(x)
        return net.output.loss(net._logits, labels)

    net.forward(x)
    value = net.backward(labels, scale=2.0)
    assert value == pytest.approx(loss())
    grads = net.grads.copy() / 2.0
    # every bias and a spread of weights from every layer
    picks = list(range(net.n_weights, net.n_params)) + list(range(0, net.n_weights, 7))
    for i in picks:
        assert grads[i] == pytest.approx(_numeric(loss, net.params, i), rel=1e-5, abs=1e-9)


def test_convnet_layout_inference_and_copy():
    net = ConvNet(conv_stack((4, 6), 5, (8,), "relu", 0.25), rng=0)
    assert net.params.dtype == np.float32
    arrays = net.named_arrays()
    assert arrays["weights_0"].shape == (5, 5, 1, 4)
    assert arrays["weights_1"].shape == (5, 5, 4, 6)
    assert arrays["weights_2"].shape == (4 * 4 * 6, 8)
    assert sum(a.size for a in arrays.values()) == net.n_params
    for a in arrays.values():
        assert np.shares_memory(a, net.params)
    assert not net.params[net.n_weights :].any()  # biases start at 0
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    p = net.predict_proba(images)
    assert p.shape == (5, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert net.predict_proba(images[0]).shape == (1, 10)
    np.testing.assert_allclose(net.predict_proba(images, batch_size=2), p, rtol=1e-5, atol=1e-7)
    twin = ConvNet.from_architecture(net.architecture(), rng=1)
    assert twin.architecture() == net.architecture()
    copy = net.copy()
    np.testing.assert_array_equal(copy.params, net.params)
    assert not np.shares_memory(copy.params, net.params)
    with pytest.raises(ModelError, match="NaN"):
        net.predict_proba(np.full((28, 28), np.nan))


def test_training_forward_without_dropout_equals_inference():
    net = ConvNet(conv_stack((3,), 3, (7,), "relu"), rng=2)
    x = np.random.default_rng(1).random((4, 784), dtype=np.float32)
    np.testing.assert_allclose(net.forward(x), net.logits(x), rtol=1e-5, atol=1e-6)


def test_inference_from_several_threads_at_once_matches_one_thread():
    net = ConvNet(conv_stack((4, 8), 5, (16,), "relu"), rng=0)
    images = np.random.default_rng(3).integers(0, 256, (16, 28, 28)).astype(np.uint8)
    expected = [net.predict_proba(images[i]) for i in range(16)]
    failures = []

    def worker(start):
        for _ in range(20):
            for i in range(start, 16, 4):
                if not np.array_equal(net.predict_proba(images[i]), expected[i]):
                    failures.append(i)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_stack_checks_and_description():
    arch = ConvNet(conv_stack((32, 64), 5, (128,), "relu", 0.5), rng=0).architecture()
    assert stack_problem(arch, 10**7) == ""
    assert describe_stack(arch["layers"]) == \
        "conv 5x5x32 · pool · conv 5x5x64 · pool · dense 128 · 10"
    assert "parameters" in stack_problem(arch, 1000)
    bad = dict(arch, layers=conv_stack((32, 64, 64), 5, (128,)))
    assert "does not fit" in stack_problem(bad, 10**7)
    assert "unknown layer type" in stack_problem(dict(arch, layers=[{"type": "lstm"}]), 10**7)
    assert "outputs, not 10" in stack_problem(
        dict(arch, layers=[{"type": "flatten"}, {"type": "dense", "units": 3}]), 10**7)
    assert "filters" in stack_problem(
        dict(arch, layers=[{"type": "conv", "filters": 10**6, "kernel": 3}]), 10**7)


def test_the_training_loop_trains_a_conv_network_and_its_file_round_trips(tmp_path):
    from network.presets import preset_config
    from network.registry import describe
    from network.store import build_metadata, load_model, read_metadata, save_model
    from network.train import build_model, train

    config = preset_config("conv", conv=(4,), hidden=(8,), epochs=1, batch_size=32)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 64)
    result = train(config, images, labels, images[:16], labels[:16])
    assert result.ok and isinstance(result.model, ConvNet)
    assert np.isfinite(result.history[0].loss)
    untrained = build_model(config)
    assert untrained.architecture() == result.model.architecture()
    assert not np.array_equal(untrained.params, result.model.params)

    path = tmp_path / "conv.npz"
    save_model(path, result.model, build_metadata(result.model, config, result=result))
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.params, result.model.params)
    np.testing.assert_array_equal(loaded.predict_proba(images), result.model.predict_proba(images))
    assert loaded.metadata["config"]["conv"] == [4]
    entry = describe("x", path, read_metadata(path))
    assert entry.architecture == "conv 5x5x4 · pool · dense 8 · 10"


def test_conv_settings_are_validated():
    from network.presets import preset_config

    with pytest.raises(ModelError, match="does not fit"):
        preset_config("conv", conv=(8, 8, 8))
    with pytest.raises(ModelError, match="kernel"):
        preset_config("conv", kernel=0)
    with pytest.raises(ModelError, match="dropout"):
        preset_config("fast", dropout=0.5)
    assert preset_config("conv").conv == (16, 32)


def test_float32_logits_stay_within_the_rounding_bound_the_tests_use(float32_error):
    """The conv network's float32 logits against the same network in float64: within the
    worst-case bound that the shipped-model tests rely on."""
    logit_error, _ = float32_error
    net = ConvNet(conv_stack((4, 8), 5, (16,), "relu"), rng=0)
    twin = ConvNet.from_architecture(net.architecture(), rng=0, dtype=np.float64)
    twin.params[...] = net.params
    x = np.random.default_rng(2).random((20, 784), dtype=np.float32)
    z32 = net.logits(x).astype(np.float64)
    z64 = twin.logits(x.astype(np.float64))
    for bound in (logit_error(net, x), logit_error(net, x, probable=10.0, dtype=np.float32)):
        assert (np.abs(z32 - z64) <= bound).all()
        assert bound.max() < 0.01 * np.abs(z64).max()  # and not vacuous
