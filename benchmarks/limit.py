"""How far a training epoch is from this machine's float32 GEMM limit.

    python benchmarks/limit.py [--quick]

The network is the `seed` preset's 784-200-10 sigmoid network (no biases, plain SGD, batches of
128). Almost all of an epoch's arithmetic is in its matrix products; per batch of B rows:

    forward      z_l = a_{l-1} @ W_l                    2 B n_{l-1} n_l FLOPs per layer
    backward     d_{l-1} = d_l @ W_l.T                  2 B n_{l-1} n_l per layer but the first
                 W_l <- W_l - a_{l-1}.T @ d_l           2 B n_{l-1} n_l per layer

(the engine never forms the input layer's d_0, and with plain SGD it never forms dW_l either:
the update is fused into the gradient's product, one BLAS gemm with beta = 1 on W_l's memory,
see `MLP.backward`'s decay). Each round measures, in turns:

* the GEMM rate: float32 matrix products of 1024x1024x1024 and of each shape the epoch uses,
  as many threads as the BLAS has (the machine's cores); the best of these medians is "the
  machine's rate", so the limit below is the strictest one;
* "GEMMs only": exactly the epoch's matrix products (469 batches, same shapes, same buffers),
  nothing else;
* the engine: one whole epoch of the `seed` preset (`network.train.train`, wall time).

Reported: the epoch's FLOPs, the GEMM-limited time (FLOPs / the machine's rate), and the
engine's epoch time as a multiple of it (median over rounds), plus the same against the
GEMMs-only replay, which shows how much of the distance is the GEMMs' own shapes; what is left
over the replay is the engine's element-wise work (activations, loss, optimizer, batch
gathers) and its Python overhead, held to at most 1.2x. The same ratio is also given in CPU
time: with OPENBLAS_NUM_THREADS=1 it leaves out the time slices other processes take, which on a
busy machine move the wall-time ratio by more than the engine's own changes do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from _common import (
    Row,
    alternate,
    contention_note,
    finish,
    fmt_seconds,
    load_data,
    machine_report,
    make_parser,
    median,
    table,
)

from network.mlp import gemm
from network.presets import preset_config
from network.train import train

TARGET = 1.5  #: engine epoch / GEMM-limited time
TARGET_REPLAY = 1.2  #: engine epoch / its own GEMMs replayed alone: the element-wise overhead
SIZES = (784, 200, 10)
BATCH = 128


def epoch_gemms(n: int, sizes: tuple[int, ...], batch: int) -> list[tuple[int, int, int, int]]:
    """The (m, k, n, count) of every matrix product of one epoch, forward and backward."""
    full, last = divmod(n, batch)
    shapes = []
    for rows, count in ((batch, full), (last, 1 if last else 0)):
        if not count:
            continue
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            shapes.append((rows, n_in, n_out, count))  # forward: (B, n_in) @ (n_in, n_out)
            shapes.append((n_in, rows, n_out, count))  # W -= (n_in, B) @ (B, n_out)
            if layer > 0:
                shapes.append((rows, n_out, n_in, count))  # d_prev: (B, n_out) @ (n_out, n_in)
    return shapes


def flops(shapes: list[tuple[int, int, int, int]]) -> float:
    """Total floating-point operations (2 m k n per product)."""
    return float(sum(2 * m * k * n * c for m, k, n, c in shapes))


def gemm_rate(m: int, k: int, n: int, reps: int) -> float:
    """Median FLOP/s of float32 (m, k) @ (k, n) into a preallocated output, through the
    engine's own BLAS call (`network.mlp.gemm`)."""
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    gemm(a, b, c)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        gemm(a, b, c)
        times.append(time.perf_counter() - start)
    return 2.0 * m * k * n / median(times)


