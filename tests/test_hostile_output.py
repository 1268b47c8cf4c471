"""Data loss: what an output path may replace, names claimed atomically, --activate after a save.

`digits train --out PATH` refuses anything that is not a regular file, and an existing file
unless it is a digits model and --force is given. Two processes saving the same name: one gets
it, the other an error (or, on the Train screen, the next free name). When --activate fails
after the save, the message says the model was saved, and where.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from network.errors import ModelError
from network.mlp import MLP
from network.registry import (
    ModelExists,
    list_models,
    models_dir,
    path_for,
    rename_model,
    save_new,
    settings_path,
)
from network.store import build_metadata, check_model_output, load_model, save_model
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent


def tiny(seed: int = 0) -> MLP:
    return MLP((784, 8, 10), rng=seed)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`digits ARGS` in this process: (exit status, stdout, stderr)."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def quick_train(monkeypatch, mnist_dir):
    """`digits train` in this process, trained on 600 images for one epoch (seconds, not
    minutes on a busy machine); everything after the training loop is the real code path."""
    import importlib

    module = importlib.import_module("network.train")  # `network.train` is also a function
    real = module.train

    def train(config, images, labels, *rest, **kwargs):
        return real(config.with_overrides(epochs=1), images[:600], labels[:600], *rest, **kwargs)

    monkeypatch.setattr(module, "train", train)
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))


# -- --out: what it may replace -------------------------------------------------------------------


def _special(kind: str, path: Path) -> None:
    """Make `path` a FIFO, a character device, a symlink to one, a text file or a folder."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
        except PermissionError:
            pytest.skip("mknod needs root")
    elif kind == "link to /dev/full":
        path.symlink_to("/dev/full")
    elif kind == "text":
        path.write_text("my thesis, chapter 1\n")
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize("kind", ["text", "fifo", "device", "link to /dev/full", "folder"])
def test_out_refuses_what_is_not_a_digits_model(kind, tmp_path, capsys):
    """Refused before any work (an empty MNIST_DIR would otherwise be the error), untouched."""
    target = tmp_path / "target.npz"
    _special(kind, target)
    before = os.lstat(target)
    content = target.read_bytes() if kind == "text" else None
    os.environ["MNIST_DIR"] = str(tmp_path / "empty")
    try:
        status, out, err = run_cli(capsys, "train", "--epochs", "1", "--out", str(target),
                                   "--force")
    finally:
        del os.environ["MNIST_DIR"]
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "refusing" in err and "MNIST" not in err
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    if content is not None:
        assert target.read_bytes() == content


def test_out_replaces_a_digits_model_only_with_force(tmp_path, capsys, quick_train):
    target = tmp_path / "old.npz"
    save_model(target, tiny(1), build_metadata(tiny(1)))
    status, _, err = run_cli(capsys, "train", "--epochs", "1", "--hidden", "8", "--out",
                             str(target))
    assert status == 2 and "add --force" in err
    assert load_model(target).metadata["preset"] is None  # still the old one
    status, _, err = run_cli(capsys, "train", "--epochs", "1", "--hidden", "8", "--out",
                             str(target), "--force")
    assert status == 0, err
    assert load_model(target).metadata["preset"] == "fast"


def test_out_is_checked_again_at_save_time(tmp_path):
    """A file that appeared at the path while training is not replaced either."""
    target = tmp_path / "late.npz"
    check_model_output(target)  # nothing there yet: fine
    target.write_text("written while the model trained")
    for force in (False, True):
        with pytest.raises(ModelError, match="refusing to overwrite"):
            check_model_output(target, force=force)
    os.unlink(target)
    os.mkfifo(target)
    with pytest.raises(ModelError, match="FIFO"):
        check_model_output(target, force=True)


# -- names claimed atomically ---------------------------------------------------------------------

RACE = textwrap.dedent("""
    import os, sys, time
    from network.mlp import MLP
    from network.registry import ModelExists, save_new
    from network.store import build_metadata

    seed, go, unique = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "unique"
    model = MLP((784, 64, 10), rng=seed)
    meta = build_metadata(model, tag=seed)
    open(f"{go}.ready-{seed}", "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        path = save_new(model, meta, "same name", unique=unique)
    except ModelExists as exc:
        print("LOST", exc)
    else:
        print("SAVED", os.path.basename(path))
""")


