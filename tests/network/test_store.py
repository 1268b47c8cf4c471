"""Model files: exact round trip, atomic saves, and a clear ModelError for every bad file."""

from __future__ import annotations

import errno
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import network.store as store
from network.config import TrainConfig
from network.errors import ModelError
from network.evaluate import evaluate
from network.mlp import MLP
from network.store import (
    FORMAT_VERSION,
    build_metadata,
    load_model,
    read_metadata,
    save_model,
    shipped_model_path,
)
from network.train import train


def model(**kw) -> MLP:
    net = MLP((784, 24, 10), rng=3, **kw)
    if net.use_biases:
        net.params[net.n_weights :] = np.linspace(-1, 1, net.params.size - net.n_weights)
    return net


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def write_npz(path: Path, arrays: dict, meta: dict | None = None) -> Path:
    if meta is not None:
        arrays = {**arrays, "metadata": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
    np.savez(path, **arrays)
    return path


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "m.npz"
    save_model(path, model(), {"preset": "custom", "note": "hello"})
    return path


# -- round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"biases": False, "activation": "sigmoid",
                                     "output": "sigmoid", "input_scaling": "original"}])
def test_round_trip_is_exact(tmp_path, kw):
    net = model(**kw)
    path = tmp_path / "net.npz"
    save_model(path, net, {"preset": "seed", "test_accuracy": 0.97, "confusion": np.eye(10)})
    back = load_model(path)
    np.testing.assert_array_equal(back.params, net.params)
    assert back.params.dtype == np.float32
    assert back.architecture() == net.architecture()
    assert back.metadata["preset"] == "seed" and back.metadata["test_accuracy"] == 0.97
    assert back.metadata["format_version"] == FORMAT_VERSION
    assert back.metadata["confusion"][3][3] == 1.0
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.uint8)
    np.testing.assert_array_equal(back.predict_proba(images), net.predict_proba(images))
    assert read_metadata(path) == back.metadata
    assert not [p for p in tmp_path.iterdir() if p.name != "net.npz"]  # no temp files left


def test_saved_file_has_a_normal_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "mode.npz"
    save_model(path, model())
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    save_model(path, model())  # replacing keeps the old file's mode
    assert path.stat().st_mode & 0o777 == 0o640


def test_build_metadata_records_the_run(tmp_path, blobs):
    images, labels = blobs
    cfg = TrainConfig(hidden=(16,), epochs=1, batch_size=100, seed=5)
    result = train(cfg, images, labels, images, labels)
    ev = evaluate(result.model, images, labels)
    meta = build_metadata(result.model, cfg, result=result, evaluation=ev,
                          dataset_checksums={"train-images-idx3-ubyte": "ab" * 32},
                          command=["digits", "train", "--preset", "custom"])
    for key in ("architecture", "preset", "config", "seed", "epochs", "test_accuracy",
                "confusion", "dataset", "versions", "created", "command", "history"):
        assert key in meta
    assert meta["seed"] == 5 and meta["epochs"] == 1 and meta["command"].startswith("digits")
    assert meta["test_accuracy"] == ev.accuracy
    assert set(meta["versions"]) >= {"python", "numpy", "scipy"}
    assert meta["created"][:4].isdigit() and "T" in meta["created"]
    save_model(tmp_path / "run.npz", result.model, meta)
    back = load_model(tmp_path / "run.npz")
    assert TrainConfig.from_dict(back.metadata["config"]) == cfg
    assert back.metadata["dataset"]["checksums"]["train-images-idx3-ubyte"] == "ab" * 32


def test_shipped_model_path():
    path = shipped_model_path()
    assert path.name == "best.npz" and path.parent.name == "shipped"
    assert path.parent.parent.name == "network"


# -- saving refuses and saving atomically --------------------------------------------------


def test_refuses_nan_weights(tmp_path):
    net = model()
    net.params[5] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        save_model(tmp_path / "nan.npz", net)
    assert not list(tmp_path.iterdir())


def test_refuses_non_json_metadata(tmp_path):
    with pytest.raises(ModelError, match="JSON"):
        save_model(tmp_path / "x.npz", model(), {"bad": object()})
    with pytest.raises(ModelError, match="JSON"):
        save_model(tmp_path / "x.npz", model(), {"bad": float("nan")})
    assert not list(tmp_path.iterdir())


def test_failed_replace_leaves_the_old_file(saved, monkeypatch):
    old = saved.read_bytes()

    def broken_replace(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ModelError, match="cannot save"):
        save_model(saved, model(activation="tanh"))
    assert saved.read_bytes() == old
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     KeyboardInterrupt()])
def test_interrupted_write_leaves_the_old_file(saved, monkeypatch, failure):
    old = saved.read_bytes()
    real_savez = np.savez

    def failing_savez(file, **arrays):
        real_savez(io.BytesIO(), **arrays)
        file.write(b"PK\x03\x04 half a zip")  # some bytes hit the temp file first
        raise failure

    monkeypatch.setattr(np, "savez", failing_savez)
    expected = ModelError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        save_model(saved, model(activation="tanh"))
    if expected is ModelError:
        assert "No space left" in str(info.value) and "\n" not in str(info.value)
    assert saved.read_bytes() == old
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_missing_directory(tmp_path):
    with pytest.raises(ModelError, match="cannot save"):
        save_model(tmp_path / "nope" / "m.npz", model())


