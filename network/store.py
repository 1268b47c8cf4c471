"""Model files: an .npz of float32 weights plus JSON metadata, saved atomically, loaded warily.

A model file is a NumPy .npz (a zip of .npy arrays) holding

    weights_<l>   (n_in, n_out) float32, one per layer
    biases_<l>    (n_out,) float32, one per layer when the network has biases
    metadata      (M,) uint8: UTF-8 JSON -- format name and version, architecture, preset and
                  full training config, seed, epochs, test accuracy, confusion matrix, dataset
                  checksums, library versions, date, the command that made it

Saving writes a temporary file in the target's directory, fsyncs it and renames it over the
target (`os.replace`), so a crash, a full disk or Ctrl-C leaves either the old file or the new
one, never a torn one; the temporary file is removed on any failure. Saving refuses weights
that are NaN or infinite.

Loading never unpickles (`allow_pickle=False`), and checks everything before building the
model: a zip at all, our format, a version it can read, a sane architecture, exactly the
expected arrays with the expected shapes, finite values. Every failure is one `ModelError` line.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
import zipfile
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from network.errors import ModelError
from network.mlp import MLP

__all__ = ["FORMAT", "FORMAT_VERSION", "save_model", "load_model", "read_metadata",
           "build_metadata", "shipped_model_path", "load_shipped_model"]

FORMAT = "digits-model"
FORMAT_VERSION = 1
_METADATA = "metadata"
_MAX_WIDTH = 8192  # no layer of a model we wrote is wider; bounds memory for a hostile file
_MAX_METADATA = 16 * 1024 * 1024
_MAX_TOTAL = 1024 * 1024 * 1024  # a 784-8192-...-10 float32 model stays far below


def _json_default(value: Any) -> Any:
    """JSON encoder fallback for NumPy scalars and arrays and paths."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def save_model(path: str | os.PathLike[str], model: MLP, metadata: dict[str, Any] | None = None
               ) -> None:
    """Write `model` and `metadata` (default: model.metadata) to `path`, atomically.

    The format name, version and the model's architecture are always written into the
    metadata, overriding any given. Raises ModelError for non-finite weights, metadata that is
    not JSON-serializable, or an OS error (missing directory, permission, full disk).
    """
    path = Path(path)
    if not np.isfinite(model.params).all():
        raise ModelError("refusing to save a model with NaN or infinite weights")
    meta = dict(model.metadata if metadata is None else metadata)
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, architecture=model.architecture())
    try:
        blob = json.dumps(meta, default=_json_default, allow_nan=False, sort_keys=True).encode()
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model metadata is not valid JSON: {exc}") from None
    arrays = {name: np.ascontiguousarray(a, dtype=np.float32)
              for name, a in model.named_arrays().items()}
    arrays[_METADATA] = np.frombuffer(blob, dtype=np.uint8)

    directory = path.parent if str(path.parent) else Path(".")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; give it a normal file's mode
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(directory)
    except OSError as exc:
        raise ModelError(f"cannot save model to {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:  # any failure, KeyboardInterrupt included: no litter
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _file_mode(path: Path) -> int:
    """The permission bits for a file written at `path`: the old file's, else 0o666 & ~umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        pass
    try:  # Linux exposes the umask without having to change it (os.umask is not thread-safe)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable, where the platform allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_metadata(npz: Any, where: str) -> dict[str, Any]:
    """The decoded metadata dict of an open npz; ModelError if absent, foreign or too new."""
    if _METADATA not in npz.files:
        raise ModelError(f"{where} is not a digits model (no metadata)")
    raw = npz[_METADATA]
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_METADATA:
        raise ModelError(f"{where} has damaged metadata")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelError(f"{where} has damaged metadata (not JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{where} is not a digits model (format {meta.get('format')!r})"
                         if isinstance(meta, dict) else f"{where} has damaged metadata")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"{where} has damaged metadata (format version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelError(f"{where} was written by a newer digits (model format {version}; this "
                         f"version reads up to {FORMAT_VERSION}): upgrade digits to load it")
    return meta


def _build(meta: dict[str, Any], where: str) -> MLP:
    """An MLP shaped as meta['architecture'] says; ModelError if it is not a digits network."""
    arch = meta.get("architecture")
    sizes = arch.get("sizes") if isinstance(arch, dict) else None
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(
        isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= _MAX_WIDTH for n in sizes
    ):
        raise ModelError(f"{where} has a damaged architecture ({sizes!r})")
    if sizes[0] != 784 or sizes[-1] != 10:
        raise ModelError(f"{where} is not a digit model: it has {sizes[0]} inputs and "
                         f"{sizes[-1]} outputs, not 784 and 10")
    try:
        return MLP.from_architecture(arch, rng=0)
    except ModelError as exc:
        raise ModelError(f"{where} has a damaged architecture: {exc}") from None


def _check_file(path: Path) -> str:
    """ModelError unless `path` is a non-empty zip file; returns the name used in messages."""
    where = f"model file {path}"
    if not path.exists():
        raise ModelError(f"{where} does not exist")
    if not path.is_file():
        raise ModelError(f"{where} is not a file")
    if path.stat().st_size == 0:
        raise ModelError(f"{where} is empty")
    try:  # zipfile.is_zipfile says False for a file it cannot open: tell that case apart
        with open(path, "rb") as f:
            f.read(4)
    except OSError as exc:
        raise ModelError(f"{where} cannot be read ({exc.strerror or exc})") from None
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{where} is not a model (.npz) file")
    try:  # refuse members that would inflate to absurd sizes before NumPy reads any
        with zipfile.ZipFile(path) as archive:
            sizes = [info.file_size for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelError(f"{where} is damaged ({type(exc).__name__}: {exc})") from None
    if sum(sizes) > _MAX_TOTAL:
        raise ModelError(f"{where} is too large to be a digits model")
    return where


def _load_error(exc: Exception, where: str) -> ModelError:
    """The one-line ModelError for a low-level failure while reading an npz."""
    if isinstance(exc, ValueError) and ("allow_pickle" in str(exc) or "Object arrays" in str(exc)):
        return ModelError(f"{where} holds pickled objects; refusing to load it")
    return ModelError(f"{where} is damaged ({type(exc).__name__}: {exc})")


_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict of a model file, without loading the weights (for model lists).

    Raises ModelError for a missing, empty, non-zip, foreign, newer or damaged file (the
    weights are not checked: use `load_model` for that).
    """
    path = Path(path)
    where = _check_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return _read_metadata(npz, where)
    except ModelError:
        raise
    except _READ_ERRORS as exc:
        raise _load_error(exc, where) from None


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Load a model file written by `save_model`; its metadata dict is on `model.metadata`.

    Raises:
        ModelError: with a one-line reason for a missing, empty, non-zip, foreign, newer,
            damaged, pickled, mis-shaped or non-finite file.
    """
    path = Path(path)
    where = _check_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = _read_metadata(npz, where)
            model = _build(meta, where)
            expected = model.named_arrays()
            present = set(npz.files) - {_METADATA}
            missing = sorted(set(expected) - present)
            extra = sorted(present - set(expected))
            if missing:
                raise ModelError(f"{where} is missing {', '.join(missing)}")
            if extra:
                raise ModelError(f"{where} has unexpected arrays: {', '.join(extra)}")
            for name, target in expected.items():
                arr = npz[name]
                if arr.dtype.kind != "f" or arr.shape != target.shape:
                    raise ModelError(f"{where}: {name} is {arr.dtype} {arr.shape}, expected "
                                     f"float32 {target.shape}")
                if not np.isfinite(arr).all():
                    raise ModelError(f"{where}: {name} contains NaN or infinite weights")
                target[...] = arr
    except ModelError:
        raise
    except _READ_ERRORS as exc:  # a ValueError for an object array: never unpickled
        raise _load_error(exc, where) from None
    model.metadata = meta
    return model


def _package_version() -> str:
    """The installed digits version, or 'unknown' when running from a bare checkout."""
    try:
        return _importlib_metadata.version("digits-tui")
    except _importlib_metadata.PackageNotFoundError:
        return "unknown"


def build_metadata(
    model: MLP,
    config: Any = None,
    *,
    result: Any = None,
    evaluation: Any = None,
    dataset_checksums: dict[str, str] | None = None,
    command: str | list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata dict to save with a model.

    Args:
        model: the trained MLP (its architecture is recorded).
        config: the `TrainConfig` it was trained with, if any.
        result: the `TrainResult`, for epochs, history, training time, test accuracy.
        evaluation: an `Evaluation` on the test set (accuracy and confusion matrix); wins over
            the result's test accuracy.
        dataset_checksums: file name -> SHA-256 of the data it was trained on.
        command: the command line that made it (a string, or argv joined with spaces).
        extra: any further JSON-ready keys.

    Returns:
        A JSON-ready dict (see the module docstring for the keys).
    """
    history = [h.to_dict() for h in getattr(result, "history", [])]
    accuracy = evaluation.accuracy if evaluation is not None else getattr(
        result, "test_accuracy", None)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture(),
        "preset": getattr(config, "preset", None),
        "config": config.to_dict() if config is not None else None,
        "seed": getattr(config, "seed", None),
        "epochs": len(history) if result is not None else getattr(config, "epochs", None),
        "test_accuracy": accuracy,
        "confusion": evaluation.confusion.tolist() if evaluation is not None else None,
        "history": history,
        "training_seconds": getattr(result, "seconds", None),
        "dataset": {"name": "MNIST", "checksums": dict(dataset_checksums or {})},
        "versions": {
            "digits": _package_version(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(command) if isinstance(command, (list, tuple)) else command,
    }
    meta.update(extra)
    return meta


def shipped_model_path() -> Path:
    """Where the trained model shipped with the package lives: network/shipped/best.npz."""
    return Path(__file__).resolve().parent / "shipped" / "best.npz"


def load_shipped_model() -> MLP:
    """The shipped model; ModelError (with what to do) when it is missing or damaged."""
    path = shipped_model_path()
    if not path.exists():
        raise ModelError(f"no shipped model at {path}: train one with `digits train`")
    return load_model(path)
