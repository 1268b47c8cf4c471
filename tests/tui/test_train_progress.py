"""The Train screen's live progress view: its curves' axes."""

from __future__ import annotations

from pilot_helpers import wait_for

from tui.widgets.plot import Plot


async def test_a_flat_accuracy_curve_keeps_its_axis_within_100_percent(make_app):
    """After one epoch (or epochs that score the same) the accuracy curve is flat and its axis
    was padded 5% either way: 94.5% to 104.5% around 99.49% (seen in tmux while teaching), an
    accuracy no model can have. The axis now stops at 100%."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: pilot.app.screen.query("#acc-plot"))
        plot = pilot.app.screen.query_one("#acc-plot", Plot)
        for values in ([0.9949], [0.9949, 0.9949], [1.0], [0.0]):
            plot.set_values(values)
            await pilot.pause()
            low, high = plot.value_range()
            assert 0.0 <= low < high <= 1.0, values
            # rendered at a set size: the plot is laid out only once a run shows it
            gutter = [strip.text.split("│")[0].strip() for strip in plot._render_all(40, 8)]
            labels = [float(text.rstrip("%")) for text in gutter if text]  # top and bottom
            assert len(labels) == 2 and 0.0 <= min(labels) <= max(labels) <= 100.0, gutter
