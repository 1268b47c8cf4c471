"""The core (`mnist/`, `network/`) imports without Textual; `tui/` holds the UI."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import mnist, network
names = []
for package in (mnist, network):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
assert names, "no modules found"
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(len(names), leaked)
"""


def test_core_imports_without_textual():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert int(count) >= 5
    assert leaked.strip() == "[]"


def test_cli_version_does_not_import_textual_the_network_or_numpy():
    # Nor does importing the command: `digits` holds NumPy's BLAS threads before NumPy loads.
    code = (
        "import sys; from tui.cli import main; main(['--version']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'network', 'numpy')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_starting_the_app_parses_its_options_without_the_subcommands():
    code = (
        "import sys; from tui.cli import app_arguments; "
        "args = app_arguments(['--model', 'm.npz', '--data-dir', 'd']); "
        "print(args.model, args.data_dir, app_arguments(['data', 'status']), "
        "app_arguments(['--help']), "
        "sorted(m for m in sys.modules if m.startswith('tui.cli.') and m != 'tui.cli.common'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "m.npz d None None []"
