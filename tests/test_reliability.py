"""Bad input and faults that the module tests leave open, checked where the user meets them.

Most commands run in-process (`tui.cli.main`, output captured), so a fault can be injected with
a monkeypatch and the exit status and stderr checked exactly: one line, status 2, no traceback.
Groups:

* bad data files through `digits data verify` (and `digits eval`), including an unreadable file
  and a gzip bomb whose inflating is measured, not just refused;
* bad model files through `digits --model` (before the TUI starts), `digits eval` and
  `digits predict`, including an unreadable file and an object array that would run code;
* `digits predict` inputs: wrong 3-D shapes, a colour image, NaN in a stack, an unreadable file;
* `digits train` arguments: refused before any work (the data loader must not be reached), with
  the valid range in the message;
* saves interrupted between write and rename, a full disk, and a process killed mid-save;
* downloads: a redirect to plain HTTP on the same host, and a truncated cached file;
* security: no `np.load` without `allow_pickle=False` and no pickle anywhere in the code, and
  model names that would leave the models folder.

The file-permission cases run as root here, where chmod 000 does not stop a read, so
"unreadable" is simulated by making `open` raise PermissionError for that one path.
"""

from __future__ import annotations

import ast
import errno
import functools
import gzip
import http.server
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist.errors import MnistError
from mnist.files import FILES, TRAIN_LABELS
from mnist.idx import read_idx
from network.errors import ModelError
from network.mlp import MLP
from network.registry import (
    list_models,
    models_dir,
    path_for,
    read_settings,
    rename_model,
    save_new,
    set_active,
    settings_path,
    write_settings,
)
from network.store import FORMAT_VERSION, build_metadata, load_model, read_metadata, save_model
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`digits ARGS` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse errors exit
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(status: int, err: str) -> str:
    """Assert exit status 2 and exactly one line on stderr (no traceback); return the line."""
    lines = err.strip().splitlines()
    assert status == 2, (status, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def tiny_model(seed: int = 0) -> MLP:
    """A small untrained network."""
    return MLP((784, 8, 10), rng=seed)


# -- data files -------------------------------------------------------------------------------


def _gzip_bomb(claimed_images: int, inflated_mb: int) -> bytes:
    """A gzip IDX file whose header claims `claimed_images` images but inflates much further."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = struct.pack(">HBB3I", 0, 8, 3, claimed_images, 28, 28)
    chunks = [compressor.compress(head)]
    block = bytes(1 << 20)
    chunks += [compressor.compress(block) for _ in range(inflated_mb)]
    chunks.append(compressor.flush())
    return b"".join(chunks)


def test_gzip_bomb_is_stopped_before_it_inflates(tmp_path):
    """A 128 KB file inflating to 128 MB: refused while never holding more than a few MB."""
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(_gzip_bomb(10, 128))
    assert path.stat().st_size < 256 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(MnistError, match="gzip bomb"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MB held while refusing the bomb"


_VALID_GZ = gzip.compress(
    struct.pack(">HBB3I", 0, 8, 3, 3, 28, 28) + bytes(range(256)) * 9 + bytes(48), mtime=0)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(2, len(_VALID_GZ) - 1), st.integers(1, 255)),
                      min_size=1, max_size=6),
       cut=st.integers(0, 40))
def test_corrupted_gzip_streams_only_raise_mnist_error(tmp_path, flips, cut):
    """A valid .gz IDX file with random bytes flipped (and maybe cut short): MnistError only.

    Flips land in the gzip header, the DEFLATE data and the CRC/size trailer, so zlib's own
    errors are exercised too (the arbitrary-bytes test in mnist/test_idx.py rarely reaches them).
    """
    data = bytearray(_VALID_GZ)
    for position, mask in flips:
        data[position] ^= mask
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(data[: len(data) - cut]))
    try:
        idx = read_idx(path)
    except MnistError as exc:
        assert "\n" not in str(exc)
    else:
        assert idx.array.shape == (3, 28, 28) and idx.array.dtype == np.uint8


def test_unreadable_data_file(make_unreadable, tmp_path, monkeypatch):
    """Permission denied on an IDX file: MnistError naming the file, with what to do."""
    from mnist.files import load_verified

    path = tmp_path / TRAIN_LABELS.gz_name
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    make_unreadable(path)
    with pytest.raises(MnistError, match="permission denied") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    with pytest.raises(MnistError, match="digits data download"):
        load_verified(path, TRAIN_LABELS)


DAMAGE = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(gzip.compress(_labels_raw()[:-500])),
    "truncated gzip": lambda p: p.write_bytes(gzip.compress(_labels_raw())[:20_000]),
    "wrong magic": lambda p: p.write_bytes(gzip.compress(b"\x00\x00\x07\x01" + _labels_raw()[4:])),
    "claims 10^9 images": lambda p: p.write_bytes(
        gzip.compress(struct.pack(">HBB3I", 0, 8, 3, 10**9, 28, 28) + bytes(784))),
    "trailing garbage": lambda p: p.write_bytes(gzip.compress(_labels_raw() + b"garbage")),
    "garbage after the gzip": lambda p: p.write_bytes(gzip.compress(_labels_raw()) + b"junk"),
    "a directory": lambda p: p.mkdir(),
    "gzip bomb": lambda p: p.write_bytes(_gzip_bomb(10, 32)),
    "wrong checksum": lambda p: p.write_bytes(gzip.compress(_labels_raw()[:-1] + b"\x01")),
}
EXPECTED = {
    "empty": "empty", "truncated": "truncated", "truncated gzip": "truncated",
    "wrong magic": "magic", "claims 10^9 images": "claims", "trailing garbage": "more than",
    "garbage after the gzip": "after the end",
    "a directory": "directory", "gzip bomb": "gzip bomb", "wrong checksum": "checksum",
}


def _labels_raw() -> bytes:
    """The decompressed real training labels (set by the `damaged_dir` fixture)."""
    return _LABELS["raw"]


_LABELS: dict[str, bytes] = {}


@pytest.fixture
def damaged_dir(mnist_dir, tmp_path):
    """A data folder: links to three real files, and a factory that damages the fourth."""
    _LABELS.setdefault("raw", gzip.decompress((mnist_dir / TRAIN_LABELS.gz_name).read_bytes()))
    folder = tmp_path / "data"
    folder.mkdir()
    for spec in FILES:
        if spec is not TRAIN_LABELS:
            (folder / spec.gz_name).symlink_to(mnist_dir / spec.gz_name)

    def damage(kind: str) -> Path:
        victim = folder / TRAIN_LABELS.gz_name
        DAMAGE[kind](victim)
        return victim

    return folder, damage


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_data_file_is_one_line_and_exit_2(kind, damaged_dir, capsys):
    """`digits data verify` on each kind of damage: one stderr line naming file, fault, repair."""
    folder, damage = damaged_dir
    victim = damage(kind)
    status, out, err = run_cli(capsys, "data", "verify", "--data-dir", str(folder))
    line = one_error_line(status, err)
    assert str(victim) in line and EXPECTED[kind] in line, line
    assert "digits data download" in line
    assert out.count("ok  ") == 3 and out.count("FAIL") == 1


def test_unreadable_data_file_through_the_cli(make_unreadable, damaged_dir, monkeypatch, capsys):
    """Permission denied: one line, exit 2, for `digits data verify` and for `digits eval`."""
    folder, damage = damaged_dir
    victim = damage("truncated")
    victim.write_bytes(gzip.compress(_labels_raw()))
    make_unreadable(victim)
    for args in (["data", "verify", "--data-dir", str(folder)],
                 ["eval", "--data-dir", str(folder)]):
        line = one_error_line(*run_cli(capsys, *args)[::2])
        assert str(victim) in line and "permission denied" in line, line


def test_damaged_data_stops_eval_with_the_repair_hint(damaged_dir, capsys):
    """`digits eval` on a truncated file: one line with the file and `digits data download`."""
    folder, damage = damaged_dir
    victim = damage("truncated")
    line = one_error_line(*run_cli(capsys, "eval", "--data-dir", str(folder))[::2])
    assert str(victim) in line and "digits data download" in line


def test_truncated_cached_file_says_how_to_repair_it(mnist_dir, monkeypatch):
    """A cached file cut short later (not only a wrong checksum) names `digits data download`,
    and a download (from a local server) repairs it."""
    from mnist.dataset import load_mnist
    from mnist.download import download
    from mnist.sources import cache_dir

    monkeypatch.delenv("MNIST_DIR", raising=False)
    cache = cache_dir()
    cache.mkdir(parents=True)
    for spec in FILES:
        (cache / spec.gz_name).symlink_to(mnist_dir / spec.gz_name)
    victim = cache / TRAIN_LABELS.gz_name
    data = (mnist_dir / TRAIN_LABELS.gz_name).read_bytes()
    victim.unlink()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(MnistError) as info:
        load_mnist()
    message = str(info.value)
    assert str(victim) in message and "truncated" in message
    assert "digits data download" in message and "\n" not in message
    # What `digits data download` does: keep the good files, fetch the damaged one again.
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mnist_dir))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        download(cache, bases=[f"http://127.0.0.1:{server.server_address[1]}/"])
    finally:
        server.shutdown()
        server.server_close()
    assert load_mnist().origin == "cache"
    assert victim.read_bytes() == data


# -- model files ------------------------------------------------------------------------------


class Evil:
    """Unpickling this would create the marker file: proof that code ran."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _write_with(path: Path, good: Path, change) -> Path:
    """A copy of the model file `good` with its arrays (and metadata dict) changed."""
    arrays = _arrays(good)
    meta = json.loads(arrays.pop("metadata").tobytes())
    change(arrays, meta)
    if meta is not None:
        arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    return path


BAD_MODELS = {
    "empty": ("empty", lambda p, good: p.write_bytes(b"")),
    "not a zip": ("not a model", lambda p, good: p.write_bytes(b"\x89PNG not a zip at all")),
    "object array": ("pickled", lambda p, good: _write_with(
        p, good, lambda a, m: a.update(weights_0=np.array([Evil(), 1], dtype=object)))),
    "missing weights": ("missing weights_1", lambda p, good: _write_with(
        p, good, lambda a, m: a.pop("weights_1"))),
    "mismatched weights": ("expected float32", lambda p, good: _write_with(
        p, good, lambda a, m: a.update(weights_0=a["weights_0"].T.copy()))),
    "NaN weights": ("NaN or infinite", lambda p, good: _write_with(
        p, good, lambda a, m: a["weights_1"].__setitem__((0, 0), np.nan))),
    "infinite weights": ("NaN or infinite", lambda p, good: _write_with(
        p, good, lambda a, m: a["biases_0"].__setitem__(3, -np.inf))),
    "future version": ("newer digits", lambda p, good: _write_with(
        p, good, lambda a, m: m.update(format_version=FORMAT_VERSION + 1))),
}


@pytest.fixture
def good_model(tmp_path) -> Path:
    """A valid model file."""
    path = tmp_path / "good.npz"
    model = tiny_model()
    save_model(path, model, build_metadata(model))
    return path


@pytest.mark.parametrize("kind", list(BAD_MODELS))
def test_bad_model_file_is_one_line_everywhere(kind, good_model, tmp_path, monkeypatch, capsys):
    """Each bad model: one line, exit 2, from the TUI's start, `eval` and `predict`."""
    import tui.app

    def no_tui(self, *args, **kwargs):
        raise AssertionError("the TUI started on a bad model file")

    monkeypatch.setattr(tui.app.DigitsApp, "run", no_tui)
    Evil.marker = tmp_path / "PWNED"
    fragment, make = BAD_MODELS[kind]
    bad = tmp_path / "bad.npz"
    make(bad, good_model)
    image = tmp_path / "one.txt"
    image.write_text(".#.\n.#.\n.#.\n")
    for args in (["--model", str(bad)], ["eval", "--model", str(bad)],
                 ["predict", "--model", str(bad), str(image)]):
        line = one_error_line(*run_cli(capsys, *args)[::2])
        assert str(bad) in line and fragment in line, (args, line)
    assert not Evil.marker.exists()


def test_unreadable_model_file(make_unreadable, good_model, monkeypatch, capsys):
    """Permission denied on a model: said as such (not "not a model"), one line, exit 2."""
    make_unreadable(good_model)
    for reader in (load_model, read_metadata):
        with pytest.raises(ModelError, match="cannot be read .Permission denied") as info:
            reader(good_model)
        assert "\n" not in str(info.value)
    line = one_error_line(*run_cli(capsys, "eval", "--model", str(good_model))[::2])
    assert "Permission denied" in line


def test_unreadable_saved_model_is_listed_with_its_error(make_unreadable, monkeypatch):
    """The models list shows an unreadable file with the reason instead of failing."""
    path = save_new(tiny_model(), build_metadata(tiny_model()), "locked")
    make_unreadable(path)
    entry = next(e for e in list_models() if e.name == "locked")
    assert "Permission denied" in entry.error


def test_future_version_says_to_upgrade(good_model, tmp_path):
    """A model from a newer digits: the message says which format, and to upgrade."""
    path = BAD_MODELS["future version"][1](tmp_path / "new.npz", good_model)
    with pytest.raises(ModelError) as info:
        load_model(path)
    message = str(info.value)
    assert f"model format {FORMAT_VERSION + 1}" in message and "upgrade digits" in message


# -- digits predict inputs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.zeros((2, 0, 28)), "no pixels"),
        (np.zeros((0, 28, 28)), "no pixels"),
        (np.zeros((3, 28, 0), np.uint8), "no pixels"),
        (np.zeros((28, 28, 3), np.uint8), "colour image"),
        (np.zeros((64, 48, 4), np.float32), "colour image"),
        (np.zeros((2, 2, 28, 28)), "3-D"),
        (np.full((2, 28, 28), np.nan), "NaN"),
        (np.stack([np.zeros((28, 28)), np.full((28, 28), np.inf)]), "NaN or infinite"),
    ],
    ids=["2x0x28", "0x28x28", "3x28x0", "rgb", "rgba", "4-D", "nan-stack", "inf-stack"],
)
def test_predict_refuses_wrong_stacks(array, fragment, tmp_path, capsys):
    """3-D stacks of the wrong shape and non-finite stacks: one line, exit 2."""
    path = tmp_path / "stack.npy"
    np.save(path, array)
    line = one_error_line(*run_cli(capsys, "predict", str(path))[::2])
    assert str(path) in line and fragment in line, line


