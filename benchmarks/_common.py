"""Helpers shared by the benchmarks: BLAS and thread report, data loading, timing, tables.

Every benchmark is a plain script (`python benchmarks/<name>.py`) that prints a small table and
a last summary line. With `--json PATH` it also writes its rows for `benchmarks/run_all.py`:
a list of {"benchmark", "measured", "target", "met"} where `met` is true, false or null (no
target, or skipped).

The machines this runs on are shared and noisy, so the benchmarks compare things side by side in
one process: `alternate` runs the candidates in turns (the order reversed every other round, so
no candidate always goes first) and the figures are medians of per-round values or ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Row",
    "cores",
    "blas_report",
    "load_avg",
    "machine_report",
    "load_data",
    "make_parser",
    "CpuMeter",
    "wait_quiet",
    "alternate",
    "contention_note",
    "median",
    "percentile",
    "table",
    "finish",
    "fmt_seconds",
]


@dataclass
class Row:
    """One line of the combined table: what was measured, the value, its target, and the verdict."""

    benchmark: str
    measured: str
    target: str = ""
    met: bool | None = None  #: None: no target, or not measured (skipped)


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def blas_report() -> str:
    """Which BLAS libraries are loaded and how many threads each uses (threadpoolctl's info).

    Without threadpoolctl, falls back to NumPy's build configuration (no thread counts).
    """
    import numpy as np

    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS is loaded
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return f"{blas.get('name', '?')} {blas.get('version', '')} (threads: unknown; " \
                   "pip install threadpoolctl for the count)"
        except Exception:  # noqa: BLE001 - only a report
            return "unknown BLAS (pip install threadpoolctl)"
    parts = []
    for pool in threadpool_info():
        lib = os.path.basename(pool.get("filepath", ""))
        api = pool.get("internal_api", "?")
        name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(api, api)
        if pool.get("user_api") == "openmp":
            name = f"OpenMP ({api})"
        arch = pool.get("architecture")
        detail = ", ".join(x for x in (arch, pool.get("threading_layer")) if x)
        version = pool.get("version") or ""
        detail = f"{detail}; {lib}" if detail else lib
        parts.append(f"{name} {version} ({detail}): {pool.get('num_threads')} threads")
    return "; ".join(parts) or "no BLAS thread pool found"


def load_avg() -> str:
    """The 1-minute load average over the core count, e.g. '1.37 on 2 cores'."""
    try:
        return f"{os.getloadavg()[0]:.2f} on {cores()} cores"
    except OSError:
        return f"? on {cores()} cores"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_report() -> str:
    """Python, NumPy, CPU, cores, BLAS and its threads, and the load average: a run's context."""
    import numpy as np

    return (f"Python {platform.python_version()}, NumPy {np.__version__}, {cores()} cores "
            f"({cpu_model()}); BLAS: {blas_report()}; load average {load_avg()}")


def load_data() -> Any:
    """MNIST via `mnist.dataset.load_mnist()` (MNIST_DIR, else the cache); exit 2 if absent."""
    from mnist.dataset import load_mnist
    from mnist.errors import MnistError

    try:
        return load_mnist()
    except MnistError as exc:
        print(f"MNIST not found: {exc} (set MNIST_DIR=/path/to/mnist or run "
              "`digits data download`)", file=sys.stderr)
        sys.exit(2)


def make_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes: --quick and --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a rough figure fast")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows here")
    return parser


