"""Peak resident memory of training runs, each in a fresh process (`resource.getrusage`).

    python benchmarks/memory.py [--quick] [--full]

Each preset is trained by `digits train --preset NAME --out TMP.npz` in a child process (the
command a user runs: argument parsing, loading and verifying MNIST, training with test scoring
after every epoch, saving), and the child reports its own peak resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) when it is done. `seed` and `fast` run in full;
`best` runs 2 of its 60 epochs unless --full (every buffer is allocated before the first batch
and nothing grows per epoch, so the peak is reached in the first epoch; --full checks that on
the whole 5-minute run). --quick trains `seed` and `fast` for 2 epochs and `best` for 1.

For scale, a child that only imports the packages and loads MNIST is measured the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from _common import Row, finish, fmt_seconds, load_data, machine_report, make_parser, table

TARGET_MB = 400.0

CHILD = r"""
import json, resource, sys, time
mode, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
if mode == "baseline":
    import numpy, scipy.special  # what training imports
    import network.train, network.augment
    from mnist.dataset import load_mnist
    load_mnist()
    rc = 0
else:
    from tui.cli import main
    rc = main(args)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print("RESULT " + json.dumps({"rc": rc, "peak_kib": peak,
                             "seconds": time.perf_counter() - start}, allow_nan=False),
      flush=True)
"""


def run_child(mode: str, args: list[str]) -> dict[str, float]:
    """Run CHILD in a fresh interpreter; its RESULT line as a dict."""
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, *args], capture_output=True,
                          text=True, env=os.environ.copy(), check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            if result["rc"] != 0:
                break
            return result
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    raise SystemExit(f"memory: the child for {mode} {' '.join(args)} failed")


def main() -> None:
    """Run the benchmark and print its table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="train `best` for all 60 epochs")
    args = parser.parse_args()
    data = load_data()  # exits 2 with a clear message when MNIST is absent
    print(machine_report())
    data_dir = str(data.directory)
    del data
    if args.quick:
        plans = [("seed", 2), ("fast", 2), ("best", 1)]
    else:
        plans = [("seed", None), ("fast", None), ("best", None if args.full else 2)]
    rows_out = []
    base = run_child("baseline", [])
    rows_out.append(["imports + MNIST loaded (no training)", "-",
                     f"{base['peak_kib'] / 1024:.0f} MB", fmt_seconds(base["seconds"])])
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset, epochs in plans:
            cli = ["train", "--preset", preset, "--data-dir", data_dir,
                   "--out", os.path.join(tmp, f"{preset}.npz")]
            if epochs is not None:
                cli += ["--epochs", str(epochs)]
            start = time.perf_counter()
            result = run_child("train", cli)
            peak_mb = result["peak_kib"] / 1024
            peaks.append((preset, epochs, peak_mb))
            rows_out.append([f"digits train --preset {preset}",
                             "all" if epochs is None else str(epochs),
                             f"{peak_mb:.0f} MB", fmt_seconds(time.perf_counter() - start)])
            print(f"  {preset}: {peak_mb:.0f} MB", file=sys.stderr, flush=True)
    print(table(["run (fresh process each)", "epochs", "peak RSS", "wall time"], rows_out))
    print()
    worst = max(peaks, key=lambda p: p[2])
    label = {None: "full run"}.get(worst[1], f"{worst[1]} epochs")
    rows = [Row(f"memory: peak RSS of training ({worst[0]}, {label}; largest of the presets)",
                f"{worst[2]:.0f} MB", f"< {TARGET_MB:.0f} MB", worst[2] < TARGET_MB)]
    finish(args, rows,
           "memory: peak resident memory " + ", ".join(
               f"{p} {mb:.0f} MB" + ("" if e is None else f" ({e} ep.)") for p, e, mb in peaks)
           + f" (target < {TARGET_MB:.0f} MB)")


if __name__ == "__main__":
    main()
