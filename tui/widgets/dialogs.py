"""Small modal dialogs: a name prompt that checks what is typed, and a yes/no confirmation.

`NameDialog(title, value, check)` dismisses with the accepted name (or None on esc); `check`
returns the reason a name is refused (shown under the field as it is typed) or "" when it is
fine. `ConfirmDialog(question, action)` dismisses with True (y / the button) or False (n, esc).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Static

from tui.widgets.field import Field
from tui.widgets.modal import DismissOnce

DIALOG_CSS = """
    {name} {{
        align: center middle;
    }}
    {name} > Vertical {{
        width: 64;
        max-width: 95%;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }}
    {name} .dialog-title {{
        text-style: bold;
        margin-bottom: 1;
    }}
    {name} .dialog-error {{
        color: $error;
        height: auto;
    }}
    {name} .dialog-hint {{
        color: $text-muted;
        margin-top: 1;
    }}
    {name} Horizontal {{
        height: auto;
        margin-top: 1;
    }}
    {name} Button {{
        margin-right: 2;
    }}
"""


class _Check(Validator):
    """Wraps a function returning the reason a value is refused ("" = fine)."""

    def __init__(self, check: Callable[[str], str]) -> None:
        """A validator calling `check`."""
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        """Success, or the reason."""
        reason = self.check(value)
        return self.failure(reason) if reason else self.success()


class NameDialog(DismissOnce, ModalScreen[str | None]):
    """Ask for a name; refuse (with the reason, inline) what `check` refuses."""

    DEFAULT_CSS = DIALOG_CSS.format(name="NameDialog")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str, check: Callable[[str], str]) -> None:
        """A prompt titled `title`, prefilled with `value`."""
        super().__init__()
        self._title, self._value, self._check = title, value, check

    def compose(self) -> ComposeResult:
        """Title, field, reason, hint."""
        with Vertical():
            yield Static(self._title, classes="dialog-title", markup=False)  # names: plain
            yield Field(self._value, id="dialog-input", validators=[_Check(self._check)])
            yield Static("", id="dialog-error", classes="dialog-error", markup=False)
            yield Static("enter accepts · esc cancels", classes="dialog-hint")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Show why the name is refused, as it is typed."""
        result = event.validation_result
        reasons = result.failure_descriptions if result is not None else []
        self.query_one("#dialog-error", Static).update(reasons[0] if reasons else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Accept a good name; keep the dialog open (with the reason) for a bad one."""
        reason = self._check(event.value)
        if reason:
            self.query_one("#dialog-error", Static).update(reason)
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without a name."""
        self.dismiss(None)


class ConfirmDialog(DismissOnce, ModalScreen[bool]):
    """A yes/no question; `action` labels the yes button (e.g. 'Delete')."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, action: str = "Yes") -> None:
        """Ask `question`."""
        super().__init__()
        self._question, self._action = question, action

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical():
            yield Static(self._question, classes="dialog-title", markup=False)  # paths: plain
            with Horizontal():
                yield Button(f"{self._action} (y)", id="yes", variant="error", compact=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        """Focus the safe answer."""
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Either button answers."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """Answer by key."""
        self.dismiss(yes)
