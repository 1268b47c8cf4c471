"""Saved models: names that cannot escape the models folder, the active model, atomic settings."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from network.errors import ModelError
from network.mlp import MLP
from network.registry import (
    SHIPPED,
    active_name,
    check_name,
    delete_model,
    list_models,
    models_dir,
    name_of,
    path_for,
    read_settings,
    rename_model,
    save_new,
    set_active,
    settings_path,
    startup_model,
    taught_name,
    write_settings,
)
from network.store import build_metadata, shipped_model_path


@pytest.fixture
def tiny():
    """A small untrained network and its metadata."""
    model = MLP((784, 8, 10), rng=0)
    return model, build_metadata(model, test_accuracy=0.5)


@pytest.mark.parametrize(
    "bad",
    [
        "", "   ", "../evil", "a/b", "/etc/passwd", "..", ".hidden", "nul\x00byte", "back\\slash",
        "x" * 65, "shipped", "tab\tname", "ends.",
    ],
)
def test_names_that_could_escape_or_confuse_are_refused(bad):
    with pytest.raises(ModelError) as info:
        check_name(bad)
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)


@pytest.mark.parametrize("good", ["best 2026-11-26", "seed_v2", "fast-1.5", "a+b", "X" * 64])
def test_good_names(good):
    assert check_name(f"  {good} ") == good
    assert path_for(good).parent == models_dir()


def test_a_taught_model_always_gets_a_name_it_can_be_saved_under():
    assert taught_name("mine") == "mine-taught"
    assert taught_name("mine", "2026-11-30-080000") == "mine-taught-2026-11-30-080000"
    long = taught_name("x" * 64, "2026-11-30-080000")  # the base is cut, never the stamp
    assert long == "x" * 31 + "-taught-2026-11-30-080000" and len(long) == 56
    # a file put in the models folder by hand can be active under a name the check refuses
    # for new models: its taught model is still saved, as taught-DATE-TIME
    for base in ("[bold red]x", ".hidden", "tab\tname"):
        name = taught_name(base)
        assert check_name(name) == name and name.startswith("taught-20")


def test_save_list_rename_delete(tiny):
    model, meta = tiny
    save_new(model, meta, "first")
    with pytest.raises(ModelError, match="exists already"):
        save_new(model, meta, "first")
    names = [e.name for e in list_models()]
    assert names[0] == SHIPPED and "first" in names
    entry = next(e for e in list_models() if e.name == "first")
    assert entry.architecture.startswith("784-8-10") and entry.test_accuracy == 0.5
    set_active("first")
    assert active_name() == "first"
    rename_model("first", "second")
    assert active_name() == "second"
    assert not path_for("first").exists()
    delete_model("second")
    assert active_name() == SHIPPED
    assert read_settings()["active"] == SHIPPED


def test_shipped_model_is_protected():
    for action in (lambda: delete_model(SHIPPED), lambda: rename_model(SHIPPED, "x")):
        with pytest.raises(ModelError, match="shipped"):
            action()
    with pytest.raises(ModelError):
        save_new(MLP((784, 4, 10), rng=0), {}, SHIPPED)
    assert path_for(SHIPPED) == shipped_model_path()


def test_the_shipped_conv_model_is_protected_listed_and_can_be_active():
    conv = "shipped-conv"
    for action in (lambda: delete_model(conv), lambda: rename_model(conv, "x")):
        with pytest.raises(ModelError, match="shipped"):
            action()
    with pytest.raises(ModelError, match="comes with digits"):
        check_name(conv)
    assert path_for(conv) == shipped_model_path().parent / "conv.npz"
    assert name_of(path_for(conv)) == conv and name_of(shipped_model_path()) == SHIPPED
    assert [e.name for e in list_models()][:2] == [SHIPPED, conv]
    set_active(conv)
    assert active_name() == conv
    model, path, notice = startup_model()
    assert path == path_for(conv) and notice == "" and model.metadata["preset"] == "conv"


def test_an_active_model_deleted_by_hand_is_said_and_the_shipped_one_used():
    """The settings name a model whose file was deleted outside digits: the app and the CLI
    used the shipped model without a word, though a user who chose that model then gets other
    answers than before."""
    model = MLP((784, 4, 10), rng=0)
    save_new(model, build_metadata(model), "mine")
    set_active("mine")
    path_for("mine").unlink()
    _, path, notice = startup_model()
    assert path == shipped_model_path()
    assert notice == (f"The active model 'mine' is gone (no file {path_for('mine')}); "
                      f"using the shipped model ({shipped_model_path()})")


def test_unreadable_model_is_listed_with_its_error(tiny):
    models_dir().mkdir(parents=True)
    (models_dir() / "broken.npz").write_bytes(b"not a zip")
    entry = next(e for e in list_models() if e.name == "broken")
    assert entry.error and "\n" not in entry.error


@pytest.mark.parametrize("recorded", [10**400, True, "99%", [0.5]],
                         ids=["10**400", "true", "text", "list"])
def test_a_recorded_accuracy_that_is_no_float_is_listed_as_none(recorded):
    """Strict JSON allows an integer of hundreds of digits: float() of it overflows, which
    took the model list (the Models and Evaluate screens) down."""
    model = MLP((784, 8, 10), rng=0)
    save_new(model, build_metadata(model, test_accuracy=recorded), "odd")
    save_new(model, build_metadata(model, test_accuracy=0.5), "plain")
    accuracies = {e.name: e.test_accuracy for e in list_models()}
    assert accuracies["odd"] is None and accuracies["plain"] == 0.5


def test_settings_survive_a_crash_mid_write(monkeypatch):
    set_active(SHIPPED)
    before = settings_path().read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        write_settings({"active": "other"})
    assert settings_path().read_bytes() == before
    assert [p.name for p in settings_path().parent.iterdir()] == [settings_path().name]


def test_corrupt_settings_fall_back_to_shipped():
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{not json")
    assert read_settings() == {} and active_name() == SHIPPED
    settings_path().write_text(json.dumps({"active": "../../etc/passwd"}))
    assert active_name() == SHIPPED


def test_startup_model_falls_back_with_a_notice(tiny):
    model, meta = tiny
    path = save_new(model, meta, "mine")
    set_active("mine")
    loaded, where, notice = startup_model()
    assert where == path and notice == ""
    np.testing.assert_array_equal(loaded.params, model.params)
    path.write_bytes(b"damaged")
    loaded, where, notice = startup_model()
    assert where == shipped_model_path() and "mine" in notice
    with pytest.raises(ModelError):
        startup_model(path)
