"""The original network, kept exactly: a 3-layer sigmoid net trained one record at a time.

This is the network of the original app (after Tariq Rashid's *Make Your Own Neural Network*):
no biases, sigmoid everywhere (``scipy.special.expit``), weights drawn from
normal(0, n_in ** -0.5), and plain gradient descent on one record per step with the update

    who += lr * (e_o * o * (1 - o)) @ h.T          e_o = targets - o
    wih += lr * (e_h * h * (1 - h)) @ x.T          e_h = who.T @ e_o   (the old who)

Everything is float64 column vectors, as in the original. It is slow on purpose: it is the
per-sample baseline the vectorized engine (`network.mlp`) is compared against. 784-200-10 with
lr 0.1 for 10 epochs reaches about 97.5% on the MNIST test set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.special

from mnist import SIDE
from network.errors import ModelError

__all__ = ["NeuralNetwork", "scale_inputs", "make_targets", "faithful_accuracy"]

ArrayLike = np.ndarray | Sequence[float]


class NeuralNetwork:
    """The original 3-layer network: input -> sigmoid hidden -> sigmoid output, no biases.

    Attributes:
        wih: (hidden_nodes, input_nodes) float64, input -> hidden weights.
        who: (output_nodes, hidden_nodes) float64, hidden -> output weights.
        lr: the learning rate of every `train` step.
    """

    def __init__(
        self,
        input_nodes: int,
        hidden_nodes: int,
        output_nodes: int,
        learning_rate: float,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        """Draw the weights from normal(0, n_in ** -0.5), as the original does.

        Args:
            input_nodes, hidden_nodes, output_nodes: layer sizes, each >= 1.
            learning_rate: step size of `train`, finite and > 0.
            rng: a numpy Generator, an int seed, or None for a fresh random seed.
        """
        for name, n in (("input", input_nodes), ("hidden", hidden_nodes), ("output", output_nodes)):
            if int(n) != n or n < 1:
                raise ModelError(f"{name} node count must be an integer >= 1, got {n!r}")
        if not np.isfinite(learning_rate) or learning_rate <= 0:
            raise ModelError(f"learning rate must be a finite number > 0, got {learning_rate!r}")
        self.inodes = int(input_nodes)
        self.hnodes = int(hidden_nodes)
        self.onodes = int(output_nodes)
        self.lr = float(learning_rate)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.wih = gen.normal(0.0, self.inodes**-0.5, (self.hnodes, self.inodes))
        self.who = gen.normal(0.0, self.hnodes**-0.5, (self.onodes, self.hnodes))

    @staticmethod
    def activation_function(x: np.ndarray) -> np.ndarray:
        """The logistic sigmoid, elementwise: any shape float64 -> same shape float64."""
        return scipy.special.expit(x)

    def train(self, inputs_list: ArrayLike, targets_list: ArrayLike) -> None:
        """One gradient step on one record, in place.

        Args:
            inputs_list: (input_nodes,) floats, already scaled (see `scale_inputs`).
            targets_list: (output_nodes,) floats, 0.01 everywhere but 0.99 at the label
                (see `make_targets`).
        """
        inputs = np.array(inputs_list, ndmin=2, dtype=np.float64).T  # (in, 1)
        targets = np.array(targets_list, ndmin=2, dtype=np.float64).T  # (out, 1)

        hidden_inputs = np.dot(self.wih, inputs)  # (hidden, 1)
        hidden_outputs = self.activation_function(hidden_inputs)
        final_inputs = np.dot(self.who, hidden_outputs)  # (out, 1)
        final_outputs = self.activation_function(final_inputs)

        output_errors = targets - final_outputs  # (out, 1)
        hidden_errors = np.dot(self.who.T, output_errors)  # (hidden, 1), with the old who

        self.who += self.lr * np.dot(
            output_errors * final_outputs * (1.0 - final_outputs), np.transpose(hidden_outputs)
        )
        self.wih += self.lr * np.dot(
            hidden_errors * hidden_outputs * (1.0 - hidden_outputs), np.transpose(inputs)
        )

    def query(self, inputs_list: ArrayLike) -> np.ndarray:
        """The forward pass on one record.

        Args:
            inputs_list: (input_nodes,) floats, scaled like the training inputs.

        Returns:
            (output_nodes, 1) float64: the sigmoid outputs, a column as in the original.
        """
        inputs = np.array(inputs_list, ndmin=2, dtype=np.float64).T
        hidden_outputs = self.activation_function(np.dot(self.wih, inputs))
        return self.activation_function(np.dot(self.who, hidden_outputs))


def scale_inputs(images: np.ndarray) -> np.ndarray:
    """The original's input scaling, x / 255 * 0.99 + 0.01, so no input is exactly 0.

    Args:
        images: uint8 pixels 0..255, shape (N, 28, 28), (N, 784), (28, 28) or (784,)
            (any (N, n) or (n,) works for other input sizes).

    Returns:
        (N, 784) float64 in [0.01, 1.0] ((1, 784) for a single image).
    """
    x = np.asarray(images)
    if x.ndim == 1 or x.shape == (SIDE, SIDE):
        flat = x.reshape(1, -1)
    else:
        flat = x.reshape(x.shape[0], -1)
    return flat.astype(np.float64) / 255.0 * 0.99 + 0.01


def make_targets(labels: np.ndarray, output_nodes: int = 10) -> np.ndarray:
    """The original's targets: 0.01 everywhere, 0.99 at the label.

    Args:
        labels: (N,) integer labels in 0..output_nodes-1.
        output_nodes: number of classes.

    Returns:
        (N, output_nodes) float64.
    """
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    targets = np.full((y.shape[0], output_nodes), 0.01)
    targets[np.arange(y.shape[0]), y] = 0.99
    return targets


def faithful_accuracy(net: NeuralNetwork, images: np.ndarray, labels: np.ndarray) -> float:
    """The original's score card, vectorized: the fraction of records whose argmax is the label.

    Args:
        net: a trained `NeuralNetwork`.
        images: (N, 28, 28) or (N, 784) uint8 pixels.
        labels: (N,) integer labels.

    Returns:
        Accuracy as a Python float in [0, 1].
    """
    x = scale_inputs(images)  # (N, 784)
    hidden = scipy.special.expit(x @ net.wih.T)
    outputs = scipy.special.expit(hidden @ net.who.T)  # (N, out)
    return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(labels).reshape(-1)))
