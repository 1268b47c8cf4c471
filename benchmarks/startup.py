"""Startup: from launching `digits` until the Paint screen is first drawn, against a minimal app.

    python benchmarks/startup.py [--quick] [--runs N]
    PYTHONPATH=/path/to/other/checkout python benchmarks/startup.py   # that checkout's code

Each run starts a fresh Python process that runs the `digits` command's own entry point
(`tui.cli.main([])`: argument parsing, importing the app, loading the active model -- the
shipped one, with an empty temporary config and data folder -- and building `DigitsApp`), with
only `App.run` swapped for Textual's headless `run_test`; the swap is made as `tui.app` is first
imported, so the child imports in the command's own order. The clock starts in the parent just
before the process is spawned (so interpreter start-up and every import count) and stops at the
first frame of the Paint screen: the first compositor update the app hands to its driver,
rendered to terminal output as a real terminal driver would.

The baseline is a minimal Textual app (one `Static`), started and measured the same way in the
same run: the two alternate, one of each per round, the order reversed every other round, and
the figure is the median over rounds of digits' time over the minimal app's. Each start is also
broken down: launch -> `App.run` and `App.run` -> first frame, in wall time and in the CPU time
the process used (all threads; less disturbed by other processes than wall time on a busy
machine, though it misses waiting for a core). The first round is also reported alone (a cold
start after installing may read files from disk; later runs find them in the page cache).
Last, one more `digits` process under `python -X importtime` breaks its imports down by
top-level package (self times summed: what each package's own modules cost, whoever imported
them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from _common import (
    Row,
    alternate,
    contention_note,
    finish,
    fmt_seconds,
    machine_report,
    make_parser,
    median,
    table,
)

TARGET = 1.0  #: seconds, launch to the first Paint frame
TARGET_RATIO = 2.0  #: digits' first frame over the minimal app's
AIM_RATIO = 1.5

#: Times the first frame a screen of type `wanted` hands to the driver (and when `App.run` was
#: called); imported first thing, shared by both children. `hook_when_imported` patches the app's
#: class right after its module is imported, by whoever imports it, so that digits' child imports
#: in the same order as the real command (its model thread, NumPy's BLAS threads).
HOOK = r"""
import asyncio, importlib.abc, importlib.machinery, json, sys, time
t0 = float(sys.argv[1])
first = {}

def hook(app_class, wanted):
    original_display = app_class._display

    def _display(self, screen, renderable):
        if "t" not in first and renderable is not None and isinstance(screen, wanted()):
            if hasattr(renderable, "render_segments"):
                renderable.render_segments(self.console)  # what a terminal driver would write
            first["t"], first["cpu"] = time.time(), time.process_time()
        return original_display(self, screen, renderable)

    def run(self, *args, **kwargs):
        first["run"], first["run_cpu"] = time.time(), time.process_time()
        async def go():
            async with self.run_test(size=(120, 40)):
                while "t" not in first:
                    await asyncio.sleep(0.0005)
        asyncio.run(go())

    app_class._display = _display
    app_class.run = run

def hook_when_imported(module_name, apply):
    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != module_name or "done" in first:
                return None
            first["done"] = True
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            execute = spec.loader.exec_module

            def exec_module(module):
                execute(module)
                apply(module)

            spec.loader.exec_module = exec_module
            return spec
    sys.meta_path.insert(0, Finder())

def report(rc):
    print("RESULT " + json.dumps({"rc": rc, "first_frame": first["t"] - t0,
                                  "run": first["run"] - t0, "cpu": first["cpu"],
                                  "run_cpu": first["run_cpu"]}, allow_nan=False), flush=True)
"""

DIGITS = HOOK + r"""
def paint_screen():
    from tui.screens.paint import PaintScreen
    return PaintScreen

hook_when_imported("tui.app", lambda module: hook(module.DigitsApp, paint_screen))
from tui.cli import main
report(main([]))
"""

MINIMAL = HOOK + r"""
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("digits")

def any_screen():
    from textual.screen import Screen
    return Screen

hook(Minimal, any_screen)
Minimal().run()
report(0)
"""


#: Where the children run. `python -c` puts the current folder first on the module path, so a
#: child started in the project folder imports its `tui` even with another checkout first on
#: PYTHONPATH (comparing two versions that way measured the same code twice); from here, the
#: installed package (or PYTHONPATH) decides.
CHILD_DIR = tempfile.gettempdir()

#: What each child's run measured besides the time to its first frame (see `one_run`).
DETAILS = ("run", "cpu", "run_cpu")


def one_run(child: str, env: dict[str, str],
            details: dict[float, dict[str, float]] | None = None) -> float:
    """Seconds from spawning a process running `child` to its first frame.

    Records in `details` (if given), under the seconds returned: `run`, the seconds from
    spawning it to `App.run`; `cpu` and `run_cpu`, the CPU seconds the process (all its
    threads) had used by the first frame and by `App.run`.
    """
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", child, repr(t0)], capture_output=True,
                          text=True, env=env, cwd=CHILD_DIR, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            if result["rc"] == 0:
                seconds = float(result["first_frame"])
                if details is not None:
                    details[seconds] = {key: float(result[key]) for key in DETAILS}
                return seconds
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-3000:])
    raise SystemExit("startup: the app did not start")


def import_breakdown(env: dict[str, str]) -> tuple[list[tuple[str, float]], float]:
    """[(top-level package, self seconds)] of one digits start under -X importtime, biggest
    first, and the total of all imports."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", DIGITS, repr(time.time())],
                          capture_output=True, text=True, env=env, cwd=CHILD_DIR, check=False)
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if not match:
            continue
        own = int(match.group(1)) / 1e6
        by_package[match.group(4).split(".")[0]] += own
        total += own
    return sorted(by_package.items(), key=lambda kv: -kv[1]), total


