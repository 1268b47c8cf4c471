"""Outside text as the widgets show it: model and file names, paths, model metadata, and error
messages that name them.

Such text is never parsed as markup (the callers use plain `Content`, `Text`, `markup=False`,
or `shown_in_markup` inside markup), and its control characters are written as escapes
(`mnist.fileio.printable`, as the CLI does: a newline as \\n, an escape as \\x1b). Textual
passes an escape character through to the terminal, which then runs the sequence (a colour, a
cleared screen, a window title) and draws the rest of the line out of place; a newline split a
one-line status in two, over the line below.
"""

from __future__ import annotations

from textual.markup import escape

from mnist.fileio import printable


def shown(text: object) -> str:
    """`text` as a widget shows it: its control characters written as escapes.

    Text without any is shown as it is (backslashes too), so text already escaped (the
    registry's start-up notice) is not escaped twice."""
    text = str(text)
    return text if text.isprintable() else printable(text)


def shown_in_markup(text: object) -> str:
    """`shown(text)` with its markup escaped, for a place inside markup."""
    return escape(shown(text))
