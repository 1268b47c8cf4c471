"""The `digits` command's foundation: --version, --help, and the `digits data` group."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mnist.files import FILES


def digits(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the `digits` command in a subprocess (same interpreter as the tests)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_console_script_is_installed():
    script = shutil.which("digits", path=str(Path(sys.executable).parent))
    assert script is not None, "the `digits` console script is not installed next to python"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("digits ")


def test_version_says_where_packages_come_from():
    result = digits("--version")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for package in ("tui", "network", "mnist"):
        line = next(line for line in lines if line.split()[0] == package)
        assert Path(line.split(maxsplit=1)[1]).name == package
        assert Path(line.split(maxsplit=1)[1]).is_dir()
    assert "numpy" in result.stdout and "textual" in result.stdout


@pytest.mark.parametrize(
    "command",
    [[], ["data"], ["data", "status"], ["data", "verify"], ["data", "download"]],
)
def test_every_command_has_help(command):
    result = digits(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: digits")
    assert len(result.stdout.splitlines()) > 4


def test_verify_real_data_exits_0(mnist_dir):
    result = digits("data", "verify", "--data-dir", str(mnist_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok  ") == 4
    assert result.stderr == ""


def test_verify_truncated_copy_exits_2_with_one_line(mnist_dir, tmp_path):
    for spec in FILES:
        shutil.copy(mnist_dir / spec.gz_name, tmp_path / spec.gz_name)
    victim = tmp_path / FILES[0].gz_name
    victim.write_bytes(victim.read_bytes()[:100_000])
    result = digits("data", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(victim) in lines[0] and "truncated" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_verify_empty_dir_names_missing_files(tmp_path):
    result = digits("data", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "missing" in result.stderr


def test_status_lists_places_and_states(mnist_dir, tmp_path):
    result = digits("data", "status", env={"MNIST_DIR": str(mnist_dir)})
    assert result.returncode == 0
    assert "MNIST_DIR" in result.stdout and "<- used" in result.stdout
    assert result.stdout.count("verified") == 4
    assert "cache" in result.stdout


def test_download_command_uses_mirrors_env(mnist_dir, tmp_path):
    # Serve the shared files over loopback HTTP, with the stdlib server in a subprocess.
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(mnist_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = line.split(" port ")[1].split()[0]
        target = tmp_path / "dl"
        result = digits(
            "data", "download", "--dir", str(target),
            env={"DIGITS_MNIST_MIRRORS": f"http://127.0.0.1:{port}/"},
        )
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in target.iterdir()) == sorted(s.gz_name for s in FILES)
        assert "complete and verified" in result.stderr
    finally:
        server.terminate()
        server.wait(10)


def test_bad_arguments_one_line_exit_2():
    result = digits("data", "verify", "--no-such-option")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    result = digits("no-such-command")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1


def test_data_dir_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    result = digits("data", "verify", "--data-dir", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"digits: error: --data-dir {path}: is not a directory"]


@pytest.mark.parametrize("args", [["data", "status"], ["--version"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(args, tmp_path):
    """`digits data status | head -0`: exit 0 and nothing on stderr, as for `digits predict`
    (rich's tables exited 1, so a `set -o pipefail` script failed)."""
    env = {**os.environ, "MNIST_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "tui.cli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # before the command starts writing
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (0, b"")


@pytest.mark.parametrize("command", ["data", "drawings"])
def test_a_command_group_without_its_command_is_an_error(command):
    """`digits data` alone is a usage error, as `digits drawings` alone is: one line, exit 2."""
    result = digits(command)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"digits {command}: error: choose a {command} command (see `digits {command} --help`)"]


def _all_parsers(parser, path=("digits",)):
    """(command words, parser) for `digits` and every subcommand, depth first."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, (*path, name))


def test_every_help_text_names_only_real_commands_and_prints_percent_signs_once():
    """`digits train --help` pointed at `digits models`, which is no command, and printed
    "97.5%%" (argparse %-formats help strings and usage, not descriptions and epilogs)."""
    import re

    from tui.cli import build_parser

    parsers = dict(_all_parsers(build_parser()))
    for path, parser in parsers.items():
        text = parser.format_help()
        assert "%%" not in text, path
        for named in re.findall(r"`(digits(?: [a-z]+)*)", text):
            words = tuple(named.split())
            while words not in parsers:  # `digits teach --model`: the command is a prefix
                assert len(words) > 1, (path, named)
                words = words[:-1]
            if len(words) < len(named.split()):
                assert named.split()[len(words)] in {w for p in parsers for w in p}, (path, named)