def breakdown(digits: dict[float, dict[str, float]], minimal: dict[float, dict[str, float]],
              digits_first: list[float], minimal_first: list[float]) -> str:
    """Medians of the kept starts' parts (`one_run`'s details), both apps: launch -> App.run
    (interpreter, imports, the model, building the app) and App.run -> first frame (Textual's
    start, styling, layout, the first render), in wall time and in the process's CPU time,
    with the medians of the digits/minimal ratios of each round."""
    def parts(details: dict[float, dict[str, float]], first: list[float]) -> list[list[float]]:
        kept = [details[f] for f in first]
        return [[d["run"] for d in kept], [f - d["run"] for f, d in zip(first, kept, strict=True)],
                [d["cpu"] for d in kept], [d["run_cpu"] for d in kept],
                [d["cpu"] - d["run_cpu"] for d in kept]]
    names = ["launch -> App.run (wall)", "App.run -> first frame (wall)",
             "CPU time to the first frame (all threads)", "CPU time to App.run",
             "CPU time App.run -> first frame"]
    rows = []
    for name, d, m in zip(names, parts(digits, digits_first), parts(minimal, minimal_first),
                          strict=True):
        ratio = median([a / b for a, b in zip(d, m, strict=True)])
        rows.append([name, fmt_seconds(median(d)), fmt_seconds(median(m)), f"{ratio:.2f}x"])
    return table(["parts of a start (medians)", "digits", "minimal app",
                  "digits / minimal"], rows)


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="rounds (default 7, --quick 3)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    print(machine_report())
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ.copy()
        env.update(XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"))
        details: dict[str, dict[float, dict[str, float]]] = {"digits": {}, "minimal app": {}}
        times = alternate({"digits": lambda: one_run(DIGITS, env, details["digits"]),
                           "minimal app": lambda: one_run(MINIMAL, env, details["minimal app"])},
                          runs)
        packages, imports = import_breakdown(env)
    digits, minimal = times["digits"], times["minimal app"]
    ratios = [d / m for d, m in zip(digits, minimal, strict=True)]
    med, ratio = median(digits), median(ratios)
    print(table(["launch -> first frame", "digits (Paint screen)", "minimal app (one Static)"],
                [["first round", fmt_seconds(digits[0]), fmt_seconds(minimal[0])],
                 [f"median of {runs}", fmt_seconds(med), fmt_seconds(median(minimal))],
                 ["fastest / slowest", f"{fmt_seconds(min(digits))} / {fmt_seconds(max(digits))}",
                  f"{fmt_seconds(min(minimal))} / {fmt_seconds(max(minimal))}"],
                 ["digits / minimal (median of rounds)", f"{ratio:.2f}x", ""]]))
    print(contention_note())
    print()
    print(breakdown(details["digits"], details["minimal app"], digits, minimal))
    print()
    shown = [(name, secs) for name, secs in packages if secs >= 0.005]
    print(table(["imports of one digits start (python -X importtime), by package", "self time"],
                [[name, fmt_seconds(secs)] for name, secs in shown]
                + [["(all imports)", fmt_seconds(imports)]]))
    print("(-X importtime slows imports down; compare the packages with each other)")
    print()
    rows = [Row("startup: launch -> Paint screen first drawn (median)",
                f"{fmt_seconds(med)} (first run {fmt_seconds(digits[0])})",
                f"< {TARGET:.0f} s", med < TARGET),
            Row("startup: digits' first frame / a minimal Textual app's (median of rounds)",
                f"{ratio:.2f}x ({fmt_seconds(med)} vs {fmt_seconds(median(minimal))})",
                f"<= {TARGET_RATIO:.0f}x (aim {AIM_RATIO}x)", ratio <= TARGET_RATIO)]
    finish(args, rows, f"startup: {fmt_seconds(med)} median from launching digits to the first "
                       f"frame of the Paint screen over {runs} rounds, {ratio:.2f}x a minimal "
                       f"Textual app's first frame (target <= {TARGET_RATIO:.0f}x, aim "
                       f"{AIM_RATIO}x; < 1 s)")


if __name__ == "__main__":
    main()
