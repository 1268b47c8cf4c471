"""Messages that thread workers post to their screens (the only way they reach the widgets).

Each is a small dataclass (Textual's `Message` supports that); `post_message` is thread-safe,
and the screen's handler runs on the UI thread. Handler names follow Textual's rule:
`TrainProgress` -> `on_train_progress`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from mnist.download import DownloadProgress
    from network.config import TrainConfig
    from network.evaluate import Evaluation
    from network.mlp import MLP
    from network.train import ProgressEvent, TrainResult


@dataclass(eq=False)
class _Posted(Message):
    """Base of these messages (Message's own `__post_init__` sets it up after the dataclass
    `__init__`)."""


@dataclass(eq=False)
class TrainProgress(_Posted):
    """A (throttled) `network.train.ProgressEvent` from the training worker."""

    event: ProgressEvent


@dataclass(frozen=True)
class RunToSave:
    """A trained model not saved yet, with what its metadata needs (a cancelled run's last
    completed epoch, kept only if the user asks)."""

    model: MLP
    config: TrainConfig
    result: TrainResult
    name: str  #: the name to save it under
    checksums: dict[str, str]  #: the dataset's, for the metadata


@dataclass(eq=False)
class TrainDone(_Posted):
    """The training worker finished: trained, cancelled, diverged or failed.

    `path`/`name` are set when the model was saved; `error` is a one-line reason when something
    failed (training, evaluation or the save). `noticed` and `stopped` are `time.monotonic()`
    stamps of the worker first seeing the cancel request and of the loop returning (0 if not).
    """

    result: TrainResult | None = None  #: None when training could not start
    accuracy: float | None = None  #: test accuracy of the saved model
    name: str = ""
    path: Path | None = None
    error: str = ""
    noticed: float = 0.0
    stopped: float = 0.0
    keep: RunToSave | None = None  #: what a cancel left unsaved


@dataclass(eq=False)
class ModelSaved(_Posted):
    """A save requested after the run (keeping a cancelled run's last epoch) finished."""

    name: str
    path: Path | None = None
    error: str = ""


@dataclass(eq=False)
class DownloadUpdate(_Posted):
    """A `mnist.download.DownloadProgress` report from the download worker."""

    progress: DownloadProgress
    file_index: int = 0  #: 0-based position of the file among the four


@dataclass(eq=False)
class DownloadDone(_Posted):
    """The download worker finished; `error` is the one-line reason when it failed."""

    error: str = ""
    cancelled: bool = False


@dataclass(eq=False)
class EvalProgress(_Posted):
    """`done` of `total` test images scored."""

    done: int
    total: int
    token: int = 0  #: which evaluation request this belongs to


@dataclass(eq=False)
class EvalDone(_Posted):
    """An evaluation finished (`evaluation` set), was cancelled, or failed (`error`)."""

    token: int
    evaluation: Evaluation | None = None
    name: str = ""
    error: str = ""
    cancelled: bool = False
    seconds: float = 0.0
