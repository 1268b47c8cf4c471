"""Tests for mnist.normalize: MNIST-style size and centre-of-mass normalization."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

from mnist.drawing import BRUSH_SIZES, Drawing
from mnist.errors import MnistError
from mnist.normalize import (
    MIN_INK_SPAN,
    SMALL_SOURCE,
    _spline_weights,
    center_of_mass,
    ink_span,
    is_blank,
    normalize,
)


def _load_test_digits(mnist_dir: Path, count: int) -> np.ndarray:
    """First `count` MNIST test images as (count, 28, 28) uint8, read with a tiny IDX reader."""
    path = mnist_dir / "t10k-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"gzipped MNIST test images not found at {path}")
    with gzip.open(path, "rb") as f:
        header = np.frombuffer(f.read(16), dtype=">u4")
        assert header[0] == 2051 and tuple(header[2:]) == (28, 28)
        data = f.read(count * 784)
    return np.frombuffer(data, dtype=np.uint8).reshape(count, 28, 28)


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> np.ndarray:
    return _load_test_digits(mnist_dir, 1000)


def _bbox(img: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    """(height, width) of the box of pixels above `level`."""
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _extent(img: np.ndarray) -> tuple[float, float]:
    """(height, width) of the ink counting partly inked edge pixels fractionally."""
    peak = img.max()
    return float(img.max(axis=1).sum() / peak), float(img.max(axis=0).sum() / peak)


def _ring(h: int, w: int, cy: float, cx: float, ry: float, rx: float, t: float) -> np.ndarray:
    """(h, w) float64 0/255 elliptic ring, thickness t (in units of the radius)."""
    y, x = np.mgrid[0:h, 0:w]
    d = np.hypot((y - cy) / ry, (x - cx) / rx)
    return np.where(np.abs(d - 1.0) < t, 255.0, 0.0)


SHAPES = {
    "ring in 300x200 corner": _ring(300, 200, 60, 50, 40, 25, 0.2),
    "L in canvas": np.pad(np.full((12, 3), 255.0), ((2, 14), (20, 5)))
    + np.pad(np.full((3, 8), 255.0), ((11, 14), (15, 5))),
    "small blob": _ring(28, 28, 5, 5, 3, 2, 0.5),
    "wide bar": np.pad(np.full((4, 60), 200.0), ((50, 10), (3, 7))),
}


@pytest.mark.parametrize("name", SHAPES)
def test_shape_dtype_range_and_centre_of_mass(name: str) -> None:
    out = normalize(SHAPES[name])
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    row, col = center_of_mass(out)
    assert abs(row - 14.0) < 0.5 and abs(col - 14.0) < 0.5


def test_long_side_is_20_and_aspect_ratio_kept() -> None:
    img = np.zeros((300, 200))
    img[40:100, 70:100] = 255.0  # 60 x 30 block -> 20 x 10
    out = normalize(img)
    h, w = _bbox(out)
    assert 20 <= h <= 21 and 10 <= w <= 11
    np.testing.assert_allclose(_extent(out), (20.0, 10.0), atol=0.01)  # partial edge pixels
    assert out.sum() / 255.0 == pytest.approx(200.0, rel=1e-6)  # area averaging keeps ink mass
    small = np.zeros((28, 28))
    small[3:11, 20:24] = 255.0  # 8 x 4 block enlarged x2.5
    np.testing.assert_allclose(_extent(normalize(small)), (20.0, 10.0), atol=0.3)


def test_hard_one_cell_stroke_enlarged_becomes_soft_2_to_3_px() -> None:
    img = np.zeros((28, 28), dtype=np.uint8)
    img[5:13, 9] = 255  # 8 cells long, 1 wide: scaled x2.5
    profile = normalize(img)[14]
    assert profile.max() >= 200
    assert 2 <= np.count_nonzero(profile >= 128) <= 3
    assert np.count_nonzero(profile) <= 5


def test_thin_stroke_survives_big_shrink() -> None:
    img = np.zeros((400, 400), dtype=np.uint8)
    img[20:380, 200] = 255  # a 1 px line, shrunk 18x
    out = normalize(img)
    assert out.sum() == pytest.approx(360 * 255 / 18**2, rel=1e-5)
    assert np.count_nonzero(out.max(axis=1) > 0) >= 20


def test_blank_in_blank_out() -> None:
    for img in (np.zeros((28, 28), np.uint8), np.zeros((5, 300)), np.full((40, 40), 180.0)):
        out = normalize(img)
        assert out.shape == (28, 28) and not out.any()
        assert is_blank(img)
    assert not is_blank(SHAPES["small blob"])
    faint = np.zeros((28, 28))
    faint[10, 10] = 20
    assert is_blank(faint) and not is_blank(faint, threshold=10)


@pytest.mark.parametrize(
    "bad",
    [
        np.full((28, 28), np.nan),
        np.where(np.eye(28) > 0, np.inf, 0.0),
        np.zeros(28),
        np.zeros((2, 28, 28)),
        np.zeros((0, 28)),
        np.zeros((28, 28), dtype=complex),
        np.array([["a", "b"]], dtype=object),
    ],
)
def test_bad_arrays_raise_mnist_error(bad: np.ndarray) -> None:
    with pytest.raises(MnistError):
        normalize(bad)
    with pytest.raises(MnistError):
        is_blank(bad)


def test_dtypes_clipping_and_paper_level() -> None:
    img = SHAPES["ring in 300x200 corner"]
    ref = normalize(img)
    np.testing.assert_allclose(normalize(img > 0), ref, atol=1e-3)
    np.testing.assert_allclose(normalize(img.astype(np.uint8)), ref, atol=1e-3)
    np.testing.assert_allclose(normalize(img * 3 - 100), ref, atol=1e-3)  # clipped to 0..255
    on_paper = 40.0 + img * (215.0 / 255.0)  # light-grey paper after inversion
    np.testing.assert_allclose(normalize(on_paper), ref, atol=0.05)


def test_bool_images_are_full_ink_and_nan_is_refused() -> None:
    ink = np.zeros((28, 28), dtype=bool)
    ink[6:22, 12:16] = True
    np.testing.assert_array_equal(normalize(ink), normalize(ink.astype(np.uint8) * 255))
    with pytest.raises(MnistError):
        normalize(np.array([[np.nan]]))


def test_center_of_mass_is_scipys() -> None:
    rng = np.random.default_rng(3)
    for shape in ((28, 28), (5, 90), (61, 7)):
        x = rng.random(shape) * (rng.random(shape) < 0.3)
        assert center_of_mass(x) == tuple(float(v) for v in ndimage.center_of_mass(x))
    assert center_of_mass(np.zeros((5, 9))) == (2.0, 4.0)


def test_huge_image_is_block_averaged_quickly() -> None:
    big = np.zeros((4000, 4000), dtype=np.uint8)
    big[500:3500, 1800:2100] = 255
    big[500:800, 1000:2500] = 255
    tracemalloc.start()
    try:
        result = normalize(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    small = big.reshape(400, 10, 400, 10).mean(axis=(1, 3))
    corr = np.corrcoef(result.ravel(), normalize(small).ravel())[0, 1]
    # block-averaged first: a float64 copy of the 16-megapixel image alone would be 128 MB
    assert peak < 64 * 1024 * 1024 and corr > 0.99


def test_mnist_digits_pass_through_nearly_unchanged(digits: np.ndarray) -> None:
    diffs = np.array([np.abs(normalize(d) - d).mean() for d in digits])
    assert diffs.mean() < 0.5  # measured 0.09 (grey levels out of 255)
    assert np.mean(diffs == 0) > 0.95  # long side already 20 -> whole-pixel shift, bit-exact


def test_half_size_digit_in_a_corner_comes_back(digits: np.ndarray) -> None:
    raw, centred = [], []
    for digit in digits[:300].astype(np.float64):
        canvas = np.zeros((28, 28))
        canvas[:14, 14:] = digit.reshape(14, 2, 14, 2).mean(axis=(1, 3))  # half size, top right
        out = normalize(canvas)
        assert np.abs(np.array(center_of_mass(out)) - 14.0).max() < 1.5
        raw.append(np.corrcoef(out.ravel(), digit.ravel())[0, 1])
        # MNIST's own centring is whole-pixel (+-0.5 px); compare with the exactly centred digit.
        row, col = center_of_mass(digit)
        exact = ndimage.shift(digit, (14.0 - row, 14.0 - col), order=1)
        centred.append(np.corrcoef(out.ravel(), exact.ravel())[0, 1])
    assert np.mean(centred) > 0.9  # measured 0.93
    assert np.mean(raw) > 0.85  # measured 0.88


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=60),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=16),
    )
)
def test_any_float_array_gives_a_digit_or_mnist_error(arr: np.ndarray) -> None:
    try:
        out = normalize(arr)
    except MnistError:
        assert not np.isfinite(arr).all()
        return
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 255.0


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int64, np.float64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=40),
    )
)
def test_any_array_of_any_shape_gives_a_digit_or_mnist_error(arr: np.ndarray) -> None:
    try:
        out = normalize(arr)
    except MnistError:
        return
    assert arr.ndim == 2 and out.shape == (28, 28) and 0.0 <= out.min() <= out.max() <= 255.0


def test_ink_span_is_how_far_the_ink_reaches():
    assert ink_span(np.zeros((28, 28))) == 0
    img = np.zeros((28, 28))
    img[5, 3], img[9, 4] = 255, 40  # 40 is above the threshold, 20 would not be
    img[20, 20] = 20
    assert ink_span(img) == 5
    on_paper = np.full((28, 28), 200.0)
    on_paper[10:13, 4:20] = 0  # dark ink on light paper: the paper level is removed
    assert ink_span(255 - on_paper) == 16


def test_min_ink_span_lies_between_a_dab_and_the_smallest_half_size_digit(mnist_data):
    """What MIN_INK_SPAN's docstring says: a dab of any brush spans less, and every MNIST test
    digit drawn at half size (2x2 means) spans at least that much."""
    for size in BRUSH_SIZES:
        drawing = Drawing(size)
        drawing.paint(14, 14)
        assert ink_span(drawing.pixels) < MIN_INK_SPAN
    half = mnist_data.test_images.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
    spans = np.array([ink_span(image) for image in half])
    assert spans.min() == MIN_INK_SPAN and (spans < 10).sum() == 4



def test_small_source_is_enlarged_by_a_spline_through_its_samples() -> None:
    """A source of at most SMALL_SOURCE px a side is interpolated, not blurred: at the sample
    centres the weights are the identity, and a bold 8x8 ring keeps its hole open."""
    u = np.arange(8, dtype=np.float64) + 0.5  # the 8 sample centres, in source coordinates
    np.testing.assert_allclose(_spline_weights(u, 8), np.eye(8), atol=1e-4)
    small = np.zeros((8, 8))
    small[2:6, 1:7] = 255.0
    small[3:5, 3:5] = 0.0  # a bold ring, 6 x 4, with a 2 x 2 hole: enlarged x3.3
    same_in_big = np.zeros((SMALL_SOURCE + 1, SMALL_SOURCE + 1))
    same_in_big[:8, :8] = small  # the same ink in a bigger image: enlarged linearly
    spline, linear = normalize(small), normalize(same_in_big)
    assert spline.sum() == pytest.approx(linear.sum(), rel=0.05)  # about the same ink
    hole = slice(10, 19)  # the middle of row 14, across the hole
    assert np.count_nonzero(spline[14, hole] < 1.0) > np.count_nonzero(linear[14, hole] < 1.0)
    assert center_of_mass(spline) == pytest.approx((14.0, 14.0), abs=0.5)
