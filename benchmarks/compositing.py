"""Compositing: what each frame of a drag on the Paint screen costs Textual's compositor.

    python benchmarks/compositing.py [--quick] [--events N] [--rounds R] [--against DIR]

Each round is one real-time drag (`benchmarks/latency.py`'s: motion events at 120 per second
over the canvas, the app headless at 120x40, each frame rendered to terminal output) in a fresh
process. Per frame it reports the CPU time of the app's thread in `Screen._compositor_refresh`
(rendering the changed lines of the widgets, compositing them and writing the update as
terminal output) and the frame's whole main-thread work (as latency.py counts it), plus the time
spent showing recognition results (`PaintScreen._show_result`: the bars, the guess and the
confidence text taking a new result). With `--against DIR` (a checkout of another version of the
project) the rounds alternate between this code and DIR's, each child with its code first on
`PYTHONPATH`, and the summary gives the ratio of the compositor's time per frame.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    CpuMeter,
    Row,
    finish,
    machine_report,
    make_parser,
    median,
    table,
    wait_quiet,
)

ROOT = Path(__file__).resolve().parent.parent


def child(events_n: int) -> dict[str, Any]:
    """In this process: one drag, timed per frame (the code under test is first on sys.path)."""
    import asyncio

    import numpy as np
    from latency import drag
    from textual.screen import Screen

    import tui
    from network.store import load_model, shipped_model_path
    from tui.screens.paint import PaintScreen

    compositor: list[float] = []
    shown = [0.0]
    refresh, show_result = Screen._compositor_refresh, PaintScreen._show_result

    def timed_refresh(self: Any) -> None:
        started = time.thread_time()
        try:
            refresh(self)
        finally:
            compositor.append(time.thread_time() - started)

    def timed_show_result(self: Any, *args: Any) -> None:
        started = time.thread_time()
        try:
            show_result(self, *args)
        finally:
            shown[0] += time.thread_time() - started

    Screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
    PaintScreen._show_result = timed_show_result  # type: ignore[method-assign]
    path = shipped_model_path()
    result = asyncio.run(drag(load_model(path), path, events_n, "realtime"))
    frames = result["frames"]
    if not frames:
        sys.exit("the drag drew no frames: nothing to time")
    work = np.asarray(result["frame_work"]) * 1e3
    comp = np.asarray(compositor[-frames:]) * 1e3  # the frames of the drag are the last ones
    return {"code": str(Path(tui.__file__).resolve().parent.parent), "frames": frames,
            "per100": 100 * frames / events_n, "comp_mean": float(comp.mean()),
            "comp_p50": float(np.median(comp)), "comp_p99": float(np.percentile(comp, 99)),
            "work_p50": float(np.median(work)), "work_p99": float(np.percentile(work, 99)),
            "work_max": float(work.max()), "shown_per_frame": shown[0] * 1e3 / frames}


def run_child(code: Path, events_n: int) -> dict[str, Any]:
    """`child` in a fresh process with `code` first on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(code), *filter(None, [os.environ.get("PYTHONPATH")])]))
    out = subprocess.run([sys.executable, __file__, "--child", str(events_n)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"the drag failed with {code} first on PYTHONPATH:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if Path(result["code"]) != code.resolve():
        sys.exit(f"the drag ran {result['code']}, not {code}")
    return result


def main() -> None:
    """Alternate the rounds, print one row per drag and the medians."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="motion events per drag (default 500, "
                        "--quick 200)")
    parser.add_argument("--rounds", type=int, help="drags per version (default 3, --quick 1)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout of the project to alternate with")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one drag, JSON out
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child), allow_nan=False))  # strict JSON
        return
    events_n = args.events or (200 if args.quick else 500)
    rounds = args.rounds or (1 if args.quick else 3)
    if args.against is not None and not (args.against / "tui" / "app.py").is_file():
        sys.exit(f"--against {args.against}: not a checkout of this project (no tui/app.py)")
    print(machine_report())
    versions = {"this code": ROOT}
    if args.against is not None:
        versions["against"] = args.against
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    rows = []
    for r in range(rounds):
        for name in (list(versions) if r % 2 == 0 else list(versions)[::-1]):
            wait_quiet()
            meter = CpuMeter().start()
            got = run_child(versions[name], events_n)
            busy = meter.others()
            results[name].append(got)
            rows.append([name, f"{got['frames']} ({got['per100']:.0f})",
                         f"{got['comp_mean']:.2f} / {got['comp_p50']:.2f} / "
                         f"{got['comp_p99']:.2f}",
                         f"{got['work_p50']:.1f} / {got['work_p99']:.1f} / "
                         f"{got['work_max']:.1f}",
                         f"{got['shown_per_frame']:.2f}",
                         "?" if busy is None else f"{busy:.2f}", f"{os.getloadavg()[0]:.2f}"])
            print(f"  {name}: compositor {got['comp_mean']:.2f} ms a frame", file=sys.stderr,
                  flush=True)
    print(table([f"{events_n}-event drag at 120/s", "frames (per 100 events)",
                 "compositor ms per frame mean / p50 / p99", "frame work ms p50 / p99 / max",
                 "showing results, ms per frame", "others busy (cores)", "load average"],
                rows))
    print()
    mine = median([g["comp_mean"] for g in results["this code"]])
    summary = f"compositing: {mine:.2f} ms a frame (mean, median of {rounds} drags)"
    measured = f"{mine:.2f} ms a frame"
    if "against" in results:
        theirs = median([g["comp_mean"] for g in results["against"]])
        summary += f"; {theirs:.2f} ms against {args.against}: ratio {mine / theirs:.2f}"
        measured += f" ({mine / theirs:.2f}x the other code's {theirs:.2f} ms)"
    finish(args, [Row(f"compositing: {events_n}-event drag at 120/s, compositor per frame",
                      measured, "-", None)], summary)


if __name__ == "__main__":
    main()
