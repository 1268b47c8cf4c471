"""Training speed: the engine against the original per-sample network, and time to accuracy.

    python benchmarks/train_speed.py [--quick]

1. Samples per second of the faithful per-sample `network.faithful.NeuralNetwork` (the original
   algorithm: 784-200-10 sigmoid, one record per step, float64) and of the engine on the same
   784-200-10 sigmoid network (the `seed` preset: sigmoid outputs, MSE, no biases, plain SGD in
   mini-batches of 128), in turns in one process. Each round times the original on a slice of
   the training set (continuing where the last round stopped) and the engine on one whole
   epoch (`network.train.train`, wall time including setup); the figure is the median of the
   per-round ratios. In the full run the original's slices add up to exactly one epoch, and its
   test accuracy after that epoch is reported next to the engine's after its first epoch.
2. Time for the `seed` preset to reach 97.5% test accuracy and for `fast` to reach 98.0%: the
   training seconds (test evaluations excluded) up to the end of the first epoch at or above
   the mark, median over runs.
"""

from __future__ import annotations

import sys
import time

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
    table,
    wait_quiet,
)

from network.faithful import NeuralNetwork, faithful_accuracy, make_targets, scale_inputs
from network.presets import preset_config
from network.train import train

TARGET_RATIO = 25.0
TARGET_FAST_SECONDS = 5.0


def time_to(preset: str, mark: float, data) -> tuple[float | None, int | None, float]:
    """Train `preset` with test scoring; (seconds to `mark`, epochs to it, final accuracy)."""
    wait_quiet()
    meter = CpuMeter().start()
    result = train(preset_config(preset), data.train_images, data.train_labels,
                   data.test_images, data.test_labels)
    busy = meter.others()
    if busy is not None:
        print(f"  {preset}: trained in {result.seconds:.2f} s, final test accuracy "
              f"{(result.test_accuracy or 0) * 100:.2f}% (others: {busy:.2f} cores)",
              file=sys.stderr, flush=True)
    seconds = 0.0
    for stats in result.history:
        seconds += stats.seconds
        if stats.test_accuracy is not None and stats.test_accuracy >= mark:
            return seconds, stats.epoch, float(result.test_accuracy or 0.0)
    return None, None, float(result.test_accuracy or 0.0)


def main() -> None:
    """Run the benchmark and print its table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds of original vs engine (default 5)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    data = load_data()
    print(machine_report())
    images = data.train_images.reshape(len(data.train_images), -1)
    labels = data.train_labels
    n = len(images)

    # -- 1. original vs engine, in turns ---------------------------------------------------------
    chunk = 2000 if args.quick else n // rounds
    net = NeuralNetwork(784, 200, 10, 0.1, rng=1)
    state = {"next": 0}

    def original() -> float:
        """Train the original on the next `chunk` records; returns the seconds of the loop."""
        lo = state["next"] % n
        xs = scale_inputs(images[lo : lo + chunk])  # prepared outside the timed loop
        ts = make_targets(labels[lo : lo + chunk])
        start = time.perf_counter()
        for x, t in zip(xs, ts, strict=True):
            net.train(x, t)
        seconds = time.perf_counter() - start
        state["next"] = lo + chunk
        return seconds

    engine_acc: list[float] = []

    def engine() -> float:
        """One epoch of the `seed` preset's network and optimizer; wall time of `train`."""
        config = preset_config("seed", epochs=1)
        start = time.perf_counter()
        result = train(config, data.train_images, data.train_labels)
        seconds = time.perf_counter() - start
        engine_acc.append(float(np.mean(result.model.predict(data.test_images)
                                        == data.test_labels)))
        return seconds

    print(f"original: {chunk} records per round; engine: one epoch of {n} per round",
          flush=True)
    times = alternate({"original": original, "engine": engine}, rounds)
    orig_sps = [chunk / t for t in times["original"]]
    eng_sps = [n / t for t in times["engine"]]
    ratios = [e / o for e, o in zip(eng_sps, orig_sps, strict=True)]
    ratio = median(ratios)
    seen = state["next"] if state["next"] <= n else n
    orig_acc = faithful_accuracy(net, data.test_images, data.test_labels)

    # -- 2. time to accuracy ---------------------------------------------------------------------
    repeats = 1 if args.quick else 3
    seed_runs = [time_to("seed", 0.975, data) for _ in range(repeats)]
    fast_runs = [time_to("fast", 0.980, data) for _ in range(repeats)]

    def summarize(runs: list[tuple[float | None, int | None, float]]) -> tuple[float | None, str]:
        """(median seconds or None, 'x.xx s (epoch e), final y%' text)."""
        reached = [s for s, _, _ in runs if s is not None]
        if len(reached) < len(runs):
            return None, f"not reached in {len(runs) - len(reached)} of {len(runs)} runs"
        sec = median(reached)
        epochs = sorted({e for _, e, _ in runs if e is not None})
        finals = ", ".join(f"{a * 100:.2f}%" for _, _, a in runs)
        return sec, f"{sec:.2f} s (epoch {'/'.join(map(str, epochs))}; final {finals})"

    seed_sec, seed_text = summarize(seed_runs)
    fast_sec, fast_text = summarize(fast_runs)

    print(table(
        ["", "original (per sample)", "engine (seed, batch 128)", "engine / original"],
        [
            ["samples/s, median", f"{median(orig_sps):,.0f}", f"{median(eng_sps):,.0f}",
             f"{ratio:.1f}x"],
            ["per sample", fmt_seconds(1 / median(orig_sps)), fmt_seconds(1 / median(eng_sps)),
             f"rounds: {', '.join(f'{r:.1f}' for r in ratios)}"],
            ["test accuracy", f"{orig_acc * 100:.2f}% after {seen:,} records",
             f"{median(engine_acc) * 100:.2f}% after 1 epoch (seed, epochs=1)", ""],
        ]))
    print(contention_note())
    print()
    rows = [
        Row("train_speed: engine vs original, samples/s (784-200-10 sigmoid)",
            f"{ratio:.1f}x ({median(eng_sps):,.0f} vs {median(orig_sps):,.0f}/s)",
            f">= {TARGET_RATIO:.0f}x", ratio >= TARGET_RATIO),
        Row("train_speed: seed preset to 97.5% test accuracy", seed_text, "-", None),
        Row("train_speed: fast preset to 98.0% test accuracy", fast_text,
            f"< {TARGET_FAST_SECONDS:.0f} s", fast_sec is not None
            and fast_sec < TARGET_FAST_SECONDS),
    ]
    finish(args, rows,
           f"train_speed: engine {ratio:.1f}x the original's samples/s (target >= 25x); "
           f"seed to 97.5%: {seed_text}; fast to 98.0%: {fast_text} (target < 5 s)")


if __name__ == "__main__":
    main()