class CpuMeter:
    """CPU seconds used by *other* processes since `start()`, from /proc/stat (Linux only).

    The machines are shared: this tells a quiet measurement from one taken while another
    program was busy. Elsewhere `others()` returns None.
    """

    def __init__(self) -> None:
        """Not started yet."""
        self._t0: tuple[float, float, float] | None = None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(wall seconds, busy CPU seconds of the whole machine, CPU seconds of this process)."""
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        own = os.times()  # this process's threads, and its children once waited for
        return time.perf_counter(), busy, own.user + own.system + own.children_user \
            + own.children_system

    def start(self) -> CpuMeter:
        """Start (or restart) counting; returns self."""
        self._t0 = self._sample()
        return self

    def others(self) -> float | None:
        """Average number of cores other processes kept busy since `start()` (e.g. 0.05)."""
        now = self._sample()
        if now is None or self._t0 is None:
            return None
        wall = max(now[0] - self._t0[0], 1e-9)
        return max(0.0, (now[1] - self._t0[1]) - (now[2] - self._t0[2])) / wall


def wait_quiet(threshold: float = 0.1, max_wait: float = 30.0, window: float = 0.5) -> float:
    """Wait until other processes use less than `threshold` of a core (over `window` seconds),
    at most `max_wait` seconds; returns the seconds waited."""
    start = time.perf_counter()
    meter = CpuMeter()
    while time.perf_counter() - start < max_wait:
        meter.start()
        time.sleep(window)
        busy = meter.others()
        if busy is None or busy < threshold:
            break
    return time.perf_counter() - start


#: A round during which other processes kept more than this much of a core busy is re-run.
CONTENDED = 0.2


def alternate(candidates: dict[str, Callable[[], float | None]], rounds: int,
              pause: float = 0.05, verbose: bool = True, retries: int = 2
              ) -> dict[str, list[float]]:
    """Run each candidate once per round, in turns; returns each one's list of seconds.

    A candidate returns its own measured seconds, or None to be timed from outside. Odd rounds
    run the candidates in reverse order. Before each round the machine is given a chance to go
    quiet (`wait_quiet`); a round during which other processes kept more than `CONTENDED` of a
    core busy is run again, at most `retries` times per round (the last try is kept anyway, and
    `alternate.contention` records what each kept round saw). `pause` seconds between runs let
    BLAS/OpenMP worker threads that spin after a call go idle before the next candidate starts.
    """
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    seen: list[float] = []
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for attempt in range(retries + 1):
            wait_quiet()
            meter = CpuMeter().start()
            got: dict[str, float] = {}
            for name in order:
                time.sleep(pause)
                start = time.perf_counter()
                own = candidates[name]()
                got[name] = own if own is not None else time.perf_counter() - start
            busy = meter.others()
            if busy is None or busy <= CONTENDED or attempt == retries:
                break
            if verbose:
                print(f"  round {r + 1}: other processes used {busy:.2f} cores, again",
                      file=sys.stderr, flush=True)
        for name in names:
            times[name].append(got[name])
        seen.append(busy if busy is not None else float("nan"))
        if verbose:
            shown = ", ".join(f"{n} {fmt_seconds(times[n][-1])}" for n in names)
            print(f"  round {r + 1}/{rounds}: {shown} (others: {seen[-1]:.2f} cores)",
                  file=sys.stderr, flush=True)
    alternate.contention = seen  # type: ignore[attr-defined]
    return times


def contention_note(values: Sequence[float] | None = None) -> str:
    """'other processes: 0.02-0.31 cores busy during the rounds' for the last `alternate`."""
    values = list(values if values is not None else getattr(alternate, "contention", []))
    values = [v for v in values if v == v]
    if not values:
        return "other processes: not measured"
    return (f"other processes kept {min(values):.2f}-{max(values):.2f} cores busy during the "
            f"rounds (median {median(values):.2f})")


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between order statistics."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def fmt_seconds(seconds: float) -> str:
    """'1.23 s', '45.6 ms' or '789 us'."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pipes aligned for reading in a terminal)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    """'yes', 'NO' or '-'."""
    return "-" if met is None else ("yes" if met else "NO")


def finish(args: argparse.Namespace, rows: list[Row], summary: str) -> None:
    """Print the result table and the summary line (last); write the rows if --json was given."""
    print(table(["benchmark", "measured", "target", "met?"],
                [(r.benchmark, r.measured, r.target or "-", verdict(r.met)) for r in rows]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([asdict(r) for r in rows], fh, indent=1)
    print(summary, flush=True)
