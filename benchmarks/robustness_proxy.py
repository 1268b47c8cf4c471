"""Choose augmentation on a proxy of the robustness sets built from MNIST *training* digits.

    python benchmarks/robustness_proxy.py --preset best --epochs 12 [--set NAME=VALUE ...]
    python benchmarks/robustness_proxy.py --load PATH [--shifts]

The robustness sets (`benchmarks/robustness.py`) measure generalization, so no choice is made
on them. This script trains a preset (its augmentation changed by `--set`, e.g.
`--set fill_max=8 --set thicken=0.45`) on training digits 0..54,999 only and scores the
held-out digits 55,000..59,999, remade the way other sources make digits (`mnist.variants`):

* held out: the 5,000 digits as they are;
* optdigits-like: `optdigits_like` (32x32 box, binarized, 4x4 block counts -> 8x8, 0..16);
* optdigits-like, bold: the same with the 32x32 bitmap dilated by one pixel (`grow=1`): after
  normalization load_digits carries more ink than MNIST (about 122 against 103 full-ink
  pixels' worth), between the two optdigits-like sets (105 and 146);
* 16x16 binary: `stretch_binarize`;
* MNIST test, as is (the figure `digits eval` gives, for a run shorter than the preset's).

Each image goes through `ink_problem`, `normalize` and `predict_proba`, as in the benchmark. It
prints one JSON object: the settings, the seconds of training and each set's (accuracy,
refused). One training at a time with OPENBLAS_NUM_THREADS=1 on a shared machine.

`--load PATH` scores a network saved from such a run (trained on digits 0..54,999 only: the
script cannot tell, so only pass one) instead of training, to compare inference-side changes
(`normalize`, `network.recognize`) on the same networks; `--shifts` adds each set scored with
`recognize_proba` (probabilities averaged over one-pixel shifts), named "<set> +shifts".
"""

from __future__ import annotations

import json
import time

import numpy as np
from _common import load_data, make_parser
from robustness import score

from mnist import variants
from network.augment import AugmentConfig
from network.errors import ModelError
from network.presets import preset_config
from network.store import load_model
from network.train import train

#: Training digits from here on are held out of the proxy runs' training.
HELD_OUT_FROM = 55_000


def _setting(text: str) -> tuple[str, float]:
    """'name=value' -> (name, float value); ValueError (argparse's message) otherwise."""
    name, _, value = text.partition("=")
    return name.strip(), float(value)


def proxy_sets(images: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Set name -> list of 2-D 0..255 images made from (N, 28, 28) held-out training digits."""
    return {
        "held out": list(images),
        "optdigits-like": [variants.optdigits_like(d) for d in images],
        "optdigits-like, bold": [variants.optdigits_like(d, grow=1) for d in images],
        "16x16 binary": [variants.stretch_binarize(d) for d in images],
    }


def main() -> None:
    """Train on the first 55,000 training digits, score the proxy sets, print one JSON line."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--preset", default="best", help="preset to train (default: best)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs (default: 12)")
    parser.add_argument("--set", metavar="NAME=VALUE", type=_setting, action="append",
                        default=[], help="change one augmentation setting (repeatable)")
    parser.add_argument("--load", metavar="PATH",
                        help="score this network (trained on digits 0..54,999) instead of training")
    parser.add_argument("--shifts", action="store_true",
                        help="also score each set averaged over one-pixel shifts")
    args = parser.parse_args()
    if args.load:
        try:
            loaded = load_model(args.load)
        except Exception as exc:  # noqa: BLE001 - a bad --load is one line, not a traceback
            parser.error(f"cannot load {args.load}: {exc}")
    try:
        base = preset_config(args.preset)
        changed = {**base.augmentation.to_dict(), **dict(args.set)}
        config = preset_config(args.preset, epochs=args.epochs,
                               augmentation=AugmentConfig.from_dict(changed),
                               warmup_epochs=min(base.warmup_epochs, args.epochs))
    except ModelError as exc:
        parser.error(str(exc))
    data = load_data()
    held = HELD_OUT_FROM
    labels = data.train_labels[held:].astype(np.int64)
    if args.load:
        model = loaded
        result: dict[str, object] = {"model": args.load}
    else:
        started = time.perf_counter()
        model = train(config, data.train_images[:held], data.train_labels[:held]).model
        seconds = time.perf_counter() - started
        result = {"preset": args.preset, "epochs": args.epochs, "set": dict(args.set),
                  "training_seconds": round(seconds)}
    for name, images in proxy_sets(data.train_images[held:]).items():
        result[name] = score(model, images, labels)
        if args.shifts:
            result[f"{name} +shifts"] = score(model, images, labels, shifts=True)
    result["MNIST test"] = score(model, list(data.test_images),
                                 data.test_labels.astype(np.int64))
    print(json.dumps(result, allow_nan=False))


if __name__ == "__main__":
    main()
