"""Model files: an .npz of float32 weights plus JSON metadata, saved atomically, loaded warily.

A model file is a NumPy .npz (a zip of .npy arrays) holding

    weights_<l>   (n_in, n_out) float32, one per layer; for a layer stack (`ConvNet`), one per
                  layer with parameters: (k, k, C, F) for a convolution, (D, F) for a dense one
    biases_<l>    (n_out,) float32, one per layer when the network has biases
    metadata      (M,) uint8: UTF-8 JSON -- format name and version, architecture, preset and
                  full training config, seed, epochs, test accuracy, confusion matrix, dataset
                  checksums, library versions, date, the command that made it

Saving writes a temporary file in the target's directory, fsyncs it and renames it over the
target (`os.replace`), so a crash, a full disk or Ctrl-C leaves either the old file or the new
one, never a torn one; the temporary file is removed on any failure. Saving refuses weights
that are NaN or infinite.

Loading never unpickles (`allow_pickle=False`), and checks everything before building the
model: a zip at all, our format, a version it can read, a sane architecture (for a layer stack:
known layer types, sizes within limits, shapes that fit, a bounded parameter count), exactly the
expected arrays with the expected shapes, finite values. Every failure is one `ModelError` line.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import reprlib
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mnist.fileio import FileRefused, NameTaken, atomic_write, check_output, open_regular
from network.convnet import MAX_STACK, ConvNet, stack_problem
from network.errors import ModelError
from network.mlp import MLP
from network.model import is_layer_stack

__all__ = ["FORMAT", "FORMAT_VERSION", "save_model", "load_model", "read_metadata",
           "build_metadata", "claimed_accuracy", "shipped_model_path"]

FORMAT = "digits-model"
FORMAT_VERSION = 1
_METADATA = "metadata"
#: Limits on what a model file may declare, checked from the zip directory, the .npy headers and
#: the metadata before anything is allocated. The largest preset (784-800-800-10) has 1.3 M
#: parameters; these leave room for any network a user would train on MNIST.
MAX_WIDTH = 8192  # units in a layer
MAX_LAYERS = 10  # sizes listed in the architecture: input, up to 8 hidden, output
MAX_PARAMS = 64 * 1024 * 1024  # weights and biases: 256 MB of float32
MAX_METADATA = 16 * 1024 * 1024  # bytes of JSON
MAX_FILE_BYTES = 4 * MAX_PARAMS + MAX_METADATA + (1 << 20)  # the .npz on disk, and unpacked
MAX_MEMBERS = 2 * max(MAX_LAYERS, MAX_STACK) + 1  # weights and biases per layer, and metadata
MAX_ZIP_DIRECTORY = 64 * 1024  # the zip's directory: a model's members take under 200 bytes each
#: No activation inside the network may be able to exceed this (float32's largest is 3.4e38):
#: checked from the weights, so no input can make the network's outputs overflow to inf or NaN.
MAX_ACTIVATION = 1e30


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


def save_model(path: str | os.PathLike[str], model: MLP | ConvNet,
               metadata: dict[str, Any] | None = None, *, replace: bool = True) -> None:
    """Write `model` and `metadata` (default: model.metadata) to `path`, atomically.

    The format name, version and the model's architecture are always written into the
    metadata, overriding any given. With `replace=False` the name is claimed atomically: if
    `path` exists (or appears meanwhile) nothing is written and NameTaken is raised. Raises
    ModelError for non-finite weights, metadata that is not JSON-serializable, or an OS error
    (missing directory, permission, full disk).
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
    try:
        atomic_write(path, lambda f: np.savez(f, **arrays), replace=replace)
    except NameTaken:
        raise
    except OSError as exc:
        raise ModelError(f"cannot save model to {path}: {exc.strerror or exc}") from None


#: How outside values (from a model's metadata) are shown in an error line: a string of 100,000
#: characters or a list of 200,000 sizes is shortened, so the line stays a line.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxdict = 8
MAX_REASON = 200
"""Characters of a lower layer's reason kept in a ModelError line."""


def _shown(value: Any) -> str:
    """repr(value), shortened (see _SHOWN)."""
    return _SHOWN.repr(value)


