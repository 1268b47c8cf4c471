"""`Model`: what the rest of digits (the app, the commands, evaluation) needs of a trained network.

`network.mlp.MLP` is the one implementation today; another kind of network (a convolutional
one, say) would only have to offer these three things to be painted at, evaluated and listed.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Model"]


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
