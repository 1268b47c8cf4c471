"""Saved models: where they live, their names, which one is active, and the settings file.

    models_dir()        ~/.local/share/digits/models on Linux (platformdirs' user data path)
    settings_path()     ~/.config/digits/settings.json: {"active": "<name>"} ("shipped" = default)

The shipped model (package data) is always listed, is never overwritten, and cannot be renamed or
deleted. Model names are plain file stems: letters, digits, space, '.', '_', '+', '-', at most 64
characters, not starting with '.', so a name can never escape the models directory (no '/',
'..', absolute paths or NUL bytes). Every write (settings, renames) is atomic.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from network.errors import ModelError

APP_NAME = "digits"
SHIPPED = "shipped"
NAME_PATTERN = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9 ._+\-]{0,63}")


def models_dir() -> Path:
    """Folder of the user's saved models (not created until a model is saved)."""
    return platformdirs.user_data_path(APP_NAME) / "models"


def settings_path() -> Path:
    """The settings file in the user config directory."""
    return platformdirs.user_config_path(APP_NAME) / "settings.json"


def check_name(name: str) -> str:
    """Return `name` stripped if it is a valid model name; raise ModelError saying why not."""
    stripped = name.strip() if isinstance(name, str) else ""
    if not stripped:
        raise ModelError("a model name cannot be empty")
    if stripped == SHIPPED:
        raise ModelError(f"'{SHIPPED}' is the name of the model that comes with digits")
    if not NAME_PATTERN.fullmatch(stripped) or stripped.endswith("."):
        shown = stripped.encode("unicode_escape").decode("ascii")[:80]
        raise ModelError(
            f"invalid model name '{shown}': use letters, digits, spaces and . _ + - "
            "(at most 64 characters, not starting with '.'; no '/')"
        )
    return stripped


def path_for(name: str) -> Path:
    """The file a model called `name` is saved in (inside `models_dir()`, checked)."""
    if name == SHIPPED:
        from network.store import shipped_model_path

        return shipped_model_path()
    path = models_dir() / f"{check_name(name)}.npz"
    if path.resolve().parent != models_dir().resolve():
        raise ModelError(f"invalid model name '{name}'")
    return path


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` via a temp file in the same folder, fsync, then rename.

    On any failure (a full disk, an interrupt) the temp file is removed and `path` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- settings -------------------------------------------------------------------------------------


def read_settings() -> dict[str, Any]:
    """The settings dict; {} when the file is missing or unreadable (never an error)."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_settings(settings: dict[str, Any]) -> None:
    """Replace the settings file atomically."""
    payload = json.dumps(settings, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    atomic_write_bytes(settings_path(), payload)


def active_name() -> str:
    """Name of the active model: the settings' choice if its file exists, else 'shipped'."""
    name = read_settings().get("active")
    if isinstance(name, str) and name != SHIPPED:
        try:
            if path_for(name).is_file():
                return name
        except ModelError:
            pass
    return SHIPPED


def set_active(name: str) -> None:
    """Make `name` (a saved model, or 'shipped') the active model, persisted in settings."""
    if name != SHIPPED and not path_for(name).is_file():
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
    """A ModelEntry from a model's metadata."""
    arch = metadata.get("architecture", {})
    sizes = arch.get("sizes") if isinstance(arch, dict) else None
    act = arch.get("activation", "") if isinstance(arch, dict) else ""
    shape = "-".join(str(n) for n in sizes) if isinstance(sizes, list) else "?"
    accuracy = metadata.get("test_accuracy")
    return ModelEntry(
        name=name,
        path=path,
        shipped=name == SHIPPED,
        preset=str(metadata.get("preset") or ""),
        architecture=f"{shape} {act}".strip(),
        test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        created=str(metadata.get("created") or "")[:19],
    )


def list_models() -> list[ModelEntry]:
    """The shipped model first, then saved models, newest first. Unreadable files are listed."""
    from network.store import read_metadata, shipped_model_path

    entries = []
    candidates = [(SHIPPED, shipped_model_path())]
    folder = models_dir()
    if folder.is_dir():
        candidates += [(p.stem, p) for p in folder.glob("*.npz") if not p.name.startswith(".")]
    for name, path in candidates:
        try:
            entries.append(describe(name, path, read_metadata(path)))
        except ModelError as exc:
            entry = ModelEntry(name=name, path=path, shipped=name == SHIPPED, error=str(exc))
            entries.append(entry)
    saved = sorted(entries[1:], key=lambda e: (e.created, e.name), reverse=True)
    return entries[:1] + saved


def save_new(model: Any, metadata: dict[str, Any], name: str, *, overwrite: bool = False) -> Path:
    """Save a trained model under `name` in the models folder (atomic); return its path.

    Refuses to replace an existing model unless `overwrite`; never touches the shipped model.
    """
    from network.store import save_model

    path = path_for(check_name(name))
    if path.exists() and not overwrite:
        raise ModelError(f"a model called '{name}' exists already; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(path, model, metadata)
    return path


def rename_model(name: str, new_name: str) -> Path:
    """Rename a saved model (and follow it in the settings if it is the active one)."""
    if name == SHIPPED:
        raise ModelError("the shipped model cannot be renamed")
    old, new = path_for(name), path_for(check_name(new_name))
    if not old.is_file():
        raise ModelError(f"no saved model called '{name}'")
    if new.exists():
        raise ModelError(f"a model called '{new_name.strip()}' exists already")
    os.replace(old, new)
    if read_settings().get("active") == name:
        set_active(new.stem)
    return new


def delete_model(name: str) -> None:
    """Delete a saved model; the active choice falls back to the shipped model."""
    if name == SHIPPED:
        raise ModelError("the shipped model cannot be deleted")
    path = path_for(name)
    if not path.is_file():
        raise ModelError(f"no saved model called '{name}'")
    path.unlink()
    if read_settings().get("active") == name:
        set_active(SHIPPED)


def startup_model(explicit: str | os.PathLike[str] | None = None) -> tuple[Any, Path, str]:
    """The model the app starts on: `explicit` if given, else the active one, else the shipped.

    Returns (model, path, notice); `notice` explains a fallback (an active model that no longer
    loads) and is "" otherwise. An explicit file that does not load raises ModelError.
    """
    from network.store import load_model

    if explicit is not None:
        path = Path(explicit)
        return load_model(path), path, ""
    name = active_name()
    notice = ""
    if name != SHIPPED:
        path = path_for(name)
        try:
            return load_model(path), path, ""
        except ModelError as exc:
            notice = f"Active model '{name}' could not be loaded ({exc}); using the shipped model."
    path = path_for(SHIPPED)
    return load_model(path), path, notice