def _reason(exc: Exception | str) -> str:
    """str(exc), cut at MAX_REASON characters (it may quote metadata at any length)."""
    text = str(exc)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _strict_number(text: str) -> float:
    """json.loads' float parser: a finite float, else ValueError (1e400 would be inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    """json.loads' NaN/Infinity handler: refused (they are not JSON)."""
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(text: str | bytes) -> Any:
    """json.loads that accepts only strict JSON: no NaN, Infinity, or numbers that overflow.

    Raises ValueError (json.JSONDecodeError included) or RecursionError for deep nesting.
    """
    return json.loads(text, parse_constant=_no_constant, parse_float=_strict_number)


def _zip_directory(file: Any) -> tuple[int, int] | None:
    """(members, bytes) of the central directory a zip's end record declares, read before
    `zipfile.ZipFile` parses that directory and builds an object per member (a 270 MB zip of 3
    million empty members took 48 s and 1.5 GB to open); None when the record cannot be read
    here (ZipFile then says what is wrong)."""
    try:
        end = zipfile._EndRecData(file)  # noqa: SLF001 - the stdlib's own end-record reader
    except (AttributeError, OSError, ValueError, struct.error):
        return None
    if end is None:
        return None
    return int(end[zipfile._ECD_ENTRIES_TOTAL]), int(end[zipfile._ECD_SIZE])  # noqa: SLF001


