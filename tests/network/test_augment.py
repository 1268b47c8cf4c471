"""Augmentation keeps shape, dtype and range, is deterministic per seed, and does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from network.augment import AugmentConfig, Augmenter, augment
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


def test_fill_box_stretches_narrow_digits():
    one = np.zeros((1, 28, 28), np.uint8)
    one[0, 4:24, 12:16] = 255  # a "1": 20 tall, 4 wide
    out = augment(one, 0, AugmentConfig(**{**NONE, "fill_box": 1.0}))
    cols = np.flatnonzero(out[0].max(axis=0) > 64)
    assert cols.size > 4  # wider (the stretch is capped at 1.6x)


def test_empty_batch():
    assert augment(np.zeros((0, 28, 28), np.uint8), 0).shape == (0, 28, 28)


def test_mean_brightness_is_roughly_kept(blob_factory):
    images, _ = blob_factory(64)
    out = augment(images, 7)
    assert out.astype(np.float64).mean() == pytest.approx(images.astype(np.float64).mean(),
                                                         rel=0.5)


@pytest.mark.parametrize("field,value", [("rotate", -1.0), ("scale", 2.0), ("thicken", 1.5),
                                         ("elastic_grid", 1), ("shift", float("nan"))])
def test_config_validation(field, value):
    with pytest.raises(ModelError, match=field):
        AugmentConfig(**{field: value}).validate()


def test_config_round_trip():
    cfg = AugmentConfig(rotate=5.0)
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ModelError, match="unknown"):
        AugmentConfig.from_dict({"zoom": 1})