# -- every kind of bad file ----------------------------------------------------------------


def assert_rejected(path: Path, match: str, weights: bool = False) -> None:
    """Both readers raise a one-line ModelError (only load_model when the weights are bad)."""
    for reader in (load_model,) if weights else (load_model, read_metadata):
        with pytest.raises(ModelError, match=match) as info:
            reader(path)
        assert "\n" not in str(info.value)


def test_missing_and_not_a_file(tmp_path):
    assert_rejected(tmp_path / "absent.npz", "does not exist")
    assert_rejected(tmp_path, "not a file")


def test_empty_file(tmp_path):
    (tmp_path / "e.npz").write_bytes(b"")
    assert_rejected(tmp_path / "e.npz", "empty")


@pytest.mark.parametrize("content", [b"hello, not a zip", b"\x93NUMPY" + b"\0" * 100,
                                     b"\x80\x04\x95" + b"pickle-ish" * 10])
def test_not_a_zip(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    assert_rejected(tmp_path / "x.npz", "not a model")


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2] + data[-200:])  # keeps a zip tail, loses content
    with pytest.raises(ModelError):
        load_model(saved)


def test_corrupted_member(saved):
    data = bytearray(saved.read_bytes())
    data[200:260] = b"\xff" * 60  # inside the first member
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        load_model(saved)


class Evil:
    """Unpickling this would create a marker file: proof that code ran."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("where", ["weights_0", "metadata"])
def test_object_array_is_never_unpickled(tmp_path, saved, where):
    Evil.marker = tmp_path / "PWNED"
    arrays = arrays_of(saved)
    arrays[where] = np.array([Evil(), 1], dtype=object)
    bad = tmp_path / "evil.npz"
    np.savez(bad, **arrays)  # saving object arrays pickles them
    with zipfile.ZipFile(bad) as z:
        assert any(b"PWNED" in z.read(name) for name in z.namelist())
    for reader in (load_model, read_metadata):
        if reader is read_metadata and where != "metadata":
            continue
        with pytest.raises(ModelError, match="pickled"):
            reader(bad)
    assert not Evil.marker.exists()


def test_missing_weights(tmp_path, saved):
    arrays = arrays_of(saved)
    del arrays["weights_1"]
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "missing weights_1", weights=True)


def test_mismatched_shape(tmp_path, saved):
    arrays = arrays_of(saved)
    arrays["weights_0"] = arrays["weights_0"].T.copy()
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "shape|expected", weights=True)


def test_wrong_dtype(tmp_path, saved):
    arrays = arrays_of(saved)
    arrays["biases_0"] = arrays["biases_0"].astype(np.int32)
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "expected float32", weights=True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, saved, bad):
    arrays = arrays_of(saved)
    arrays["weights_1"][2, 3] = bad
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "NaN or infinite", weights=True)


def test_extra_array(tmp_path, saved):
    arrays = arrays_of(saved)
    arrays["weights_7"] = np.zeros(3, np.float32)
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "unexpected", weights=True)


def test_future_format_version(tmp_path, saved):
    arrays = arrays_of(saved)
    meta = json.loads(arrays.pop("metadata").tobytes())
    meta["format_version"] = FORMAT_VERSION + 1
    assert_rejected(write_npz(tmp_path / "b.npz", arrays, meta), "newer")


@pytest.mark.parametrize("change,match", [
    ({"format": "keras"}, "not a digits model"),
    ({"format_version": "one"}, "format version"),
    ({"architecture": {"sizes": [784, 0, 10]}}, "architecture"),
    ({"architecture": {"sizes": [784, 10**7, 10]}}, "architecture"),
    ({"architecture": "784-24-10"}, "architecture"),
    ({"architecture": {"sizes": [100, 24, 3], "activation": "relu", "output": "softmax",
                       "biases": True, "input_scaling": "unit"}}, "784 and 10"),
    ({"architecture": {"sizes": [784, 24, 10], "activation": "swish", "output": "softmax",
                       "biases": True, "input_scaling": "unit"}}, "activation"),
])
def test_damaged_or_foreign_metadata(tmp_path, saved, change, match):
    arrays = arrays_of(saved)
    meta = json.loads(arrays.pop("metadata").tobytes())
    meta.update(change)
    path = write_npz(tmp_path / "b.npz", arrays, meta)
    with pytest.raises(ModelError, match=match):
        load_model(path)


def test_no_metadata_or_not_json(tmp_path, saved):
    arrays = arrays_of(saved)
    arrays.pop("metadata")
    assert_rejected(write_npz(tmp_path / "a.npz", arrays), "no metadata")
    arrays["metadata"] = np.frombuffer(b"{not json", np.uint8)
    assert_rejected(write_npz(tmp_path / "b.npz", arrays), "not JSON")
    arrays["metadata"] = np.zeros((2, 2), np.float32)
    assert_rejected(write_npz(tmp_path / "c.npz", arrays), "damaged metadata")
    arrays["metadata"] = np.frombuffer(b"[" * 200_000 + b"]" * 200_000, np.uint8)
    assert_rejected(write_npz(tmp_path / "d.npz", arrays), "not JSON")


def test_zip_bomb_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.npy", b"\0" * (8 * 1024 * 1024))  # 8 MB of zeros, ~8 kB stored
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 1024 * 1024)
    assert_rejected(path, "too large")

