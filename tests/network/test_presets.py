"""The presets: what they promise structurally, and preset_config's copies and checks."""

from __future__ import annotations

import pytest

from network.errors import ModelError
from network.presets import PRESETS, preset_config, preset_names
from network.train import build_model


def test_the_three_presets_validate():
    assert preset_names() == ("seed", "fast", "best")
    for name, cfg in PRESETS.items():
        assert cfg.preset == name
        cfg.validate()


def test_seed_is_the_originals_network():
    cfg = PRESETS["seed"]
    net = build_model(cfg)
    assert net.sizes == (784, 200, 10)
    assert net.architecture() == {"sizes": [784, 200, 10], "activation": "sigmoid",
                                  "output": "sigmoid", "biases": False, "init": "original",
                                  "input_scaling": "original"}
    assert cfg.epochs == 10 and not cfg.augment


def test_best_augments():
    assert PRESETS["best"].augment and not PRESETS["fast"].augment


def test_preset_config_copies_and_overrides():
    cfg = preset_config("fast", epochs=2, hidden=[64])
    assert cfg.epochs == 2 and cfg.hidden == (64,) and cfg.preset == "fast"
    assert PRESETS["fast"].epochs != 2
    cfg.augmentation.rotate = 1.0
    assert PRESETS["fast"].augmentation.rotate != 1.0


def test_preset_config_errors():
    with pytest.raises(ModelError, match="seed, fast, best"):
        preset_config("turbo")
    with pytest.raises(ModelError, match="epochs"):
        preset_config("seed", epochs=0)
    with pytest.raises(ModelError, match="unknown"):
        preset_config("seed", dropout=0.1)
