"""Saved models: where they live, their names, which one is active, and the settings file.

    models_dir()        ~/.local/share/digits/models on Linux (platformdirs' user data path)
    settings_path()     ~/.config/digits/settings.json: {"active": "<name>"} ("shipped" = default)

The shipped models (package data: `shipped`, the default, and `shipped-conv`, the convolutional
network) are always listed, are never overwritten, and cannot be renamed or deleted. Model
names are plain file stems: letters, digits, space, '.', '_', '+', '-', at most 64 characters,
not starting with '.', so a name can never escape the models directory (no '/', '..', absolute
paths or NUL bytes). Every write (settings, renames) is atomic.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from network.errors import ModelError

APP_NAME = "digits"
SHIPPED = "shipped"
#: Every model that comes with digits: name -> file in network/shipped/ (the default first).
SHIPPED_FILES = {SHIPPED: "best.npz", "shipped-conv": "conv.npz"}
NAME_PATTERN = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9 ._+\-]{0,63}")


def models_dir() -> Path:
    """Folder of the user's saved models (not created until a model is saved)."""
    return platformdirs.user_data_path(APP_NAME) / "models"


def writable_models_dir() -> Path:
    """The models folder, made if needed, once a temporary file could be created in it; else
    ModelError saying why. `digits train` and `digits teach` ask before their run, so a folder
    that cannot take the model (under a file, read-only, not ours) is reported before minutes
    of training, not after them."""
    import tempfile

    folder = models_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ModelError(f"cannot save into the models folder {folder} "
                         f"({exc.strerror or exc})") from None
    return folder


def settings_path() -> Path:
    """The settings file in the user config directory."""
    return platformdirs.user_config_path(APP_NAME) / "settings.json"


def is_shipped(name: Any) -> bool:
    """True for the name of a model that comes with digits."""
    return isinstance(name, str) and name in SHIPPED_FILES


def check_name(name: str) -> str:
    """Return `name` stripped if it is a valid model name; raise ModelError saying why not."""
    stripped = name.strip() if isinstance(name, str) else ""
    if not stripped:
        raise ModelError("a model name cannot be empty")
    if is_shipped(stripped):
        raise ModelError(f"'{stripped}' is the name of a model that comes with digits")
    if not NAME_PATTERN.fullmatch(stripped) or stripped.endswith("."):
        shown = stripped.encode("unicode_escape").decode("ascii")[:80]
        raise ModelError(
            f"invalid model name '{shown}': use letters, digits, spaces and . _ + - "
            "(at most 64 characters, not starting with '.'; no '/')"
        )
    return stripped


def path_for(name: str) -> Path:
    """The file a model called `name` is saved in (inside `models_dir()`, checked)."""
    if is_shipped(name):
        from network.store import shipped_model_path

        default = shipped_model_path()
        return default if name == SHIPPED else default.parent / SHIPPED_FILES[name]
    path = models_dir() / f"{check_name(name)}.npz"
    if path.resolve().parent != models_dir().resolve():
        raise ModelError(f"invalid model name '{name}'")
    return path


def name_of(path: str | os.PathLike[str]) -> str:
    """The name a model file is listed under: a shipped model's name, else the file's stem."""
    try:
        resolved = Path(path).resolve()
        for name in SHIPPED_FILES:
            if resolved == path_for(name).resolve():
                return name
    except OSError:
        pass
    return Path(path).stem


def existing_path(name: str) -> Path:
    """The file of a model already in the models folder, listed as `name` (its file stem).

    Looser than `path_for`, which is for new names: a file put there by hand may have any name
    (brackets, quotes...), and it must still be possible to activate, rename or delete it. Only
    names that could leave the folder are refused.
    """
    if is_shipped(name):
        return path_for(name)
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name[0] == ".":
        raise ModelError(f"invalid model name {name!r}")
    path = models_dir() / f"{name}.npz"
    if path.resolve().parent != models_dir().resolve():
        raise ModelError(f"invalid model name {name!r}")
    return path


