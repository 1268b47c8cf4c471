"""A NumPy neural network for handwritten digits: the original, the engine, training, saving."""

from __future__ import annotations

from network.augment import AugmentConfig, Augmenter, augment
from network.config import TrainConfig
from network.errors import ModelError
from network.evaluate import Evaluation, confusion_matrix, evaluate
from network.faithful import NeuralNetwork, make_targets, scale_inputs
from network.mlp import MLP
from network.presets import PRESETS, preset_config
from network.store import (
    build_metadata,
    load_model,
    load_shipped_model,
    read_metadata,
    save_model,
    shipped_model_path,
)
from network.train import EpochStats, ProgressEvent, TrainResult, train

__all__ = [
    "MLP",
    "PRESETS",
    "AugmentConfig",
    "Augmenter",
    "EpochStats",
    "Evaluation",
    "ModelError",
    "NeuralNetwork",
    "ProgressEvent",
    "TrainConfig",
    "TrainResult",
    "augment",
    "build_metadata",
    "confusion_matrix",
    "evaluate",
    "load_model",
    "load_shipped_model",
    "make_targets",
    "preset_config",
    "read_metadata",
    "save_model",
    "scale_inputs",
    "shipped_model_path",
    "train",
]
