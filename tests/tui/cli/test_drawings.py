"""`digits drawings add / list / export / import / remove / clear`, in the forms scripts use."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from network.drawings import load_drawings
from tui.cli import main


def seven() -> np.ndarray:
    """A 7 on a large canvas (any size is accepted, as for `digits predict`)."""
    image = np.zeros((60, 40), np.float32)
    image[8:12, 6:34] = 255
    for k in range(40):
        image[12 + k, 30 - k // 2:34 - k // 2] = 255
    return image


def test_add_keeps_every_good_image_and_reports_the_bad_ones(tmp_path, capsys):
    stack = np.stack([np.pad(seven()[::2, ::2], 2)] * 3)  # a .npy stack: every image kept
    np.save(tmp_path / "stack.npy", stack)
    (tmp_path / "one.txt").write_text("..##..\n.###..\n..##..\n..##..\n..##..\n.####.\n")
    (tmp_path / "blank.txt").write_text("......\n......\n")
    code = main(["drawings", "add", "--label", "7", str(tmp_path / "stack.npy"),
                 str(tmp_path / "blank.txt"), str(tmp_path / "missing.pgm"),
                 str(tmp_path / "one.txt")])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 2 and "blank.txt" in err and "missing.pgm" in err
    assert "Kept 4 drawings of 7" in out
    kept = load_drawings()
    assert kept.labels.tolist() == [7, 7, 7, 7]
    assert [r.source for r in kept.records] == [
        "file stack.npy:0", "file stack.npy:1", "file stack.npy:2", "file one.txt"]
    assert all(r.guess is not None for r in kept.records)  # the active model's guess
    assert kept.images.shape == (4, 28, 28) and kept.images.dtype == np.uint8


def test_list_json_is_the_documented_object(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.stack([seven()] * 2))
    assert main(["drawings", "add", "--label", "3", str(tmp_path / "s.npy")]) == 0
    capsys.readouterr()
    assert main(["drawings", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "counts": [0, 0, 0, 2, 0, 0, 0, 0, 0, 0], "total": 2}
    assert main(["drawings", "list"]) == 0
    assert "total" in capsys.readouterr().out


def test_export_import_remove_and_clear(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "s.npy", np.stack([seven()] * 3))
    main(["drawings", "add", "--label", "7", str(tmp_path / "s.npy")])
    main(["drawings", "add", "--label", "1", str(tmp_path / "s.npy")])
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    assert main(["drawings", "export", str(out_dir)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["drawings", "remove", "--label", "7"]) == 1  # declined: nothing removed
    assert len(load_drawings()) == 6
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["drawings", "remove", "--label", "7"]) == 0
    assert load_drawings().counts()[7] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["drawings", "clear"]) == 2  # no answer at all: refused, one line
    assert "--yes" in capsys.readouterr().err
    assert main(["drawings", "clear", "--yes"]) == 0
    assert len(load_drawings()) == 0
    assert main(["drawings", "import", str(out_dir)]) == 0
    assert load_drawings().counts() == [0, 3, 0, 0, 0, 0, 0, 3, 0, 0]


def test_bad_arguments_and_a_damaged_store_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["drawings", "add", "--label", "12", "x.npy"])
    assert info.value.code == 2
    assert "expected a digit" in capsys.readouterr().err
    assert main(["drawings", "import", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot import" in err
    from network.drawings import drawings_dir

    drawings_dir().mkdir(parents=True)
    (drawings_dir() / "index.json").write_text("garbage")
    assert main(["drawings", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "move the folder" in err


@pytest.mark.parametrize("kind", ["fifo", "nested 100,000 deep"])
def test_an_export_whose_record_file_is_hostile(kind, tmp_path, capsys):
    """An export's drawings.json that is a FIFO blocked `drawings import` for ever; one nested
    100,000 deep raised RecursionError (a traceback) in import and in export over it. The
    records are optional: the IDX files are imported; an export refuses to replace the file."""
    import os
    import signal

    from network.drawings import add_drawings

    add_drawings([seven()], [7])
    folder = tmp_path / "export"
    folder.mkdir()
    assert main(["drawings", "export", str(folder)]) == 0
    records = folder / "drawings.json"
    records.unlink()
    if kind == "fifo":
        os.mkfifo(records)
    else:
        records.write_text('{"drawings": ' + "[" * 100_000 + "]" * 100_000 + "}")

    class Blocked(BaseException):  # not an OSError, which import's reading would swallow
        pass

    def expire(signum, frame):
        raise Blocked("blocked for 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        assert main(["drawings", "import", str(folder)]) == 0
        assert main(["drawings", "export", str(folder)]) == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    assert "Imported 1 drawing from" in out and len(load_drawings()) == 2
    assert len(err.strip().splitlines()) == 1 and "refusing to" in err, err


def test_a_folder_name_with_control_characters_is_echoed_escaped(tmp_path, capsys):
    """`export` and `import` echoed the folder as given: a name holding a newline and an escape
    sequence forged a second line of output and recoloured the terminal. It is shown with its
    control characters escaped, as every other path the commands print."""
    np.save(tmp_path / "s.npy", np.stack([seven()]))
    main(["drawings", "add", "--label", "7", str(tmp_path / "s.npy")])
    folder = tmp_path / "exp\n\x1b[31mExported 999 drawings"
    folder.mkdir()
    capsys.readouterr()
    assert main(["drawings", "export", str(folder)]) == 0
    assert main(["drawings", "import", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and "\x1b" not in out and "\\x1b[31m" in out
