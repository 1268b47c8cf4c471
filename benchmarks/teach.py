"""Teach: how long fine-tuning the shipped model takes, and what it does for a personal style.

    python benchmarks/teach.py [--quick]

1. Time: `network.teach.teach` with the default settings (what the Drawings screen and
   `digits teach` run) on the shipped model, with 100 and with 1,000 kept drawings (MNIST
   training digits written in `mnist.styles.engineers_hand`), from the call to the scored
   result: normalizing the drawings, the before scores, training, the after scores. Target:
   under 60 s for 100 drawings on a 2-core machine. Each size is timed once per round (the
   order alternating), and the machine's load from other processes is reported with it; as a
   baseline in the same process, one plain epoch of MNIST through the same model's training
   loop (`network.train.train` on 60,000 augmented images), so the figure can be read on any
   machine as "so many epochs' worth".
2. The style: 20 drawings of each digit kept, taught with the defaults, then measured on every
   0, 1, 2 and 7 of MNIST's test set written in the style, and on the MNIST test set
   (the same measurement as tests/network/test_teach_style.py).

--quick: one round instead of three.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CpuMeter, Row, finish, load_data, machine_report, make_parser, median, table

TARGET_SECONDS = 60.0


def keep(data, per_digit: int, folder: Path, seed: int = 0):
    """Keep `per_digit` styled MNIST training digits of each digit in `folder`; the set."""
    from mnist.styles import engineers_hand
    from network.drawings import add_drawings, load_drawings

    rng = np.random.default_rng(seed)
    picks = np.concatenate([rng.choice(np.flatnonzero(data.train_labels == d), per_digit,
                                       replace=False) for d in range(10)])
    labels = data.train_labels[picks]
    add_drawings(list(engineers_hand(data.train_images[picks], labels)), labels.tolist(),
                 folder=folder)
    return load_drawings(folder)


def main() -> None:
    args = make_parser(__doc__.splitlines()[0]).parse_args()
    from mnist.styles import STYLED_DIGITS, engineers_hand
    from network.store import load_model, shipped_model_path
    from network.teach import TeachConfig, accuracy, teach
    from network.train import train

    print(machine_report())
    data = load_data()
    model = load_model(shipped_model_path())
    config = TeachConfig()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {n: keep(data, n // 10, Path(tmp) / str(n)) for n in (100, 1000)}
        epoch_config = config.train_config(model).with_overrides(epochs=1, schedule="constant")
        times: dict[str, list[float]] = {"100": [], "1000": [], "epoch": []}
        busy: list[float] = []
        outcome = None
        for r in range(1 if args.quick else 3):
            order = ["100", "1000", "epoch"] if r % 2 == 0 else ["epoch", "1000", "100"]
            for name in order:
                meter = CpuMeter().start()
                start = time.perf_counter()
                if name == "epoch":
                    train(epoch_config, data.train_images, data.train_labels, start_from=model)
                else:
                    result = teach(model, sets[int(name)], data.train_images, data.train_labels,
                                   data.test_images, data.test_labels, config)
                    if name == "100":
                        outcome = result
                times[name].append(time.perf_counter() - start)
                busy.append(meter.others() or 0.0)
        t100, t1000, epoch = (median(times[k]) for k in ("100", "1000", "epoch"))
        print(table(["what", "seconds (median)", "rounds", "in plain epochs"], [
            ("teach, 100 drawings", f"{t100:.1f}", len(times["100"]), f"{t100 / epoch:.2f}"),
            ("teach, 1,000 drawings", f"{t1000:.1f}", len(times["1000"]),
             f"{t1000 / epoch:.2f}"),
            ("one plain MNIST epoch (baseline)", f"{epoch:.1f}", len(times["epoch"]), "1.00"),
        ]))
        print(f"other processes kept {median(busy):.2f} cores busy (median over the runs); "
              f"{outcome.result.samples_seen:,} samples per teach")
        rows.append(Row("teach: shipped model, defaults, 100 drawings",
                        f"{t100:.1f} s ({t100 / epoch:.2f} plain epochs)",
                        f"< {TARGET_SECONDS:.0f} s", t100 < TARGET_SECONDS))
        rows.append(Row("teach: shipped model, defaults, 1,000 drawings",
                        f"{t1000:.1f} s ({t1000 / epoch:.2f} plain epochs)"))

        styled = np.isin(data.test_labels, STYLED_DIGITS)
        other_images = engineers_hand(data.test_images[styled], data.test_labels[styled])
        other_labels = data.test_labels[styled]
        style_set = keep(data, 20, Path(tmp) / "style")
        taught = teach(model, style_set, data.train_images, data.train_labels,
                       data.test_images, data.test_labels, config)
        before = accuracy(model, other_images, other_labels)
        after = accuracy(taught.model, other_images, other_labels)
        held = taught.held_out.size
        print(table(["engineer's hand, 20 per digit kept", "before", "after"], [
            (f"styled 0/1/2/7 of the MNIST test set ({other_labels.size:,})",
             f"{before:.2%}", f"{after:.2%}"),
            (f"held-out drawings ({held})", f"{taught.before.drawings:.2%}",
             f"{taught.after.drawings:.2%}"),
            ("MNIST test set (10,000)", f"{taught.before.mnist:.2%}",
             f"{taught.after.mnist:.2%}"),
        ]))
        drop = (taught.before.mnist - taught.after.mnist) * 100
        rows.append(Row("teach: personal style (other examples), before -> after",
                        f"{before:.1%} -> {after:.1%}", ">= 95%", after >= 0.95))
        rows.append(Row("teach: MNIST test accuracy lost", f"{drop:.2f} points", "<= 0.3",
                        drop <= 0.3))
    finish(args, rows, f"teach: {t100:.1f} s for 100 drawings, {t1000:.1f} s for 1,000; "
                       f"style {before:.1%} -> {after:.1%}, MNIST -{drop:.2f} points")


if __name__ == "__main__":
    main()
