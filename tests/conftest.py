"""Shared fixtures: isolated user directories, and the real MNIST from ../shared/mnist.

Every test runs with XDG cache/data/config directories inside a temporary folder, so nothing
touches the real user's cache, models or settings. The real dataset is taken from $MNIST_DIR,
else from ../shared/mnist beside the project root. When it is absent the tests that need it are
skipped, unless DIGITS_REQUIRE_MNIST=1 (set by .ci/run), which turns that into a failure.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
_USER_DIRS = Path(tempfile.mkdtemp(prefix="digits-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    """Point the XDG user directories at a throwaway folder for the whole session.

    When pytest-xdist runs the tests in several worker processes (pyproject's addopts), each
    worker's BLAS gets one thread, unless the caller chose a number: two workers with two
    OpenBLAS threads each would fight over two cores, and OpenBLAS slows down badly when its
    threads outnumber the free cores. The workers are started after this hook and inherit it.
    """
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(_USER_DIRS / var.lower())
    os.environ.pop("DIGITS_MNIST_MIRRORS", None)
    workers = config.getoption("numprocesses", default=None)
    if isinstance(workers, int) and workers > 1 and "PYTEST_XDIST_WORKER" not in os.environ:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the throwaway user directories."""
    shutil.rmtree(_USER_DIRS, ignore_errors=True)


def _shared_mnist() -> Path | None:
    """The real MNIST folder: $MNIST_DIR, else ../shared/mnist; None if it lacks the files."""
    env = os.environ.get("MNIST_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "mnist"
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
    if any((path / name).exists() for name in names):
        return path.resolve()
    return None


SHARED_MNIST = _shared_mnist()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the real MNIST files (skips, or fails in CI, when absent)."""
    if SHARED_MNIST is None:
        message = "real MNIST not found (set MNIST_DIR or put it in ../shared/mnist)"
        if os.environ.get("DIGITS_REQUIRE_MNIST") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_data(mnist_dir: Path):
    """The whole real dataset, loaded and verified once per session (read-only uint8 arrays)."""
    from mnist.dataset import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Each test gets fresh, empty XDG cache/data/config directories."""
    base = tmp_path_factory.mktemp("user")
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(base / var.lower()))


@pytest.fixture
def make_unreadable(monkeypatch):
    """A function that makes opening one path raise PermissionError, as chmod 000 would for a
    normal user (the tests run as root, where chmod 000 does not stop a read)."""

    def make(path: Path) -> None:
        target = Path(path).resolve()
        real_open = builtins.open

        def guarded(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and \
                    Path(os.fsdecode(file)).resolve() == target:
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded)
        monkeypatch.setattr(io, "open", guarded)

    return make


# -- float32 rounding: how far two machines' results may be apart ---------------------------------

U32 = 2.0**-24
"""Unit roundoff of float32: every rounded operation is within U32 (relative) of exact."""
_ACTIVATION_ULPS = 8
"""Rounding error of a float32 sigmoid or tanh (exp, add, divide), in units of U32.

ReLU is exact.
"""


def float32_logit_error(model, x: np.ndarray, *, probable: float | None = None,
                        from_float64: bool = False, dtype: type = np.float64) -> np.ndarray:
    """(B, K) float64 bound on |float32 logits - exact logits| of `model` (an MLP, or a ConvNet:
    see `_layer_stack_logit_error`) on (B, n_0) scaled inputs `x`, for ANY BLAS kernel: any
    summation order, blocking, FMA or thread split.

    Each layer computes z = a @ W + b, n + 1 terms a sum. Worst case (Higham, Accuracy and
    Stability of Numerical Algorithms, 2nd ed., section 3.1): |fl(z) - z| <= gamma_{n+1}
    (|a| @ |W| + |b|) with gamma_k = k u / (1 - k u), whatever the order of the additions. The
    error already in `a` reaches z through |W| (sigmoid, tanh and ReLU are 1-Lipschitz).

    `probable=lam` gives instead the probabilistic bound of Higham and Mary (SIAM J. Sci.
    Comput. 41, 2019): with independent rounding errors, lam * sqrt(n + 1) * u instead of
    gamma_{n+1}, exceeded with probability below 2 exp(-lam^2 / 2) per sum, and the errors
    of the previous layer adding up in quadrature (sqrt(delta^2 @ W^2)).

    `from_float64`: the weights and x were rounded from float64 values, which adds u per
    product for the weights and u for the inputs (counted in every layer: an overestimate).
    Two float32 results, each within this bound of exact, differ by at most twice it.
    `dtype=np.float32` computes the bound itself in float32 (10 times faster on MNIST's test
    set; a bound a few parts in 10^4 off is still a bound with room to spare).
    """
    if hasattr(model, "layers"):
        return _layer_stack_logit_error(model, x, probable, from_float64, dtype)
    a = np.asarray(x, dtype=dtype)
    delta = np.zeros_like(a)
    biases = model.biases or [None] * model.n_layers
    for i, (w, b) in enumerate(zip(model.weights, biases, strict=True)):
        w = w.astype(dtype)
        n = w.shape[0] + 1
        rel = probable * np.sqrt(n) * U32 if probable else n * U32 / (1 - n * U32)
        if from_float64:
            rel += 2 * U32
        magnitude = np.abs(a) @ np.abs(w) + (0.0 if b is None else np.abs(b.astype(dtype)))
        carried = np.sqrt(delta**2 @ w**2) if probable else delta @ np.abs(w)
        z = a @ w + (0.0 if b is None else b)
        delta = dtype(rel) * magnitude + carried
        if i < model.n_layers - 1:
            a = model.activation.forward(z)
            if model.activation_name != "relu":
                delta = delta + dtype(_ACTIVATION_ULPS * U32) * np.abs(a)
        else:
            a = z
    return delta.astype(np.float64)


def _layer_stack_logit_error(model, x, probable, from_float64, dtype, chunk=500):
    """`float32_logit_error` for a `network.convnet.ConvNet`, layer by layer.

    A convolution is the product cols @ W of its image-to-columns rows (k k C + 1 terms a sum,
    the bias included), bounded exactly like a dense layer, with the error already in the
    input carried through the same columns; max-pooling is exact and 1-Lipschitz in the
    largest-entry norm, so the error of a block's maximum is at most the block's largest
    error; ReLU, flatten and dropout (the identity at inference) pass the error on unchanged.
    Computed in chunks of `chunk` images to bound the columns' memory.
    """
    from network.conv import Conv2D, im2col
    from network.layers import Activation, Dense, Dropout, Flatten
    from network.pooling import MaxPool2D

    out = []
    for start in range(0, len(x), chunk):
        a = np.asarray(x[start : start + chunk], dtype=dtype).reshape(-1, *model.input_shape)
        delta = np.zeros_like(a)
        for layer in model.layers:
            if isinstance(layer, (Conv2D, Dense)):
                exact_input = not delta.any()  # the first layer: nothing to carry
                if isinstance(layer, Conv2D):
                    b, (ho, wo, f) = a.shape[0], layer.out_shape
                    rows = im2col(a, layer.kernel).reshape(b * ho * wo, -1)
                    drows = None if exact_input else \
                        im2col(delta, layer.kernel).reshape(b * ho * wo, -1)
                    shape = (b, ho, wo, f)
                else:
                    rows, drows, shape = a, delta, (a.shape[0], layer.units)
                w = layer.weights.reshape(-1, shape[-1]).astype(dtype)
                bias = layer.biases.astype(dtype)
                n = w.shape[0] + 1
                rel = probable * np.sqrt(n) * U32 if probable else n * U32 / (1 - n * U32)
                if from_float64:
                    rel += 2 * U32
                magnitude = np.abs(rows) @ np.abs(w) + np.abs(bias)
                if exact_input:
                    carried = 0.0
                else:
                    carried = np.sqrt(drows**2 @ w**2) if probable else drows @ np.abs(w)
                a = (rows @ w + bias).reshape(shape)
                delta = (dtype(rel) * magnitude + carried).reshape(shape)
            elif isinstance(layer, MaxPool2D):
                a, delta = layer.infer(a), layer.infer(delta)
            elif isinstance(layer, Flatten):
                a, delta = a.reshape(a.shape[0], -1), delta.reshape(delta.shape[0], -1)
            elif isinstance(layer, Activation):
                a = layer.infer(a)
                if layer.kind != "relu":
                    delta = delta + dtype(_ACTIVATION_ULPS * U32) * np.abs(a)
            elif not isinstance(layer, Dropout):
                raise TypeError(f"no float32 error bound for {layer!r}")
        out.append(delta.astype(np.float64))
    return np.concatenate(out)


def softmax_rtol(logit_error: np.ndarray) -> float:
    """Relative tolerance between two float32 softmax (or normalized sigmoid) outputs whose
    logits are each within `logit_error` (B, K) of exact.

    Moving every logit by at most E scales each p_i = exp(z_i) / sum_j exp(z_j) by a factor in
    [exp(-2E), exp(2E)], so two results, each that close to the exact one, are within a factor
    exp(4E) of each other; plus the rounding of the output itself (exp, a sum of K terms and a
    divide: under 16 u for K = 10, in each of the two). The same holds for normalized sigmoid
    outputs, since log(sigmoid(z)) has a slope of at most 1.
    """
    return float(np.expm1(4 * logit_error.max())) + 32 * U32


@pytest.fixture
def float32_error():
    """`float32_logit_error` and `softmax_rtol`, for tests that compare float32 results."""
    return float32_logit_error, softmax_rtol
