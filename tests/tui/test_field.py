"""Text fields take keys that arrive together (one terminal read) in the order they came."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from tui.widgets.field import Field


def key(name: str) -> events.Key:
    """The Key event a terminal read of this key gives."""
    return events.Key(name, name if len(name) == 1 else None)


class OneField(App):
    def __init__(self, kind: type[Input]) -> None:
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        yield self.kind("ab")


async def typed_at_once(kind: type[Input], *keys: str) -> str:
    """The field's value after `keys` are posted to the app in one go, as the terminal
    driver posts the keys of one read."""
    app = OneField(kind)
    async with app.run_test() as pilot:
        await pilot.press("end")
        for name in keys:
            app.post_message(key(name))
        await pilot.pause()
        return app.query_one(Input).value


@pytest.mark.parametrize("keys, value", [
    (("backspace", "7"), "a7"),
    (("backspace", "backspace", "x", "left", "y"), "yx"),
    (("home", "z", "delete"), "zb"),
])
async def test_editing_keys_act_in_turn_with_the_characters_around_them(keys, value):
    assert await typed_at_once(Field, *keys) == value


async def test_the_rename_dialog_and_the_train_form_use_field():
    from tui.widgets.dialogs import NameDialog
    from tui.widgets.train_form import TrainForm

    class Both(App):
        def compose(self) -> ComposeResult:
            yield TrainForm()

        def on_mount(self) -> None:
            self.push_screen(NameDialog("Rename", "ab", lambda name: ""))

    app = Both()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        inputs = [*app.screen.query(Input), *app.screen_stack[0].query(Input)]
        assert inputs and all(isinstance(i, Field) for i in inputs)
