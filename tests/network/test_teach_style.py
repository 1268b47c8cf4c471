"""Teach learns a personal style that the shipped model misreads, without forgetting MNIST.

The style is `mnist.styles.engineers_hand`: a slashed 0, a barred 7 and 2, a 1 with a flag and
a base (the other digits unchanged). 20 MNIST training digits of each kind are kept, written in
that style, and the shipped model is taught with the default settings (a fifth of them held
out). It is then measured on OTHER examples of the style: every 0, 1, 2 and 7 of MNIST's test
set (4,175 images) written over the same way, and on the plain MNIST test set.

Measured on 2026-11-29 (2-core machine) with the shipped model of that evening (99.43%): on the
styled test digits 88.5% before, 96.3% after; MNIST test 99.43% before, 99.36% after (-0.07
points). (With the model shipped before it, 99.48%: 87.5% -> 96.6%, 99.48% -> 99.38%.) The
thresholds below are the targets: at least 95% after, at most 0.3 points lost on MNIST; and
before, under 90%, so the style is one the shipped model really misreads.
"""

from __future__ import annotations

import numpy as np
import pytest

from mnist.styles import STYLED_DIGITS, engineers_hand
from network.drawings import add_drawings, load_drawings
from network.store import load_model, shipped_model_path
from network.teach import TeachConfig, accuracy, teach


@pytest.mark.slow
def test_teach_learns_a_personal_style_and_keeps_mnist(mnist_data):
    rng = np.random.default_rng(0)
    picks = np.concatenate([rng.choice(np.flatnonzero(mnist_data.train_labels == d), 20,
                                       replace=False) for d in range(10)])
    labels = mnist_data.train_labels[picks]
    add_drawings(list(engineers_hand(mnist_data.train_images[picks], labels)), labels.tolist())
    drawings = load_drawings()
    assert drawings.counts() == [20] * 10

    styled = np.isin(mnist_data.test_labels, STYLED_DIGITS)
    other_images = engineers_hand(mnist_data.test_images[styled],
                                  mnist_data.test_labels[styled])
    other_labels = mnist_data.test_labels[styled]
    model = load_model(shipped_model_path())
    before = accuracy(model, other_images, other_labels)
    outcome = teach(model, drawings, mnist_data.train_images, mnist_data.train_labels,
                    mnist_data.test_images, mnist_data.test_labels, TeachConfig())
    after = accuracy(outcome.model, other_images, other_labels)
    assert outcome.result.ok and outcome.held_out.size == 40
    assert before < 0.90, before  # measured: 0.885
    assert after >= 0.95, after  # measured: 0.963
    assert outcome.before.mnist - outcome.after.mnist <= 0.003, outcome.to_dict()  # -0.0007
