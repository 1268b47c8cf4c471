"""The Models screen: the saved models, which one is active, and switching, renaming, deleting.

The table lists `network.registry.list_models()`: the shipped model first (always there, never
renamed or deleted), then the user's models, newest first; a file that cannot be read is listed
with its error. ● marks the model the app is using. Making a model active loads it, records the
choice in the settings file (written atomically, so it holds across restarts) and switches every
screen to it. The list is read again whenever the screen is shown.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from network.errors import ModelError
from network.registry import (
    ModelEntry,
    active_name,
    check_free,
    check_name,
    delete_model,
    list_models,
    rename_model,
    startup_model,
)
from tui.errors import one_line_error
from tui.screens.base import DigitsScreen
from tui.widgets.dialogs import ConfirmDialog, NameDialog
from tui.widgets.outside import shown

HELP = """\
Every model you trained (Train screen or `digits train`) is listed with the model that comes
with digits. a (or enter) makes the highlighted model the active one: the Paint screen uses it
at once, and digits starts with it next time. r renames a model, d deletes one after asking
(the shipped model can be neither), e evaluates it on the Evaluate screen."""


COLUMNS = ("", "name", "preset", "test acc", "architecture", "created")

NAME_WIDTH = 32
"""Cells of a name in the table, longer ones cut with "…" (the line under the table gives it in
full). A file put in the models folder by hand may have a name of up to 251 characters (a
255-byte file name), which pushed every other column off the screen."""


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name the same file."""
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, TypeError):
        return False


