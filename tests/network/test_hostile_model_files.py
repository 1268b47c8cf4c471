"""A model file never takes the app down: sizes refused from the headers, outputs that cannot
overflow, strict JSON everywhere, a fallback when the active model is bad, a non-zero exit.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from network.errors import ModelError
from network.mlp import MLP
from network.registry import path_for, save_new, settings_path
from network.store import (
    MAX_LAYERS,
    MAX_MEMBERS,
    MAX_PARAMS,
    MAX_WIDTH,
    build_metadata,
    load_model,
    read_metadata,
    shipped_model_path,
)

ROOT = Path(__file__).resolve().parents[2]


def strict_loads(text: str):
    """json.loads that fails on NaN, Infinity and -Infinity, as a strict JSON parser would."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A version 1.0 .npy header declaring `shape` (no data follows)."""
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def metadata_member(sizes: list[int], **extra) -> bytes:
    meta = {"format": "digits-model", "format_version": 1,
            "architecture": {"sizes": sizes, "activation": "relu", "output": "softmax",
                             "biases": True, "init": "he", "input_scaling": "unit"}, **extra}
    return npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))


def refused_cheaply(path: Path, match: str) -> None:
    """load_model refuses `path` with one line, and holds under 32 MB while doing so."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=match) as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    assert peak < 32 * 2**20, f"{peak / 2**20:.0f} MB allocated before refusing"


# -- declared sizes are refused before anything is allocated -----------------------------------


def test_weights_header_declaring_10_to_the_12_elements(tmp_path):
    path = zip_of(tmp_path / "huge.npz", {
        "metadata.npy": metadata_member([784, 16, 10]),
        "weights_0.npy": npy_header((1_000_000, 1_000_000)),
        "weights_1.npy": npy_header((16, 10)), "biases_0.npy": npy_header((16,)),
        "biases_1.npy": npy_header((10,))})
    refused_cheaply(path, r"weights_0 is float32 \(1000000, 1000000\), expected float32")


def test_metadata_header_declaring_a_terabyte(tmp_path):
    path = zip_of(tmp_path / "meta.npz", {"metadata.npy": npy_header((10**12,), "|u1")})
    refused_cheaply(path, "damaged metadata")


@pytest.mark.parametrize("sizes, match", [
    ([784] + [8192] * 50 + [10], f"{52} layer sizes \\(the limit is {MAX_LAYERS}\\)"),
    ([784, 8192, 8192, 8192, 10], "parameters"),  # 8 layers' worth of memory in 3
    ([784, 100_000, 10], f"the limit is {MAX_WIDTH:,}"),
])
def test_architecture_needing_too_much_memory(sizes, match, tmp_path):
    """A 5 MB file may declare 50 layers of 8,192 units: refused from the metadata."""
    path = zip_of(tmp_path / "arch.npz", {"metadata.npy": metadata_member(sizes)})
    refused_cheaply(path, match)


def test_the_limits_leave_room_for_every_preset_and_the_largest_trainable_layers():
    from network.store import architecture_problem

    assert architecture_problem([784, 800, 800, 10]) == ""
    assert architecture_problem([784, 4096, 4096, 4096, 10]) == ""  # 41 M parameters
    assert MAX_PARAMS == 64 * 2**20


# -- outputs that could overflow ---------------------------------------------------------------


def _with(tmp_path: Path, name: str, **arrays: np.ndarray) -> Path:
    """The shipped model's arrays, some replaced, written as a new file."""
    with np.load(shipped_model_path(), allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    members.update(arrays)
    path = tmp_path / name
    np.savez(path, **members)
    return path


def test_float64_weights_beyond_float32(tmp_path):
    w = load_model(shipped_model_path()).weights[0].astype(np.float64)
    w[0, 0] = 1e300  # finite in the file, inf as float32
    path = _with(tmp_path, "f64.npz", weights_0=w)
    with pytest.raises(ModelError, match="NaN or infinite weights"):
        load_model(path)


@pytest.mark.parametrize("array, value", [("weights_0", 1e30), ("biases_1", 3e38),
                                          ("weights_2", 1e36)])
def test_weights_that_would_make_the_logits_overflow(array, value, tmp_path):
    original = load_model(shipped_model_path()).named_arrays()[array].copy()
    original.flat[0] = value  # finite in float32
    path = _with(tmp_path, f"{array}.npz", **{array: original})
    with pytest.raises(ModelError, match="outputs could overflow"):
        load_model(path)


def test_no_nan_reaches_predict_or_eval_json(tmp_path, mnist_dir):
    """The largest weights a model may have still give finite probabilities on any image."""
    model = load_model(shipped_model_path())
    worst = np.full((3, 784), 255.0, np.float32)
    worst[1] = 0
    assert np.isfinite(model.predict_proba(worst)).all()


# -- strict JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_metadata_that_is_not_strict_json_is_damaged(value, tmp_path):
    model = MLP((784, 8, 10), rng=0)
    arrays = {k: v for k, v in model.named_arrays().items()}
    meta = json.dumps(build_metadata(model)).replace('"test_accuracy": null',
                                                      f'"test_accuracy": {value}')
    arrays["metadata"] = np.frombuffer(meta.encode(), np.uint8)
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    for reader in (load_model, read_metadata):
        with pytest.raises(ModelError, match="damaged metadata"):
            reader(path)


def empty_members_zip(path: Path, names: list[bytes]) -> Path:
    """A zip of empty stored members with these names (written by hand: fast for many)."""
    local, central = bytearray(), bytearray()
    for name in names:
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0,
                               len(name), 0, 0, 0, 0, 0, len(local)) + name
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name),
                             0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(names), len(names), len(central),
                      len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


