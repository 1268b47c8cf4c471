"""The drawings store: what is kept, the files it is kept in, and that nothing kept is ever lost
(a crash mid-save, a full disk, a damaged file)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mnist.idx import read_idx
from network.drawings import (
    INDEX,
    DrawingsError,
    add_drawings,
    clear_drawings,
    drawings_dir,
    export_drawings,
    import_drawings,
    load_drawings,
    relabel_drawing,
    remove_drawings,
    training_images,
)

ROOT = Path(__file__).resolve().parents[2]


def digit_image(seed: int) -> np.ndarray:
    """A (28, 28) uint8 canvas with a random blob of ink (never blank)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), np.uint8)
    r, c = rng.integers(4, 20, size=2)
    image[r:r + 6, c:c + 3] = rng.integers(128, 256, size=(6, 3))
    return image


def test_kept_drawings_round_trip_with_their_records():
    """Raw canvas, label, time and guess are kept, in IDX files plus a JSON index."""
    images = [digit_image(i) for i in range(3)]
    add_drawings(images, [7, 1, 7], [1, 1, None])
    drawings = load_drawings()
    assert len(drawings) == 3 and drawings.counts()[7] == 2
    np.testing.assert_array_equal(drawings.images, np.stack(images))
    assert [r.guess for r in drawings.records] == [1, 1, None]
    assert all(r.time.endswith("+00:00") and r.source == "paint" for r in drawings.records)
    folder = drawings_dir()
    index = json.loads((folder / INDEX).read_text())
    raw = read_idx(folder / index["images"]).array  # readable without digits: plain IDX
    np.testing.assert_array_equal(raw, np.stack(images))
    assert read_idx(folder / index["labels"]).array.tolist() == [7, 1, 7]


def test_changes_relabel_remove_and_clear():
    add_drawings([digit_image(i) for i in range(4)], [3, 3, 5, 3])
    ids = [r.id for r in load_drawings().records]
    relabel_drawing(ids[0], 8)
    assert load_drawings().labels.tolist() == [8, 3, 5, 3]
    assert remove_drawings([ids[1]]) == 1
    assert remove_drawings(label=3) == 1
    assert load_drawings().labels.tolist() == [8, 5]
    with pytest.raises(DrawingsError, match="no drawing #"):
        remove_drawings([ids[1]])
    assert clear_drawings() == 2 and len(load_drawings()) == 0
    add_drawings([digit_image(9)], [4])
    assert load_drawings().records[0].id == ids[-1] + 1  # ids are never reused
    files = sorted(p.name for p in drawings_dir().iterdir() if not p.name.startswith("."))
    assert len(files) == 3  # the index and one generation of images and labels: no litter


def test_blank_canvases_and_bad_labels_are_not_kept():
    with pytest.raises(DrawingsError, match="blank"):
        add_drawings([np.zeros((28, 28))], [1])
    with pytest.raises(DrawingsError, match="0..9"):
        add_drawings([digit_image(0)], [10])
    assert len(load_drawings()) == 0


