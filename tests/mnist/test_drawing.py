"""Tests for mnist.drawing: the Paint screen's canvas model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnist.drawing import FULL, UNDO_LEVELS, Box, Drawing, brush_kernel, line_cells
from mnist.errors import MnistError


def _stroke(d: Drawing, *points: tuple[int, int], erase: bool = False) -> None:
    """One mouse-down / drag / mouse-up gesture through `points`."""
    d.begin_stroke()
    (r, c), rest = points[0], points[1:]
    d.erase(r, c) if erase else d.paint(r, c)
    for r, c in rest:
        d.line_to(r, c, erase=erase)
    d.end_stroke()


@pytest.mark.parametrize("size", [1, 2, 3])
def test_soft_brush_is_full_in_the_centre_and_partial_around(size: int) -> None:
    k = brush_kernel(size)
    r = k.shape[0] // 2
    assert k.dtype == np.uint8 and k[r, r] == 255
    assert k[0, r] == k[r, 0] == k[-1, r] == k[r, -1]  # symmetric
    assert 0 < k[0, r] < 255  # the edge of the footprint is partial ink
    assert k[0, 0] < k[0, r]  # falls off with distance
    d = Drawing(brush_size=size)
    box = d.paint(14, 14)
    np.testing.assert_array_equal(d.pixels[14 - r : 15 + r, 14 - r : 15 + r], k)
    assert np.count_nonzero(d.pixels) == np.count_nonzero(k)
    assert box == Box(14 - r, 14 - r, 15 + r, 15 + r)


def test_brush_sizes_grow_and_bad_sizes_raise() -> None:
    inks = [int(brush_kernel(size).astype(int).sum()) for size in (1, 2, 3)]
    assert inks == sorted(inks) and len(set(inks)) == 3
    k1 = brush_kernel(1)
    assert k1[1, 1] == 255 and 128 < k1[0, 1] < 255 and 0 < k1[0, 0] < k1[0, 1]
    d = Drawing()
    assert d.brush_size == 1
    for bad in (0, 4, -1):
        with pytest.raises(MnistError):
            d.brush_size = bad


def test_painting_takes_the_max_and_reports_only_changes() -> None:
    d = Drawing()
    assert d.paint(10, 10) == Box(9, 9, 12, 12)
    assert d.paint(10, 10) is None  # repeated pass: nothing lightens, nothing changes
    before = d.pixels.copy()
    box = d.paint(10, 11)
    after = d.pixels
    assert np.all(after >= before) and after[10, 10] == 255 and after[10, 11] == 255
    changed = np.argwhere(after != before)
    assert box == Box(*changed.min(axis=0), *(changed.max(axis=0) + 1))
    assert after[9, 10] == 157  # the max of two partial values, not their sum


def test_erase_is_hard_with_the_same_footprint() -> None:
    d = Drawing(brush_size=2)
    _stroke(d, (14, 4), (14, 24))
    d.brush_size = 1
    box = d.erase(14, 14)
    assert box == Box(13, 13, 16, 16)
    assert not d.pixels[13:16, 13:16].any() and d.pixels[14, 12] == 255
    assert d.erase(14, 14) is None


def test_pixels_are_read_only() -> None:
    d = Drawing()
    with pytest.raises(ValueError):
        d.pixels[0, 0] = 255
    assert d.is_empty


def test_diagonal_line_paints_all_28_diagonal_cells() -> None:
    d = Drawing()
    _stroke(d, (0, 0), (27, 27))
    assert all(d.pixels[i, i] == 255 for i in range(28))
    assert line_cells((0, 0), (27, 27)) == [(i, i) for i in range(28)]


@given(
    st.tuples(st.integers(-40, 70), st.integers(-40, 70)),
    st.tuples(st.integers(-40, 70), st.integers(-40, 70)),
)
def test_line_cells_are_connected_and_end_where_they_should(a: tuple, b: tuple) -> None:
    cells = line_cells(a, b, margin=100)
    assert cells[0] == a and cells[-1] == b
    assert len(cells) == max(abs(b[0] - a[0]), abs(b[1] - a[1])) + 1
    steps = np.abs(np.diff(np.array(cells), axis=0))
    assert steps.size == 0 or steps.max() == 1
    clipped = line_cells(a, b, margin=2)
    assert clipped == [(r, c) for r, c in cells if -2 <= r <= 29 and -2 <= c <= 29]


def test_lines_leaving_the_grid_are_clipped_without_wrapping() -> None:
    d = Drawing()
    _stroke(d, (14, 14), (14, 1000))
    assert (d.pixels[14, 14:] == 255).all() and not d.pixels[:, :13].any()
    d.clear()
    _stroke(d, (-10, 5), (40, 5))  # both ends off the grid: the crossing part is painted
    assert (d.pixels[:, 5] == 255).all()
    d.clear()
    assert d.paint(-1, -1) == Box(0, 0, 1, 1) and d.pixels[0, 0] == 76
    assert d.paint(-5, 3) is None and d.paint(3, 400) is None
    assert not d.pixels[27].any() and not d.pixels[:, 27].any()  # no negative-index wrap
    d.begin_stroke()
    d.line_to(14, 14)
    stamps = []
    real_stamp = d._stamp
    d._stamp = lambda r, c, erase: stamps.append((r, c)) or real_stamp(r, c, erase)
    d.line_to(-(10**12), 10**12)  # 10^12 cells long: only the part near the grid is walked
    assert 14 <= len(stamps) <= 28 + 2 * 2 + 2  # from the centre to the grid's edge and margin


def test_undo_across_several_strokes() -> None:
    d = Drawing()
    assert not d.can_undo and d.undo() is None
    states = [d.pixels.copy()]
    for points in (((3, 3), (3, 20)), ((5, 5), (20, 5)), ((27, 0), (0, 27))):
        _stroke(d, *points)
        states.append(d.pixels.copy())
    _stroke(d, (3, 3), (3, 20))  # repaints existing ink: no change, no undo step
    _stroke(d, (20, 20), (22, 22), erase=True)  # erases where there is no ink: no step either
    np.testing.assert_array_equal(d.pixels, states[-1])
    for expected in reversed(states[:-1]):
        assert d.can_undo
        box = d.undo()
        np.testing.assert_array_equal(d.pixels, expected)
        assert box is not None
    assert not d.can_undo and d.is_empty


def test_undo_keeps_at_least_32_levels_and_calls_outside_strokes_are_steps() -> None:
    d = Drawing()
    for i in range(UNDO_LEVELS + 7):  # each call outside a stroke is its own undo step
        d.erase(9, 9) if i % 2 else d.paint(9, 9)
    assert UNDO_LEVELS >= 32
    undone = 0
    while d.undo() is not None:
        undone += 1
    assert undone == UNDO_LEVELS and not d.is_empty  # the 7 oldest steps were dropped
    d2 = Drawing()
    d2.begin_stroke()
    d2.paint(5, 5)
    assert d2.can_undo
    d2.undo()  # undo during a stroke undoes that stroke
    assert d2.is_empty


def test_clear_and_load_are_undoable() -> None:
    d = Drawing()
    assert d.clear() is None and not d.can_undo  # clearing a blank canvas is no step
    _stroke(d, (4, 4), (20, 20))
    drawn = d.pixels.copy()
    assert d.clear() == Box(*np.argwhere(drawn).min(axis=0), *(np.argwhere(drawn).max(axis=0) + 1))
    assert d.is_empty
    d.undo()
    np.testing.assert_array_equal(d.pixels, drawn)
    digit = np.random.default_rng(1).integers(0, 256, size=(28, 28)).astype(np.uint8)
    assert d.load(digit) == FULL
    np.testing.assert_array_equal(d.pixels, digit)
    d.load(digit.astype(np.float32) + 0.4)  # floats are rounded; nothing changes
    d.load(np.where(digit > 128, 300.0, -5.0))  # clipped to 0..255
    assert set(np.unique(d.pixels)) <= {0, 255}
    d.undo()
    np.testing.assert_array_equal(d.pixels, digit)
    d.undo()
    np.testing.assert_array_equal(d.pixels, drawn)


@pytest.mark.parametrize(
    "bad", [np.zeros((27, 28)), np.zeros((28, 28, 1)), np.full((28, 28), np.nan), "digit"]
)
def test_load_rejects_bad_images(bad: object) -> None:
    d = Drawing()
    with pytest.raises(MnistError):
        d.load(bad)
    assert d.is_empty and not d.can_undo


def test_a_stamp_changes_only_the_brush_box() -> None:
    """A stamp touches the brush's own cells, never the whole grid (its speed is measured in
    benchmarks/latency.py, not here)."""
    d = Drawing(brush_size=3)
    d.begin_stroke()
    box = d.paint(14, 14)
    assert box is not None
    size = brush_kernel(3).shape[0]
    assert (box.bottom - box.top) <= size and (box.right - box.left) <= size
    outside = d.pixels.copy()
    outside[box.top : box.bottom, box.left : box.right] = 0
    assert not outside.any()


@given(st.lists(st.tuples(st.sampled_from(["step", "jump", "paint", "erase", "brush", "undo",
                                           "restroke"]),
                          st.integers(-1, 1), st.integers(-1, 1), st.integers(-3, 30),
                          st.integers(-3, 30), st.booleans(), st.integers(1, 3)),
                min_size=1, max_size=60))
def test_a_line_stamps_the_same_as_stamping_each_of_its_cells(ops: list[tuple]) -> None:
    """`line_to` may skip stamping its first cell again (where the last line ended, same tool
    and brush, nothing changed since); pixels and changed boxes are those of stamping every
    cell of every line, whatever happens between the lines."""
    d, ref = Drawing(), Drawing()
    d.begin_stroke()
    ref.begin_stroke()
    last: tuple[int, int] | None = None
    for kind, dr, dc, row, col, erase, size in ops:
        if kind in ("step", "jump"):
            end = (last[0] + dr, last[1] + dc) if kind == "step" and last else (row, col)
            box = None
            for cell in line_cells(last or end, end, margin=2):
                stamped = ref.erase(*cell) if erase else ref.paint(*cell)
                box = stamped if box is None else box.union(stamped)
            assert d.line_to(*end, erase=erase) == box
            last = end
        elif kind in ("paint", "erase"):
            act = "erase" if kind == "erase" else "paint"
            assert getattr(d, act)(row, col) == getattr(ref, act)(row, col)
            last = (row, col)
        elif kind == "brush":
            d.brush_size = ref.brush_size = size
        elif kind == "undo":
            assert d.undo() == ref.undo()
            d.begin_stroke()
            ref.begin_stroke()
            last = None
        else:  # a new stroke starts where the pointer is
            d.begin_stroke()
            ref.begin_stroke()
            last = None
        assert np.array_equal(d.pixels, ref.pixels)
