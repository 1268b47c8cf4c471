"""The engine against PyTorch on the CPU: one epoch of the same MLP, in turns, median ratio.

    pip install -e '.[bench]'            # torch==2.13.0 (a CPU build) and threadpoolctl
    python benchmarks/vs_torch.py [--quick]

The network is 784-512-10, ReLU, softmax cross-entropy, Adam (lr 1e-3, betas 0.9/0.999, eps
1e-8), mini-batches of 128, float32, inputs x / 255, both libraries on as many threads as the
machine has cores. Each round trains one fresh epoch with the engine (`network.train.train`),
one with PyTorch's default Adam and one with `torch.optim.Adam(fused=True)`, in turns (the
order reversed every other round). Each side is timed the same way: building the model and
optimizer, shuffling, gathering each batch from the uint8 images, converting it to float32, and
the forward, backward and update steps. The figure is the median over rounds of the per-round
ratio engine / PyTorch; below 1.0 the engine is faster. The test accuracy after each epoch
(measured outside the timing) checks that all three trained the same kind of model.

Without PyTorch the benchmark says so and exits 0 (run_all lists it as skipped).
"""

from __future__ import annotations

import time

import numpy as np
from _common import (
    Row,
    alternate,
    contention_note,
    cores,
    finish,
    fmt_seconds,
    load_data,
    machine_report,
    make_parser,
    median,
    table,
)

from network.config import TrainConfig
from network.train import train

BATCH = 128
HIDDEN = 512


def main() -> None:
    """Run the benchmark and print its table."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 5, --quick 2)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        message = ("vs_torch: skipped, PyTorch is not installed "
                   "(pip install -e '.[bench]' installs torch==2.13.0, a CPU build)")
        print(message)
        finish(args, [Row("vs_torch: engine / PyTorch, one epoch", "skipped (no torch)",
                          "< 1.0 vs default and fused Adam", None)], message)
        return
    rounds = args.rounds or (2 if args.quick else 5)
    threads = cores()
    torch.set_num_threads(threads)
    data = load_data()
    print(machine_report())
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads "
          f"({torch.__config__.parallel_info().splitlines()[-1].strip()})")

    images = data.train_images.reshape(len(data.train_images), -1)
    labels = data.train_labels
    test_x = torch.from_numpy(data.test_images.reshape(-1, 784).astype(np.float32) / 255.0)
    test_y = torch.from_numpy(data.test_labels.astype(np.int64))
    x_u8 = torch.from_numpy(np.array(images))  # a writable copy, as torch wants
    y_t = torch.from_numpy(labels.astype(np.int64))
    n = x_u8.shape[0]
    accuracy: dict[str, list[float]] = {"engine": [], "torch default": [], "torch fused": []}
    seeds = {"engine": 0, "torch default": 0, "torch fused": 0}

    config = TrainConfig(hidden=(HIDDEN,), activation="relu", output="softmax", biases=True,
                         init="he", input_scaling="unit", optimizer="adam", lr=1e-3,
                         schedule="constant", epochs=1, batch_size=BATCH)

    def engine() -> float:
        """One epoch of the engine, wall time of `train` (model building included)."""
        seeds["engine"] += 1
        start = time.perf_counter()
        result = train(config.with_overrides(seed=seeds["engine"]), images, labels)
        seconds = time.perf_counter() - start
        accuracy["engine"].append(
            float(np.mean(result.model.predict(data.test_images) == data.test_labels)))
        return seconds

    def torch_epoch(name: str, fused: bool) -> float:
        """One epoch of the same MLP in PyTorch (model building included)."""
        seeds[name] += 1
        torch.manual_seed(seeds[name])
        start = time.perf_counter()
        model = torch.nn.Sequential(torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True) if fused \
            else torch.optim.Adam(model.parameters(), lr=1e-3)
        perm = torch.randperm(n)
        for lo in range(0, n, BATCH):
            idx = perm[lo : lo + BATCH]
            x = x_u8[idx].to(torch.float32).mul_(1.0 / 255.0)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y_t[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy[name].append(float((model(test_x).argmax(1) == test_y).float().mean()))
        return seconds

    times = alternate({
        "engine": engine,
        "torch default": lambda: torch_epoch("torch default", False),
        "torch fused": lambda: torch_epoch("torch fused", True),
    }, rounds, pause=0.2)

    eng = np.asarray(times["engine"])
    ratio_default = median(eng / np.asarray(times["torch default"]))
    ratio_fused = median(eng / np.asarray(times["torch fused"]))
    print(table(
        ["", "epoch, median", "per step", "test accuracy (median)", "engine / this, median"],
        [[name, fmt_seconds(median(t)), fmt_seconds(median(t) / -(-n // BATCH)),
          f"{median(accuracy[name]) * 100:.2f}%",
          {"engine": "1", "torch default": f"{ratio_default:.3f}",
           "torch fused": f"{ratio_fused:.3f}"}[name]]
         for name, t in times.items()]))
    print(f"rounds: {rounds}; per-round ratios vs default: "
          + ", ".join(f"{e / t:.2f}" for e, t in zip(eng, times["torch default"], strict=True))
          + "; vs fused: "
          + ", ".join(f"{e / t:.2f}" for e, t in zip(eng, times["torch fused"], strict=True)))
    print(contention_note())
    print()
    rows = [
        Row("vs_torch: engine / PyTorch default Adam, epoch (784-512-10)",
            f"{ratio_default:.2f}", "< 1.0", ratio_default < 1.0),
        Row("vs_torch: engine / PyTorch fused Adam, epoch (784-512-10)",
            f"{ratio_fused:.2f}", "< 1.0", ratio_fused < 1.0),
    ]
    finish(args, rows,
           f"vs_torch: engine / PyTorch {torch.__version__} per epoch: {ratio_default:.2f} vs "
           f"default Adam, {ratio_fused:.2f} vs fused Adam (target < 1.0 for both; "
           f"{threads} threads, median of {rounds} rounds)")


if __name__ == "__main__":
    main()
