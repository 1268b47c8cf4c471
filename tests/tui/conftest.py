"""Fixtures for the TUI tests: the shipped model (loaded once) and a factory for the app.

The tests run against the model shipped in the package (`network.store.shipped_model_path()`).
DIGITS_TEST_MODEL=/path/to/model.npz points them at another model file instead (for local runs
before the shipped model exists). When the model file is missing the tests are skipped, unless
DIGITS_REQUIRE_MNIST=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The model file the TUI tests use: the shipped one (or $DIGITS_TEST_MODEL)."""
    from network.store import shipped_model_path

    override = os.environ.get("DIGITS_TEST_MODEL")
    path = Path(override) if override else shipped_model_path()
    if not path.is_file():
        message = f"model file {path} not found (train the shipped model, or set DIGITS_TEST_MODEL)"
        if os.environ.get("DIGITS_REQUIRE_MNIST") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def model(model_path: Path) -> Any:
    """The loaded model, shared by the whole session (the tests never train it)."""
    from network.store import load_model

    return load_model(model_path)


@pytest.fixture
def make_app(model: Any, model_path: Path) -> Callable[..., Any]:
    """Build a `DigitsApp` on the test model; `data_dir` as for `digits --data-dir`."""
    from tui.app import DigitsApp

    def build(data_dir: str | os.PathLike[str] | None = None) -> Any:
        """A new app (not yet running) on the session's model."""
        return DigitsApp(model, model_path, None if data_dir is None else str(data_dir))

    return build


@pytest.fixture(scope="session")
def test_digits(mnist_data: Any) -> tuple[np.ndarray, np.ndarray]:
    """The first 100 MNIST test images (100, 28, 28) uint8 and their labels (100,)."""
    return mnist_data.test_images[:100], mnist_data.test_labels[:100]
