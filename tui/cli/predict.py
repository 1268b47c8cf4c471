"""`digits predict`: recognize digits in image files (PGM, .npy, text art).

Each image is normalized exactly as the Paint canvas is (mnist.normalize: the ink's bounding box
scaled to fit 20x20, centre of mass at the centre of 28x28), then classified. Output per image:

    text   FILE[:INDEX]: DIGIT (CONFIDENCE%)   [second guess when unsure]
    --json one JSON object per line (JSON Lines):
           {"file": str, "index": int or null, "digit": int, "confidence": float,
            "probabilities": [ten floats]}

An image that cannot be read or recognized (unknown format, blank, all ink, NaN...) prints one
line on stderr; the other images are still processed, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from tui.cli.common import load_model_for_cli


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits predict`."""
    parser = sub.add_parser(
        "predict",
        help="recognize the digit in image files (PGM, .npy, text art)",
        description=(
            "Recognize digits in images of any size: PGM (P2/P5; dark ink on light paper is "
            "inverted automatically), .npy (a 2-D image or a 3-D stack; higher values are ink, "
            "0..255 or 0..1), or text art (.txt: one row per line, # @ * X x 1 are ink)."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="image files")
    parser.add_argument("--model", metavar="PATH", help="model file (.npz); default: active model")
    parser.add_argument("--json", action="store_true", help="print JSON Lines, one per image")
    parser.add_argument(
        "--invert", action="store_true", help="treat dark pixels as ink (light on dark otherwise)"
    )
    parser.set_defaults(func=run)


def _label(path: str, index: int | None) -> str:
    return path if index is None else f"{path}:{index}"


def run(args: argparse.Namespace) -> int:
    """Read every file, normalize every image, classify them in one batch, print."""
    from mnist.errors import MnistError
    from mnist.imagefile import read_images
    from mnist.normalize import ink_problem, normalize

    model, _ = load_model_for_cli(args.model)
    names: list[tuple[str, int | None]] = []
    inputs: list[np.ndarray] = []
    failures = 0
    for path in args.files:
        try:
            images = read_images(path, invert=True if args.invert else None)
        except MnistError as exc:
            print(f"digits: error: {exc}", file=sys.stderr)
            failures += 1
            continue
        for index, image in images:
            try:
                problem = ink_problem(image)
                if problem is not None:
                    raise MnistError(f"{_label(path, index)}: image is {problem}")
                inputs.append(normalize(image))
                names.append((path, index))
            except MnistError as exc:
                print(f"digits: error: {exc}", file=sys.stderr)
                failures += 1
    if inputs:
        probabilities = model.predict_proba(np.stack(inputs))
        for (path, index), probs in zip(names, probabilities, strict=True):
            order = np.argsort(probs)[::-1]
            digit, confidence = int(order[0]), float(probs[order[0]])
            if args.json:
                record = {
                    "file": path,
                    "index": index,
                    "digit": digit,
                    "confidence": round(confidence, 6),
                    "probabilities": [round(float(p), 6) for p in probs],
                }
                print(json.dumps(record))
            else:
                second = int(order[1])
                unsure = (
                    f"  (or {second}: {probs[second]:.1%})" if confidence < 0.9 else ""
                )
                print(f"{_label(path, index)}: {digit} ({confidence:.1%}){unsure}")
    return 2 if failures else 0