class ModelsScreen(DigitsScreen):
    """List, activate, rename and delete saved models."""

    TITLE = "Models"
    MODE = "models"
    CSS_PATH = "models.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("a", "activate", "Make active"),
        Binding("r", "rename", "Rename"),
        Binding("d,delete", "delete", "Delete"),
        Binding("e", "evaluate", "Evaluate"),
        Binding("ctrl+r", "refresh", "Refresh list", show=False),
    ]

    def __init__(self) -> None:
        """No list yet."""
        super().__init__()
        self.entries: list[ModelEntry] = []

    def compose_body(self) -> ComposeResult:
        """The active model line, the table, the details of the highlighted row, a message."""
        yield Static("", id="models-active")
        yield DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="models-info")
        yield Static("", id="models-message")

    @property
    def table(self) -> DataTable:
        """The model table."""
        return self.query_one("#models-table", DataTable)

    def on_mount(self) -> None:
        """Follow the active model (`refresh_list` makes the columns)."""
        self.watch(self.app, "model_id", lambda _: self.refresh_list(), init=False)

    def on_screen_resume(self) -> None:
        """Shown: read the list again (a run may have saved a model)."""
        self.refresh_list()
        self.table.focus()

    def refresh_list(self) -> None:
        """Read the models folder and fill the table, keeping the highlighted model."""
        keep = self.selected.name if self.selected is not None else None
        self.entries = list_models()
        table = self.table
        # The columns too: a DataTable column keeps the width of the widest cell it ever held,
        # so once a model with a long preset or architecture was deleted or renamed, its column
        # stayed that wide and pushed the others off the screen.
        table.clear(columns=True)
        for label in COLUMNS:
            table.add_column(label, key=label or "active")
        for entry in self.entries:
            active = "●" if _same_file(entry.path, self.app.model_path) else ""
            if entry.error:
                cells = (active, entry.name, "", Text("damaged", style="red"), "", "")
            else:
                acc = f"{entry.test_accuracy:.2%}" if entry.test_accuracy is not None else "–"
                cells = (active, entry.name, entry.preset or "–", acc, entry.architecture,
                         entry.created.replace("T", " "))
            # Names and metadata are outside text: plain Text, never parsed as markup.
            row = [Text(shown(c)) if isinstance(c, str) else c for c in cells]
            row[1].truncate(NAME_WIDTH, overflow="ellipsis")
            table.add_row(*row, key=entry.name)
        names = [e.name for e in self.entries]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        using = Path(self.app.model_path)
        listed = any(_same_file(e.path, using) for e in self.entries)
        saved = active_name()
        line = Content.from_markup("Active: [b]$name[/b]", name=shown(self._name_of(using)))
        if not listed:  # from `--model PATH`, or its file was deleted meanwhile (elsewhere)
            where = (f"{using}, given on the command line" if using.is_file()
                     else f"still loaded; its file {using} is gone")
            line += Content(shown(f" ({where}); saved choice: {saved}"))
        self.query_one("#models-active", Static).update(line)
        self._show_info()

    def _name_of(self, path: Path) -> str:
        """The listed name of a model file, or its stem."""
        return next((e.name for e in self.entries if _same_file(e.path, path)), path.stem)

    @property
    def selected(self) -> ModelEntry | None:
        """The highlighted ModelEntry, or None."""
        row = self.table.cursor_row if self.table.row_count else -1
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Details of the highlighted model."""
        self._show_info()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter makes the model active."""
        self.action_activate()

    def _show_info(self) -> None:
        """Path (or error) of the highlighted model under the table."""
        entry = self.selected
        info = self.query_one("#models-info", Static)
        if entry is None:
            info.update("")
        elif entry.error:
            info.update(Content.from_markup("[b]$name[/b]: damaged, [red]$error[/] (d deletes it)",
                                            name=shown(entry.name), error=shown(entry.error)))
        else:
            kind = "comes with digits; cannot be renamed or deleted" if entry.shipped else "saved"
            info.update(Content.from_markup("[b]$name[/b] ($kind)\n[dim]$path[/]",
                                            name=shown(entry.name), kind=kind,
                                            path=shown(entry.path)))

    def _message(self, text: str, error: bool = False) -> None:
        """The result of the last action (in the error colour for a failure)."""
        message = self.query_one("#models-message", Static)
        message.update(Content(shown(text)))  # names and error messages: plain, never markup
        message.set_class(error, "-error")

    # -- actions ---------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        """Read the list again."""
        self.refresh_list()

    def action_activate(self) -> None:
        """Load the highlighted model, remember the choice, switch every screen to it."""
        entry = self.selected
        if entry is None:
            return
        try:
            self.app.make_active(entry.name, entry.path)
        except (ModelError, OSError) as exc:
            self._message(f"Cannot make '{entry.name}' active: {one_line_error(exc) or exc}",
                          error=True)
            return
        self._message(f"'{entry.name}' is now the active model.")
        self.refresh_list()

    def action_rename(self) -> None:
        """Ask for a new name (checked as it is typed), then rename."""
        entry = self.selected
        if entry is None:
            return
        if entry.shipped:
            self._message("The shipped model cannot be renamed.", error=True)
            return

        def check(value: str) -> str:
            """The reason a new name is refused, or ""."""
            try:
                if check_name(value) != entry.name:
                    check_free(value)
            except ModelError as exc:
                return str(exc)
            return ""

        def done(new: str | None) -> None:
            """The dialog's answer."""
            if not new or new == entry.name:
                return
            try:
                path = rename_model(entry.name, new)
            except (ModelError, OSError) as exc:
                self._message(f"Cannot rename '{entry.name}': {one_line_error(exc) or exc}",
                              error=True)
                return
            if _same_file(entry.path, self.app.model_path) or not Path(
                    self.app.model_path).exists():
                self.app.set_model(self.app.model, path)
            self._message(f"Renamed '{entry.name}' to '{new}'.")
            self.refresh_list()
            self.table.move_cursor(row=[e.name for e in self.entries].index(path.stem))

        self.app.push_screen(
            NameDialog(f"Rename '{shown(entry.name)}' to:", shown(entry.name), check), done)

    def action_delete(self) -> None:
        """Ask, then delete the highlighted model (never the shipped one)."""
        entry = self.selected
        if entry is None:
            return
        if entry.shipped:
            self._message("The shipped model cannot be deleted.", error=True)
            return

        def done(yes: bool | None) -> None:
            """The dialog's answer."""
            if yes:
                self._delete(entry)

        question = (f"Delete the model '{shown(entry.name)}'?\n"
                    f"{shown(entry.path)} is removed for good.")
        self.app.push_screen(ConfirmDialog(question, "Delete"), done)

    def _delete(self, entry: ModelEntry) -> None:
        """Delete; if the app was using it, fall back to the saved choice (the shipped one)."""
        was_active = _same_file(entry.path, self.app.model_path)
        try:
            delete_model(entry.name)
        except (ModelError, OSError) as exc:
            self._message(f"Cannot delete '{entry.name}': {one_line_error(exc) or exc}", error=True)
            return
        text = f"Deleted '{entry.name}'."
        if was_active:
            try:
                model, path, _ = startup_model()
            except ModelError as exc:
                text += f" It stays loaded until you choose another: {exc}"
            else:
                self.app.set_model(model, path)
                text += f" The active model is now '{self._name_of(path)}'."
        self._message(text)
        self.refresh_list()

    async def action_evaluate(self) -> None:
        """Evaluate the highlighted model on the Evaluate screen."""
        entry = self.selected
        if entry is None:
            return
        if entry.error:  # the key did nothing: say why
            self._message(f"Cannot evaluate '{entry.name}': {entry.error}", error=True)
            return
        await self.app.evaluate_model(entry.name)
