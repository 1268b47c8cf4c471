"""The app in a real browser: headless Chromium driven by Playwright against `digits serve`.

Uses the system's Chromium (Debian's `chromium` package; or the browser in $DIGITS_CHROMIUM),
never a browser downloaded by Playwright. Without Chromium (or without the `test-web` extra)
the test is skipped with one line saying why; with them, any failure is a failure.

The page draws the terminal on a canvas (xterm.js), so the test reads the terminal's buffer:
an init script catches the xterm.js Terminal object when textual.js stores it (as its
`terminal` property), and the test reads text and cell colours through xterm.js's buffer API.
Screenshots go to $DIGITS_TEST_ARTIFACTS/web (default build/test-artifacts/web).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from serve_helpers import children, wait_until

pytest.importorskip("textual_serve", reason="textual-serve is not installed (the 'web' extra)")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (the 'test-web' extra)"
)

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("DIGITS_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts")) / "web"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1120, "height": 780}  # about 124x37 cells: the Paint screen's full grid

# Runs before the page's scripts: keep the xterm.js Terminal that textual.js stores as
# `this.terminal` (an own property is then defined, so the page works as before); and record
# what happened to key presses and right clicks.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true});
    if (value && value.buffer && value.buffer.active) window.digitsTerminal = value;
  },
});
// Whether the page kept each key and right click from the browser (its default action cancelled).
window.keysSeen = [];
window.menusSeen = [];
addEventListener("keydown", (e) => setTimeout(() => keysSeen.push([e.key, e.defaultPrevented])),
                 true);
addEventListener("contextmenu", (e) => setTimeout(() => menusSeen.push(e.defaultPrevented)),
                 true);
"""
SCREEN_TEXT = """() => {
  const term = window.digitsTerminal;
  if (!term) return null;
  const buffer = term.buffer.active, lines = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines;
}"""
# Background colours (RGB numbers) of a block of cells: [[row][col]].
BACKGROUNDS = """([top, left, rows, cols]) => {
  const buffer = window.digitsTerminal.buffer.active, out = [];
  for (let y = top; y < top + rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y), row = [];
    for (let x = left; x < left + cols; x++) row.push(line.getCell(x).getBgColor());
    out.push(row);
  }
  return out;
}"""
CELL_GEOMETRY = """() => {
  const term = window.digitsTerminal;
  const box = term.element.querySelector(".xterm-screen").getBoundingClientRect();
  return [box.left, box.top, box.width / term.cols, box.height / term.rows];
}"""