def test_predict_unreadable_image_others_still_done(make_unreadable, tmp_path, monkeypatch, capsys):
    """An unreadable image gets one line; a readable one beside it is still recognized."""
    locked, good = tmp_path / "locked.txt", tmp_path / "good.txt"
    art = "....###.....\n" * 16  # a one
    locked.write_text(art)
    good.write_text(art)
    make_unreadable(locked)
    status, out, err = run_cli(capsys, "predict", str(locked), str(good))
    line = one_error_line(status, err)
    assert str(locked) in line and "Permission denied" in line
    assert out.startswith(f"{good}: ")


# -- digits train arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--epochs", "0"], "epochs must be an integer in 1..10000, got 0"),
        (["--epochs", "-3"], "epochs must be an integer in 1..10000, got -3"),
        (["--lr", "0"], "lr must be a number in (0, 1] for adam, got 0.0"),
        (["--lr", "nan"], "lr must be a number in (0, 1] for adam, got nan"),
        (["--lr", "1e9"], "lr must be a number in (0, 1] for adam, got 1000000000.0"),
        (["--lr", "inf"], "lr must be a number in (0, 1] for adam"),
        (["--lr", "-0.1"], "lr must be a number in (0, 1] for adam"),
        (["--preset", "seed", "--lr", "1e9"], "lr must be a number in (0, 100] for sgd"),
        (["--hidden", "0"], "hidden must be up to 8 layer sizes, each an integer in 1..8192"),
        (["--hidden", "200,0"], "each an integer in 1..8192, got (200, 0)"),
        (["--hidden", "100000"], "each an integer in 1..8192"),
        (["--batch-size", "0"], "batch_size must be an integer in 1..65536"),
        (["--preset", "nope"], "unknown preset 'nope': choose one of seed, fast, best"),
        (["--activation", "swish"], "activation must be one of sigmoid, tanh, relu"),
        (["--epochs", "ten"], "invalid int value: 'ten'"),
        (["--name", "../escape"], "invalid model name '../escape'"),
        (["--out", "/nonexistent-folder/m.npz"], "the folder /nonexistent-folder does not exist"),
        (["--out", "."], "is a folder"),
    ],
)
def test_train_refuses_bad_arguments_before_any_work(args, expected, monkeypatch, capsys):
    """Refused with the valid range, before the data is even looked for."""
    import tui.cli.train

    def no_work(*a, **k):
        raise AssertionError("training work started before the arguments were checked")

    monkeypatch.setattr(tui.cli.train, "load_data_for_cli", no_work)
    line = one_error_line(*run_cli(capsys, "train", *args)[::2])
    assert expected in line, line