class ModelExists(ModelError):
    """A model of that name is in the models folder already (the one message for it)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a model called '{name}' exists already; choose another name")
        self.name = name


def check_free(name: str) -> str:
    """`name` checked (see `check_name`) and not taken yet; ModelError (ModelExists) if not."""
    name = check_name(name)
    if path_for(name).exists():
        raise ModelExists(name)
    return name


# -- settings -------------------------------------------------------------------------------------

#: settings.json is a few dozen bytes; anything past this is not ours.
MAX_SETTINGS_BYTES = 64 * 1024


def _settings_problem(settings: Any) -> str:
    """Why a decoded settings file is not one digits writes, or ""."""
    if not isinstance(settings, dict):
        return f"holds a JSON {type(settings).__name__}, not an object"
    unknown = sorted(str(k) for k in settings if k != "active")
    if unknown:
        return f"has unknown keys ({', '.join(unknown)[:60]})"
    if "active" in settings and not isinstance(settings["active"], str):
        return "has an 'active' that is not a name"
    return ""


def load_settings() -> tuple[dict[str, Any], str]:
    """(settings, problem): the settings dict, or {} and a one-line reason when the file is not
    one digits writes (not a regular file, too large, not strict JSON, nested too deep, other
    keys). A missing file is no problem: ({}, "")."""
    from mnist.fileio import printable, read_limited
    from network.store import loads_strict

    path = settings_path()
    try:
        data = read_limited(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        problem = str(exc) if exc.strerror is None else f"cannot be read ({exc.strerror})"
    else:
        try:
            settings = loads_strict(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = "nested too deep" if isinstance(exc, RecursionError) else "not valid JSON"
            problem = f"is {reason}"
        else:
            problem = _settings_problem(settings)
            if not problem:
                return settings, ""
    return {}, printable(f"settings file {path} {problem}; ignoring it")


def read_settings() -> dict[str, Any]:
    """The settings dict; {} when the file is missing or not one digits writes (never an error)."""
    return load_settings()[0]


def write_settings(settings: dict[str, Any]) -> None:
    """Replace the settings file atomically (through a symbolic link, onto its target).

    Refuses (ModelError) when settings.json is a folder, a FIFO, a device...: never replaced.
    """
    from mnist.fileio import FileRefused, atomic_write, check_output

    payload = json.dumps(settings, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.resolve()
    try:
        check_output(target, is_ours=lambda _: True, force=True, what="settings file")
    except FileRefused as exc:
        raise ModelError(f"settings file {target} {exc}") from None
    atomic_write(target, lambda f: f.write(payload))


def active_name() -> str:
    """Name of the active model: the settings' choice if its file exists, else 'shipped'."""
    name = read_settings().get("active")
    if is_shipped(name):
        return name
    if isinstance(name, str):
        try:
            if existing_path(name).is_file():
                return name
        except ModelError:
            pass
    return SHIPPED


def set_active(name: str) -> None:
    """Make `name` (a saved or shipped model) the active model, persisted in settings."""
    if not is_shipped(name) and not existing_path(name).is_file():
        raise ModelError(f"no saved model called '{name}'")
    settings = read_settings()
    settings["active"] = name
    write_settings(settings)


# -- the list of models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    """One row of the model list. `error` is set (and the rest blank) for an unreadable file."""

    name: str
    path: Path
    shipped: bool
    preset: str = ""
    architecture: str = ""
    test_accuracy: float | None = None
    created: str = ""
    error: str = ""


def describe(name: str, path: Path, metadata: dict[str, Any]) -> ModelEntry:
    """A ModelEntry from a model's metadata (a layer stack shown as its layers, e.g.
    "conv 5x5x32 · pool · conv 5x5x64 · pool · dense 128 · 10")."""
    from network.convnet import describe_stack
    from network.model import is_layer_stack
    from network.store import claimed_accuracy

    arch = metadata.get("architecture", {})
    if is_layer_stack(arch):
        shape, act = describe_stack(arch.get("layers")), ""
    else:
        sizes = arch.get("sizes") if isinstance(arch, dict) else None
        act = arch.get("activation", "") if isinstance(arch, dict) else ""
        shape = "-".join(str(n) for n in sizes) if isinstance(sizes, list) else "?"
    return ModelEntry(
        name=name,
        path=path,
        shipped=is_shipped(name),
        preset=str(metadata.get("preset") or "")[:40],
        architecture=f"{shape} {act}".strip()[:80],
        test_accuracy=claimed_accuracy(metadata),
        created=str(metadata.get("created") or "")[:19],
    )


def list_models() -> list[ModelEntry]:
    """The shipped models first (the default always, the others when their file is there), then
    saved models, newest first. Unreadable files are listed."""
    from network.store import read_metadata

    entries = []
    candidates = [(name, path_for(name)) for name in SHIPPED_FILES
                  if name == SHIPPED or path_for(name).is_file()]
    n_shipped = len(candidates)
    folder = models_dir()
    if folder.is_dir():
        candidates += [(p.stem, p) for p in folder.glob("*.npz") if not p.name.startswith(".")]
    for name, path in candidates:
        try:
            entries.append(describe(name, path, read_metadata(path)))
        except ModelError as exc:
            entry = ModelEntry(name=name, path=path, shipped=is_shipped(name), error=str(exc))
            entries.append(entry)
    saved = sorted(entries[n_shipped:], key=lambda e: (e.created, e.name), reverse=True)
    return entries[:n_shipped] + saved


def save_new(model: Any, metadata: dict[str, Any], name: str, *, unique: bool = False) -> Path:
    """Save a trained model under `name` in the models folder; return its path.

    The name is claimed atomically (`save_model(..., replace=False)`): of two processes saving
    the same name at once, one gets it. If it is taken, ModelExists is raised, or with `unique`
    the model is saved as "name-2", "name-3"... (the returned path says which). Never replaces
    a model, never touches the shipped one.
    """
    from mnist.fileio import NameTaken
    from network.store import save_model

    base = check_name(name)
    writable_models_dir()
    candidate, n = base, 1
    while True:
        try:
            path = path_for(candidate)
            save_model(path, model, metadata, replace=False)
            return path
        except NameTaken:
            if not unique:
                raise ModelExists(candidate) from None
        n += 1
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)].rstrip(" .") + suffix