def find_chromium() -> str | None:
    """The system Chromium: $DIGITS_CHROMIUM, else `chromium` or `chromium-browser` on PATH."""
    explicit = os.environ.get("DIGITS_CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


class Screen:
    """The app's terminal in the page: its text, its cell colours, and painting on its grid."""

    def __init__(self, page) -> None:
        self.page = page
        self.grid_top = self.grid_left = 0  # terminal cell of pixel (0, 0), set by find_grid

    def text(self) -> str:
        return "\n".join(self.page.evaluate(SCREEN_TEXT) or [])

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        """Wait until the terminal shows `pattern` (a regex); fail with the screen otherwise."""
        try:
            self.page.wait_for_function(
                f"() => {{ const t = ({SCREEN_TEXT})(); "
                f"return t !== null && new RegExp({pattern!r}).test(t.join('\\n')); }}",
                timeout=timeout * 1000,
            )
        except sync_api.TimeoutError:
            pytest.fail(f"the page never showed {pattern!r}; it shows:\n{self.text()}")
        return re.search(pattern, self.text())

    def find_grid(self) -> None:
        """Locate the 28x28 grid (full scale: a pixel is two cells wide) from its border."""
        lines = self.text().splitlines()
        row = next(y for y, line in enumerate(lines) if "28×28" in line and "╭" in line)
        left = lines[row].index("╭")
        assert lines[row].index("╮", left) - left == 57, "the grid is not at full scale"
        self.grid_top, self.grid_left = row + 1, left + 1

    def pixels(self) -> list[list[int]]:
        """The background colour of each of the 28x28 pixels (left cell of each pair)."""
        cells = self.page.evaluate(BACKGROUNDS, [self.grid_top, self.grid_left, 28, 56])
        return [row[::2] for row in cells]

    def wait_for_pixels(self, condition, what: str, timeout: float = 15) -> list[list[int]]:
        """Poll `pixels()` until `condition(pixels)` holds; fail naming `what` otherwise."""
        deadline = time.monotonic() + timeout
        while not condition(pixels := self.pixels()):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the page shows:\n{self.text()}")
            self.page.wait_for_timeout(50)
        return pixels

    def point(self, row: int, col: int) -> tuple[float, float]:
        """Page coordinates of the middle of pixel (row, col)."""
        left, top, width, height = self.page.evaluate(CELL_GEOMETRY)
        return (
            left + (self.grid_left + 2 * col + 1) * width,
            top + (self.grid_top + row + 0.5) * height,
        )

    def stroke(self, points: list[tuple[int, int]], button: str = "left") -> None:
        """Press at the first pixel, jump to each next one in ONE motion event, release."""
        mouse = self.page.mouse
        mouse.move(*self.point(*points[0]))
        mouse.down(button=button)
        for row, col in points[1:]:
            mouse.move(*self.point(row, col), steps=1)
        mouse.up(button=button)


def test_paint_recognize_clear_and_switch_screens_in_chromium(serve, mnist_dir, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "Chromium not found (apt-get install chromium, or set DIGITS_CHROMIUM): "
            "browser test not run"
        )
    served = serve("--port", "0", "--data-dir", str(mnist_dir))
    requested: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on("websocket", lambda websocket: requested.append(websocket.url))
            page.add_init_script(CATCH_TERMINAL)
            page.goto(served.url)
            screen = Screen(page)

            # The Paint screen, with its title and its own font.
            screen.wait_for(r"Draw a digit on the grid", timeout=60)
            assert page.title() == "digits"
            assert page.evaluate("document.fonts.check(\"16px 'Roboto Mono'\")")
            # Keys will reach the app with no click into the page first.
            assert page.evaluate("document.activeElement.className") == "xterm-helper-textarea"
            screen.find_grid()
            blank = screen.pixels()

            # A 7: the bar in one motion event (the app fills the gap), then the stem.
            screen.stroke([(6, 7), (6, 20), (15, 16), (23, 12)])
            found = screen.wait_for(r"(\d+\.\d)% sure it is a 7")
            assert float(found.group(1)) >= 50
            ink = screen.pixels()
            assert all(ink[6][col] != blank[6][col] for col in range(7, 21)), "gap in the bar"
            page.screenshot(path=str(ARTIFACTS / "paint.png"))

            # The right button erases, here the middle of the bar (again in one motion event).
            screen.stroke([(6, 9), (6, 18)], button="right")
            erased = screen.wait_for_pixels(
                lambda now: all(now[6][col] == blank[6][col] for col in range(9, 19)),
                "the right button to erase the middle of the bar",
            )
            assert erased[6][7] != blank[6][7] and erased[6][20] != blank[6][20]

            # Keys: c clears the canvas.
            page.keyboard.press("c")
            screen.wait_for(r"Draw a digit on the grid")
            screen.wait_for_pixels(lambda now: now == blank, "the canvas to be blank")

            # F1 (a browser's help key) shows the app's help; escape closes it.
            page.keyboard.press("F1")
            screen.wait_for(r"Keys on the Paint screen")
            page.keyboard.press("Escape")
            screen.wait_for(r"Draw a digit on the grid")

            # F4: the Evaluate screen (which evaluates the model on the test set).
            page.keyboard.press("F4")
            screen.wait_for(r"[\d,]+ of 10,000 right", timeout=60)  # the evaluation is done
            page.screenshot(path=str(ARTIFACTS / "evaluate.png"))

            # F5 (a browser's reload key): the Models screen. ctrl+r (reload) refreshes its list,
            # ctrl+p (print) opens the command palette; ctrl+s (save) and ctrl+z are the app's
            # keys on other screens.
            page.keyboard.press("F5")
            screen.wait_for(r"Make active")
            page.keyboard.press("Control+r")
            page.keyboard.press("Control+p")
            screen.wait_for(r"Search for commands")
            page.keyboard.press("Escape")
            page.keyboard.press("Control+s")
            page.keyboard.press("Control+z")
            screen.wait_for(r"Make active")

            # The browser acted on none of those keys or right clicks: the page kept them all.
            keys = [key for key in page.evaluate("keysSeen") if key[0] != "Control"]
            assert [key for key, _ in keys] == [
                "c", "F1", "Escape", "F4", "F5", "r", "p", "Escape", "s", "z"
            ]
            assert all(kept for _, kept in keys), keys
            assert page.evaluate("menusSeen") == [True]  # the right-button stroke

            # ctrl+q ends the app; the page offers to start a new one.
            page.keyboard.press("Control+q")
            page.get_by_text("Session ended.").wait_for(timeout=30_000)
            wait_until(lambda: not children(served.process.pid), 15, "the app to exit")
            page.get_by_role("button", name="Restart").click()
            Screen(page).wait_for(r"Draw a digit on the grid", timeout=60)
        finally:
            browser.close()

    # Offline: everything the page loaded came from the server itself.
    origin = served.origin
    ws_origin = origin.replace("http", "ws", 1)
    assert requested
    outside = [url for url in requested if not url.startswith((origin + "/", ws_origin + "/"))]
    assert outside == []
