"""`TrainForm`: the Train screen's settings -- preset, network, optimizer, run, model name.

Choosing a preset fills every field from `network.presets.PRESETS`. Each text field checks its
value as it is typed: it must parse (a number, a list of sizes) and the preset with that one
value changed must pass `TrainConfig.validate()`; otherwise the `ModelError` text (which names
the valid range) shows right under the field. The model name is checked with
`network.registry.check_name` and must not be taken. `config()` builds the validated
`TrainConfig` via `preset_config(preset, **overrides)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, Static, Switch

from network.activations import ACTIVATIONS
from network.config import TrainConfig, parse_hidden
from network.errors import ModelError
from network.presets import PRESETS, preset_config, preset_names
from network.registry import check_free, check_name, default_name
from tui.widgets.dropdown import Dropdown
from tui.widgets.field import Field

SUBSETS = ((60000, "all 60,000"), (20000, "first 20,000"), (5000, "first 5,000 (quick)"))
"""Choices for how many training images a run uses: (count, label)."""


PARSERS: dict[str, tuple[Callable[[str], object], str]] = {
    "hidden": (parse_hidden, "sizes like 200 or 800,800"),
    "lr": (float, "a number like 0.01"),
    "epochs": (int, "a whole number"),
    "batch_size": (int, "a whole number"),
    "seed": (int, "a whole number"),
}
"""Text field -> (parser, what it expects)."""
LABELS = {"hidden": "Hidden", "lr": "Learn rate", "epochs": "Epochs", "batch_size": "Batch",
          "seed": "Seed"}


def show_value(name: str, value: Any) -> str:
    """A config value as the text of its field."""
    if name == "hidden":
        return ",".join(str(n) for n in value)
    if name == "lr":
        return f"{value:g}"
    return str(value)


class ConfigValidator(Validator):
    """Checks one field: it parses, and the preset with it changed passes `validate()`."""

    def __init__(self, form: TrainForm, name: str) -> None:
        """A validator of field `name` of `form`'s preset."""
        super().__init__()
        self.form, self.name = form, name

    def validate(self, value: str) -> ValidationResult:
        """Success, or a failure whose description is the reason (one line)."""
        parse, expected = PARSERS[self.name]
        try:
            parsed = parse(value.strip())
        except ValueError:
            return self.failure(f"{self.name} must be {expected}")
        try:
            PRESETS[self.form.preset].with_overrides(**{self.name: parsed}).validate()
        except ModelError as exc:
            return self.failure(str(exc))
        return self.success()


class NameValidator(Validator):
    """A model name the registry accepts and that no saved model has yet."""

    def validate(self, value: str) -> ValidationResult:
        """Success, or the registry's reason."""
        try:
            check_free(value)
        except ModelError as exc:
            return self.failure(str(exc))
        return self.success()


