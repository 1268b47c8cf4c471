"""The paper level and a PGM's polarity: tight crops, grey paper, blank and all-ink images."""

from __future__ import annotations

import numpy as np
import pytest

from mnist.imagefile import parse_pgm
from mnist.normalize import ink_problem, is_blank, normalize
from mnist.paper import light_is_paper, otsu_split, paper_level


def _bold_seven() -> np.ndarray:
    """(16, 16) 0/255 ink: a thick 7 cut to its ink, the ink covering most of the border."""
    img = np.zeros((16, 16))
    img[:6] = 255.0  # a bar over the whole top
    for r in range(6, 16):
        c = 15 - (r - 6) * 15 // 10
        img[r, max(0, c - 6) : c + 1] = 255.0
    img[:, :3] = 255.0  # and a stroke down the left edge
    return img


def test_a_tight_crop_with_ink_over_most_of_its_border_has_paper() -> None:
    img = _bold_seven()
    border = np.concatenate((img[0], img[-1], img[1:-1, 0], img[1:-1, -1]))
    assert np.median(border) == 255.0  # the border alone says "all paper is ink"
    assert paper_level(img) == 0.0
    assert not is_blank(img) and ink_problem(img) is None
    assert normalize(img).sum() > 0


def test_paper_level_is_the_lower_class_on_grey_paper() -> None:
    img = np.full((30, 30), 40.0)
    img[5:25, 12:17] = 255.0
    assert otsu_split(img) is not None and 40.0 < otsu_split(img) <= 255.0
    assert paper_level(img) == 40.0
    img[:, :3] = 255.0  # ink down the whole left edge too
    img[:3] = 255.0
    assert paper_level(img) == 40.0
    rng = np.random.default_rng(0)
    noisy = np.clip(img + rng.normal(0.0, 5.0, img.shape), 0, 255)
    assert paper_level(noisy) == pytest.approx(40.0, abs=2.0)


def test_canvas_and_mnist_like_paper_is_exactly_zero() -> None:
    canvas = np.zeros((28, 28), dtype=np.uint8)
    canvas[3:25, 12:15] = 255
    canvas[10, 11] = 90  # anti-aliased edges do not move it
    assert paper_level(canvas) == 0.0
    small = np.zeros((5, 4))
    small[1:4, 2] = 200.0
    assert paper_level(small) == 0.0


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (np.zeros((28, 28)), "blank"),
        (np.full((12, 12), 90.0), "blank"),  # one grey level: no contrast anywhere
        (np.full((12, 12), 200.0), "all ink"),
        (np.full((3, 3), 255.0), "all ink"),
        (np.pad(np.full((2, 2), 20.0), 5), "blank"),  # contrast 20 is under the 32 levels
        (np.pad(np.full((2, 2), 60.0), 5), None),
        (np.pad(np.full((10, 10), 255.0), 1), None),  # ink on all but the 1-pixel border
        (np.pad(np.full((10, 10), 255.0), ((0, 1), (0, 0))), None),  # paper on one edge only
        (np.full((12, 12), 150.0) + np.eye(12) * 105.0, None),  # light paper, white ink: a digit
    ],
)
def test_blank_means_no_contrast_and_all_ink_means_no_background(image, problem) -> None:
    got = ink_problem(image)
    assert (got is None) if problem is None else (problem in got)
    assert is_blank(image) == (problem is not None)


def _pgm(levels: np.ndarray) -> bytes:
    header = b"P5 %d %d 255\n" % (levels.shape[1], levels.shape[0])
    return header + levels.astype(np.uint8).tobytes()


def _bold_zero() -> np.ndarray:
    """(16, 16) 0/255 ink: a thick 0 cut to its ink: ink on most of the border, not the corners."""
    y, x = np.mgrid[0:16, 0:16]
    d = np.hypot((y - 7.5) / 8.0, (x - 7.5) / 8.0)
    return np.where((d > 0.55) & (d < 1.15), 255.0, 0.0)


def test_polarity_of_a_tight_crop_whose_border_is_mostly_ink() -> None:
    ink = _bold_zero()
    dark_on_light = 255.0 - ink  # a scan cut to the digit: the border is mostly dark
    border = np.concatenate((dark_on_light[0], dark_on_light[-1], dark_on_light[:, 0]))
    assert border.mean() < 127.5  # the border alone would call the light pixels ink
    assert light_is_paper(dark_on_light) and not light_is_paper(ink)
    for levels in (dark_on_light, ink):
        np.testing.assert_array_equal(parse_pgm(_pgm(levels))[0][1], ink)


def test_uniform_pgm_reads_as_blank_either_way() -> None:
    for level in (0, 100, 200, 255):
        image = parse_pgm(_pgm(np.full((9, 9), level)))[0][1]
        assert ink_problem(image) == "blank (no ink)"