def test_training_images_are_normalized_from_the_raw_canvas():
    """The raw canvas is kept; the MNIST normalization is applied when training."""
    from mnist.normalize import normalize

    small = np.zeros((28, 28), np.uint8)
    small[2:7, 2:4] = 255  # a small 1 in a corner
    add_drawings([small], [1])
    kept = load_drawings()
    np.testing.assert_array_equal(kept.images[0], small)
    expected = np.clip(np.rint(normalize(small)), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(training_images(kept)[0], expected)


def test_export_then_import_moves_a_set(tmp_path):
    add_drawings([digit_image(i) for i in range(3)], [0, 1, 2], [0, 7, 2])
    before = load_drawings()
    assert export_drawings(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "drawings-images-idx3-ubyte", "drawings-labels-idx1-ubyte", "drawings.json"]
    other = tmp_path / "other-machine"
    assert import_drawings(tmp_path, folder=other) == 3
    after = load_drawings(other)
    np.testing.assert_array_equal(after.images, before.images)
    assert after.labels.tolist() == [0, 1, 2]
    assert [r.guess for r in after.records] == [0, 7, 2]
    assert after.checksum() == before.checksum()


@pytest.mark.parametrize("damage", ["not-json", "truncated-images", "flipped-label",
                                    "missing-file", "future-version", "wrong-count",
                                    # each of these is caught by one check alone:
                                    "changed-pixel", "relabelled-in-index", "reused-id",
                                    "path-as-file-name",
                                    # a record edited by hand: said with how to recover too
                                    "negative-id", "label-not-a-digit", "record-not-an-object"])
def test_a_damaged_file_is_one_line_with_how_to_recover_and_never_replaced(damage):
    add_drawings([digit_image(i) for i in range(3)], [1, 2, 3])
    folder = drawings_dir()
    index_path = folder / INDEX
    index = json.loads(index_path.read_text())
    if damage == "not-json":
        index_path.write_text("{ nope")
    elif damage == "truncated-images":
        path = folder / index["images"]
        path.write_bytes(path.read_bytes()[:-5])
    elif damage == "flipped-label":
        path = folder / index["labels"]
        data = bytearray(path.read_bytes())
        data[-1] = 9
        path.write_bytes(bytes(data))
    elif damage == "missing-file":
        (folder / index["images"]).unlink()
    elif damage == "future-version":
        index["version"] = 99
        index_path.write_text(json.dumps(index))
    elif damage == "changed-pixel":  # the images file's checksum
        path = folder / index["images"]
        data = bytearray(path.read_bytes())
        data[-1] ^= 0x55
        path.write_bytes(bytes(data))
    elif damage == "relabelled-in-index":  # the labels file against the index's records
        index["drawings"][0]["label"] = 9
        index_path.write_text(json.dumps(index))
    elif damage == "reused-id":  # the next id must be above every id kept
        index["next_id"] = index["drawings"][-1]["id"]
        index_path.write_text(json.dumps(index))
    elif damage == "path-as-file-name":  # a file the index names must be in the folder
        outside = folder.parent / "elsewhere-idx3-ubyte"
        outside.write_bytes((folder / index["images"]).read_bytes())
        index["images"] = "../elsewhere-idx3-ubyte"
        index_path.write_text(json.dumps(index))
    elif damage == "negative-id":
        index["drawings"][0]["id"] = -1
        index_path.write_text(json.dumps(index))
    elif damage == "label-not-a-digit":
        index["drawings"][1]["label"] = "7"
        index_path.write_text(json.dumps(index))
    elif damage == "record-not-an-object":
        index["drawings"][2] = [3]
        index_path.write_text(json.dumps(index))
    else:
        index["count"] = 5
        index_path.write_text(json.dumps(index))
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(DrawingsError) as info:
        load_drawings()
    message = str(info.value)
    assert "\n" not in message
    assert ("upgrade digits" in message) if damage == "future-version" else \
        ("move the folder" in message and "digits drawings import" in message)
    with pytest.raises(DrawingsError):  # a change is refused too: nothing is overwritten
        add_drawings([digit_image(7)], [4])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == snapshot


FULL_DISK_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    from network.drawings import DrawingsError, add_drawings, drawings_dir, load_drawings

    rng = np.random.default_rng(0)
    kept = 0
    for k in range(1000):  # random grey levels: nothing compresses, the disk fills quickly
        image = rng.integers(1, 256, size=(28, 28)).astype(np.uint8)
        try:
            add_drawings([image], [k % 10])
        except DrawingsError as exc:
            assert "No space left" in str(exc) and "unchanged" in str(exc), exc
            break
        kept += 1
    else:
        sys.exit("the disk never filled up")
    drawings = load_drawings()
    assert drawings.labels.tolist() == [k % 10 for k in range(kept)], drawings.labels
    assert not [p for p in os.listdir(drawings_dir()) if p.endswith(".tmp")]
    print("KEPT", kept)
""")


def test_saving_onto_a_really_full_disk_keeps_every_earlier_drawing(tmp_path):
    """A 40 KB tmpfs (mounted in a user and mount namespace) fills up while drawings are kept
    one by one: the save that fails says so in one line, and all the earlier ones are there."""
    script = tmp_path / "fill.py"
    script.write_text(FULL_DISK_SCRIPT)
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not available to mount a small tmpfs")
    command = ['unshare', '-rm', 'sh', '-c',
               'mount -t tmpfs -o size=40k tmpfs "$1" || exit 77; '
               'XDG_DATA_HOME="$1" exec "$2" "$3"', 'sh', str(disk), sys.executable,
               str(script)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split("KEPT")[1]) >= 5


@pytest.mark.parametrize("fault", ["enospc-on-fsync", "interrupt"])
def test_a_full_disk_or_an_interrupt_keeps_the_earlier_drawings(fault):
    add_drawings([digit_image(i) for i in range(5)], [0, 1, 2, 3, 4])
    folder = drawings_dir()
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
    expected: type[BaseException] = DrawingsError
    with pytest.MonkeyPatch.context() as patch:
        if fault == "enospc-on-fsync":
            def full(fd):
                raise OSError(errno.ENOSPC, "No space left on device")
            patch.setattr(os, "fsync", full)
        else:
            real_replace = os.replace

            def interrupted(src, dst):  # Ctrl-C after the new IDX files, before the index
                if str(dst).endswith(INDEX):
                    raise KeyboardInterrupt
                real_replace(src, dst)
            patch.setattr(os, "replace", interrupted)
            expected = KeyboardInterrupt
        with pytest.raises(expected) as info:
            add_drawings([digit_image(9)], [9])
    if expected is DrawingsError:
        assert "No space left" in str(info.value) and "unchanged" in str(info.value)
    kept = load_drawings()
    assert kept.labels.tolist() == [0, 1, 2, 3, 4]
    assert (folder / INDEX).read_bytes() == snapshot[INDEX]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    add_drawings([digit_image(9)], [9])  # and the next save works, cleaning up any orphan
    assert load_drawings().labels.tolist() == [0, 1, 2, 3, 4, 9]
    assert len([p for p in folder.iterdir() if p.name.endswith("-ubyte")]) == 2


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    from network.drawings import add_drawings

    image = np.zeros((28, 28), np.uint8)
    image[5:20, 12:15] = 255
    add_drawings([image] * 4, [1, 1, 7, 7])
    real_replace = os.replace
    step = int(sys.argv[1])
    calls = []

    def die(src, dst):  # the power goes out at the n-th rename of the next save
        calls.append(dst)
        if len(calls) == step:
            os._exit(9)
        real_replace(src, dst)

    os.replace = die
    add_drawings([image], [3])
""")


