"""Run every benchmark, each in its own process, and print one combined Markdown table.

    python benchmarks/run_all.py [--quick] [--only NAME,...] [--full-memory]

Each benchmark's own output (its tables and summary line) is shown as it runs; at the end comes
the table for README's Performance section: benchmark, measured value, target, met?, with the
date, the command, the machine (Python, NumPy, cores, BLAS and its threads) and how busy other
processes kept the machine during the whole run. Exits 1 if a benchmark failed to run.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CpuMeter, Row, fmt_seconds, machine_report, make_parser, table, verdict

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("train_speed", "vs_torch", "limit", "latency", "compositing", "memory", "startup",
              "robustness", "teach", "conv")


def main() -> None:
    """Run the benchmarks and print the combined table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--full-memory", action="store_true",
                        help="memory: train `best` for all 60 epochs (5+ minutes)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    command = "python benchmarks/run_all.py" + "".join(
        f" {a}" for a in sys.argv[1:] if not a.startswith("--json"))
    started = datetime.datetime.now().astimezone()
    machine = machine_report()
    meter = CpuMeter().start()
    rows: list[Row] = []
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = os.path.join(tmp, f"{name}.json")
            cmd = [sys.executable, str(HERE / f"{name}.py"), "--json", out]
            if args.quick:
                cmd.append("--quick")
            if name == "memory" and args.full_memory:
                cmd.append("--full")
            print(f"\n### {name}\n", flush=True)
            start = time.perf_counter()
            proc = subprocess.run(cmd, check=False)
            took = time.perf_counter() - start
            if proc.returncode == 2:
                print("run_all: MNIST is missing (see the message above)", file=sys.stderr)
                sys.exit(2)
            if proc.returncode != 0 or not os.path.exists(out):
                failed.append(name)
                rows.append(Row(f"{name}: FAILED (exit {proc.returncode})", "-", "-", False))
                continue
            with open(out, encoding="utf-8") as fh:
                rows.extend(Row(**r) for r in json.load(fh))
            print(f"({name} took {fmt_seconds(took)})", flush=True)
    busy = meter.others()
    finished = datetime.datetime.now().astimezone()
    print("\n## Combined\n")
    print(f"{started:%Y-%m-%d %H:%M %Z} to {finished:%H:%M %Z}, `{command}`")
    print(f"Machine: {machine}")
    if busy is not None:
        print(f"Other processes kept {busy:.2f} cores busy on average during the run.")
    print()
    print(table(["benchmark", "measured", "target", "met?"],
                [(r.benchmark, r.measured, r.target or "-", verdict(r.met)) for r in rows]))
    met = sum(r.met is True for r in rows)
    missed = sum(r.met is False for r in rows)
    print(f"\nrun_all: {met} targets met, {missed} not met"
          + (f", failed: {', '.join(failed)}" if failed else ""), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([r.__dict__ for r in rows], fh, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
