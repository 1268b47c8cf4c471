"""Startup: from launching `digits` until the Paint screen is first drawn.

    python benchmarks/startup.py [--quick]

Each run starts a fresh Python process that runs the `digits` command's own entry point
(`tui.cli.main([])`: argument parsing, importing the app, loading the active model -- the
shipped one, with an empty temporary config and data folder -- and building `DigitsApp`), with
only `App.run` swapped for Textual's headless `run_test`. The clock starts in the parent just
before the process is spawned (so interpreter start-up and every import count) and stops at the
first frame of the Paint screen: the first compositor update the app hands to its driver,
rendered to terminal output as a real terminal driver would. Several runs, median; the first run
is reported separately (a cold start after installing may read files from disk; later runs
find them in the page cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from _common import (
    Row,
    finish,
    fmt_seconds,
    machine_report,
    make_parser,
    median,
    percentile,
    table,
    wait_quiet,
)

TARGET = 1.0

CHILD = r"""
import asyncio, json, sys, time
t0 = float(sys.argv[1])
import tui.app
from tui.screens.paint import PaintScreen

first = {}
original_display = tui.app.DigitsApp._display

def _display(self, screen, renderable):
    if "t" not in first and renderable is not None and isinstance(screen, PaintScreen):
        if hasattr(renderable, "render_segments"):
            renderable.render_segments(self.console)  # what a terminal driver would write
        first["t"] = time.time()
    return original_display(self, screen, renderable)

def run(self, *args, **kwargs):
    async def go():
        async with self.run_test(size=(120, 40)):
            while "t" not in first:
                await asyncio.sleep(0.0005)
    asyncio.run(go())

tui.app.DigitsApp._display = _display
tui.app.DigitsApp.run = run
from tui.cli import main
rc = main([])
print("RESULT " + json.dumps({"rc": rc, "first_frame": first["t"] - t0}), flush=True)
"""


def one_run(env: dict[str, str]) -> float:
    """Seconds from spawning a `digits` process to its first Paint frame."""
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, repr(t0)], capture_output=True, text=True,
                          env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            if result["rc"] == 0:
                return float(result["first_frame"])
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-3000:])
    raise SystemExit("startup: the app did not start")


def main() -> None:
    """Run the benchmark and print its table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="runs (default 7, --quick 3)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    print(machine_report())
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ.copy()
        env.update(XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"))
        times = []
        for i in range(runs):
            wait_quiet()
            times.append(one_run(env))
            print(f"  run {i + 1}/{runs}: {fmt_seconds(times[-1])}", file=sys.stderr, flush=True)
    med = median(times)
    print(table(["launch -> first Paint frame", "seconds"],
                [["first run", fmt_seconds(times[0])],
                 [f"median of {runs}", fmt_seconds(med)],
                 ["fastest / slowest", f"{fmt_seconds(min(times))} / {fmt_seconds(max(times))}"],
                 ["90th percentile", fmt_seconds(percentile(times, 90))]]))
    print()
    rows = [Row("startup: launch -> Paint screen first drawn (median)",
                f"{fmt_seconds(med)} (first run {fmt_seconds(times[0])})",
                f"< {TARGET:.0f} s", med < TARGET)]
    finish(args, rows, f"startup: {fmt_seconds(med)} median from launching digits to the first "
                       f"frame of the Paint screen over {runs} runs (target < 1 s)")


if __name__ == "__main__":
    main()