@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_process_killed_during_a_save_leaves_the_earlier_drawings(step, tmp_path):
    """A real crash (os._exit) before each of the three renames of a save."""
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(step)], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 9, result.stderr
    kept = load_drawings()
    assert kept.labels.tolist() == [1, 1, 7, 7]
    add_drawings([kept.images[0]], [3])
    assert load_drawings().labels.tolist() == [1, 1, 7, 7, 3]


KEEPER_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from network.drawings import add_drawings

    label = int(sys.argv[1])
    image = np.zeros((28, 28), np.uint8)
    image[5:20, 12:15] = 255
    for _ in range(25):  # one change at a time, as the Paint screen keeps drawings
        add_drawings([image], [label])
""")


def test_two_processes_keeping_drawings_at_once_lose_none(tmp_path):
    """The app and `digits drawings add` may change the folder at the same moment: each change
    holds the folder's lock from reading to writing, so none is lost and no id is used twice."""
    script = tmp_path / "keeper.py"
    script.write_text(KEEPER_SCRIPT)
    keepers = [subprocess.Popen([sys.executable, str(script), str(label)], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for label in (3, 8)]
    for keeper in keepers:
        assert keeper.wait(timeout=120) == 0, keeper.stderr.read()
    kept = load_drawings()
    assert kept.counts()[3] == 25 and kept.counts()[8] == 25
    assert len({r.id for r in kept.records}) == 50


def test_a_change_made_while_the_drawings_are_read_does_not_remove_their_files(monkeypatch):
    """A change (another process keeping a drawing) between reading the index and reading the
    files it names removed those files: the reader said the folder was damaged and told the
    user to move it aside (66 of 2,511 reads while another process kept 300 drawings). Reads
    now hold the folder's lock, shared, so the change waits for the read to end."""
    import threading

    import network.drawings as store

    add_drawings([digit_image(1)], [1])
    real_read_idx = store._read_idx
    changed = threading.Event()

    def read_idx_while_changing(*args, **kwargs):
        if not changed.is_set():
            writer = threading.Thread(target=lambda: (add_drawings([digit_image(2)], [2]),
                                                      changed.set()))
            writer.start()
            writer.join(timeout=0.5)  # the old code let it finish here: no lock to wait for
            changed.set()
        return real_read_idx(*args, **kwargs)

    monkeypatch.setattr(store, "_read_idx", read_idx_while_changing)
    assert load_drawings().labels.tolist() == [1]  # as it was when the read began
    monkeypatch.setattr(store, "_read_idx", real_read_idx)
    for _ in range(100):  # the change, waiting for the lock, is made once the read is over
        if len(load_drawings()) == 2:
            break
        time.sleep(0.05)
    assert load_drawings().labels.tolist() == [1, 2]
