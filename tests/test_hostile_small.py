"""Small defects, each real: control characters in file names, P2 leading zeros, a MNIST_DIR
that is a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist.dataset import load_mnist
from mnist.errors import MnistError
from mnist.fileio import printable
from mnist.imagefile import parse_pgm, write_text_art
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent


# -- control characters in file names ------------------------------------------------------------

NAMES = {
    "newline": ("a\nb: 1 (100.0%)", "a\\nb: 1 (100.0%)"),
    "carriage return": ("x\rfake", "x\\rfake"),
    "escape sequence": ("\x1b[2Jclear", "\\x1b[2Jclear"),
    "line separator": ("u\u2028v", "u\\u2028v"),
    "backslash": ("back\\slash", "back\\\\slash"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_a_control_character_in_a_name_cannot_split_predicts_output(case, tmp_path, capsys):
    raw, escaped = NAMES[case]
    image = np.zeros((28, 28))
    image[4:24, 13:15] = 255
    good = tmp_path / f"{raw}.txt"
    good.write_text(write_text_art(image))
    bad = tmp_path / f"{raw}.npy"  # unreadable: its error line names it too
    bad.write_bytes(b"not npy")
    status = main(["predict", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out.count("\n") == 1 and out.startswith(f"{tmp_path}/{escaped}.txt: ")
    assert err.count("\n") == 1 and ".npy: not a valid .npy file" in err  # one line too
    assert all(ch.isprintable() for ch in out.rstrip("\n") + err.rstrip("\n"))


def test_json_output_quotes_names_as_they_are(tmp_path, capsys):
    import json

    image = np.zeros((28, 28))
    image[4:24, 13:15] = 255
    path = tmp_path / "a\nb.txt"
    path.write_text(write_text_art(image))
    assert main(["predict", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out)["file"] == str(path)


def test_json_output_of_a_name_that_is_not_utf8_is_valid_unicode(tmp_path, capsys):
    """A file name's undecodable bytes reach Python as lone surrogates; `json.dumps` would write
    them as \\udcXX escapes, which strict JSON parsers refuse. They come out as \\xNN text."""
    import json

    image = np.zeros((28, 28))
    image[4:24, 13:15] = 255
    path = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt")
    Path(path).write_text(write_text_art(image))
    assert main(["predict", "--json", path]) == 0
    out = capsys.readouterr().out
    assert "\\udc" not in out
    name = json.loads(out)["file"]
    name.encode("utf-8")  # valid Unicode: no lone surrogate
    assert name == f"{tmp_path}/caf\\xe9.txt"


def test_strict_json_replaces_other_lone_surrogates():
    from tui.cli.common import strict_json

    text = strict_json({"m\ud800": ["a\udfff", 1.5, None]})
    assert text == '{"m\\ufffd": ["a\\ufffd", 1.5, null]}'
    with pytest.raises(ValueError):
        strict_json([float("nan")])


def test_printable_leaves_ordinary_names_alone():
    for name in ("seven.pgm", "my digits/été 7.txt", "数字.npy", "a b  c"):
        assert printable(name) == name


# -- P2 values with leading zeros ----------------------------------------------------------------


@pytest.mark.parametrize("value, level", [(b"000001", 1), (b"0000000255", 255),
                                          (b"00000000000000000000", 0)])
def test_p2_leading_zeros_are_valid(value, level):
    data = b"P2\n2 1\n255\n" + value + b" 7\n"
    [(_, image)] = parse_pgm(data, "z.pgm", invert=False)
    assert image[0, 0] == pytest.approx(level) and image[0, 1] == pytest.approx(7)


@pytest.mark.parametrize("value", [b"1000000", b"00001000000", b"99999999999999999999"])
def test_p2_values_too_large_are_still_refused(value):
    with pytest.raises(MnistError, match="too large|exceeds maxval"):
        parse_pgm(b"P2\n2 1\n65535\n" + value + b" 7\n", "z.pgm")


# -- a MNIST_DIR that is a file ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "fifo", "link to a file"])
def test_data_status_says_not_a_folder(kind, tmp_path):
    path = tmp_path / "mnist"
    if kind == "file":
        path.write_text("not a folder")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        (tmp_path / "target").write_text("x")
        path.symlink_to(tmp_path / "target")
    env = {**os.environ, "MNIST_DIR": str(path)}
    result = subprocess.run([sys.executable, "-m", "tui.cli", "data", "status"],
                            capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert result.returncode == 0
    assert f"MNIST_DIR: {path} (not a folder)" in result.stdout
    os.environ["MNIST_DIR"] = str(path)  # what train and eval say when nothing is found
    try:
        with pytest.raises(MnistError, match=f"MNIST_DIR {path} \\(not a folder\\)"):
            load_mnist()
    finally:
        del os.environ["MNIST_DIR"]
