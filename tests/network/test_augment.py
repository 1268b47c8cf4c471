"""Augmentation keeps shape, dtype and range, is deterministic per seed, and does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from network.augment import AugmentConfig, Augmenter, _lowres_matrices, augment
from network.errors import ModelError

NONE = dict(rotate=0.0, scale=0.0, aspect=0.0, shear=0.0, shift=0.0, elastic=0.0, thicken=0.0,
            thin=0.0, coarsen=0.0, fill_box=0.0, binarize=0.0)


@pytest.fixture
def digits() -> np.ndarray:
    """16 digit-like uint8 images: a ring with a bar (strokes 2-3 px wide)."""
    yy, xx = np.mgrid[0:28, 0:28]
    ring = (np.abs(np.hypot(yy - 14, xx - 14) - 7) < 1.5) * 255
    base = ring.astype(np.uint8)
    base[6:22, 13:15] = 200
    return np.stack([np.roll(base, k - 8, axis=1) for k in range(16)])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(16, 28, 28), (16, 784)])
def test_shape_dtype_and_range(digits, dtype, shape):
    images = digits.astype(dtype).reshape(shape)
    before = images.copy()
    out = augment(images, rng=0)
    assert out.shape == shape and out.dtype == dtype
    assert out.min() >= 0 and out.max() <= 255
    np.testing.assert_array_equal(images, before)  # input untouched
    assert not np.array_equal(out, images)


def test_out_buffer_is_float32_0_255(digits):
    out = np.full((16, 784), -1.0, np.float32)
    assert Augmenter(rng=1)(digits, out=out) is out
    assert out.min() >= 0.0 and out.max() <= 255.0


def test_deterministic_per_seed(digits):
    a = Augmenter(rng=3)
    b = Augmenter(rng=3)
    for _ in range(3):
        np.testing.assert_array_equal(a(digits), b(digits))
    assert not np.array_equal(Augmenter(rng=3)(digits), Augmenter(rng=4)(digits))


def test_identity_when_everything_is_off(digits):
    np.testing.assert_array_equal(augment(digits, 0, AugmentConfig(**NONE)), digits)


def test_integer_shift_moves_pixels(digits):
    cfg = AugmentConfig(**{**NONE, "shift": 3.0})
    aug = Augmenter(cfg, rng=5)
    out = aug(digits[8:9].astype(np.float32))
    # a pure shift conserves the ink (nothing leaves the 28x28 field for this digit)
    assert out.sum() == pytest.approx(float(digits[8].sum()), rel=0.02)


def test_thicken_adds_ink_and_thin_removes_it(digits):
    ink = digits.astype(np.float64).sum()
    thick = augment(digits, 0, AugmentConfig(**{**NONE, "thicken": 1.0}))
    thin = augment(digits, 0, AugmentConfig(**{**NONE, "thin": 1.0}))
    assert thick.astype(np.float64).sum() > 1.2 * ink
    assert thin.astype(np.float64).sum() < 0.8 * ink


def test_binarize_gives_hard_edges(digits):
    out = augment(digits, 0, AugmentConfig(**{**NONE, "binarize": 1.0, "rotate": 10.0}))
    assert set(np.unique(out)) <= {0, 255}


def test_coarsen_draws_2x2_hard_cells(digits):
    out = augment(digits, 0, AugmentConfig(**{**NONE, "coarsen": 1.0}))
    assert set(np.unique(out)) <= {0, 255}
    np.testing.assert_array_equal(out[:, ::2, ::2], out[:, 1::2, 1::2])


def _rank(image: np.ndarray) -> int:
    """Numerical rank of a (28, 28) image, far above float32 rounding (1e-4 of the largest)."""
    sv = np.linalg.svd(image.astype(np.float64), compute_uv=False)
    return int((sv > 1e-4 * sv[0]).sum())


@pytest.mark.parametrize("k", [6, 8, 16])
def test_lowres_matrices_average_cells_and_interpolate_back(k):
    start, length = np.array([4.0]), np.array([20.0])
    down, up = _lowres_matrices(start, length, length / k)
    assert down.shape == (1, 16, 28) and up.shape == (1, 28, 16)
    assert down.dtype == up.dtype == np.float32
    np.testing.assert_allclose(down[0, :k].sum(axis=1), 1.0, rtol=1e-6)  # cell means
    assert not down[0, k:].any() and not up[0, :, k:].any()  # no cells past the box
    assert not down[0, :, :4].any() and not down[0, :, 24:].any()  # only the box is read
    both = up[0].astype(np.float64) @ down[0]
    assert _rank(both) == k
    box = np.zeros(28)
    box[4:24] = 255.0
    flat = both @ box  # a uniform box stays uniform between the outer cell centres
    half = 10.0 / k
    inner = np.arange(28)[(np.arange(28) + 0.5 > 4 + half) & (np.arange(28) + 0.5 < 24 - half)]
    np.testing.assert_allclose(flat[inner], 255.0, rtol=1e-5)
    assert flat[: int(4 - half)].max(initial=0.0) == 0.0 and flat[int(24 + half) + 1 :].max() == 0.0


def test_lowres_lowers_the_resolution_of_every_picked_image():
    rng = np.random.default_rng(0)
    images = np.zeros((32, 28, 28), np.float32)
    for image in images:  # full-rank 20x20 boxes: 100 + 155 I, rows shuffled (rank kept)
        image[4:24, 4:24] = (100.0 + 155.0 * np.eye(20, dtype=np.float32))[rng.permutation(20)]
    assert min(_rank(im) for im in images) == 20
    out = Augmenter(AugmentConfig(**{**NONE, "lowres": 1.0}), rng=1)(images)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    ranks = [_rank(im) for im in out]
    assert max(ranks) <= 16 and min(ranks) <= 9  # 6..16 cells across, drawn per image
    assert not out[:, :2].any() and not out[:, 26:].any()  # nothing spreads a cell past the box
    assert set(np.unique(out)) - {0.0, 255.0}  # soft edges: cells interpolated, not repeated


def test_lowres_probability_zero_draws_nothing(digits):
    base = Augmenter(AugmentConfig(), rng=2)
    off = Augmenter(AugmentConfig(lowres=0.0), rng=2)
    np.testing.assert_array_equal(base(digits), off(digits))
    assert base.rng.random() == off.rng.random()
    some = Augmenter(AugmentConfig(**{**NONE, "lowres": 0.5}), rng=3)(digits.astype(np.float32))
    changed = [not np.array_equal(a, b) for a, b in zip(some, digits, strict=True)]
    assert any(changed) and not all(changed)


def test_fill_box_stretches_narrow_digits():
    one = np.zeros((1, 28, 28), np.uint8)
    one[0, 4:24, 12:16] = 255  # a "1": 20 tall, 4 wide
    out = augment(one, 0, AugmentConfig(**{**NONE, "fill_box": 1.0}))
    cols = np.flatnonzero(out[0].max(axis=0) > 64)
    assert 4 < cols.size <= 8  # wider, but the default stretch is capped at 1.6x (6.4 px)


def test_fill_max_lets_a_narrow_digit_fill_the_box():
    one = np.zeros((1, 28, 28), np.uint8)
    one[0, 4:24, 12:16] = 255  # a "1": 20 tall, 4 wide: 5x to fill the 20 px box
    out = augment(one, 0, AugmentConfig(**{**NONE, "fill_box": 1.0, "fill_max": 8.0}))
    cols = np.flatnonzero(out[0].max(axis=0) > 64)
    rows = np.flatnonzero(out[0].max(axis=1) > 64)
    assert 19 <= cols.size <= 23 and 19 <= rows.size <= 23  # a solid 20x20 block, soft edges


def test_empty_batch():
    assert augment(np.zeros((0, 28, 28), np.uint8), 0).shape == (0, 28, 28)


def test_mean_brightness_is_roughly_kept(blob_factory):
    images, _ = blob_factory(64)
    out = augment(images, 7)
    assert out.astype(np.float64).mean() == pytest.approx(images.astype(np.float64).mean(),
                                                         rel=0.5)


@pytest.mark.parametrize("field,value", [("rotate", -1.0), ("scale", 2.0), ("thicken", 1.5),
                                         ("elastic_grid", 1), ("shift", float("nan")),
                                         ("lowres", 1.5), ("fill_max", 0.5)])
def test_config_validation(field, value):
    with pytest.raises(ModelError, match=field):
        AugmentConfig(**{field: value}).validate()


def test_config_round_trip():
    cfg = AugmentConfig(rotate=5.0)
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ModelError, match="unknown"):
        AugmentConfig.from_dict({"zoom": 1})
    older = AugmentConfig().to_dict()
    del older["lowres"]  # metadata written before the low-resolution redraw existed
    assert AugmentConfig.from_dict(older).lowres == 0.0
    del older["fill_max"]  # nor a bound on the stretch to the box other than 1.6x
    assert AugmentConfig.from_dict(older).fill_max == 1.6