class _Archive:
    """A model file opened once, warily: a regular file, a zip, members read header-first."""

    def __init__(self, path: Path) -> None:
        self.where = where = f"model file {path}"
        try:
            self.file = open_regular(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise ModelError(f"{where} does not exist") from None
        except FileRefused as exc:
            raise ModelError(f"{where} {exc}") from None
        except OSError as exc:
            raise ModelError(f"{where} cannot be read ({exc.strerror or exc})") from None
        try:
            if os.fstat(self.file.fileno()).st_size == 0:
                raise ModelError(f"{where} is empty")
            members, directory = _zip_directory(self.file) or (0, 0)
            if members > MAX_MEMBERS or directory > MAX_ZIP_DIRECTORY:  # zipfile reads it all
                raise ModelError(f"{where} is not a digits model (its zip declares {members:,} "
                                 f"members in {directory:,} bytes; a model has at most "
                                 f"{MAX_MEMBERS} members, in {MAX_ZIP_DIRECTORY:,} bytes)")
            try:
                self.zip = zipfile.ZipFile(self.file)
            except zipfile.BadZipFile:
                raise ModelError(f"{where} is not a model (.npz) file") from None
            except (OSError, EOFError, ValueError) as exc:
                raise ModelError(f"{where} is damaged ({type(exc).__name__}: {exc})") from None
            infos = self.zip.infolist()
            # Refuse members that would inflate to absurd sizes before NumPy reads any.
            if sum(info.file_size for info in infos) > MAX_FILE_BYTES:
                raise ModelError(f"{where} is too large to be a digits model (it unpacks to "
                                 f"more than {MAX_FILE_BYTES:,} bytes)")
            self.members = {info.filename[:-4]: info.filename for info in infos
                            if info.filename.endswith(".npy")}
        except BaseException:
            self.file.close()
            raise

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.zip.close()
        self.file.close()

    def read(self, name: str, check: Any) -> np.ndarray:
        """Array `name`: its .npy header is read and `check(shape, dtype)` must accept it
        (raising ModelError) before the array is allocated and read. Never unpickles."""
        fmt = np.lib.format
        try:
            with self.zip.open(self.members[name]) as member:
                version = fmt.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(member)
                else:
                    shape, fortran, dtype = fmt.read_array_header_2_0(member)
                if dtype.hasobject:
                    raise ModelError(f"{self.where} holds pickled objects; refusing to load it")
                check(name, shape, dtype)
                count = math.prod(shape)
                data = member.read(count * dtype.itemsize + 1)
        except ModelError:
            raise
        except _READ_ERRORS as exc:
            raise _load_error(exc, self.where) from None
        if len(data) != count * dtype.itemsize:
            raise ModelError(f"{self.where} is damaged ({name} is truncated or too long)")
        array = np.frombuffer(data, dtype=dtype)
        return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _read_metadata(archive: _Archive) -> dict[str, Any]:
    """The decoded metadata dict; ModelError if absent, foreign, too new or not strict JSON."""
    where = archive.where
    if _METADATA not in archive.members:
        raise ModelError(f"{where} is not a digits model (no metadata)")

    def check(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_METADATA:
            raise ModelError(f"{where} has damaged metadata")

    raw = archive.read(_METADATA, check)
    try:
        meta = loads_strict(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelError(f"{where} has damaged metadata (not JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{where} is not a digits model (format {_shown(meta.get('format'))})"
                         if isinstance(meta, dict) else f"{where} has damaged metadata")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"{where} has damaged metadata (format version {_shown(version)})")
    if version > FORMAT_VERSION:
        raise ModelError(f"{where} was written by a newer digits (model format {version}; this "
                         f"version reads up to {FORMAT_VERSION}): upgrade digits to load it")
    return meta


def architecture_problem(sizes: Any) -> str:
    """Why layer sizes are beyond what digits saves and loads (see the limits above), or ""."""
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes
    ):
        return f"damaged layer sizes ({_shown(sizes)})"
    if len(sizes) > MAX_LAYERS:
        return f"{len(sizes)} layer sizes (the limit is {MAX_LAYERS})"
    if max(sizes) > MAX_WIDTH:
        return f"a layer of {max(sizes):,} units (the limit is {MAX_WIDTH:,})"
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if params > MAX_PARAMS:
        return (f"{params:,} parameters, {4 * params / 2**30:.1f} GiB of weights "
                f"(the limit is {MAX_PARAMS:,})")
    return ""


def _build(meta: dict[str, Any], where: str) -> MLP | ConvNet:
    """The network meta['architecture'] describes (an MLP, or a ConvNet for a layer stack);
    ModelError if it is not a digits network.

    The size is checked against the limits before anything is allocated.
    """
    arch = meta.get("architecture")
    if is_layer_stack(arch):
        problem = stack_problem(arch, MAX_PARAMS)
        if problem:
            raise ModelError(f"{where} has a damaged or oversized layer stack: {_reason(problem)}")
        try:
            return ConvNet.from_architecture(arch, rng=0)
        except ModelError as exc:
            raise ModelError(f"{where} has a damaged architecture: {_reason(exc)}") from None
    sizes = arch.get("sizes") if isinstance(arch, dict) else None
    problem = architecture_problem(sizes)
    if problem:
        raise ModelError(f"{where} has a damaged or oversized architecture: {problem}")
    if sizes[0] != 784 or sizes[-1] != 10:
        raise ModelError(f"{where} is not a digit model: it has {sizes[0]} inputs and "
                         f"{sizes[-1]} outputs, not 784 and 10")
    try:
        return MLP.from_architecture(arch, rng=0)
    except ModelError as exc:
        raise ModelError(f"{where} has a damaged architecture: {_reason(exc)}") from None


def activation_bound(model: MLP | ConvNet) -> float:
    """The largest absolute value any layer's pre-activation can take, over every input.

    A ConvNet works it out layer by layer itself (`ConvNet.activation_bound`); for an MLP:

    Interval arithmetic from the weights: with |a_{l-1}| <= u elementwise, |z_l| <= |W_l|.T @ u
    + |b_l|; sigmoid and tanh squash to 1, any other activation (ReLU) passes u on. In float32
    (an overflow gives inf, which is refused anyway; rounding is far inside the margin).
    """
    if isinstance(model, ConvNet):
        return model.activation_bound()
    scale, offset = model.scaling
    u = np.full(model.sizes[0], max(abs(offset), abs(255.0 * scale + offset)), np.float32)
    bound = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for layer, w in enumerate(model.weights):
            z = np.abs(w).T @ u
            if model.biases:
                z += np.abs(model.biases[layer])
            if not np.isfinite(z).all():
                return math.inf
            bound = max(bound, float(z.max()))
            u = np.ones_like(z) if model.activation_name in ("sigmoid", "tanh") else z
    return bound


def _load_error(exc: Exception, where: str) -> ModelError:
    """The one-line ModelError for a low-level failure while reading an npz."""
    if isinstance(exc, ValueError) and ("allow_pickle" in str(exc) or "Object arrays" in str(exc)):
        return ModelError(f"{where} holds pickled objects; refusing to load it")
    return ModelError(f"{where} is damaged ({type(exc).__name__}: {exc})")


_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError,
                SyntaxError, NotImplementedError)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict of a model file, without loading the weights (for model lists).

    Raises ModelError for a missing, empty, non-zip, foreign, newer or damaged file (the
    weights are not checked: use `load_model` for that).
    """
    with _Archive(Path(path)) as archive:
        return _read_metadata(archive)


def load_model(path: str | os.PathLike[str]) -> MLP | ConvNet:
    """Load a model file written by `save_model`; its metadata dict is on `model.metadata`.

    Everything is checked from the zip directory, the .npy headers and the metadata before any
    array is allocated (see the limits above), and the weights once read: finite as float32,
    and unable to make any activation overflow (`activation_bound`).

    Raises:
        ModelError: with a one-line reason for a missing, empty, non-zip, foreign, newer,
            damaged, pickled, oversized, mis-shaped or non-finite file, or not a regular file.
    """
    with _Archive(Path(path)) as archive:
        where = archive.where
        meta = _read_metadata(archive)
        model = _build(meta, where)
        expected = model.named_arrays()
        present = set(archive.members) - {_METADATA}
        missing = sorted(set(expected) - present)
        extra = sorted(present - set(expected))
        if missing:
            raise ModelError(f"{where} is missing {', '.join(missing)}")
        if extra:
            raise ModelError(f"{where} has unexpected arrays: {', '.join(extra)}")
        for name, target in expected.items():

            def check(name: str, shape: tuple[int, ...], dtype: np.dtype,
                      want: tuple[int, ...] = target.shape) -> None:
                if dtype.kind != "f" or tuple(shape) != want:
                    raise ModelError(f"{where}: {name} is {dtype} {tuple(shape)}, expected "
                                     f"float32 {want}")

            arr = archive.read(name, check)
            with np.errstate(over="ignore", invalid="ignore"):
                target[...] = arr  # a float64 beyond float32's range becomes inf: caught below
            if not np.isfinite(target).all():
                raise ModelError(f"{where}: {name} contains NaN or infinite weights (as float32)")
    bound = activation_bound(model)
    if not bound <= MAX_ACTIVATION:
        raise ModelError(f"{where} has weights so large that its outputs could overflow "
                         f"(activations up to {bound:.3g}; the limit is {MAX_ACTIVATION:g})")
    model.metadata = meta
    return model


def claimed_accuracy(metadata: Any) -> float | None:
    """The test accuracy a model's metadata records, a fraction in 0..1, or None when it
    records none that is (a string, a bool, NaN, a number outside 0..1, or an integer too
    large for a float: metadata is outside text, and strict JSON allows integers of thousands
    of digits; 1e308 would be shown as "inf%", -5 as "-500.00%")."""
    value = metadata.get("test_accuracy") if isinstance(metadata, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def is_model_file(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a digits model file (its metadata reads), so it may be overwritten."""
    try:
        read_metadata(path)
    except ModelError:
        return False
    return True


def check_model_output(path: str | os.PathLike[str], *, force: bool = False) -> None:
    """ModelError unless saving a model at `path` cannot destroy anything but a digits model
    the user agreed to replace (`force`): see `mnist.fileio.check_output`."""
    try:
        check_output(path, is_ours=is_model_file, force=force, what="digits model")
    except FileRefused as exc:
        raise ModelError(f"{path}: {exc}") from None


def _scipy_version() -> str:
    """SciPy's version, imported only now: loading a model (at start-up) does not need SciPy."""
    import scipy

    return str(scipy.__version__)


def _package_version() -> str:
    """The installed digits version, or 'unknown' when running from a bare checkout."""
    from importlib import metadata  # here: a model is loaded at start-up, seldom saved

    try:
        return metadata.version("digits-tui")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_metadata(
    model: MLP | ConvNet,
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
        model: the trained network (its architecture is recorded).
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
            "scipy": _scipy_version(),
        },
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(command) if isinstance(command, (list, tuple)) else command,
    }
    meta.update(extra)
    return meta


def shipped_model_path() -> Path:
    """Where the trained model shipped with the package lives: network/shipped/best.npz."""
    return Path(__file__).resolve().parent / "shipped" / "best.npz"

