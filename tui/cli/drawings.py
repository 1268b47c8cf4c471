"""`digits drawings`: keep, list, move and remove the drawings that Teach learns from.

    digits drawings add --label D FILE...   keep every image of the files as a drawing of D
    digits drawings list [--json]           counts per digit and the total
                                            --json: {"counts": [ten ints], "total": N}
    digits drawings export DIR              write them as IDX files (plus drawings.json)
    digits drawings import DIR              add the drawings of such an export
    digits drawings remove --label D [--yes]
    digits drawings clear [--yes]           both ask for confirmation unless --yes

`add` reads what `digits predict` reads (PGM, .npy stacks, text art). An image that cannot be
used (unreadable, blank, all ink) gets one line on stderr and exit status 2; the others are
still kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.cli.common import strict_json
from tui.errors import UsageError


def _digit(text: str) -> int:
    """A digit 0..9 from the command line."""
    if text.strip() not in tuple("0123456789"):
        raise argparse.ArgumentTypeError(f"expected a digit 0..9, got {text!r}")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits drawings` and its subcommands."""
    parser = sub.add_parser(
        "drawings",
        help="your kept drawings, which `digits teach` learns from",
        description="Keep, list, export, import and remove your drawings (kept in the user "
                    "data folder, see `digits drawings list`).",
    )
    parser.set_defaults(func=lambda args: parser.error("choose a drawings command"))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND",
                                     parser_class=type(parser))
    add = commands.add_parser("add", help="keep images (PGM, .npy, text art) as drawings of D")
    add.add_argument("--label", type=_digit, required=True, metavar="D", help="the digit drawn")
    add.add_argument("files", nargs="+", metavar="FILE", help="image files")
    add.add_argument("--invert", action="store_true",
                     help="treat dark pixels as ink (as for `digits predict`)")
    add.set_defaults(func=run_add)
    listing = commands.add_parser("list", help="counts per digit and the total")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=run_list)
    export = commands.add_parser("export", help="write the drawings as IDX files into DIR")
    export.add_argument("dir", metavar="DIR")
    export.set_defaults(func=run_export)
    imp = commands.add_parser("import", help="add the drawings exported into DIR")
    imp.add_argument("dir", metavar="DIR")
    imp.set_defaults(func=run_import)
    remove = commands.add_parser("remove", help="remove every drawing of digit D")
    remove.add_argument("--label", type=_digit, required=True, metavar="D")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=run_remove)
    clear = commands.add_parser("clear", help="remove every drawing")
    clear.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    clear.set_defaults(func=run_clear)


def run_add(args: argparse.Namespace) -> int:
    """Read every image, keep the usable ones in one change, report the others."""
    import numpy as np

    from mnist.errors import MnistError
    from mnist.fileio import printable
    from mnist.imagefile import iter_images
    from network.drawings import MAX_DRAWINGS, add_drawings, as_canvas
    from network.errors import ModelError
    from network.recognize import read_drawing, recognize_proba
    from tui.cli.common import load_model_for_cli

    images: list[np.ndarray] = []
    normalized: list[np.ndarray] = []
    sources: list[str] = []
    failures = 0
    for path in args.files:
        try:
            for index, image in iter_images(path, invert=True if args.invert else None):
                shown = path if index is None else f"{path}:{index}"
                read = read_drawing(image)
                if isinstance(read, str):
                    print(f"digits: error: {printable(shown)}: image is {read}",
                          file=sys.stderr)
                    failures += 1
                elif len(images) >= MAX_DRAWINGS:
                    raise MnistError(f"{shown}: more than {MAX_DRAWINGS:,} images; stopped")
                else:  # kept as the 28x28 canvas it is stored as, not at its full size
                    images.append(as_canvas(image))
                    normalized.append(read)
                    sources.append(f"file {Path(shown).name}")
        except MnistError as exc:
            print(f"digits: error: {printable(str(exc))}", file=sys.stderr)
            failures += 1
    if images:
        try:  # the guess of the model the app would use, as the Paint screen records it
            model, _ = load_model_for_cli(None)
            guesses = np.argmax(recognize_proba(model, np.stack(normalized)), axis=1).tolist()
        except (ModelError, MnistError):
            guesses = [None] * len(images)
        drawings = add_drawings(images, [args.label] * len(images), guesses, source=sources)
        print(f"Kept {len(images)} drawing{'s' * (len(images) != 1)} of {args.label} "
              f"(now {drawings.counts()[args.label]} of {args.label}, {len(drawings)} in all).")
    return 2 if failures else 0


def run_list(args: argparse.Namespace) -> int:
    """Counts per digit and the total."""
    from mnist.fileio import printable
    from network.drawings import drawings_dir, load_drawings

    drawings = load_drawings()
    counts = drawings.counts()
    if args.json:
        print(strict_json({"counts": counts, "total": len(drawings)}))
        return 0
    print("digit " + " ".join(f"{d:>5}" for d in range(10)) + "  total")
    print("kept  " + " ".join(f"{c:>5}" for c in counts) + f"  {len(drawings):>5}")
    print(f"in {printable(str(drawings_dir()))}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the drawings as IDX files."""
    from mnist.fileio import printable
    from network.drawings import export_drawings

    n = export_drawings(Path(args.dir))
    print(f"Exported {n} drawing{'s' * (n != 1)} to {printable(args.dir)}.")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Add the drawings of an export."""
    from mnist.fileio import printable
    from network.drawings import import_drawings

    n = import_drawings(Path(args.dir))
    print(f"Imported {n} drawing{'s' * (n != 1)} from {printable(args.dir)}.")
    return 0


def _confirm(question: str, yes: bool) -> bool:
    """True with --yes, else when the answer read from stdin starts with y."""
    if yes:
        return True
    print(f"{question} [y/N] ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    if not answer:
        print()
        raise UsageError("no answer: nothing was removed (add --yes to skip the question)")
    return answer.strip().lower().startswith("y")


def run_remove(args: argparse.Namespace) -> int:
    """Remove every drawing of one digit, after confirmation."""
    from network.drawings import load_drawings, remove_drawings

    count = load_drawings().counts()[args.label]
    if count == 0:
        print(f"No drawings of {args.label} are kept.")
        return 0
    if not _confirm(f"Remove the {count} drawings of {args.label}?", args.yes):
        print("Nothing was removed.")
        return 1
    removed = remove_drawings(label=args.label)
    print(f"Removed {removed} drawing{'s' * (removed != 1)} of {args.label}.")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    """Remove every drawing, after confirmation."""
    from network.drawings import clear_drawings, load_drawings

    total = len(load_drawings())
    if total == 0:
        print("No drawings are kept.")
        return 0
    if not _confirm(f"Remove all {total} drawings?", args.yes):
        print("Nothing was removed.")
        return 1
    removed = clear_drawings()
    print(f"Removed {removed} drawing{'s' * (removed != 1)}.")
    return 0
