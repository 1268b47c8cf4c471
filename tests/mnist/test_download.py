"""The download path, for real: a local HTTP server on 127.0.0.1 serves copies of the MNIST files.

The server has two mirrors, /m1/ and /m2/, each of which can be told to misbehave per file:
serve wrong bytes, cut the stream midway, hang, redirect, or answer 404.
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from mnist.dataset import load_mnist
from mnist.download import (
    DownloadCancelled,
    check_url,
    download,
    download_file,
    mirrors,
)
from mnist.errors import MnistError
from mnist.files import FILES, TRAIN_LABELS
from mnist.sources import cache_dir


class QuietServer(ThreadingHTTPServer):
    """A test server that does not print a traceback when a client hangs up mid-reply (the
    downloader does that on purpose: deadlines, size limits, checksum mismatches)."""

    def handle_error(self, request, client_address) -> None:
        """Ignore a connection the client closed; report anything else as usual."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Mirrors:
    """A threaded HTTP server on 127.0.0.1 with per-mirror, per-file behaviour."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.modes: dict[tuple[str, str], str] = {}
        self.requests: list[str] = []
        self.release = threading.Event()
        self.hangs_ended = 0  #: hanging responses that have run their course
        handler = self._handler()
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def base(self, mirror: str, host: str = "127.0.0.1") -> str:
        """Base URL of one mirror."""
        return f"http://{host}:{self.port}/{mirror}/"

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                _, mirror, name = self.path.split("/", 2)
                mode = outer.modes.get((mirror, name), "ok")
                body = outer.files.get(name)
                if body is None or mode == "404":
                    self.send_error(404)
                    return
                if mode == "redirect-other-host":
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{outer.port}/m2/{name}")
                    self.end_headers()
                    return
                if mode == "redirect-same-host":
                    self.send_response(302)
                    self.send_header("Location", f"/m2/{name}")
                    self.end_headers()
                    return
                if mode == "wrong-bytes":
                    body = outer.wrong_bytes(name)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "hang":
                    outer.release.wait(10)
                    outer.hangs_ended += 1
                    return
                if mode == "cut":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler

    def wrong_bytes(self, name: str) -> bytes:
        """A valid gzip IDX file with the right shape but one byte of content changed."""
        raw = bytearray(gzip.decompress(self.files[name]))
        raw[-1] ^= 0x01
        return gzip.compress(bytes(raw))

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def published(mnist_dir: Path) -> dict[str, bytes]:
    """The bytes of the four published .gz files."""
    return {spec.gz_name: (mnist_dir / spec.gz_name).read_bytes() for spec in FILES}


@pytest.fixture
def server(published):
    mirrors_ = Mirrors(published)
    yield mirrors_
    mirrors_.close()


@pytest.fixture
def target(tmp_path) -> Path:
    return tmp_path / "cache"


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_downloads_and_verifies_all_four(server, target):
    events = []
    download(target, bases=[server.base("m1")], on_progress=events.append)
    assert _leftovers(target) == sorted(spec.gz_name for spec in FILES)
    data = load_mnist(target)
    assert data.train_images.shape == (60000, 28, 28)
    assert list(data.test_labels[:5]) == [7, 2, 1, 0, 4]
    states = {(e.file, e.state) for e in events}
    for spec in FILES:
        assert (spec.gz_name, "start") in states and (spec.gz_name, "done") in states
    progress = [e for e in events if e.state == "progress" and e.file == FILES[0].gz_name]
    assert progress[-1].done == progress[-1].total == len(server.files[FILES[0].gz_name])


def test_second_run_keeps_verified_files(server, target):
    download(target, bases=[server.base("m1")])
    server.requests.clear()
    events = []
    download(target, bases=[server.base("m1")], on_progress=events.append)
    assert server.requests == []
    assert [e.state for e in events] == ["present"] * 4


def test_wrong_bytes_rejected_and_next_mirror_used(server, target):
    name = TRAIN_LABELS.gz_name
    server.modes[("m1", name)] = "wrong-bytes"
    events = []
    path = download_file(
        TRAIN_LABELS,
        target,
        bases=[server.base("m1"), server.base("m2")],
        on_progress=events.append,
    )
    assert path == target / name
    failed = [e for e in events if e.state == "failed"]
    assert len(failed) == 1 and "checksum mismatch" in failed[0].error
    assert _leftovers(target) == [name]


def test_wrong_bytes_everywhere_leaves_nothing(server, target):
    name = TRAIN_LABELS.gz_name
    server.modes[("m1", name)] = server.modes[("m2", name)] = "wrong-bytes"
    with pytest.raises(MnistError, match="could not download") as info:
        download_file(TRAIN_LABELS, target, bases=[server.base("m1"), server.base("m2")])
    assert "MNIST_DIR" in str(info.value)
    assert _leftovers(target) == []


def test_cut_mid_stream_leaves_nothing(server, target):
    name = FILES[0].gz_name
    server.modes[("m1", name)] = "cut"
    with pytest.raises(MnistError):
        download_file(FILES[0], target, bases=[server.base("m1")])
    assert _leftovers(target) == []
    path = download_file(FILES[0], target, bases=[server.base("m1"), server.base("m2")])
    assert _leftovers(target) == [path.name]


def test_hanging_mirror_times_out_then_next(server, target):
    server.modes[("m1", TRAIN_LABELS.gz_name)] = "hang"
    events = []
    download_file(
        TRAIN_LABELS,
        target,
        bases=[server.base("m1"), server.base("m2")],
        timeout=0.5,
        on_progress=events.append,
    )
    assert server.hangs_ended == 0  # the hang (10 s) was still on: the timeout cut it short
    assert [e.state for e in events if e.state in ("failed", "done")] == ["failed", "done"]
    assert _leftovers(target) == [TRAIN_LABELS.gz_name]


def test_redirect_to_another_host_is_not_followed(server, target):
    server.modes[("m1", TRAIN_LABELS.gz_name)] = "redirect-other-host"
    with pytest.raises(MnistError, match="another host"):
        download_file(TRAIN_LABELS, target, bases=[server.base("m1")])
    assert not any("/m2/" in r for r in server.requests)
    assert _leftovers(target) == []


def test_redirect_on_same_host_is_followed(server, target):
    server.modes[("m1", TRAIN_LABELS.gz_name)] = "redirect-same-host"
    download_file(TRAIN_LABELS, target, bases=[server.base("m1")])
    assert server.requests[-1] == f"/m2/{TRAIN_LABELS.gz_name}"


def test_cancel_leaves_nothing(server, target):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(DownloadCancelled):
        download_file(FILES[0], target, bases=[server.base("m1")], should_stop=should_stop)
    assert _leftovers(target) == []


def test_only_https_or_loopback(monkeypatch):
    check_url("https://example.org/mnist/")
    check_url("http://127.0.0.1:8000/")
    check_url("http://localhost/")
    for url in ("http://example.org/mnist/", "ftp://example.org/", "file:///etc/passwd"):
        with pytest.raises(MnistError, match="only https"):
            check_url(url)
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", "http://evil.example/")
    with pytest.raises(MnistError):
        mirrors()
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", "https://a.example/x, http://127.0.0.1:1/y")
    assert mirrors()[:2] == ["https://a.example/x/", "http://127.0.0.1:1/y/"]
    assert all(m.startswith("https://") for m in mirrors()[2:])


def test_damaged_cache_detected_then_repaired(server, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    cache = cache_dir()
    download(cache, bases=[server.base("m1")])
    labels = cache / TRAIN_LABELS.gz_name
    labels.write_bytes(server.wrong_bytes(TRAIN_LABELS.gz_name))
    with pytest.raises(MnistError, match="digits data download"):
        load_mnist()
    server.requests.clear()
    download(cache, bases=[server.base("m1")])
    assert server.requests == [f"/m1/{TRAIN_LABELS.gz_name}"]
    assert load_mnist().origin == "cache"


def test_load_mnist_downloads_into_cache_when_allowed(server, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", server.base("m1"))
    with pytest.raises(MnistError, match="MNIST not found"):
        load_mnist()
    data = load_mnist(download_missing=True)
    assert data.directory == cache_dir()
    assert np.array_equal(data.train_labels[:5], [5, 0, 4, 1, 9])
