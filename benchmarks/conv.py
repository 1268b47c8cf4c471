"""The `conv` preset's figures: its epoch against the GEMM limit, canvas latency, peak memory.

    python benchmarks/conv.py [--quick] [--images N] [--model PATH]

1. Epoch vs GEMM limit. Nearly all of a conv epoch's arithmetic is in its matrix products. They
   are taken from the engine itself: one training batch of each size the epoch uses runs with
   the layers' `np.matmul` recorded (operands, output, layouts), which gives, per batch of B
   rows, for a k x k convolution on an (H, W, C) input with F filters (H' W' outputs per
   image) and a dense layer D -> F,

       conv   forward  (B H' W', k k C) @ (k k C, F)     dW  (F, B H' W') @ (B H' W', k k C)
              dx       k k products (B H' W', F) @ (F, C), one per kernel offset (not for the
                       first layer)
       dense  forward  (B, D) @ (D, F)   dW (D, B) @ (B, F)   dx (B, F) @ (F, D) (not first)

   each 2 m k n FLOPs. A convolution's forward and dW products carry its biases: k k C + 1
   for k k C, a column of ones in the columns (those FLOPs, 1/(k k C + 1) of these products',
   about 0.8% of the epoch's, are counted). The first layer's two and the other convolutions'
   forward products run in chunks of `network.conv.CHUNK` images, recorded per chunk (the
   same FLOPs). Each round measures, in turns,
   the float32 GEMM rate on 1024^3 and on each of those shapes (the best median is "the
   machine's rate", so the limit is the strictest one); "GEMMs only": the recorded products
   replayed alone, as many times as the epoch makes them, on the same buffers; and the
   engine: `network.train.train` on the `conv` preset (with its augmentation) for one epoch
   over the first N training images (default 12,800; 60,000 is a whole epoch). Reported: the
   engine's time as a multiple of FLOPs / rate (target <= 2x) and of the replay (its
   element-wise, image-to-columns and pooling work; target <= 1.2x),
   and the whole 60,000-image epoch time that this extrapolates to.
   With one BLAS thread on a machine of 2+ cores the training loop makes each batch
   (gather, augmentation, scaling, and the first layer's columns: `network.train`,
   `ConvNet.prepare`) on a second thread while the step before trains, so the wall-clock
   epoch leaves that work out when the second core is free. The same
   ratios are also given in CPU time, which other processes do not inflate: the training
   thread's (`time.thread_time`: without the batch thread's work) and the process's
   (`time.process_time`: with it, all threads), against the replay's thread time and the
   1024^3 rate timed in thread time.
2. Canvas to probabilities with the conv model (network/shipped/conv.npz unless --model): the
   Paint screen's `normalize` + `recognize_proba` (five forward passes: the image and its
   one-pixel shifts) on MNIST test digits as drawn and at half size in a corner, as
   `benchmarks/latency.py` measures the MLP (targets: p50 < 2 ms, p99 < 5 ms).
3. Peak resident memory of `digits train --preset conv --epochs 1` in a fresh process, as
   `benchmarks/memory.py` measures the other presets (every buffer is allocated in the first
   batches and the test scoring of the first epoch; target < 1 GB).
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
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

import network.conv
import network.layers
import network.pooling
from network.presets import preset_config
from network.store import load_model, shipped_model_path
from network.train import build_model, train

TARGET_RATIO = 2.0
TARGET_REPLAY = 1.2
TARGET_P50, TARGET_P99 = 2e-3, 5e-3
TARGET_MB = 1024.0
FULL_EPOCH = 60_000


class _RecordingNumpy:
    """Stands in for the `np` module inside the layer modules: records every `matmul` call."""

    def __init__(self) -> None:
        """No calls yet."""
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __getattr__(self, name: str) -> Any:
        """Everything but `matmul` is NumPy's own."""
        return getattr(np, name)

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Record (a, b, out), then multiply."""
        self.calls.append((a, b, out))
        return np.matmul(a, b, out=out)


def record_products(model, rows: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The (a, b, out) of every matrix product one training batch of `rows` images makes: the
    model's own forward and backward run once with the layer modules' `np.matmul` recorded.
    The arrays are the model's reused buffers (and views of them), in the engine's layouts."""
    rng = np.random.default_rng(0)
    x = rng.random((rows, 784), dtype=np.float32)
    labels = rng.integers(0, model.n_outputs, rows)
    recorder = _RecordingNumpy()
    modules = (network.conv, network.layers, network.pooling)
    for module in modules:
        module.np = recorder
    try:
        model.forward(x)
        model.backward(labels)
    finally:
        for module in modules:
            module.np = np
    return recorder.calls


