"""Special files and endless inputs: every reader refuses a FIFO, a device, /dev/zero, at once.

Data files, model files, settings.json and predict's images are opened with O_NONBLOCK,
checked with fstat to be regular files and read up to a stated limit (mnist/fileio.py). A
settings file that is not what digits writes is reported in one line and ignored. predict
bounds the images per file and per call and streams stacks in batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from mnist.errors import MnistError
from mnist.files import FILES
from mnist.idx import read_idx
from network.errors import ModelError
from network.registry import load_settings, settings_path, startup_model
from network.store import load_model, read_metadata, shipped_model_path
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("fifo", "link to /dev/zero", "link to /dev/null", "folder")


@pytest.fixture(autouse=True)
def no_hang():
    """A reader that blocks (a FIFO with no writer) fails the test instead of hanging it."""
    def expire(signum, frame):
        raise TimeoutError("blocked for 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def special(path: Path, kind: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(kind.removeprefix("link to "))
    return path


def digits(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120, cwd=ROOT)


# -- data files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_data_file_readers(kind, tmp_path):
    path = special(tmp_path / "train-images-idx3-ubyte.gz", kind)
    with pytest.raises(MnistError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_verify_status_and_train_do_not_hang(kind, tmp_path, mnist_dir):
    for spec in FILES[1:]:
        (tmp_path / spec.gz_name).symlink_to(mnist_dir / spec.gz_name)
    special(tmp_path / FILES[0].gz_name, kind)
    verify = digits("data", "verify", "--data-dir", str(tmp_path))
    assert verify.returncode == 2 and "not a regular file" in verify.stderr
    status = digits("data", "status", "--data-dir", str(tmp_path))
    assert status.returncode == 0 and "not a regular file" in status.stdout
    train = digits("train", "--epochs", "1", "--data-dir", str(tmp_path))
    assert train.returncode == 2 and len(train.stderr.strip().splitlines()) == 1
    assert "not a regular file" in train.stderr


# -- model files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_model_readers(kind, tmp_path):
    path = special(tmp_path / "model.npz", kind)
    for reader in (load_model, read_metadata):
        with pytest.raises(ModelError, match="not a regular file|is a folder"):
            reader(path)


def test_model_file_growing_past_its_limit_is_not_read_whole(tmp_path, monkeypatch):
    import network.store as store

    monkeypatch.setattr(store, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ModelError, match="too large"):
        load_model(shipped_model_path())


# -- settings.json --------------------------------------------------------------------------------

SETTINGS = {
    "nested 200,000 deep": "[" * 200_000 + "]" * 200_000,  # over the 64 KB limit
    "nested 30,000 deep": "[" * 30_000 + "]" * 30_000,  # RecursionError in json
    "a list": "[1, 2]",
    "active is a number": '{"active": 5}',
    "unknown keys": '{"active": "shipped", "theme": "dark"}',
    "NaN": '{"active": NaN}',
    "not UTF-8": b"\xff\xfe{}",
    "too large": '{"active": "' + "x" * 100_000 + '"}',
}


@pytest.mark.parametrize("case", list(SETTINGS) + list(KINDS))
def test_settings_not_what_digits_writes_is_reported_and_ignored(case, tmp_path):
    path = settings_path()
    path.parent.mkdir(parents=True)
    if case in KINDS:
        special(path, case)
    else:
        content = SETTINGS[case]
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    settings, problem = load_settings()
    assert settings == {} and str(path) in problem and problem.endswith("; ignoring it")
    model, used, notice = startup_model()
    assert used == shipped_model_path()
    assert notice.startswith("Settings file ") and notice.endswith(
        f"; using the shipped model ({shipped_model_path()})")
    assert "\n" not in notice


def test_every_command_says_so_in_one_line(tmp_path):
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(SETTINGS["nested 30,000 deep"])
    art = tmp_path / "seven.txt"
    art.write_text("#######\n     ##\n    ##\n   ##\n  ##\n ##\n##\n")
    result = digits("predict", str(art))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"digits: Settings file {settings_path()} is nested too deep; ignoring it; using the "
        f"shipped model ({shipped_model_path()})"]
    assert result.stdout.startswith(f"{art}: 7")


# -- predict's inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ext", [".pgm", ".npy", ".txt"])
def test_predict_inputs(kind, ext, tmp_path, capsys):
    path = special(tmp_path / f"image{ext}", kind)
    status = main(["predict", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "not a regular file" in err or "is a directory" in err


def test_a_400_kb_npy_of_200000_tiny_images_is_refused_from_its_header(tmp_path, capsys,
                                                                       monkeypatch):
    """It took 39 s and 1.6 GB; now the array itself is never read."""
    path = tmp_path / "many.npy"
    np.save(path, np.ones((200_000, 1, 2), np.uint8))
    assert path.stat().st_size < 420_000
    monkeypatch.setattr(np.lib.format, "read_array", None)  # calling it would raise TypeError
    status = main(["predict", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and "200,000 images, over the limit of 60,000 per file" in err


def test_a_2_6_mb_chain_of_200000_p5_images_is_refused_before_decoding(tmp_path, capsys,
                                                                        monkeypatch):
    """It took 52 s and 1.6 GB; now only headers are read, and no image is decoded."""
    import mnist.imagefile

    path = tmp_path / "chain.pgm"
    path.write_bytes(b"P5 2 1 255\n\xff\x00" * 200_000)
    assert 2_500_000 < path.stat().st_size < 2_700_000
    monkeypatch.setattr(mnist.imagefile, "_pgm_raster", None)  # decoding would raise TypeError
    status = main(["predict", str(path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and "more than 60,000 images in one file" in err


def test_images_per_call_are_bounded(tmp_path, capsys, monkeypatch):
    import tui.cli.predict

    monkeypatch.setattr(tui.cli.predict, "MAX_IMAGES_PER_CALL", 5)
    stack = np.zeros((3, 6, 6), np.uint8)
    stack[:, 1:5, 2:4] = 255
    paths = []
    for name in ("a.npy", "b.npy", "c.npy"):
        np.save(tmp_path / name, stack)
        paths.append(str(tmp_path / name))
    status = main(["predict", *paths])
    out, err = capsys.readouterr()
    assert status == 2 and len(out.splitlines()) == 5
    assert err.strip() == (f"digits: error: more than 5 images in one call (the limit); "
                           f"stopped at {tmp_path / 'b.npy'}:2")


def test_a_large_stack_is_recognized_with_flat_memory(tmp_path, capsys):
    """Streamed in batches: 5,000 images take no more memory than 500 (all 5,000 normalized at
    once would be 16 MB of float32, before the list of their (index, image) pairs)."""

    def peak_for(count: int) -> int:
        stack = np.zeros((count, 4, 4), np.uint8)
        stack[:, 1:3, 1:3] = 255
        path = tmp_path / f"stack{count}.npy"
        np.save(path, stack)
        tracemalloc.start()
        try:
            status = main(["predict", "--model", str(shipped_model_path()), str(path)])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert status == 0 and len(capsys.readouterr().out.splitlines()) == count
        return peak

    small, large = peak_for(500), peak_for(5_000)
    assert large - small < 3 * 2**20, f"{small / 2**20:.1f} MB, then {large / 2**20:.1f} MB"


def test_drawings_add_keeps_no_image_larger_than_a_canvas(tmp_path, capsys):
    """`drawings add` held every image at its full size (float32) until the end: 64-megapixel
    files took 256 MB each. Each is fitted into the 28x28 canvas it is kept as when read."""
    image = np.zeros((300, 300), np.uint8)
    image[40:260, 130:170] = 255
    paths = []
    for k in range(60):
        paths.append(tmp_path / f"one{k}.npy")
        np.save(paths[-1], image)

    def peak_for(count: int) -> int:
        tracemalloc.start()
        try:
            status = main(["drawings", "add", "--label", "1", *map(str, paths[:count])])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert status == 0 and f"Kept {count} drawings" in capsys.readouterr().out
        return peak

    small, large = peak_for(10), peak_for(60)  # 50 more images: 18 MB more when kept whole
    assert large - small < 3 * 2**20, f"{small / 2**20:.1f} MB, then {large / 2**20:.1f} MB"