class GemmReplay:
    """The epoch's matrix products alone, on preallocated operands in the engine's layouts."""

    def __init__(self, n: int, sizes: tuple[int, ...], batch: int) -> None:
        """Allocate weights, activations, deltas and gradients like the engine's."""
        rng = np.random.default_rng(0)
        self.n, self.sizes, self.batch = n, sizes, batch
        self.x = rng.random((batch, sizes[0]), dtype=np.float32)
        self.w = [rng.standard_normal((a, b), dtype=np.float32) * 0.05
                  for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        self.acts = [np.empty((batch, b), np.float32) for b in sizes[1:]]
        # small deltas, added and subtracted in turns: the weights stay near where they started
        self.deltas = [rng.standard_normal((batch, b), dtype=np.float32) * 1e-3
                       for b in sizes[1:]]

    def epoch(self) -> None:
        """Every product of one epoch, in the engine's order, layouts and BLAS calls
        (`network.mlp.gemm`: `MLP.forward`, and `MLP.backward` with the SGD step fused)."""
        last = len(self.w) - 1
        for lo in range(0, self.n, self.batch):
            b = min(self.batch, self.n - lo)
            sign = -1.0 if lo // self.batch % 2 else 1.0
            a = self.x[:b]
            for i, w in enumerate(self.w):
                # a hidden sigmoid's product writes -z (`Activation.sign`), the logits' +z
                gemm(a, w, self.acts[i][:b], alpha=-1.0 if i < last else 1.0)
                a = self.acts[i][:b]
            for i in range(last, -1, -1):
                prev = self.x[:b] if i == 0 else self.acts[i - 1][:b]
                d = self.deltas[i][:b]
                if i > 0:
                    gemm(d, self.w[i].T, self.deltas[i - 1][:b])
                gemm(prev.T, d, self.w[i], alpha=sign, beta=1.0)


def blas_threads() -> int | str:
    """Threads of the BLAS that `network.mlp.gemm` calls (SciPy's), or '?'."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    counts = {p["num_threads"] for p in threadpool_info() if "scipy.libs" in p["filepath"]}
    return counts.pop() if len(counts) == 1 else "?"


def main() -> None:
    """Run the benchmark and print its table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 5, --quick 3)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    data = load_data()
    print(machine_report())
    n = len(data.train_images)
    shapes = epoch_gemms(n, SIZES, BATCH)
    total = flops(shapes)
    probe_shapes = [(1024, 1024, 1024)] + sorted({(m, k, nn) for m, k, nn, _ in shapes
                                                  if m * k * nn >= 1_000_000})
    rates: dict[tuple[int, int, int], list[float]] = {s: [] for s in probe_shapes}
    replay = GemmReplay(n, SIZES, BATCH)
    config = preset_config("seed", epochs=1)

    def probe() -> float:
        """Measure the GEMM rates (not timed as a candidate)."""
        start = time.perf_counter()
        for s in probe_shapes:
            reps = 5 if math.prod(s) > 100_000_000 else 40
            rates[s].append(gemm_rate(*s, reps=reps))
        return time.perf_counter() - start

    cpu: dict[float, float] = {}  # a run's wall seconds -> its CPU seconds

    def timed(run: Callable[[], object]) -> Callable[[], float]:
        """`run` as a candidate that returns its wall time and notes its CPU time."""
        def candidate() -> float:
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall = time.perf_counter() - start
            cpu[wall] = time.process_time() - start_cpu
            return wall
        return candidate

    times = alternate({"rate probe": probe, "GEMMs only": timed(replay.epoch),
                       "engine": timed(lambda: train(config, data.train_images,
                                                     data.train_labels))}, rounds)
    per_round_best = [max(rates[s][r] for s in probe_shapes) for r in range(rounds)]
    best_rate = median(per_round_best)
    ratio_limit = median([e / (total / rate) for e, rate
                          in zip(times["engine"], per_round_best, strict=True)])
    ratio_replay = median([e / g for e, g in zip(times["engine"], times["GEMMs only"],
                                                 strict=True)])
    limit = total / best_rate
    # With one BLAS thread the process runs on one core, and its CPU time leaves out the time
    # slices other processes took from it: the steadier figure on a busy machine. (With more
    # threads, BLAS workers spinning between products would count too.)
    ratio_cpu = median([cpu[e] / cpu[g] for e, g in zip(times["engine"], times["GEMMs only"],
                                                         strict=True)])

    print(table(["GEMM (m x k x n), float32", "GFLOP/s, median over rounds"],
                [[" x ".join(map(str, s)), f"{median(rates[s]) / 1e9:.1f}"]
                 for s in probe_shapes]))
    print()
    print(table(
        ["784-200-10 sigmoid epoch, batch 128", "value"],
        [["FLOPs of one epoch (matrix products)", f"{total / 1e9:.2f} GFLOP"],
         ["machine's GEMM rate (best shape, median)", f"{best_rate / 1e9:.1f} GFLOP/s"],
         ["GEMM-limited epoch time (FLOPs / rate)", fmt_seconds(limit)],
         ["GEMMs-only replay of the epoch, median", fmt_seconds(median(times["GEMMs only"]))],
         ["engine epoch (seed preset), median", fmt_seconds(median(times["engine"]))],
         ["engine / GEMM-limited time (median of rounds)", f"{ratio_limit:.2f}x"],
         ["engine / GEMMs-only replay (median of rounds)", f"{ratio_replay:.2f}x"],
         ["the same in CPU time (steadier on a busy machine with 1 BLAS thread)",
          f"{ratio_cpu:.2f}x ({fmt_seconds(median([cpu[e] for e in times['engine']]))} vs "
          f"{fmt_seconds(median([cpu[g] for g in times['GEMMs only']]))}; "
          f"{blas_threads()} BLAS thread(s))"]]))
    print(contention_note())
    print()
    rows = [Row("limit: engine epoch / GEMM-limited time (784-200-10)",
                f"{ratio_limit:.2f}x ({fmt_seconds(median(times['engine']))} vs "
                f"{fmt_seconds(limit)} at {best_rate / 1e9:.0f} GFLOP/s)",
                f"<= {TARGET}x", ratio_limit <= TARGET),
            Row("limit: engine epoch / its GEMMs replayed alone (784-200-10)",
                f"{ratio_replay:.2f}x ({fmt_seconds(median(times['engine']))} vs "
                f"{fmt_seconds(median(times['GEMMs only']))})",
                f"<= {TARGET_REPLAY}x", ratio_replay <= TARGET_REPLAY)]
    finish(args, rows,
           f"limit: the engine's epoch is {ratio_limit:.2f}x the GEMM-limited time "
           f"({total / 1e9:.1f} GFLOP at {best_rate / 1e9:.0f} GFLOP/s = {fmt_seconds(limit)}; "
           f"{ratio_replay:.2f}x the GEMMs-only replay); targets <= {TARGET}x and "
           f"<= {TARGET_REPLAY}x the replay")


if __name__ == "__main__":
    main()