def product_shape(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    """(m, k, n, stack) of a (possibly stacked, broadcast) product a @ b."""
    m, k = a.shape[-2:]
    n = b.shape[-1]
    return m, k, n, int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])))


class EpochProducts:
    """An epoch's matrix products, recorded from the engine (see `record_products`)."""

    def __init__(self, config, n: int) -> None:
        """Record one batch of each size an epoch over n images in `config.batch_size` uses."""
        full, last = divmod(n, config.batch_size)
        self.batches = [(record_products(build_model(config), rows), count)
                        for rows, count in ((config.batch_size, full), (last, int(last > 0)))
                        if count]

    def shapes(self) -> list[tuple[int, int, int, int]]:
        """(m, k, n, count) of every product of the epoch, a stacked one counted per matrix."""
        out = []
        for calls, count in self.batches:
            for a, b, _ in calls:
                m, k, n, stack = product_shape(a, b)
                out.append((m, k, n, count * stack))
        return out

    def replay(self) -> None:
        """Every product of the epoch, alone: the recorded calls, as often as the epoch."""
        for calls, count in self.batches:
            for _ in range(count):
                for a, b, out in calls:
                    np.matmul(a, b, out=out)


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
    products = EpochProducts(config, n)
    shapes = products.shapes()
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

    cpu: dict[str, list[float]] = {"thread": [], "process": [], "replay": [], "rate": []}
    batch_thread: list[bool] = []  # per progress event: was a batch thread running?

    def engine() -> float:
        """One epoch of the conv preset over the n images: its training time (its CPU time,
        this thread's and the process's, noted in `cpu`)."""
        thread, process = time.thread_time(), time.process_time()
        seconds = train(config, images, labels, on_progress=lambda event: batch_thread.append(
            any(t.name.startswith("digits-batches") for t in threading.enumerate()))).seconds
        cpu["thread"].append(time.thread_time() - thread)
        cpu["process"].append(time.process_time() - process)
        return seconds

    def replay() -> float:
        """The GEMMs-only replay: its wall time (its thread time and the thread-time 1024^3
        rate, best of 5, noted in `cpu`)."""
        start, thread = time.perf_counter(), time.thread_time()
        products.replay()
        seconds = time.perf_counter() - start
        cpu["replay"].append(time.thread_time() - thread)
        a, c = np.ones((1024, 1024), np.float32), np.empty((1024, 1024), np.float32)
        best = math.inf
        for _ in range(5):
            thread = time.thread_time()
            np.matmul(a, a, out=c)
            best = min(best, time.thread_time() - thread)
        cpu["rate"].append(2 * 1024**3 / best)
        return seconds

    times = alternate({"rate probe": probe, "GEMMs only": replay, "engine": engine}, rounds)
    per_round_best = [max(rates[s][r] for s in probe_shapes) for r in range(rounds)]
    best_rate = median(per_round_best)
    ratio = median([e / (total / rate) for e, rate
                    in zip(times["engine"], per_round_best, strict=True)])
    engine_s = median(times["engine"])
    replay_s = median(times["GEMMs only"])
    ratio_replay = median([e / g for e, g in zip(times["engine"], times["GEMMs only"],
                                                 strict=True)])
    limit = total / best_rate
    cpu_ratio = {k: median([e / (total / rate) for e, rate in zip(cpu[k], cpu["rate"],
                                                                   strict=True)])
                 for k in ("thread", "process")}
    cpu_replay = {k: median([e / g for e, g in zip(cpu[k], cpu["replay"], strict=True)])
                  for k in ("thread", "process")}
    print(table(["GEMM (m x k x n), float32", "GFLOP/s, median over rounds"],
                [[" x ".join(map(str, s)), f"{median(rates[s]) / 1e9:.1f}"]
                 for s in probe_shapes]))
    print()
    print(table(
        [f"conv preset, {n:,} images, batch {config.batch_size}", "value"],
        [["FLOPs (matrix products)", f"{total / 1e9:.1f} GFLOP"],
         ["machine's GEMM rate (best shape, median)", f"{best_rate / 1e9:.1f} GFLOP/s"],
         ["GEMM-limited time (FLOPs / rate)", fmt_seconds(limit)],
         ["engine (train, augmentation included; see below), median", fmt_seconds(engine_s)],
         ["engine / GEMM-limited time (median of rounds)", f"{ratio:.2f}x"],
         ["GEMMs-only replay of the epoch, median", fmt_seconds(replay_s)],
         ["engine / GEMMs-only replay (median of rounds)", f"{ratio_replay:.2f}x"],
         ["a 60,000-image epoch at that pace", fmt_seconds(engine_s * FULL_EPOCH / n)],
         ["CPU time: training thread, all threads (medians)",
          f"{fmt_seconds(median(cpu['thread']))}, {fmt_seconds(median(cpu['process']))}"],
         ["CPU time: / GEMM limit (1024^3 at "
          f"{median(cpu['rate']) / 1e9:.1f} GFLOP/s of thread time)",
          f"{cpu_ratio['thread']:.2f}x, {cpu_ratio['process']:.2f}x"],
         [f"CPU time: / the replay's ({fmt_seconds(median(cpu['replay']))})",
          f"{cpu_replay['thread']:.2f}x, {cpu_replay['process']:.2f}x"]]))
    print("each batch (augmentation, first layer's columns) was made on a second thread "
          "during the step before: the wall time and the training thread's CPU time leave "
          "it out, the process's CPU time counts it" if any(batch_thread) else
          "each batch was made in the training thread")
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
                [["normalize + recognize_proba", fmt_seconds(p50), fmt_seconds(p99),
                  f"others busy: {busy:.2f} cores" if busy is not None else ""],
                 ["  recognize_proba (5 forwards)", fmt_seconds(median(forward)),
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
        Row("conv: epoch / its GEMMs replayed alone", f"{ratio_replay:.2f}x ("
            f"{fmt_seconds(engine_s)} vs {fmt_seconds(replay_s)})", f"<= {TARGET_REPLAY}x",
            ratio_replay <= TARGET_REPLAY),
        Row("conv: the same two in CPU time, training thread (all threads)",
            f"{cpu_ratio['thread']:.2f}x ({cpu_ratio['process']:.2f}x), "
            f"{cpu_replay['thread']:.2f}x ({cpu_replay['process']:.2f}x)",
            f"<= {TARGET_RATIO}x, <= {TARGET_REPLAY}x",
            cpu_ratio["thread"] <= TARGET_RATIO and cpu_replay["thread"] <= TARGET_REPLAY),
        Row("conv: canvas to probabilities p50 / p99", f"{fmt_seconds(p50)} / "
            f"{fmt_seconds(p99)}", "< 2 ms / < 5 ms", p50 < TARGET_P50 and p99 < TARGET_P99),
        Row("conv: peak RSS training (1 epoch)", f"{peak_mb:.0f} MB", f"< {TARGET_MB:.0f} MB",
            peak_mb < TARGET_MB),
    ]
    finish(args, rows,
           f"conv: epoch {ratio:.2f}x the GEMM limit, {ratio_replay:.2f}x its GEMMs alone "
           f"(60,000 images at this pace: "
           f"{fmt_seconds(engine_s * FULL_EPOCH / n)}); canvas to probabilities "
           f"{fmt_seconds(p50)} median, {fmt_seconds(p99)} p99; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
