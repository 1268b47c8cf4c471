"""`DatasetPanel`: shown where MNIST is needed but missing -- where it looked, and a download.

It shows `app.dataset_error` (what is missing, where the app looked, how to fix it) and a
Download button. The download runs `mnist.download.download` in a thread worker with a progress
bar (the user cache, or the `--data-dir` folder when one was given), then asks the app to load
the dataset again. A failed download shows its one-line reason, which says how to point
MNIST_DIR at a folder holding the four files when the machine is offline.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, ProgressBar, Static
from textual.worker import get_current_worker

from mnist.download import DownloadCancelled, download
from mnist.errors import MnistError
from mnist.files import FILES
from tui.messages import DownloadDone, DownloadUpdate
from tui.widgets.outside import shown

OFFLINE_HINT = (
    "Offline? Put the four files in a folder and start digits with MNIST_DIR=/that/folder "
    "(or --data-dir /that/folder)."
)


class DatasetPanel(Vertical):
    """What is missing and where the app looked; a Download button with a progress bar."""

    DEFAULT_CSS = """
    DatasetPanel {
        height: auto;
        border: round $warning;
        border-title-color: $warning;
        padding: 0 1;
    }
    DatasetPanel > #dataset-error {
        height: auto;
    }
    DatasetPanel > #dataset-hint {
        height: auto;
        color: $text-muted;
        margin-top: 1;
    }
    DatasetPanel > Horizontal {
        height: auto;
        margin-top: 1;
    }
    DatasetPanel ProgressBar {
        width: 1fr;
        padding-left: 2;
    }
    DatasetPanel > #download-status {
        height: auto;
        color: $text-muted;
    }
    DatasetPanel > #download-error {
        height: auto;
        color: $error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """A panel that fills itself in from the app's dataset state."""
        super().__init__(id=id)
        self.border_title = "MNIST is needed here"
        self.downloading = False
        self.last_error = ""

    def compose(self) -> ComposeResult:
        """The message, the hint, the button and bar, the status and error lines."""
        # The reasons name folders and files (and a download's error, its mirror): outside text.
        yield Static(id="dataset-error", markup=False)
        yield Static(OFFLINE_HINT, id="dataset-hint")
        with Horizontal():
            yield Button("Download MNIST (d)", id="download", compact=True, variant="primary")
            yield ProgressBar(total=4, show_eta=False, id="download-bar")
        yield Static(id="download-status")
        yield Static(id="download-error", markup=False)

    def show_missing(self) -> None:
        """Fill in the app's reason (what is missing and where it looked)."""
        reason = self.app.dataset_error or "MNIST missing"
        self.query_one("#dataset-error", Static).update(shown(reason))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The Download button."""
        if event.button.id == "download":
            event.stop()
            self.start_download()

    def start_download(self) -> None:
        """Start the download worker unless one is running."""
        if self.downloading:
            return
        self.downloading = True
        self.last_error = ""
        self.query_one("#download-error", Static).update("")
        self.query_one("#download", Button).disabled = True
        self.query_one("#download-bar", ProgressBar).update(total=4, progress=0)
        self.query_one("#download-status", Static).update("Connecting…")
        data_dir = getattr(self.app, "data_dir", None)
        self._download(Path(data_dir) if data_dir else None)

    @work(thread=True, exclusive=True, group="download", exit_on_error=False)
    def _download(self, target: Path | None) -> None:
        """Run the download in a thread; reports through messages only."""
        worker = get_current_worker()
        names = [spec.gz_name for spec in FILES]

        def report(progress) -> None:
            """From the download: pass the report on as a message."""
            index = names.index(progress.file) if progress.file in names else 0
            self.post_message(DownloadUpdate(progress, index))

        try:
            download(target, on_progress=report, should_stop=lambda: worker.is_cancelled)
        except DownloadCancelled:
            self.post_message(DownloadDone(cancelled=True))
        except (MnistError, OSError) as exc:
            self.post_message(DownloadDone(error=str(exc)))
        else:
            self.post_message(DownloadDone())

    def on_download_update(self, message: DownloadUpdate) -> None:
        """Move the bar: one unit per file, the current file by its bytes."""
        message.stop()
        p = message.progress
        fraction = p.done / p.total if p.total else 0.0
        if p.state in ("done", "present"):
            fraction = 1.0
        self.query_one("#download-bar", ProgressBar).update(progress=message.file_index + fraction)
        size = f" {p.done / 1e6:.1f} of {p.total / 1e6:.1f} MB" if p.total else ""
        state = {"progress": "downloading", "failed": "failed, trying the next mirror"}.get(
            p.state, p.state)
        self.query_one("#download-status", Static).update(f"{p.file}: {state}{size}")

    def on_download_done(self, message: DownloadDone) -> None:
        """Load the dataset after a good download; otherwise show why it failed."""
        message.stop()
        self.downloading = False
        self.query_one("#download", Button).disabled = False
        if message.error or message.cancelled:
            self.last_error = message.error or "download cancelled"
            self.query_one("#download-status", Static).update("")
            self.query_one("#download-error", Static).update(shown(self.last_error))
            return
        self.query_one("#download-status", Static).update("Downloaded; loading…")
        self.app.retry_dataset()
