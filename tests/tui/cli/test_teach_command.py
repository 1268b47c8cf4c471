"""`digits teach`: the before/after table or JSON, a new model saved, the base never touched."""

from __future__ import annotations

import json

import numpy as np
import pytest

from network.drawings import add_drawings
from network.mlp import MLP
from network.registry import active_name, path_for
from network.store import build_metadata, load_model, read_metadata, save_model
from tui.cli import main


@pytest.fixture
def small_base(tmp_path):
    """A small model file to start from (784-32-10), so the default budget takes a second."""
    model = MLP((784, 32, 10), rng=0)
    path = tmp_path / "base.npz"
    save_model(path, model, build_metadata(model))
    return path


@pytest.fixture
def kept(mnist_data):
    picks = np.concatenate([np.flatnonzero(mnist_data.train_labels == d)[:5] for d in range(10)])
    add_drawings(list(mnist_data.train_images[picks]), mnist_data.train_labels[picks].tolist())


def test_teach_json_saves_a_new_model_and_leaves_the_base(small_base, kept, mnist_dir,
                                                          capsys):
    before = small_base.read_bytes()
    code = main(["teach", "--model", str(small_base), "--epochs", "1", "--name", "mine",
                 "--activate", "--json", "--data-dir", str(mnist_dir)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["before"]) == set(report["after"]) == {"drawings", "mnist"}
    assert report["drawings_held_out"] == 10 and report["drawings_trained"] == 40
    assert 0.0 <= report["after"]["drawings"] <= 1.0
    assert report["after"]["mnist"] > report["before"]["mnist"]  # an untrained base learns
    assert small_base.read_bytes() == before
    assert active_name() == "mine"
    meta = read_metadata(path_for("mine"))
    assert meta["base_model"]["path"] == str(small_base)
    assert meta["drawings"]["count"] == 50 and len(meta["drawings"]["sha256"]) == 64
    assert meta["command"]


def test_teach_table_and_out(small_base, kept, mnist_dir, tmp_path, capsys):
    out = tmp_path / "taught\n\x1b[31m.npz"  # echoed escaped: no forged line, no colour
    assert main(["teach", "--model", str(small_base), "--epochs", "1", "--out", str(out),
                 "--data-dir", str(mnist_dir)]) == 0
    text = capsys.readouterr().out
    assert "before" in text and "after" in text and "held out" in text and "MNIST" in text
    assert text.count("\n") == 4 and "\x1b" not in text and "taught\\n\\x1b[31m.npz" in text
    assert load_model(out).sizes == (784, 32, 10)
    assert main(["teach", "--model", str(small_base), "--out", str(small_base)]) == 2
    assert "never overwritten" in capsys.readouterr().err


def test_teach_without_drawings_or_with_bad_options_is_one_line(small_base, capsys):
    assert main(["teach", "--model", str(small_base)]) == 2
    assert "no drawings kept yet" in capsys.readouterr().err
    assert main(["teach", "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epochs" in err


def test_the_base_model_name_is_shown_literally(tmp_path, kept, mnist_dir, capsys, monkeypatch):
    """A model file named `[red]mine.npz` was announced as "Teaching mine" (in red)."""
    import network.teach

    model = MLP((784, 8, 10), rng=0)
    base = tmp_path / "[red]mine.npz"
    save_model(base, model, build_metadata(model))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the line under test is printed before the run

    monkeypatch.setattr(network.teach, "teach", interrupted)
    assert main(["teach", "--model", str(base), "--out", str(tmp_path / "taught.npz"),
                 "--data-dir", str(mnist_dir)]) == 130
    assert "Teaching [red]mine with" in capsys.readouterr().err
