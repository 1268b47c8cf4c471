"""`Classifier`: the inference and copying that every digits network shares.

A network (`network.mlp.MLP`, `network.convnet.ConvNet`) brings its own `logits(x)` on scaled
inputs, its `architecture()` / `from_architecture`, flat `params`, and the attributes named
below; this base turns raw 0..255 images into probabilities and labels in bounded chunks, and
copies the network. Inference only reads the parameters, so several threads may run it at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from network.errors import ModelError
from network.inputs import as_rows, scale_into

__all__ = ["Classifier"]


class Classifier:
    """Mixed into each network class. Subclasses set:

    params: (P,) flat parameters; dtype: their dtype; metadata: a dict;
    n_inputs / n_outputs: pixels per image (784) and classes (K);
    scaling: the input scaling (`network.inputs.get_scaling`); output: the output layer
    (`network.losses.get_output`), whose `probabilities` turns logits into rows summing to 1;
    max_chunk: the most rows one inference chunk may hold (bounds the temporaries).
    """

    params: np.ndarray
    dtype: np.dtype
    metadata: dict[str, Any]
    scaling: Any
    output: Any
    max_chunk: int = 2**31
    #: The `rng` `copy` builds the twin with; its parameters are overwritten at once, so a
    #: subclass may give a value that skips drawing them (`network.mlp.MLP`).
    copy_rng: Any = 0

    @property
    def n_params(self) -> int:
        """Total number of parameters (weights and biases)."""
        return int(self.params.size)

    def copy(self) -> Any:
        """An independent copy: same architecture, copied parameters and metadata."""
        twin = type(self).from_architecture(self.architecture(), rng=self.copy_rng,
                                            dtype=self.dtype.type)
        twin.params[...] = self.params
        twin.metadata = dict(self.metadata)
        return twin

    def predict_proba(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Class probabilities for raw images, applying the network's own input scaling.

        Args:
            images: 0..255 pixels, uint8 or float, shaped (N, 28, 28), (N, 784), (28, 28) or
                (784,).
            batch_size: rows per chunk (at most `max_chunk`), bounding the temporaries.

        Returns:
            (N, K) rows of the network's dtype summing to 1 ((1, K) for a single image):
            softmax probabilities, or the sigmoid outputs normalized by their sum.
        """
        rows = as_rows(images, self.n_inputs)
        if rows.dtype.kind == "f" and not np.isfinite(rows).all():
            raise ModelError("images contain NaN or infinite pixels")
        n, step = rows.shape[0], max(1, min(batch_size, self.max_chunk))
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        buf = np.empty((min(max(n, 1), step), self.n_inputs), dtype=self.dtype)
        for start in range(0, n, step):
            chunk = rows[start : start + step]
            x = scale_into(chunk, self.scaling, buf[: chunk.shape[0]])
            out[start : start + chunk.shape[0]] = self.output.probabilities(self.logits(x))
        return out

    def predict(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Predicted labels (N,) int64 for raw 0..255 images shaped as in `predict_proba`."""
        return np.argmax(self.predict_proba(images, batch_size), axis=1)
