"""Tests for mnist.imagefile: reading PGM, .npy and text-art images for `digits predict`."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnist.errors import MnistError
from mnist.imagefile import (
    parse_pgm,
    parse_text_art,
    read_images,
    read_npy,
    read_pgm,
    write_pgm,
    write_text_art,
)
from mnist.normalize import is_blank


def _digit() -> np.ndarray:
    """A (12, 9) float64 0..255 test image with grey levels and a dark border."""
    rng = np.random.default_rng(0)
    img = np.zeros((12, 9))
    img[2:10, 3:6] = rng.integers(0, 256, size=(8, 3))
    img[5, 1:8] = 255.0
    return img


def _only(images: list) -> np.ndarray:
    """The image of a one-image result, checking its index, dtype and range."""
    assert len(images) == 1 and images[0][0] is None
    img = images[0][1]
    assert img.ndim == 2 and img.dtype == np.float32 and 0 <= img.min() <= img.max() <= 255
    return img


def _expect_error(path: Path, *words: str) -> str:
    """Read `path`, expect MnistError naming the file and containing all `words`."""
    with pytest.raises(MnistError) as info:
        read_images(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    for word in words:
        assert word in message, message
    return message


# -- PGM ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("maxval", [255, 65535])
def test_pgm_round_trip_with_auto_inversion(tmp_path: Path, plain: bool, maxval: int) -> None:
    path = tmp_path / "digit.pgm"
    write_pgm(path, _digit(), plain=plain, maxval=maxval)  # dark ink on light paper
    assert path.read_bytes().startswith(b"P2" if plain else b"P5")
    np.testing.assert_allclose(_only(read_images(path)), _digit(), atol=0.01)


def test_pgm_forced_and_auto_inversion(tmp_path: Path) -> None:
    path = tmp_path / "d.pgm"
    write_pgm(path, _digit())
    paper = 255.0 - _digit()  # the file's raw levels
    np.testing.assert_allclose(_only(read_pgm(path, invert=False)), paper)
    np.testing.assert_allclose(_only(read_images(path, invert=True)), _digit())
    write_pgm(path, 255.0 - _digit())  # light ink on dark paper: auto keeps it as is
    np.testing.assert_allclose(_only(read_images(path)), 255.0 - paper)


def test_pgm_header_comments_small_maxval_and_multiple_images() -> None:
    data = b"P2\n# made by hand\n3 # width\n2\n# max\n4\n0 1 2\n3 4 0\n"
    img = _only(parse_pgm(data, invert=False))
    np.testing.assert_allclose(img, np.array([[0, 1, 2], [3, 4, 0]]) * 255 / 4)
    two = b"P5 2 1 255\n\x00\xffP5\n2 1\n255\n\xff\x00\n"
    images = parse_pgm(two, invert=False)
    assert [i for i, _ in images] == [0, 1]
    np.testing.assert_array_equal(images[1][1], [[255, 0]])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"P5\n28 28\n255\n" + bytes(100), ("truncated",)),
        (b"P5\n100000 100000\n255\n" + bytes(10), ("100000 x 100000", "megapixels")),
        (b"P2\n100000 100000\n255\n0 0 0\n", ("megapixels",)),
        (b"P5\n2 2\n0\n\x00\x00\x00\x00", ("maxval 0",)),
        (b"P5\n2 2\n70000\n" + bytes(8), ("maxval 70000",)),
        (b"P5\n-2 2\n255\n\x00\x00\x00\x00", ("width", "-2")),
        (b"P5\n2 -2\n255\n\x00\x00\x00\x00", ("height",)),
        (b"P5\n0 2\n255\n", ("empty",)),
        (b"P5\n2 2", ("truncated",)),
        (b"P5\n2 2\n255", ("truncated",)),
        (b"\x89PNG\r\n\x1a\n garbage", ("not a PGM",)),
        (b"", ("not a PGM",)),
        (b"P2\n2 2\n255\n1 2 3\n", ("3 pixel values", "declares 4")),
        (b"P2\n2 2\n255\n1 2 x 4\n", ("invalid character",)),
        (b"P2\n2 1\n255\n1 -2\n", ("invalid character",)),
        (b"P2\n2 1\n255\n1 256\n", ("exceeds maxval",)),
        (b"P2\n2 1\n255\n1 99999999999999999999\n", ("too large",)),
        (b"P5\n2 1\n200\n\x00\xff", ("exceeds maxval",)),
    ],
)
def test_damaged_pgm_raises_mnist_error(tmp_path: Path, content: bytes, words: tuple) -> None:
    path = tmp_path / "bad.pgm"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        _expect_error(path, *words)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # refused from the header: nothing huge was allocated


# -- .npy ---------------------------------------------------------------------------------------
def test_npy_images_and_stacks(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, _digit().astype(np.uint8))
    np.testing.assert_array_equal(_only(read_images(path)), _digit())
    np.save(path, _digit() / 255.0)  # 0..1 floats
    np.testing.assert_allclose(_only(read_npy(path)), _digit(), atol=1e-3)
    np.save(path, _digit() > 100)  # bool: True is full ink
    np.testing.assert_array_equal(_only(read_images(path)), (_digit() > 100) * 255.0)
    np.save(path, np.asfortranarray(_digit().astype(">f8")))
    np.testing.assert_array_equal(_only(read_images(path)), _digit())
    np.testing.assert_array_equal(_only(read_images(path, invert=True)), 255.0 - _digit())
    stack = np.stack([_digit(), np.zeros((12, 9)), 255.0 - _digit()]).astype(np.uint8)
    np.save(path, stack)
    images = read_images(path)
    assert [i for i, _ in images] == [0, 1, 2]
    for (_, img), ref in zip(images, stack, strict=True):
        np.testing.assert_array_equal(img, ref)
    assert is_blank(images[1][1]) and not is_blank(images[0][1])


class _Evil:
    """Unpickling this creates a marker file: it must never happen."""

    marker = ""

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.zeros((2, 2, 2, 2)), ("3-D",)),
        (np.zeros(5), ("2-D",)),
        (np.zeros((0, 28, 28)), ("no pixels",)),
        (np.zeros((28, 0)), ("no pixels",)),
        (np.array([[1.0, np.nan]]), ("NaN",)),
        (np.array([[1.0, np.inf]]), ("NaN or infinite",)),
        (np.array([[-1, 5]]), ("0..255",)),
        (np.array([[256.0]]), ("0..255",)),
        (np.zeros((2, 2), dtype=complex), ("dtype",)),
        (np.zeros((2, 2), dtype=[("a", "u1")]), ("dtype",)),
        (np.array([["ab"]]), ("dtype",)),
    ],
)
def test_bad_npy_raises_mnist_error(tmp_path: Path, array: np.ndarray, words: tuple) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    _expect_error(path, *words)


def test_object_npy_is_refused_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = str(marker)
    path = tmp_path / "evil.npy"
    np.save(path, np.array([[evil, evil]], dtype=object), allow_pickle=True)
    assert not marker.exists()
    _expect_error(path, "objects")
    assert not marker.exists()


def test_npy_with_lying_header_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        header = {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000, 100)}
        np.lib.format.write_array_header_1_0(f, header)
        f.write(bytes(64))
    _expect_error(path, "megapixels")
    np.save(path, np.zeros((28, 28)))
    path.write_bytes(path.read_bytes()[:-100])
    _expect_error(path, "truncated")
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}  \n")
    _expect_error(path, "not a valid .npy")


# -- text art -----------------------------------------------------------------------------------
def test_text_art_round_trip_and_layout(tmp_path: Path) -> None:
    img = np.where(_digit() >= 128, 255.0, 0.0)
    path = tmp_path / "d.txt"
    path.write_text(write_text_art(img))
    np.testing.assert_array_equal(_only(read_images(path)), img)
    art = "\n  #@\r\n*Xx1 ab\n.\n\n   \n"  # leading blank row kept, trailing ones dropped
    expected = [[0] * 7, [0, 0, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0], [0] * 7]
    np.testing.assert_array_equal(parse_text_art(art), np.array(expected) * 255.0)
    path.write_bytes(b"..\xff\xfe#\n")  # undecodable bytes are background
    np.testing.assert_array_equal(_only(read_images(path)), [[0, 0, 0, 0, 255]])
    np.testing.assert_array_equal(_only(read_images(path, invert=True)), [[255, 255, 255, 255, 0]])


def test_text_art_without_ink_is_a_blank_image_but_empty_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("....\n....\n")
    assert is_blank(_only(read_images(path)))
    for content in ("", "\n\n", "  \n\t\n"):
        path.write_text(content)
        _expect_error(path, "empty")
    path.write_text("#" * 5000)
    _expect_error(path, "limit")


# -- paths --------------------------------------------------------------------------------------
def test_path_problems_raise_mnist_error(tmp_path: Path) -> None:
    _expect_error(tmp_path / "missing.pgm", "no such file")
    folder = tmp_path / "folder.pgm"
    folder.mkdir()
    _expect_error(folder, "directory")
    for name in ("digit.png", "noext"):
        (tmp_path / name).write_bytes(b"\x89PNG")
        _expect_error(tmp_path / name, "unsupported", ".pgm", ".npy", ".txt")


def test_a_loop_of_links_is_not_called_missing(tmp_path: Path) -> None:
    """A loop of symbolic links was reported as "no such file"; a dangling link is missing."""
    (tmp_path / "a.pgm").symlink_to(tmp_path / "b.pgm")
    (tmp_path / "b.pgm").symlink_to(tmp_path / "a.pgm")
    message = _expect_error(tmp_path / "a.pgm", "cannot read", "symbolic links")
    assert "no such file" not in message
    (tmp_path / "gone.pgm").symlink_to(tmp_path / "nowhere.pgm")
    _expect_error(tmp_path / "gone.pgm", "no such file")
    (tmp_path / "file.txt").write_text("#\n")
    _expect_error(tmp_path / "file.txt" / "x.txt", "no such file")


# -- fuzzing: any bytes give images or MnistError, nothing else ---------------------------------
@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


PREFIXES = [b"", b"P5", b"P5\n3 2\n", b"P2\n3 2\n255\n", b"P5 1 1 65535 ", b"\x93NUMPY\x01\x00"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ext=st.sampled_from([".pgm", ".npy", ".txt"]),
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=300),
)
def test_arbitrary_bytes_only_raise_mnist_error(
    fuzz_dir: Path, ext: str, prefix: bytes, body: bytes
) -> None:
    path = fuzz_dir / f"fuzz{ext}"
    path.write_bytes(prefix + body)
    try:
        images = read_images(path)
    except MnistError as exc:
        assert "\n" not in str(exc)
        return
    for index, img in images:
        assert index is None or isinstance(index, int)
        assert img.ndim == 2 and img.dtype == np.float32 and img.size > 0
        assert np.isfinite(img).all() and 0 <= img.min() <= img.max() <= 255


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(["u1", "<i8", ">f4", "f8", "f2", "?", "c8"]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_saved_then_truncated_npy_only_raises_mnist_error(
    fuzz_dir: Path, array: np.ndarray, cut: int
) -> None:
    path = fuzz_dir / "arr.npy"
    np.save(path, array)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut] if cut < len(data) else data)
    try:
        images = read_images(path)
    except MnistError:
        return
    assert cut == 0 or cut >= len(data)
    assert all(img.ndim == 2 and 0 <= img.min() <= img.max() <= 255 for _, img in images)