def _race(tmp_path: Path, mode: str, rounds: int = 3) -> list[list[str]]:
    """Two real processes save under one name at the same moment, `rounds` times."""
    script = tmp_path / "race.py"
    script.write_text(RACE)
    outcomes = []
    for round_ in range(rounds):
        for p in models_dir().glob("*.npz") if models_dir().exists() else []:
            p.unlink()
        go = tmp_path / f"go-{mode}-{round_}"
        procs = [subprocess.Popen([sys.executable, str(script), str(seed), str(go), mode],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for seed in (1, 2)]
        while not all(Path(f"{go}.ready-{seed}").exists() for seed in (1, 2)):
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)  # until both have imported NumPy and wait for the signal
        go.touch()
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), results
        outcomes.append(sorted(out.strip() for out, _ in results))
        tags = {load_model(p).metadata["tag"] for p in models_dir().glob("*.npz")}
        saved = [line for line in outcomes[-1] if line.startswith("SAVED")]
        assert len(tags) == len(saved)  # every "Saved" is a distinct, loadable model on disk
        assert not [p for p in models_dir().iterdir() if p.name.startswith(".")]  # no temp
    return outcomes


def test_two_processes_same_name_one_wins_the_other_is_told(tmp_path):
    for outcome in _race(tmp_path, "strict"):
        assert outcome[0].startswith("LOST a model called 'same name' exists already")
        assert outcome[1] == "SAVED same name.npz"


def test_two_processes_same_name_unique_both_kept_under_reported_names(tmp_path):
    for outcome in _race(tmp_path, "unique"):
        assert outcome == ["SAVED same name-2.npz", "SAVED same name.npz"]


def test_rename_never_replaces_a_model_that_has_the_name(tmp_path):
    save_new(tiny(1), build_metadata(tiny(1), tag=1), "first")
    save_new(tiny(2), build_metadata(tiny(2), tag=2), "second")
    with pytest.raises(ModelExists, match="'second' exists already"):
        rename_model("first", "second")
    assert load_model(path_for("second")).metadata["tag"] == 2
    assert load_model(path_for("first")).metadata["tag"] == 1
    with pytest.raises(ModelExists):
        save_new(tiny(3), build_metadata(tiny(3)), "first")
    assert sorted(e.name for e in list_models()) == ["first", "second", "shipped", "shipped-conv"]


# -- --activate failing after the save ------------------------------------------------------------


def _settings_folder() -> None:
    settings_path().mkdir(parents=True)


def _settings_fifo() -> None:
    settings_path().parent.mkdir(parents=True)
    os.mkfifo(settings_path())


def _config_is_a_file() -> None:
    settings_path().parent.parent.mkdir(parents=True, exist_ok=True)
    settings_path().parent.write_text("not a folder")


@pytest.mark.parametrize("damage", [_settings_folder, _settings_fifo, _config_is_a_file])
def test_activate_failing_says_the_model_was_saved_and_where(damage, capsys, quick_train):
    damage()
    status, _, err = run_cli(capsys, "train", "--hidden", "8", "--name", "kept", "--activate")
    assert status == 2, err
    line = err.strip().splitlines()[-1]
    path = path_for("kept")
    assert f"the model was saved as 'kept' in {path}" in line and "could not be made active" in line
    assert ".tmp" not in err
    assert load_model(path).sizes == (784, 8, 10)


def test_the_save_itself_checks_out_again(tmp_path, mnist_data):
    """save_trained, which the CLI calls after training, refuses a file that appeared meanwhile."""
    from network.config import TrainConfig
    from network.registry import save_trained

    target = tmp_path / "appeared.npz"
    target.write_text("written while the model trained")
    with pytest.raises(ModelError, match="refusing to overwrite"):
        save_trained(tiny(), TrainConfig(), None, mnist_data.test_images[:20],
                     mnist_data.test_labels[:20], checksums={}, command="test", out=target,
                     force=True)
    assert target.read_text() == "written while the model trained"


# -- empty values -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "1", "--out", ""], ["train", "--epochs", "1", "--name", ""],
    ["teach", "--out", ""], ["eval", "--model", ""], ["predict", ""], ["predict", "--model=", "x"],
    ["drawings", "export", ""], ["drawings", "import", ""], ["data", "download", "--dir", ""],
    ["data", "verify", "--data-dir", ""], ["--model", ""], ["--data-dir", ""],
], ids=lambda argv: " ".join(argv))
def test_an_empty_path_or_name_is_refused_before_any_work(argv, tmp_path, capsys, monkeypatch):
    """'' meant the current folder (`--out ''` trained, then could not save over '.'; `drawings
    export ''` wrote into it) or the default name: now one line, exit 2, nothing done."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "must not be empty" in err and "--help" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["train", "--epochs", "1"], ["teach"]])
def test_a_models_folder_that_cannot_take_the_model_is_refused_before_any_work(command, capsys,
                                                                               tmp_path):
    """The models folder under a file: `digits train` said so only after its whole run."""
    from network.registry import models_dir

    models_dir().parent.parent.mkdir(parents=True, exist_ok=True)
    models_dir().parent.write_text("not a folder\n")
    os.environ["MNIST_DIR"] = str(tmp_path / "empty")  # training would fail on this first
    try:
        status, _, err = run_cli(capsys, *command)
    finally:
        del os.environ["MNIST_DIR"]
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert f"cannot save into the models folder {models_dir()} (Not a directory)" in err
