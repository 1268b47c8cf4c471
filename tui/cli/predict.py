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
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tui.cli.common import load_model_for_cli, strict_json

if TYPE_CHECKING:
    import numpy as np


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
    """FILE or FILE:INDEX, with control characters escaped (a newline in a name stays one line)."""
    from mnist.fileio import printable

    return printable(path if index is None else f"{path}:{index}")


#: Images recognized per call, over all files; each file holds at most
#: mnist.imagefile.MAX_IMAGES_PER_FILE.
MAX_IMAGES_PER_CALL = 100_000


def run(args: argparse.Namespace) -> int:
    """Read every file and recognize its images (`network.recognize.recognize_drawings`, in
    batches), printing each result as it comes."""
    import numpy as np  # here: `digits` (the app) imports the subcommands too, and NumPy later

    from mnist.errors import MnistError
    from mnist.fileio import printable
    from mnist.imagefile import iter_images
    from network.recognize import recognize_drawings

    model, _ = load_model_for_cli(args.model)
    failures = seen = 0
    stopped_at: str | None = None  # where the image limit stopped the reading

    def error(message: str) -> None:
        nonlocal failures
        failures += 1
        print(f"digits: error: {printable(message)}", file=sys.stderr)

    def images() -> Iterator[tuple[tuple[str, int | None], np.ndarray]]:
        """((file, index), image) for every image of every file; a file that cannot be read
        is reported here, as soon as it fails."""
        nonlocal seen, stopped_at
        for path in args.files:
            try:
                for index, image in iter_images(path, invert=True if args.invert else None):
                    seen += 1
                    if seen > MAX_IMAGES_PER_CALL:
                        stopped_at = _label(path, index)
                        return
                    yield (path, index), image
            except MnistError as exc:
                error(str(exc))

    for (path, index), result in recognize_drawings(model, images()):
        if isinstance(result, str):
            error(f"{_label(path, index)}: image is {result}")
        elif not np.isfinite(result).all():  # a model that loaded cannot; never print NaN
            error(f"{_label(path, index)}: the model gave no finite answer")
        else:
            _print(args, path, index, result)
    if stopped_at is not None:
        error(f"more than {MAX_IMAGES_PER_CALL:,} images in one call (the limit); "
              f"stopped at {stopped_at}")
    return 2 if failures else 0


def _print(args: argparse.Namespace, path: str, index: int | None, probs: np.ndarray) -> None:
    """One image's line: text, or a strict JSON object."""
    import numpy as np

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
        print(strict_json(record))
    else:
        second = int(order[1])
        unsure = f"  (or {second}: {probs[second]:.1%})" if confidence < 0.9 else ""
        print(f"{_label(path, index)}: {digit} ({confidence:.1%}){unsure}")
