"""Downloads that never end or never start: bad --timeout values, malformed mirror URLs, and a
mirror that sends a byte at a time (a local HTTP server on 127.0.0.1, short deadlines).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mnist.download import MIRRORS_ENV, Pace, download_file, mirrors
from mnist.errors import MnistError
from mnist.files import TRAIN_LABELS
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_hang():
    """A download that never ends fails the test instead of hanging it."""
    import signal

    def expire(signum, frame):
        raise TimeoutError("still downloading after 120 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- --timeout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "0", "-1", "3601", "soon"])
def test_timeout_values_that_are_not_seconds(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["data", "download", "--dir", str(tmp_path), "--timeout", value])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert f"expected seconds in (0, 3600], got '{value}'" in err
    assert not list(tmp_path.iterdir())  # refused before anything was fetched


# -- malformed mirror URLs ------------------------------------------------------------------------

BAD_URLS = ["http://[::1", "http://127.0.0.1:99999/", "https://[fe80::1%25en0/"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_malformed_mirror_urls_are_one_line(url, monkeypatch):
    monkeypatch.setenv(MIRRORS_ENV, url)
    with pytest.raises(MnistError, match="refusing mirror .*: not a valid URL"):
        mirrors()


@pytest.mark.parametrize("command", [["data", "download", "--dir", "{tmp}/data"],
                                     ["train", "--epochs", "1"], ["eval"]])
def test_every_command_that_downloads_says_so_in_one_line(command, tmp_path):
    env = {**os.environ, MIRRORS_ENV: BAD_URLS[0], "MNIST_DIR": str(tmp_path / "empty")}
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                            text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a valid URL" in lines[0] and "Traceback" not in lines[0]


# -- a mirror that sends one byte at a time --------------------------------------------------------


class SlowMirror:
    """127.0.0.1: /slow/ sends one byte every `gap` seconds, /good/ sends the file at once."""

    def __init__(self, body: bytes, gap: float) -> None:
        self.stop = threading.Event()
        self.trickled = 0  # bytes sent by /slow/
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path.startswith("/good/"):
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    if outer.stop.wait(gap):
                        return
                    try:
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return
                    outer.trickled += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow(mnist_dir):
    mirror = SlowMirror((mnist_dir / TRAIN_LABELS.gz_name).read_bytes(), gap=0.1)
    yield mirror
    mirror.close()


def _abandoned(slow: SlowMirror, target: Path, pace: Pace, match: str) -> None:
    """The download is abandoned with one line, the partial file removed, after a few bytes
    of the 28,881 (all of them would take 48 minutes at this pace)."""
    with pytest.raises(MnistError) as info:
        download_file(TRAIN_LABELS, target, bases=[f"{slow.url}/slow/"], pace=pace)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    assert f"could not download {TRAIN_LABELS.gz_name}" in message
    assert list(target.iterdir()) == []  # the partial file is gone
    assert slow.trickled < 200


def test_a_byte_a_second_hits_the_deadline_despite_the_read_timeout(slow, tmp_path):
    """Every read returns within the 2 s timeout, so only the overall deadline stops it."""
    _abandoned(slow, tmp_path, Pace(timeout=2, deadline=1.5, min_rate=0),
               "the deadline per file is 1.5 s")


def test_a_trickle_is_abandoned_under_the_minimum_rate(slow, tmp_path):
    _abandoned(slow, tmp_path, Pace(timeout=2, deadline=60, min_rate=4096, grace=1), "too slow")


def test_the_next_mirror_is_tried_after_a_slow_one(slow, tmp_path):
    pace = Pace(timeout=2, deadline=1, min_rate=0)
    path = download_file(TRAIN_LABELS, tmp_path, bases=[f"{slow.url}/slow/", f"{slow.url}/good/"],
                         pace=pace)
    assert sorted(p.name for p in tmp_path.iterdir()) == [TRAIN_LABELS.gz_name]
    assert path == tmp_path / TRAIN_LABELS.gz_name


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to /dev/null"])
def test_a_download_never_replaces_a_special_file(kind, slow, tmp_path):
    where = tmp_path / TRAIN_LABELS.gz_name
    if kind == "fifo":
        os.mkfifo(where)
    elif kind == "folder":
        where.mkdir()
    else:
        where.symlink_to("/dev/null")
    with pytest.raises(MnistError, match="refusing to replace it"):
        download_file(TRAIN_LABELS, tmp_path, bases=[f"{slow.url}/good/"])
    assert os.path.lexists(where) and not where.is_file()


@pytest.mark.parametrize("kind", ["text file", "fifo", "/dev/null", "dangling link",
                                  "under a file"])
def test_a_target_folder_that_is_not_a_folder_is_named(kind, capsys, tmp_path, monkeypatch):
    """`data download --dir /dev/null` said "/dev/null: File exists"; now it says why, and
    nothing is fetched (no mirror is reachable here) or changed."""
    monkeypatch.setenv(MIRRORS_ENV, "http://127.0.0.1:9/")
    target = tmp_path / "target"
    if kind == "text file":
        target.write_text("mine\n")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "/dev/null":
        target = Path("/dev/null")
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere")
    else:
        (tmp_path / "file").write_text("mine\n")
        target = tmp_path / "file" / "sub"
    assert main(["data", "download", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"cannot download into {target}: " in err and "not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        [] if kind == "/dev/null" else ["file"] if kind == "under a file" else ["target"])


def test_mirrors_failing_before_any_byte_leave_stderr_one_line(capsys):
    """The progress display started on the first mirror's failure and, with no file begun,
    left an empty line above the error line."""
    from mnist.download import DownloadProgress
    from tui.cli.common import download_progress

    with download_progress() as report:
        for mirror in ("http://127.0.0.1:9/", "https://mirror.invalid/"):
            report(DownloadProgress(TRAIN_LABELS.gz_name, "failed", mirror=mirror, error="no"))
    assert capsys.readouterr().err == ""
