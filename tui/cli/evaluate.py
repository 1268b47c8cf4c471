"""`digits eval`: a model's accuracy on the 10,000 MNIST test images, in detail or as JSON.

JSON output (`--json`) is one object, stable for scripts:
    {"model": path, "accuracy": fraction, "n": 10000, "correct": int, "misclassified": int,
     "confusion": 10x10 counts (rows true digit, columns predicted), "precision": [10],
     "recall": [10], "f1": [10], "per_class": [{"digit", "precision", "recall", "f1",
     "support"}], "claimed_accuracy": the accuracy recorded in the model's metadata or null}
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cli.common import load_data_for_cli, load_model_for_cli, strict_json

if TYPE_CHECKING:
    from network.evaluate import Evaluation
    from network.model import Model


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits eval`."""
    parser = sub.add_parser(
        "eval",
        help="score a model on the 10,000 MNIST test images",
        description=(
            "Evaluate a model (default: the active one, as the app uses) on MNIST's test set: "
            "accuracy, the confusion matrix, per-digit precision, recall and F1."
        ),
    )
    parser.add_argument("--model", metavar="PATH", help="model file (.npz); default: active model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--data-dir", metavar="DIR", help="folder with the four MNIST files")
    parser.set_defaults(func=run)


def report(path: str | Path, model: Model, evaluation: Evaluation) -> dict[str, Any]:
    """The JSON-ready report of an evaluation (the `--json` format)."""
    support = evaluation.confusion.sum(axis=1)
    from network.store import claimed_accuracy

    claimed = claimed_accuracy(getattr(model, "metadata", {}))
    return {
        "model": str(path),
        "accuracy": evaluation.accuracy,
        "n": evaluation.n,
        "correct": evaluation.n - int(evaluation.misclassified.size),
        "misclassified": int(evaluation.misclassified.size),
        "confusion": evaluation.confusion.tolist(),
        "precision": evaluation.precision.tolist(),
        "recall": evaluation.recall.tolist(),
        "f1": evaluation.f1.tolist(),
        "per_class": [
            {
                "digit": digit,
                "precision": float(evaluation.precision[digit]),
                "recall": float(evaluation.recall[digit]),
                "f1": float(evaluation.f1[digit]),
                "support": int(support[digit]),
            }
            for digit in range(evaluation.confusion.shape[0])
        ],
        "claimed_accuracy": claimed,
    }


def _print_tables(data: dict[str, Any]) -> None:
    """The human-readable report: accuracy, confusion matrix, per-digit metrics."""
    from rich.table import Table

    from tui.cli.common import in_markup, stdout_console

    console = stdout_console()
    console.print(f"Model: {in_markup(data['model'])}")
    claimed = data["claimed_accuracy"]
    note = f" (its metadata says {claimed:.2%})" if isinstance(claimed, (int, float)) else ""
    console.print(
        f"Test accuracy: [bold]{data['accuracy']:.2%}[/] "
        f"({data['correct']:,} of {data['n']:,} correct){note}"
    )
    confusion = Table(title="Confusion matrix (rows: true digit, columns: predicted)")
    confusion.add_column("true", justify="right", style="bold")
    for digit in range(10):
        confusion.add_column(str(digit), justify="right")
    for true, row in enumerate(data["confusion"]):
        cells = []
        for pred, count in enumerate(row):
            style = "bold green" if pred == true else ("red" if count else "dim")
            cells.append(f"[{style}]{count}[/]")
        confusion.add_row(str(true), *cells)
    console.print(confusion)
    metrics = Table(title="Per digit")
    for column in ("digit", "precision", "recall", "F1", "support"):
        metrics.add_column(column, justify="right")
    for row in data["per_class"]:
        metrics.add_row(
            str(row["digit"]),
            f"{row['precision']:.2%}",
            f"{row['recall']:.2%}",
            f"{row['f1']:.2%}",
            f"{row['support']:,}",
        )
    console.print(metrics)


def run(args: argparse.Namespace) -> int:
    """Load the model and the test set, evaluate, print."""
    from network.evaluate import evaluate

    model, path = load_model_for_cli(args.model)
    data = load_data_for_cli(args.data_dir)
    evaluation = evaluate(model, data.test_images, data.test_labels)
    result = report(path, model, evaluation)
    if args.json:
        print(strict_json(result))
    else:
        _print_tables(result)
    return 0