def test_train_refuses_an_existing_name_before_any_work(monkeypatch, capsys):
    """A name already taken is refused at once, not after minutes of training."""
    import tui.cli.train

    save_new(tiny_model(), build_metadata(tiny_model()), "taken")
    monkeypatch.setattr(tui.cli.train, "load_data_for_cli",
                        lambda *a: pytest.fail("work started"))
    line = one_error_line(*run_cli(capsys, "train", "--name", "taken")[::2])
    assert "exists already" in line


# -- saves that crash -------------------------------------------------------------------------


def _no_temp_files(folder: Path, *keep: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(keep)


def test_interrupt_between_write_and_rename_keeps_the_old_model(good_model):
    """Ctrl-C after the temp file is written and before the rename: the old file is untouched."""
    before = good_model.read_bytes()

    def interrupted(src, dst):
        assert Path(src).stat().st_size > 0  # the new model was written in full
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            save_model(good_model, tiny_model(seed=5))
    assert good_model.read_bytes() == before
    np.testing.assert_array_equal(load_model(good_model).params, tiny_model().params)
    _no_temp_files(good_model.parent, good_model.name)


class _FullDisk:
    """A file object whose writes stop after a few bytes with ENOSPC (as a full disk does)."""

    def __init__(self, real) -> None:
        self.real = real

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        self.real.write(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self.real, name)


@pytest.mark.parametrize("fault", ["interrupt", "enospc-on-write", "enospc-on-fsync"])
def test_settings_survive_a_crash_during_their_save(fault):
    """The settings file stays the old, readable one whatever happens while it is replaced."""
    save_new(tiny_model(), build_metadata(tiny_model()), "mine")
    set_active("mine")
    before = settings_path().read_bytes()
    expected: type[BaseException] = OSError
    with pytest.MonkeyPatch.context() as patch:
        if fault == "interrupt":  # Ctrl-C between the write and the rename
            def interrupted(src, dst):
                raise KeyboardInterrupt
            patch.setattr(os, "replace", interrupted)
            expected = KeyboardInterrupt
        elif fault == "enospc-on-write":
            real_fdopen = os.fdopen
            patch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k)))
        else:
            def full(fd):
                raise OSError(errno.ENOSPC, "No space left on device")
            patch.setattr(os, "fsync", full)
        with pytest.raises(expected):
            write_settings({"active": "shipped", "other": 1})
    assert settings_path().read_bytes() == before
    assert read_settings() == {"active": "mine"}
    _no_temp_files(settings_path().parent, settings_path().name)


