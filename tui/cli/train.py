"""`digits train`: train a preset (or a variation of one) on MNIST with a live progress display.

The model is saved atomically into the models folder (or `--out PATH`) with its metadata: the
full config, the test-set evaluation, the dataset's checksums and this exact command line.
Ctrl-C stops at the next batch and saves nothing; a run that diverges saves nothing either.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

from tui.cli.common import load_data_for_cli
from tui.errors import UsageError, one_line_error, out_of_memory

if TYPE_CHECKING:
    from network.config import TrainConfig


def _hidden(text: str) -> tuple[int, ...]:
    """Parse `--hidden 800,800` into (800, 800); argparse turns ValueError into one line."""
    from network.config import parse_hidden

    try:
        sizes = parse_hidden(text)
    except ValueError:
        message = f"expected sizes like 200 or 800,800, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one hidden layer size")
    return sizes


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits train`."""
    parser = sub.add_parser(
        "train",
        help="train a network on MNIST (presets: seed, fast, best, conv)",
        description=(
            "Train a network on MNIST's 60,000 training images and score it on the 10,000 test "
            "images after every epoch. Options override the preset's values. The model is "
            "saved into your models folder (the app's Models screen lists it) unless --out is "
            "given."
        ),
        epilog=(
            "Presets: seed = the original app's 784-200-10 sigmoid network (>= 97.5%); "
            "fast = 784-256-10 ReLU with Adam, seconds (>= 98.0%); best = 784-800-800-10 "
            "with augmentation, minutes (>= 99.2%); conv = a convolutional network "
            "(conv 5x5x16, pool, conv 5x5x32, pool, dense 128), with augmentation."
        ),
    )
    parser.add_argument("--preset", default="fast",
                        help="seed, fast, best or conv (default: fast)")
    parser.add_argument("--epochs", type=int, metavar="N", help="number of passes over the data")
    parser.add_argument(
        "--hidden", type=_hidden, metavar="N[,N]", help="hidden layer sizes, e.g. 200 or 800,800"
    )
    parser.add_argument("--activation", help="sigmoid, tanh or relu")
    parser.add_argument("--lr", type=float, metavar="X", help="learning rate")
    parser.add_argument("--batch-size", type=int, metavar="N", help="mini-batch size")
    parser.add_argument("--seed", type=int, metavar="N", help="random seed (same seed, same model)")
    parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="distort training images on the fly (rotation, scale, shift, elastic, strokes)",
    )
    parser.add_argument("--name", help="name in the models folder (default: PRESET-DATE-TIME)")
    parser.add_argument("--out", metavar="PATH", help="save to this .npz file instead")
    parser.add_argument(
        "--force", action="store_true", help="let --out replace an existing digits model file"
    )
    parser.add_argument(
        "--activate", action="store_true", help="make the new model the app's active model"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="folder with the four MNIST files")
    parser.set_defaults(func=run)


def network_text(config: TrainConfig) -> str:
    """The network of a config in a few words: '784-200-10', or its layer stack."""
    if config.conv:
        from network.convnet import conv_stack, describe_stack

        return describe_stack(conv_stack(config.conv, config.kernel, config.hidden))
    return "-".join(str(n) for n in (784, *config.hidden, 10))


def build_config(args: argparse.Namespace) -> TrainConfig:
    """The validated TrainConfig: the preset with the given options overridden."""
    from network.presets import preset_config

    overrides = {
        "epochs": args.epochs,
        "hidden": args.hidden,
        "activation": args.activation,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "augment": args.augment,
    }
    return preset_config(args.preset, **{k: v for k, v in overrides.items() if v is not None})


class _StopOnInterrupt:
    """First Ctrl-C asks the loop to stop at the next batch; a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _StopOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __call__(self) -> bool:
        return self.requested


def run(args: argparse.Namespace) -> int:
    """Validate, load data, train with progress, evaluate, save."""
    from rich.console import Console
    from rich.markup import escape

    from network.errors import ModelError
    from network.registry import check_free, save_trained, set_active, writable_models_dir
    from network.store import check_model_output
    from network.train import train
    from tui.cli.train_progress import TrainDisplay

    config = build_config(args)  # bad options fail here, before any work (sizes included)
    name = check_free(args.name) if args.name else None
    if args.out and (args.name or args.activate):
        raise UsageError("--out cannot be combined with --name or --activate")
    if args.force and not args.out:
        raise UsageError("--force only applies to --out")
    if args.out:  # a file that could not be written would fail only after training
        check_model_output(args.out, force=args.force)
    else:
        writable_models_dir()
    console = Console(stderr=True)
    data = load_data_for_cli(args.data_dir)
    console.print(
        f"Training [bold]{config.preset}[/]: {network_text(config)} {config.activation}, "
        f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}, "
        f"{config.epochs} epochs{', augmented' if config.augment else ''}, seed {config.seed}"
    )
    try:
        with _StopOnInterrupt() as stop, TrainDisplay(console, config.epochs) as display:
            result = train(
                config,
                data.train_images,
                data.train_labels,
                data.test_images,
                data.test_labels,
                on_progress=display.update,
                should_stop=stop,
            )
    except MemoryError as exc:
        raise UsageError(out_of_memory(exc)) from None
    if result.diverged:
        raise ModelError(f"{result.message}; nothing was saved")
    if result.cancelled:
        console.print(f"Stopped: {result.message}. Nothing was saved.")
        return 130
    command = shlex.join(["digits", *sys.argv[1:]]) if sys.argv[0] else "digits train"
    saved = save_trained(
        result.model, config, result, data.test_images, data.test_labels,
        checksums=data.checksums, command=command, name=name, out=args.out, force=args.force,
    )
    evaluation = saved.evaluation
    console.print(
        f"Test accuracy [bold]{evaluation.accuracy:.2%}[/] "
        f"({evaluation.n - evaluation.misclassified.size:,} of {evaluation.n:,}) "
        f"after {result.epochs_completed} epochs, {result.seconds:.1f} s of training."
    )
    renamed = (f" (a model called '{name}' appeared meanwhile)"
               if name and saved.name != name else "")
    if args.activate:
        try:
            set_active(saved.name)
        except (ModelError, OSError) as exc:
            reason = one_line_error(exc) or str(exc)
            raise UsageError(f"the model was saved as '{saved.name}' in {saved.path}{renamed}, "
                             f"but could not be made active: {reason}") from None
    where = f"{saved.path}" if args.out else f"{saved.path} as '{saved.name}'{renamed}"
    active = " (now the active model)" if args.activate else ""
    console.print(escape(f"Saved to {where}{active}"))
    return 0
