"""`Model`: what the rest of digits (the app, the commands, evaluation) needs of a trained network.

`network.mlp.MLP` (dense) and `network.convnet.ConvNet` (a layer stack with convolutions) both
offer these three things, so either can be painted at, evaluated and listed.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Model", "input_size", "is_layer_stack"]


def is_layer_stack(arch: Any) -> bool:
    """True when an architecture dict describes a `network.convnet.ConvNet` (else an MLP's)."""
    from network.convnet import KIND

    return isinstance(arch, dict) and arch.get("kind") == KIND


def input_size(arch: Any) -> int | None:
    """Pixels per image a network reads, from its architecture dict (None if unreadable)."""
    try:
        if is_layer_stack(arch):
            return int(np.prod(arch["input_shape"]))
        return int(arch["sizes"][0])
    except (KeyError, TypeError, ValueError, IndexError):
        return None


class Model(Protocol):
    """A trained classifier of 28x28 digits."""

    metadata: dict[str, Any]
    """Free-form JSON-ready facts about the model (preset, accuracy, date...), from its file."""

    def predict_proba(self, images: np.ndarray, batch_size: int = ...) -> np.ndarray:
        """(N, 10) class probabilities for N raw 0..255 images (N, 28, 28) or (N, 784)."""
        ...

    def architecture(self) -> dict[str, Any]:
        """JSON-ready description of the network, as stored in its model file."""
        ...