def default_name(preset: str) -> str:
    """The name a run is saved under when none is given: PRESET-YYYY-MM-DD-HHMMSS."""
    import datetime as dt

    return f"{preset}-{dt.datetime.now().strftime('%Y-%m-%d-%H%M%S')}"


def taught_name(base: str, stamp: str = "") -> str:
    """The name a model taught from the model named `base` is saved under: BASE-taught, or
    BASE-taught-STAMP, with BASE cut so that the whole stays within 56 characters (room for
    `save_new`'s "-2", "-3"...); taught-DATE-TIME when BASE cannot begin a model name. A file
    put in the models folder by hand can be the active model under a name the name check
    refuses for new models, and the taught model must still be saved, not lost after the run.
    """
    suffix = "-taught" + (f"-{stamp}" if stamp else "")
    try:
        return check_name(base[: 56 - len(suffix)].rstrip() + suffix)
    except ModelError:
        return default_name("taught")


@dataclass(frozen=True)
class Saved:
    """Where `save_trained` put a model, under which name, and its test-set evaluation."""

    path: Path
    name: str
    evaluation: Any


def save_trained(model: Any, config: Any, result: Any, test_images: Any, test_labels: Any, *,
                 checksums: dict[str, str], command: str, name: str | None = None,
                 out: str | os.PathLike[str] | None = None, force: bool = False,
                 unique: bool = True) -> Saved:
    """Score a trained model on the test set, record its metadata, and save it.

    Into `out` if given (refused unless nothing is there or, with `force`, a digits model:
    `network.store.check_model_output`), else into the models folder under `name` (default
    `default_name`), claimed atomically: a name taken meanwhile gives "name-2"... with `unique`,
    else ModelExists. The CLI and the Train screen both save through here.
    """
    from network.evaluate import evaluate
    from network.store import build_metadata, check_model_output, save_model

    evaluation = evaluate(model, test_images, test_labels)
    meta = build_metadata(model, config, result=result, evaluation=evaluation,
                          dataset_checksums=checksums, command=command)
    if out is not None:
        check_model_output(out, force=force)
        save_model(out, model, meta)
        return Saved(Path(out), Path(out).stem, evaluation)
    path = save_new(model, meta, name or default_name(config.preset), unique=unique)
    return Saved(path, path.stem, evaluation)


def rename_model(name: str, new_name: str) -> Path:
    """Rename a saved model (and follow it in the settings if it is the active one).

    The new name is claimed atomically (a hard link, then the old name removed): a model that
    took the name meanwhile is never replaced.
    """
    if is_shipped(name):
        raise ModelError("a shipped model cannot be renamed")
    old, new = existing_path(name), path_for(check_name(new_name))
    if not old.is_file():
        raise ModelError(f"no saved model called '{name}'")
    try:
        os.link(old, new)
    except FileExistsError:
        raise ModelExists(new.stem) from None
    except OSError:  # no hard links here: the check-then-rename fallback
        if new.exists():
            raise ModelExists(new.stem) from None
        os.rename(old, new)
    else:
        old.unlink()
    if read_settings().get("active") == name:
        set_active(new.stem)
    return new


def delete_model(name: str) -> None:
    """Delete a saved model (a damaged one too); the active choice falls back to the shipped."""
    if is_shipped(name):
        raise ModelError("a shipped model cannot be deleted")
    path = existing_path(name)
    if not path.exists() and not path.is_symlink():
        raise ModelError(f"no saved model called '{name}'")
    path.unlink()
    if read_settings().get("active") == name:
        set_active(SHIPPED)


def startup_model(explicit: str | os.PathLike[str] | None = None) -> tuple[Any, Path, str]:
    """The model the app starts on: `explicit` if given, else the active one, else the shipped.

    Returns (model, path, notice); `notice` is one line explaining a fallback (settings that are
    not what digits writes, an active model that no longer loads or whose file is gone) and
    naming the model used instead, "" otherwise. An explicit file that does not load raises
    ModelError.
    """
    from mnist.fileio import printable
    from network.store import load_model

    if explicit is not None:
        path = Path(explicit)
        return load_model(path), path, ""
    settings, problem = load_settings()
    shipped = path_for(SHIPPED)
    name = settings.get("active", SHIPPED)
    if name != SHIPPED:
        try:
            path = path_for(name) if is_shipped(name) else existing_path(name)
            if os.path.lexists(path):
                return load_model(path), path, ""
            problem = f"the active model '{name}' is gone (no file {path})"  # deleted by hand
        except ModelError as exc:
            problem = f"the active model '{name}' could not be loaded ({exc})"
    notice = f"{problem}; using the shipped model ({shipped})" if problem else ""
    return load_model(shipped), shipped, printable(notice[:1].upper() + notice[1:])
