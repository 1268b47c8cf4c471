"""The `conv` preset's figures: its epoch against the GEMM limit, canvas latency, peak memory.

    python benchmarks/conv.py [--quick] [--images N] [--model PATH]

1. Epoch vs GEMM limit. Nearly all of a conv epoch's arithmetic is in its matrix products; per
   batch of B rows, a k x k convolution on an (H, W, C) input with F filters (H' W' outputs per
   image) and a dense layer D -> F make

       conv   forward  (B H' W', k k C) @ (k k C, F)     dW  (F, B H' W') @ (B H' W', k k C)
              dcols    (B H' W', F) @ (F, k k C)          (not for the first layer)
       dense  forward  (B, D) @ (D, F)   dW (D, B) @ (B, F)   dx (B, F) @ (F, D) (not first)

   each 2 m k n FLOPs. Each round measures, in turns, the float32 GEMM rate on 1024^3 and on
   each of those shapes (the best median is "the machine's rate", so the limit is the strictest
   one), and the engine: `network.train.train` on the `conv` preset (with its augmentation) for
   one epoch over the first N training images (default 12,800; 60,000 is a whole epoch).
   Reported: the engine's time as a multiple of FLOPs / rate (target <= 2x), and the whole
   60,000-image epoch time that this extrapolates to.
2. Canvas to probabilities with the conv model (network/shipped/conv.npz unless --model): the
   Paint screen's `normalize` + `predict_proba` on MNIST test digits as drawn and at half size in
   a corner, as `benchmarks/latency.py` measures the MLP (targets: p50 < 2 ms, p99 < 5 ms).
3. Peak resident memory of `digits train --preset conv --epochs 1` in a fresh process, as
   `benchmarks/memory.py` measures the other presets (every buffer is allocated in the first
   batches and the test scoring of the first epoch; target < 1 GB).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from _common import (
    CpuMeter,
    Row,
    alternate,
    contention_note,
    finish,
    fmt_seconds,
    load_data,
    machine_report,
    make_parser,
    median,
    percentile,
    table,
    wait_quiet,
)
from latency import canvas_to_probabilities, half_size_in_corner
from limit import flops, gemm_rate
from memory import run_child

from network.conv import Conv2D
from network.layers import Dense
from network.presets import preset_config
from network.store import load_model, shipped_model_path
from network.train import build_model, train

TARGET_RATIO = 2.0
TARGET_P50, TARGET_P99 = 2e-3, 5e-3
TARGET_MB = 1024.0
FULL_EPOCH = 60_000


def epoch_gemms(model, n: int, batch: int) -> list[tuple[int, int, int, int]]:
    """The (m, k, n, count) of every matrix product `model` makes on n images in batches."""
    full, last = divmod(n, batch)
    shapes = []
    for rows, count in ((batch, full), (last, 1 if last else 0)):
        if not count:
            continue
        first = True
        for layer in model.layers:
            if isinstance(layer, Conv2D):
                ho, wo, f = layer.out_shape
                m, k = rows * ho * wo, layer.fan_in()
                shapes += [(m, k, f, count), (f, m, k, count)]
                if not first:
                    shapes.append((m, f, k, count))
            elif isinstance(layer, Dense):
                d, f = layer.in_shape[0], layer.units
                shapes += [(rows, d, f, count), (d, rows, f, count)]
                if not first:
                    shapes.append((rows, f, d, count))
            else:
                continue
            first = False
    return shapes


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 3, --quick 1)")
    parser.add_argument("--images", type=int, default=12_800,
                        help="training images per timed epoch (default 12,800; 60,000 = all)")
    parser.add_argument("--model", help="conv model file for the latency (default: shipped)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    data = load_data()
    print(machine_report())

    # -- 1. the epoch against the GEMM limit -------------------------------------------------
    config = preset_config("conv", epochs=1)
    n = min(max(args.images, config.batch_size), len(data.train_images))
    shapes = epoch_gemms(build_model(config), n, config.batch_size)
    total = flops(shapes)
    probe_shapes = [(1024, 1024, 1024)] + sorted({(m, k, nn) for m, k, nn, _ in shapes
                                                  if m * k * nn >= 1_000_000})
    rates: dict[tuple[int, int, int], list[float]] = {s: [] for s in probe_shapes}
    images, labels = data.train_images[:n], data.train_labels[:n]

    def probe() -> float:
        """Measure the GEMM rates (not timed as a candidate)."""
        start = time.perf_counter()
        for s in probe_shapes:
            rates[s].append(gemm_rate(*s, reps=5 if math.prod(s) > 100_000_000 else 20))
        return time.perf_counter() - start

    def engine() -> float:
        """One epoch of the conv preset over the n images: its training time."""
        return train(config, images, labels).seconds

    times = alternate({"rate probe": probe, "engine": engine}, rounds)
    per_round_best = [max(rates[s][r] for s in probe_shapes) for r in range(rounds)]
    best_rate = median(per_round_best)
    ratio = median([e / (total / rate) for e, rate
                    in zip(times["engine"], per_round_best, strict=True)])
    engine_s = median(times["engine"])
    limit = total / best_rate
    print(table(["GEMM (m x k x n), float32", "GFLOP/s, median over rounds"],
                [[" x ".join(map(str, s)), f"{median(rates[s]) / 1e9:.1f}"]
                 for s in probe_shapes]))
    print()
    print(table(
        [f"conv preset, {n:,} images, batch {config.batch_size}", "value"],
        [["FLOPs (matrix products)", f"{total / 1e9:.1f} GFLOP"],
         ["machine's GEMM rate (best shape, median)", f"{best_rate / 1e9:.1f} GFLOP/s"],
         ["GEMM-limited time (FLOPs / rate)", fmt_seconds(limit)],
         ["engine (train, augmentation included), median", fmt_seconds(engine_s)],
         ["engine / GEMM-limited time (median of rounds)", f"{ratio:.2f}x"],
         ["a 60,000-image epoch at that pace", fmt_seconds(engine_s * FULL_EPOCH / n)]]))
    print(contention_note())
    print()

    # -- 2. canvas to probabilities ----------------------------------------------------------
    path = Path(args.model) if args.model else shipped_model_path().parent / "conv.npz"
    model = load_model(path)
    print(f"model: {model!r} ({path})")
    digits = [data.test_images[i] for i in range(100)]
    drawings = digits + [half_size_in_corner(d, i % 4) for i, d in enumerate(digits)]
    runs = 500 if args.quick else 3000
    wait_quiet()
    meter = CpuMeter().start()
    total_lat, _, forward = canvas_to_probabilities(model, drawings, runs)
    busy = meter.others()
    p50, p99 = median(total_lat), percentile(total_lat, 99)
    print(table(["canvas -> probabilities (conv)", "median", "99th pct", f"runs: {runs}"],
                [["normalize + predict_proba", fmt_seconds(p50), fmt_seconds(p99),
                  f"others busy: {busy:.2f} cores" if busy is not None else ""],
                 ["  predict_proba (forward)", fmt_seconds(median(forward)),
                  fmt_seconds(percentile(forward, 99)), ""]]))
    print()

    # -- 3. peak memory while training -------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        cli = ["train", "--preset", "conv", "--epochs", "1", "--data-dir", str(data.directory),
               "--out", os.path.join(tmp, "conv.npz")]
        start = time.perf_counter()
        child = run_child("train", cli)
        wall = time.perf_counter() - start
    peak_mb = child["peak_kib"] / 1024
    print(f"digits train --preset conv --epochs 1: peak RSS {peak_mb:.0f} MB, "
          f"{fmt_seconds(wall)} wall")
    print()

    rows = [
        Row("conv: epoch / GEMM-limited time", f"{ratio:.2f}x ({fmt_seconds(engine_s)} vs "
            f"{fmt_seconds(limit)} for {n:,} images at {best_rate / 1e9:.0f} GFLOP/s)",
            f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO),
        Row("conv: canvas to probabilities p50 / p99", f"{fmt_seconds(p50)} / "
            f"{fmt_seconds(p99)}", "< 2 ms / < 5 ms", p50 < TARGET_P50 and p99 < TARGET_P99),
        Row("conv: peak RSS training (1 epoch)", f"{peak_mb:.0f} MB", f"< {TARGET_MB:.0f} MB",
            peak_mb < TARGET_MB),
    ]
    finish(args, rows,
           f"conv: epoch {ratio:.2f}x the GEMM limit (60,000 images at this pace: "
           f"{fmt_seconds(engine_s * FULL_EPOCH / n)}); canvas to probabilities "
           f"{fmt_seconds(p50)} median, {fmt_seconds(p99)} p99; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
