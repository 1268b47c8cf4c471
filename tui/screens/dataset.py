"""`DatasetScreen`: what the screens that need MNIST (Train, Evaluate) share.

While the app's dataset is missing, such a screen gets the class `-no-data` (its stylesheet then
shows the `DatasetPanel` instead of its work area), the panel says what is missing and where the
app looked, the status line says what to do, and the d key downloads. Once the dataset is loaded
the screen's `dataset_ready()` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.screens.base import DigitsScreen
from tui.widgets.dataset_panel import DatasetPanel

if TYPE_CHECKING:
    from tui.app import DatasetState

MISSING_STATUS = "No MNIST: download it or point MNIST_DIR at it."
LOADING_STATUS = "Loading MNIST…"


class DatasetScreen(DigitsScreen):
    """A screen that needs MNIST. Subclasses compose a `DatasetPanel`, call `follow_dataset()` in
    `on_mount`, bind d to "download", and implement `_status` and `dataset_ready`."""

    def follow_dataset(self) -> None:
        """Track the app's dataset state from now on (and apply the current one)."""
        self.watch(self.app, "dataset_state", self._dataset_changed)

    def _dataset_changed(self, state: DatasetState) -> None:
        """Show the dataset panel when MNIST is missing; say what is happening."""
        missing = state == "missing"
        self.set_class(missing, "-no-data")
        self.refresh_bindings()
        if missing:
            self.query_one(DatasetPanel).show_missing()
            self._status(MISSING_STATUS)
        elif state == "loading":
            self._status(LOADING_STATUS)
        elif state == "ready":
            self.dataset_ready()

    def _status(self, text: str) -> None:
        """Show `text` on the screen's status line (override)."""
        raise NotImplementedError

    def dataset_ready(self) -> None:
        """The dataset is loaded (override)."""

    @property
    def can_download(self) -> bool:
        """True while MNIST is missing (the d key and the Download button are offered)."""
        return self.app.dataset_state == "missing"

    def action_download(self) -> None:
        """Download MNIST (when it is missing)."""
        if self.can_download:
            self.query_one(DatasetPanel).start_download()
