"""The presets: what they promise structurally, and preset_config's copies and checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from network.convnet import conv_stack, describe_stack
from network.errors import ModelError
from network.presets import PRESETS, preset_config, preset_names
from network.train import build_model


def test_the_presets_validate():
    assert preset_names() == ("seed", "fast", "best", "conv")
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
    with pytest.raises(ModelError, match="seed, fast, best, conv"):
        preset_config("turbo")
    with pytest.raises(ModelError, match="epochs"):
        preset_config("seed", epochs=0)
    with pytest.raises(ModelError, match="unknown"):
        preset_config("seed", label_smoothing=0.1)


def _readme_presets() -> dict[str, tuple[str, str]]:
    """README's preset table: {name: (network column, training column)}."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \|$", readme, flags=re.MULTILINE)
    return {name: (network, training) for name, network, training in rows if name in PRESETS}


def test_readme_preset_table_says_what_the_presets_do():
    table = _readme_presets()
    assert set(table) == set(PRESETS)
    for name, (network, training) in table.items():
        cfg = PRESETS[name]
        if cfg.conv:
            stack = describe_stack(conv_stack(cfg.conv, cfg.kernel, cfg.hidden))
            assert stack in network, (name, network)
            assert (f"dropout {cfg.dropout:g}" in network) == bool(cfg.dropout), (name, network)
        else:
            sizes = re.search(r"\b784((?:-\d+)+)\b", network)
            assert sizes, network
            assert tuple(int(n) for n in sizes.group(1).split("-")[1:-1]) == cfg.hidden, name
            assert sizes.group(1).endswith("-10")
        assert cfg.activation in network.lower(), (name, network)
        assert ("softmax" in network) == (cfg.output == "softmax"), (name, network)
        assert ("no biases" in network) == (not cfg.biases), (name, network)
        epochs = re.search(r"\b(\d+) epochs\b", training)
        assert epochs and int(epochs.group(1)) == cfg.epochs, (name, training)
        optimizer = {"sgd": "SGD", "adam": "Adam", "momentum": "momentum"}[cfg.optimizer]
        assert optimizer in training, (name, training)
        assert ("augmentation" in training) == cfg.augment, (name, training)
        if "schedule" in training:
            assert f"{cfg.schedule} schedule" in training, (name, training)
        batch = re.search(r"mini-batches of (\d+)", training)
        assert batch is None or int(batch.group(1)) == cfg.batch_size, (name, training)