class TrainForm(VerticalScroll):
    """The settings of a training run, one compact row each, errors under the fields."""

    DEFAULT_CSS = """
    TrainForm {
        height: 1fr;
        padding: 0 1;
    }
    TrainForm .field {
        height: auto;
        min-height: 1;
    }
    TrainForm .field > Label {
        width: 11;
        color: $text-muted;
    }
    TrainForm .field > Input, TrainForm .field > Select {
        width: 1fr;
    }
    TrainForm .field > Switch, TrainForm .field > Switch:focus {
        border: none;
        height: 1;
        width: 8;
        padding: 0;
    }
    TrainForm .field > Switch:focus {
        background-tint: $foreground 15%;
    }
    TrainForm .field-error {
        display: none;
        color: $error;
        height: auto;
        padding-left: 11;
    }
    TrainForm .field-error.-shown {
        display: block;
    }
    """

    can_focus = False  # focus goes to the fields themselves

    def __init__(self, preset: str = "seed", *, id: str | None = None) -> None:
        """A form filled from `preset`."""
        super().__init__(id=id)
        self._preset = preset
        self._auto_name = ""

    @property
    def preset(self) -> str:
        """The chosen preset's name."""
        return self._preset

    def compose(self) -> ComposeResult:
        """Preset, network and run settings, training images, and the name to save under."""
        presets = [(name, name) for name in preset_names()]
        with Horizontal(classes="field"):
            yield Label("Preset")
            yield Dropdown(presets, value=self._preset, allow_blank=False, compact=True,
                         id="preset")
        for name in ("hidden", "lr", "epochs", "batch_size", "seed"):
            if name == "lr":
                with Horizontal(classes="field"):
                    yield Label("Activation")
                    yield Dropdown([(a, a) for a in ACTIVATIONS], allow_blank=False,
                                 compact=True, id="activation")
            with Horizontal(classes="field"):
                yield Label(LABELS[name])
                yield Field(compact=True, id=name, validators=[ConfigValidator(self, name)])
            # The reasons quote what was typed: plain text, never markup.
            yield Static(id=f"{name}-error", classes="field-error", markup=False)
        with Horizontal(classes="field"):
            yield Label("Augment")
            yield Switch(id="augment")
        with Horizontal(classes="field"):
            yield Label("Images")
            yield Dropdown([(label, n) for n, label in SUBSETS], value=SUBSETS[0][0],
                         allow_blank=False, compact=True, id="subset")
        with Horizontal(classes="field"):
            yield Label("Save as")
            yield Field(compact=True, id="name", validators=[NameValidator()])
        yield Static(id="name-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        """Fill the fields from the starting preset."""
        self.fill(self._preset)

    def refresh_name(self) -> None:
        """Put a fresh default name in, unless the user typed one."""
        field = self.query_one("#name", Input)
        if field.value in ("", self._auto_name):
            self._auto_name = default_name(self._preset)
            field.value = self._auto_name

    def fill(self, preset: str) -> None:
        """Set every field to the preset's values."""
        self._preset = preset
        config = PRESETS[preset]
        for name in PARSERS:
            self.query_one(f"#{name}", Input).value = show_value(name, getattr(config, name))
        self.query_one("#activation", Select).value = config.activation
        self.query_one("#augment", Switch).value = config.augment
        self.refresh_name()

    def on_select_changed(self, event: Select.Changed) -> None:
        """A new preset fills the form."""
        if event.select.id == "preset" and event.value != self._preset:
            event.stop()
            self.fill(str(event.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        """Show or hide the reason under the field."""
        self._show_error(event.input, event.validation_result)

    def _show_error(self, field: Input, result: ValidationResult | None) -> None:
        """Show the first reason under the field, or hide the line."""
        error = self.query_one(f"#{field.id}-error", Static)
        reasons = result.failure_descriptions if result is not None else []
        error.update(reasons[0] if reasons else "")
        error.set_class(bool(reasons), "-shown")

    @property
    def subset(self) -> int:
        """How many training images (the first N) the run uses."""
        return int(self.query_one("#subset", Select).value)  # type: ignore[arg-type]

    def errors(self) -> dict[str, str]:
        """Field id -> reason, for every field that is not valid now (shown under each)."""
        found = {}
        for field in self.query(Input):
            result = field.validate(field.value)
            self._show_error(field, result)
            if result is not None and not result.is_valid:
                found[str(field.id)] = result.failure_descriptions[0]
        return found

    def config(self) -> TrainConfig:
        """The validated TrainConfig of the form; ModelError (first reason) if it is not valid."""
        errors = self.errors()
        first = next((k for k in errors if k != "name"), None)
        if first is not None:
            self.query_one(f"#{first}", Input).focus()
            raise ModelError(errors[first])
        overrides: dict[str, Any] = {
            name: PARSERS[name][0](self.query_one(f"#{name}", Input).value.strip())
            for name in PARSERS
        }
        overrides["activation"] = self.query_one("#activation", Select).value
        overrides["augment"] = self.query_one("#augment", Switch).value
        return preset_config(self._preset, **overrides)

    def model_name(self) -> str:
        """The name to save under (checked, not taken); ModelError with the reason if not."""
        field = self.query_one("#name", Input)
        result = field.validate(field.value)
        self._show_error(field, result)
        if result is not None and not result.is_valid:
            raise ModelError(result.failure_descriptions[0])
        return check_name(field.value)

    def set_enabled(self, enabled: bool) -> None:
        """Lock the fields while a run is going (they show what is being trained)."""
        for widget in self.query("Input, Switch"):
            widget.disabled = not enabled