def test_full_disk_during_save_new_keeps_the_models_folder_clean():
    """ENOSPC while a new model is written: ModelError (one line), no file, no temp file."""
    previous = save_new(tiny_model(), build_metadata(tiny_model()), "previous")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", full)
        with pytest.raises(ModelError, match="No space left on device") as info:
            save_new(tiny_model(seed=2), build_metadata(tiny_model(seed=2)), "next")
    assert "\n" not in str(info.value)
    _no_temp_files(models_dir(), previous.name)
    load_model(previous)


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from network.mlp import MLP
    from network.registry import path_for, save_new, set_active, write_settings
    from network.store import build_metadata, save_model

    model = MLP((784, 8, 10), rng=0)
    save_new(model, build_metadata(model), "previous")
    set_active("previous")

    def die(src, dst):  # the power goes out between write and rename
        os._exit(9)

    os.replace = die
    if sys.argv[1] == "model":
        other = MLP((784, 16, 10), rng=1)
        save_model(path_for("previous"), other, build_metadata(other))  # as --out --force does
    else:
        write_settings({"active": "shipped"})
""")


@pytest.mark.parametrize("what", ["model", "settings"])
def test_a_process_killed_mid_save_leaves_the_old_files_readable(what, tmp_path):
    """A real crash (os._exit between write and rename): previous model and settings intact."""
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    result = subprocess.run([sys.executable, str(script), what], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 9, result.stderr
    leftovers = [p for p in (models_dir() if what == "model" else settings_path().parent)
                 .iterdir() if p.name.startswith(".")]
    assert len(leftovers) == 1  # the crash really came after the write
    assert load_model(path_for("previous")).sizes == (784, 8, 10)
    assert read_settings() == {"active": "previous"}
    # the temporary file is not listed
    assert [e.name for e in list_models()] == ["shipped", "shipped-conv", "previous"]


# -- downloads --------------------------------------------------------------------------------


def test_redirects_never_leave_https_or_the_host():
    """A redirect to plain HTTP on the same host, or to another host, is refused."""
    from mnist.download import _SameHostRedirects

    handler = _SameHostRedirects()
    request = urllib.request.Request("https://mirror.example/mnist/a.gz")
    for target, error in (("http://mirror.example/mnist/a.gz", MnistError),
                          ("https://evil.example/a.gz", urllib.error.URLError)):
        with pytest.raises(error):
            handler.redirect_request(request, None, 302, "Found", {}, target)
    same = handler.redirect_request(request, None, 302, "Found", {},
                                    "https://mirror.example/other/a.gz")
    assert same.full_url == "https://mirror.example/other/a.gz"


# -- security ---------------------------------------------------------------------------------


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_no_file_is_ever_unpickled():
    """Every np.load in the code passes allow_pickle=False, and nothing imports pickle."""
    loads = 0
    for package in ("mnist", "network", "tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    assert not any(n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib")
                                   for n in names), f"{path}:{node.lineno} imports pickle"
            for call in _calls(tree):
                func = call.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                keywords = {k.arg: k.value for k in call.keywords}
                if "allow_pickle" in keywords:
                    value = keywords["allow_pickle"]
                    assert isinstance(value, ast.Constant) and value.value is False, \
                        f"{path}:{call.lineno} allow_pickle is not False"
                if name == "load" and isinstance(func, ast.Attribute) and \
                        getattr(func.value, "id", "") in ("np", "numpy"):
                    loads += 1
                    assert "allow_pickle" in keywords, f"{path}:{call.lineno} np.load defaults"
                if name == "read_array":  # np.lib.format.read_array, which np.load calls
                    loads += 1
                    assert "allow_pickle" in keywords, f"{path}:{call.lineno} read_array"
    # The .npy image reader reads through read_array; the model reader reads each member's
    # header itself, refuses object dtypes before reading, and builds arrays with frombuffer.
    assert loads >= 1


@pytest.mark.parametrize("bad", ["../outside", "<absolute>", "a/../../b", "nul\x00byte",
                                 "..", "./.hidden", "C:\\evil", "x" * 65])
def test_model_names_cannot_leave_the_models_folder(bad, tmp_path):
    """Saving or renaming to such a name is refused, and nothing is written anywhere."""
    bad = bad.replace("<absolute>", str(tmp_path / "absolute"))
    model = tiny_model()
    save_new(model, build_metadata(model), "inside")
    user_dirs = Path(os.environ["XDG_DATA_HOME"]).parent
    before = set(user_dirs.rglob("*")) | set(tmp_path.rglob("*"))
    with pytest.raises(ModelError):
        save_new(model, build_metadata(model), bad)
    with pytest.raises(ModelError):
        rename_model("inside", bad)
    with pytest.raises(ModelError):
        path_for(bad)
    assert set(user_dirs.rglob("*")) | set(tmp_path.rglob("*")) == before
    assert sorted(p.name for p in models_dir().iterdir()) == ["inside.npz"]