@pytest.mark.parametrize("names", [
    [b"m%05d.npy" % i for i in range(MAX_MEMBERS + 1)],
    [b"%05d" % i + b"x" * 20_000 for i in range(4)],
], ids=["members", "directory bytes"])
def test_a_zip_directory_no_model_has_is_refused_before_it_is_parsed(names, tmp_path,
                                                                    monkeypatch):
    """3 million empty members (270 MB, under the size limit) took 48 s and 1.5 GB before the
    error; the end record's counts are checked before zipfile parses the directory."""
    path = empty_members_zip(tmp_path / "many.npz", names)

    def never(*args, **kwargs):
        raise AssertionError("zipfile parsed the directory")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    for reader in (load_model, read_metadata):
        with pytest.raises(ModelError, match="is not a digits model .its zip declares"):
            reader(path)


LONG = "A" * 100_000


@pytest.mark.parametrize("change", [
    {"format": LONG},
    {"format_version": LONG},
    {"architecture": {"sizes": [784, LONG, 10], "activation": "relu"}},
    {"architecture": {"sizes": [784, 8, 10], "activation": LONG}},
    {"architecture": {"sizes": [784, 8, 10], "activation": "relu", LONG: 1}},
    {"architecture": {"sizes": [784, 8, 10], "activation": "relu", "init": LONG}},
], ids=["format", "format_version", "sizes", "activation", "key", "init"])
def test_metadata_quoted_in_an_error_is_shortened(change, tmp_path):
    """An error quoting a 100,000-character metadata value stays a readable line."""
    model = MLP((784, 8, 10), rng=0)
    arrays = dict(model.named_arrays())
    meta = {**build_metadata(model), **change}
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelError) as caught:
        load_model(path)
    message = str(caught.value).replace(str(path), "")
    assert len(message) < 300 and "AAAA" in message


@pytest.mark.parametrize("claimed", [float("nan"), float("inf"), "97%", True, None, 10**400,
                                     1e308, -5, 1.5],
                         ids=["nan", "inf", "text", "true", "none", "10**400", "1e308", "-5",
                              "1.5"])
def test_eval_json_claimed_accuracy_is_a_number_or_null(claimed):
    from tui.cli.evaluate import report

    class Evaluation:
        confusion = np.eye(10, dtype=np.int64) * 1000
        accuracy, n, misclassified = 1.0, 10_000, np.array([], np.int64)
        precision = recall = f1 = np.ones(10)

    model = MLP((784, 8, 10), rng=0)
    model.metadata = {"test_accuracy": claimed}
    data = report("m.npz", model, Evaluation())
    strict_loads(json.dumps(data, allow_nan=False))
    assert data["claimed_accuracy"] is None


def test_eval_and_predict_json_are_strict(tmp_path, mnist_dir):
    from mnist.imagefile import write_text_art

    art = tmp_path / "one.txt"
    image = np.zeros((28, 28))
    image[4:24, 13:15] = 255
    art.write_text(write_text_art(image))
    env = {**os.environ, "MNIST_DIR": str(mnist_dir)}
    for args in (["eval", "--json"], ["predict", "--json", str(art)]):
        result = subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                                text=True, env=env, timeout=300, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            strict_loads(line)


# -- a bad active model: one line, the shipped model instead -----------------------------------


def _damage_active(kind: str) -> str:
    model = MLP((784, 8, 10), rng=0)
    path = save_new(model, build_metadata(model), "mine")
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:500])
    elif kind == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif kind == "huge":
        zip_of(path, {"metadata.npy": metadata_member([784] + [8192] * 50 + [10])})
    settings_path().write_text(json.dumps({"active": "mine"}))
    return str(path_for("mine"))


