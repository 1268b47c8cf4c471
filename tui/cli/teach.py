"""`digits teach`: fine-tune the active model (or `--model PATH`) on your kept drawings.

It trains on MNIST's training set mixed with the drawings (oversampled and augmented), with the
same live display as `digits train`, then prints the before/after table: accuracy on the
drawings held out of training, and on MNIST's 10,000 test images. The result is saved as a new
model (into the models folder, or `--out PATH`); the model it started from is never changed.

    --json   one object: {"before": {"drawings": fraction|null, "mnist": fraction},
             "after": {...}, "drawings_held_out": N, "drawings_trained": N,
             "model": path of the saved model, "base_model": path it started from,
             "seconds": training time}
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import Any

from tui.cli.common import in_markup, load_data_for_cli, load_model_for_cli, strict_json
from tui.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits teach`."""
    parser = sub.add_parser(
        "teach",
        help="fine-tune the active model on your kept drawings",
        description=(
            "Fine-tune the active model (or --model) on MNIST mixed with your drawings (see "
            "`digits drawings`), and compare it before and after on drawings it did not "
            "train on (a fifth of each digit's, held out) and on the MNIST test set. The "
            "result is saved as a new model; the one it started from is not changed."
        ),
    )
    parser.add_argument("--epochs", type=int, metavar="N", help="passes over the mixed stream")
    parser.add_argument("--name", help="name in the models folder "
                                       "(default: BASE-taught-YYYY-MM-DD-HHMMSS)")
    parser.add_argument("--out", metavar="PATH", help="save to this .npz file instead")
    parser.add_argument("--force", action="store_true",
                        help="let --out replace an existing digits model file")
    parser.add_argument("--activate", action="store_true",
                        help="make the new model the app's active model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", metavar="PATH", help="model file to start from (.npz)")
    parser.add_argument("--data-dir", metavar="DIR", help="folder with the four MNIST files")
    parser.set_defaults(func=run)


def _percent(value: float | None) -> str:
    """'97.50%', or '-' when not measured."""
    return "-" if value is None else f"{value:.2%}"


def table(outcome: Any) -> str:
    """The before/after table, as text."""
    before, after = outcome.before, outcome.after
    held = outcome.held_out.size
    rows = [
        ("", "before", "after"),
        (f"your drawings ({held} held out)", _percent(before.drawings),
         _percent(after.drawings if after else None)),
        ("MNIST test set (10,000)", _percent(before.mnist),
         _percent(after.mnist if after else None)),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:>8}  {c:>8}" for a, b, c in rows)


def run(args: argparse.Namespace) -> int:
    """Check the options, fine-tune with progress, print the table, save."""
    from rich.console import Console

    from mnist.fileio import printable
    from network.drawings import load_drawings
    from network.errors import ModelError
    from network.registry import (
        check_free,
        is_shipped,
        name_of,
        save_new,
        set_active,
        taught_name,
        writable_models_dir,
    )
    from network.store import check_model_output, save_model
    from network.teach import TeachConfig, taught_metadata, teach
    from tui.cli.train import _StopOnInterrupt
    from tui.cli.train_progress import TrainDisplay

    config = TeachConfig()
    if args.epochs is not None:
        config.epochs = args.epochs
    config.validate()  # bad options fail here, before any work
    if args.out and (args.name or args.activate):
        raise UsageError("--out cannot be combined with --name or --activate")
    if args.force and not args.out:
        raise UsageError("--force only applies to --out")
    name = check_free(args.name) if args.name else None
    model, base_path = load_model_for_cli(args.model)
    if args.out:
        out = Path(args.out)
        taught = out.exists() and out.resolve() == Path(base_path).resolve()
        if taught or (out.exists() and is_shipped(name_of(out))):
            raise UsageError(f"--out {out}: that is the model being taught; it is never "
                             "overwritten (choose another file)")
        check_model_output(out, force=args.force)
    else:
        writable_models_dir()
    drawings = load_drawings()
    if len(drawings) == 0:
        raise UsageError("no drawings kept yet: keep some on the Paint screen (enter, or t and "
                         "a digit) or with `digits drawings add --label D FILE...`")
    console = Console(stderr=True)
    data = load_data_for_cli(args.data_dir)
    base_name = name_of(base_path)
    console.print(f"Teaching [bold]{in_markup(base_name)}[/] with {len(drawings)} drawings, "
                  f"{config.epochs} epochs of {config.mnist_per_epoch:,} MNIST images + "
                  f"{config.drawing_share:.0%} drawings")
    with _StopOnInterrupt() as stop, TrainDisplay(console, config.epochs) as display:
        outcome = teach(model, drawings, data.train_images, data.train_labels,
                        data.test_images, data.test_labels, config,
                        on_progress=display.update, should_stop=stop)
    result = outcome.result
    if result.diverged:
        raise ModelError(f"{result.message}; nothing was saved")
    if result.cancelled:
        console.print(f"Stopped: {result.message}. Nothing was saved.")
        return 130
    command = shlex.join(["digits", *sys.argv[1:]]) if sys.argv[0] else "digits teach"
    base = {"name": base_name, "path": str(base_path),
            "test_accuracy": model.metadata.get("test_accuracy"),
            "created": model.metadata.get("created")}
    metadata = taught_metadata(outcome, drawings, base, dataset_checksums=data.checksums,
                               command=command)
    if args.out:
        path = Path(args.out)
        check_model_output(path, force=args.force)
        save_model(path, outcome.model, metadata)
    else:
        stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")
        name = name or taught_name(base_name, stamp)
        path = save_new(outcome.model, metadata, name, unique=args.name is None)
        if args.activate:
            set_active(path.stem)
    if args.json:
        report = outcome.to_dict()
        report.update(model=str(path), base_model=str(base_path),
                      seconds=round(result.seconds, 3))
        print(strict_json(report))
    else:
        print(table(outcome))
        print(f"Saved to {printable(str(path))}"
              f"{' (now the active model)' if args.activate else ''}"
              f" after {result.seconds:.1f} s of training.")
    return 0
