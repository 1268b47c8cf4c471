"""Digits cropped tight to their ink are recognized, through exactly `digits predict`'s pipeline.

A digit cut to its ink (ink on all four edges, sometimes on most of the border), stretched to
fill 16x16 and binarized, or shrunk to 8x8 still has paper: none may be refused as blank or all
ink, in any reader (.npy single images, bool stacks and 0..1 float stacks, text art, PGM with
dark ink on light paper and with light ink on dark paper). Each set is 300 MNIST test digits
(a fixed seeded sample), written to files and read back by `digits predict --json`, in-process.

The accuracy floors are figures measured with the shipped model on this sample, minus a margin
of 1 percentage point (3 digits) for other CPUs' float32 rounding, which can flip a digit that
sits on the edge between two classes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mnist.imagefile import write_pgm, write_text_art
from mnist.variants import crop_to_ink, downsample, stretch_binarize
from tui.cli import main

SAMPLE = 300


@pytest.fixture(scope="module")
def sample(mnist_data) -> tuple[np.ndarray, np.ndarray]:
    """300 MNIST test digits, a fixed seeded sample: (300, 28, 28) uint8 and (300,) labels."""
    index = np.random.default_rng(2026).choice(len(mnist_data.test_labels), SAMPLE, replace=False)
    return mnist_data.test_images[index], mnist_data.test_labels[index]


def _predict(capsys, files: list[Path]) -> list[int]:
    """`digits predict --json FILES` in this process: the digits, after checking none refused."""
    status = main(["predict", "--json", *map(str, files)])
    out, err = capsys.readouterr()
    assert status == 0 and err == "", err.splitlines()[:3]
    return [json.loads(line)["digit"] for line in out.splitlines()]


def _each(folder: Path, images, suffix: str, write: Callable[[Path, np.ndarray], None]):
    """Write every image to its own file in `folder`; the list of paths, in order."""
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:03d}{suffix}"
        write(path, image)
        paths.append(path)
    return paths


def _accuracy(digits: list[int], labels: np.ndarray) -> float:
    assert len(digits) == len(labels)  # one answer per image: nothing refused
    return float(np.mean(np.array(digits) == labels))


def _pgm_light_ink(path: Path, image: np.ndarray) -> None:
    """A PGM with light ink on dark paper (MNIST's own polarity), written by inverting twice."""
    write_pgm(path, 255.0 - np.asarray(image, dtype=np.float64))


def _ink_touches_all_edges(image: np.ndarray) -> bool:
    return bool(image[0].any() and image[-1].any() and image[:, 0].any() and image[:, -1].any())


def test_crops_to_the_ink_box(tmp_path, capsys, sample):
    images, labels = sample
    crops = [crop_to_ink(d) for d in images]
    assert all(_ink_touches_all_edges(c) for c in crops)
    npy = _accuracy(_predict(capsys, _each(tmp_path, crops, ".npy", np.save)), labels)
    dark = _accuracy(_predict(capsys, _each(tmp_path, crops, ".pgm", write_pgm)), labels)
    light = _accuracy(_predict(capsys, _each(tmp_path, crops, "l.pgm", _pgm_light_ink)), labels)
    # measured: 99.33% (298 of 300) in all three (the shipped model of 2026-11-29 evening,
    # with the one-pixel shifts averaged)
    assert npy >= 0.983 and dark >= 0.983 and light >= 0.983


def test_crops_stretched_to_16x16_and_binarized(tmp_path, capsys, sample):
    images, labels = sample
    boxes = np.stack([stretch_binarize(d) for d in images])  # (300, 16, 16) bool
    # measured: ink on all four edges in 87% (the rest lose an edge pixel to the resampling)
    assert np.mean([_ink_touches_all_edges(b) for b in boxes]) > 0.8
    # A 1 of even width stretches to a solid square: truly no background, so still refused.
    solid = boxes.all(axis=(1, 2))
    assert solid.sum() == 1 and labels[solid][0] == 1
    np.save(tmp_path / "solid.npy", boxes[solid])
    assert main(["predict", str(tmp_path / "solid.npy")]) == 2
    assert "all ink" in capsys.readouterr().err
    boxes, labels = boxes[~solid], labels[~solid]
    np.save(tmp_path / "stack.npy", boxes)
    npy = _accuracy(_predict(capsys, [tmp_path / "stack.npy"]), labels)
    text = _each(tmp_path, boxes, ".txt", lambda p, b: p.write_text(write_text_art(b * 255.0)))
    art = _accuracy(_predict(capsys, text), labels)
    dark = _accuracy(_predict(capsys, _each(tmp_path, boxes * 255.0, ".pgm", write_pgm)), labels)
    light = _accuracy(
        _predict(capsys, _each(tmp_path, boxes * 255.0, "l.pgm", _pgm_light_ink)), labels
    )
    # measured: .npy and text art 98.33% (294 of 299), both PGMs 97.32% (291; their levels
    # are rounded to whole numbers); the model shipped before, trained without stretching narrow
    # digits to fill their box, gave 95.99% (287) in all four, the misses mostly stretched 1s
    assert min(npy, art, dark, light) >= 0.963


def test_8x8_downsamples(tmp_path, capsys, sample):
    images, labels = sample
    small = np.stack([downsample(d) for d in images])  # (300, 8, 8) float 0..255
    np.save(tmp_path / "stack.npy", small / 255.0)  # a 0..1 float stack
    npy = _accuracy(_predict(capsys, [tmp_path / "stack.npy"]), labels)
    dark = _accuracy(_predict(capsys, _each(tmp_path, small, ".pgm", write_pgm)), labels)
    light = _accuracy(_predict(capsys, _each(tmp_path, small, "l.pgm", _pgm_light_ink)), labels)
    # measured: 99.67% (299 of 300) in all three
    assert npy >= 0.985 and dark >= 0.985 and light >= 0.985
