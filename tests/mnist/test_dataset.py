"""Loading the real MNIST, and where the data is looked for."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist.dataset import load_mnist, load_test_set
from mnist.errors import MnistError
from mnist.files import FILES
from mnist.sources import cache_dir, candidates, locate


def test_real_mnist_published_facts(mnist_data):
    assert mnist_data.train_images.shape == (60000, 28, 28)
    assert mnist_data.train_labels.shape == (60000,)
    assert mnist_data.test_images.shape == (10000, 28, 28)
    assert mnist_data.test_labels.shape == (10000,)
    for array in (mnist_data.train_images, mnist_data.test_labels):
        assert array.dtype == np.uint8
        assert not array.flags.writeable
    mean = mnist_data.train_images.mean(dtype=np.float64) / 255
    assert mean == pytest.approx(0.1306604762738429, abs=1e-12)
    std = (mnist_data.train_images / 255).std()
    assert std == pytest.approx(0.3081078038564622, abs=1e-9)
    assert list(mnist_data.train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(mnist_data.test_labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert set(mnist_data.checksums) == {spec.name for spec in FILES}


def test_test_set_only(mnist_dir):
    images, labels = load_test_set(mnist_dir)
    assert images.shape == (10000, 28, 28) and list(labels[:5]) == [7, 2, 1, 0, 4]


def test_raw_files_verify_with_the_same_checksums(mnist_dir, tmp_path):
    for spec in FILES:
        raw = gzip.decompress((mnist_dir / spec.gz_name).read_bytes())
        (tmp_path / spec.name).write_bytes(raw)
    data = load_mnist(tmp_path)
    assert list(data.train_labels[:5]) == [5, 0, 4, 1, 9]


def _copy(mnist_dir: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for spec in FILES:
        shutil.copy(mnist_dir / spec.gz_name, target / spec.gz_name)
    return target


def test_search_order(mnist_dir, tmp_path, monkeypatch):
    env_dir = _copy(mnist_dir, tmp_path / "env")
    cache = _copy(mnist_dir, cache_dir())
    monkeypatch.setenv("MNIST_DIR", str(env_dir))
    assert [c.origin for c in candidates()] == ["MNIST_DIR", "cache"]
    assert locate().directory == env_dir
    # An explicit --data-dir is the only place looked at.
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    assert [c.origin for c in candidates(explicit)] == ["--data-dir"]
    assert locate(explicit) is None
    # MNIST_DIR incomplete: the cache is next.
    (env_dir / FILES[0].gz_name).unlink()
    assert locate().directory == cache
    monkeypatch.delenv("MNIST_DIR")
    assert load_mnist().origin == "cache"


def test_missing_message_says_what_where_and_how(tmp_path, monkeypatch, mnist_dir):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(mnist_dir / FILES[1].gz_name, partial / FILES[1].gz_name)
    monkeypatch.setenv("MNIST_DIR", str(partial))
    with pytest.raises(MnistError) as info:
        load_mnist()
    message = str(info.value)
    assert "\n" not in message
    assert str(partial) in message and str(cache_dir()) in message
    assert FILES[0].gz_name in message and "MNIST_DIR" in message
    assert "digits data download" in message


def test_explicit_dir_is_not_replaced_by_a_download(tmp_path):
    with pytest.raises(MnistError, match="MNIST not found"):
        load_mnist(tmp_path, download_missing=True)


def test_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(MnistError, match="not a directory"):
        candidates(path)


def test_damaged_file_named_in_error(mnist_dir, tmp_path):
    copy = _copy(mnist_dir, tmp_path / "copy")
    victim = copy / FILES[2].gz_name
    victim.write_bytes(victim.read_bytes()[:-5000])
    with pytest.raises(MnistError) as info:
        load_mnist(copy)
    assert str(victim) in str(info.value)