@pytest.mark.parametrize("kind", ["truncated", "fifo", "huge"])
@pytest.mark.parametrize("command", ["predict", "eval"])
def test_a_bad_active_model_falls_back_to_the_shipped_one(kind, command, tmp_path, mnist_dir):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    _damage_active(kind)
    args = ["predict", str(tmp_path / "none.txt")] if command == "predict" else ["eval"]
    env = {**os.environ, "MNIST_DIR": str(mnist_dir)}
    result = subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                            text=True, env=env, timeout=300, cwd=ROOT)
    notice = result.stderr.splitlines()[0]
    assert notice.startswith("digits: The active model 'mine' could not be loaded (")
    assert notice.endswith(f"; using the shipped model ({shipped_model_path()})")
    assert "Traceback" not in result.stderr
    if command == "eval":
        # the shipped model's own claim (its count may move by the one float32-close digit)
        assert result.returncode == 0 and "(its metadata says 99.43%)" in result.stdout


def test_the_app_falls_back_too(tmp_path):
    from network.registry import startup_model

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    _damage_active("huge")
    model, path, notice = startup_model()
    assert path == shipped_model_path() and "could not be loaded" in notice


# -- the app's exit status -----------------------------------------------------------------------

CRASH = textwrap.dedent("""
    import sys
    from textual.app import App
    from tui.app import DigitsApp
    from tui.cli import main

    real_run = App.run
    App.run = lambda self, **kw: real_run(self, headless=True, **kw)
    def boom(self):
        raise RuntimeError("a bug")
    DigitsApp.on_mount = boom
    sys.exit(main([]))
""")


def test_the_app_exits_non_zero_after_an_unhandled_exception(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "a bug" in result.stdout + result.stderr


# -- layer stacks (conv networks) ----------------------------------------------------------------


def conv_metadata_member(layers: list, **extra) -> bytes:
    meta = {"format": "digits-model", "format_version": 1,
            "architecture": {"kind": "convnet", "input_shape": [28, 28, 1], "layers": layers,
                             "output": "softmax", "init": "he", "input_scaling": "unit"},
            **extra}
    return npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))


SMALL_CONV = [{"type": "conv", "filters": 4, "kernel": 5}, {"type": "pool"}, {"type": "relu"},
              {"type": "flatten"}, {"type": "dense", "units": 10}]


@pytest.mark.parametrize("layers, match", [
    ([{"type": "conv", "filters": 1024, "kernel": 9}] * 3 + [{"type": "flatten"},
                                                              {"type": "dense", "units": 10}],
     "parameters"),
    ([{"type": "relu"}] * 40, "1..32 layers"),
    ([{"type": "conv", "filters": 8, "kernel": 5}, {"type": "pool"}] * 3, "does not fit"),
    ([{"type": "lstm"}], "unknown layer type"),
    ([{"type": "conv", "filters": 4, "kernel": 5, "stride": 2}], "unknown keys"),
    ([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "flatten"},
      {"type": "dense", "units": 7}], "7 outputs, not 10"),
])
def test_conv_architecture_refused_from_the_metadata(layers, match, tmp_path):
    path = zip_of(tmp_path / "conv.npz", {"metadata.npy": conv_metadata_member(layers)})
    refused_cheaply(path, match)


def test_conv_weights_header_of_the_wrong_shape(tmp_path):
    path = zip_of(tmp_path / "conv.npz", {
        "metadata.npy": conv_metadata_member(SMALL_CONV),
        "weights_0.npy": npy_header((5, 5, 1, 10**9)), "weights_1.npy": npy_header((576, 10)),
        "biases_0.npy": npy_header((4,)), "biases_1.npy": npy_header((10,))})
    refused_cheaply(path, r"weights_0 is float32 \(5, 5, 1, 1000000000\), expected float32 "
                          r"\(5, 5, 1, 4\)")


@pytest.mark.parametrize("array, value", [("weights_0", 1e30), ("biases_0", 3e38),
                                          ("weights_1", 1e36)])
def test_conv_weights_that_would_make_the_logits_overflow(array, value, tmp_path):
    from network.convnet import ConvNet
    from network.store import save_model

    net = ConvNet(SMALL_CONV, rng=0)
    good = tmp_path / "good.npz"
    save_model(good, net, {})
    assert load_model(good).architecture() == net.architecture()
    net.named_arrays()[array].flat[0] = value
    save_model(tmp_path / "bad.npz", net, {})
    with pytest.raises(ModelError, match="outputs could overflow"):
        load_model(tmp_path / "bad.npz")
