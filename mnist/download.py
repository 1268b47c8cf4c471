"""Downloading the four MNIST files from public mirrors, verified before they are used.

Each file is streamed to a temporary file beside its target (`.<name>.part-<pid>`), verified
(shape and SHA-256 of the decompressed content), and only then renamed into place. Any failure
(an unreachable mirror, a timeout, a cut stream, wrong bytes, a redirect to another host) deletes
the temporary file and tries the next mirror, so the data directory never holds unverified data.

Only HTTPS is used. Plain HTTP is accepted for loopback hosts only (127.0.0.1, ::1, localhost),
which is how the tests serve the files and how a user can serve a local copy. Redirects are
followed only to the same host over HTTPS. Extra mirrors can be given in the environment variable
DIGITS_MNIST_MIRRORS (comma-separated base URLs), tried before the built-in list.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mnist.errors import MnistError
from mnist.fileio import FileRefused, check_output
from mnist.files import FILES, MnistFile, find_file, load_verified
from mnist.idx import GZIP_MAGIC
from mnist.sources import cache_dir

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://raw.githubusercontent.com/fgnt/mnist/master/",
)
MIRRORS_ENV = "DIGITS_MNIST_MIRRORS"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
CHUNK = 64 * 1024
STALE_PART_SECONDS = 3600
#: A file must arrive within this many seconds, whatever the mirror does (a mirror sending a
#: byte a second never trips the per-read timeout) ...
DEADLINE = 900.0
#: ... and, after the first RATE_GRACE seconds, at no less than MIN_RATE bytes a second on average.
MIN_RATE = 16 * 1024
RATE_GRACE = 30.0


class DownloadCancelled(MnistError):
    """The caller asked the download to stop; nothing partial was kept."""


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report: which file, from where, how far, and in what state.

    `state` is one of "present" (already there and verified), "start", "progress",
    "verifying", "done", or "failed" (this mirror failed; `error` says why, the next is tried).
    """

    file: str
    state: str
    done: int = 0
    total: int | None = None
    mirror: str = ""
    error: str = ""


ProgressCallback = Callable[[DownloadProgress], None]


def check_url(url: str) -> None:
    """Accept https URLs, and http only to a loopback host; raise MnistError otherwise."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, _ = parts.hostname, parts.port  # both parse lazily and may raise ValueError
    except ValueError as exc:
        raise MnistError(f"refusing mirror {url}: not a valid URL ({exc})") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return
    raise MnistError(f"refusing mirror {url}: only https:// (or http:// to localhost) is allowed")


def mirrors() -> list[str]:
    """The mirror base URLs to try, in order: DIGITS_MNIST_MIRRORS first, then the built-ins."""
    extra = [m.strip() for m in os.environ.get(MIRRORS_ENV, "").split(",") if m.strip()]
    result = []
    for base in [*extra, *MIRRORS]:
        check_url(base)
        result.append(base if base.endswith("/") else base + "/")
    return result


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same host, and only over an allowed scheme."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if new.hostname != old.hostname:
            raise urllib.error.URLError(
                f"redirected to another host ({new.hostname}); not followed"
            )
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects())


@dataclass(frozen=True)
class Pace:
    """How long a download may take: `timeout` per network read, `deadline` per file, and at
    least `min_rate` bytes a second on average once `grace` seconds have passed."""

    timeout: float = 30.0
    deadline: float = DEADLINE
    min_rate: float = MIN_RATE
    grace: float = RATE_GRACE

    def check(self, started: float, done: int) -> None:
        """OSError (the mirror is abandoned) when the file is late or arriving too slowly."""
        elapsed = time.monotonic() - started
        if elapsed > self.deadline:
            raise OSError(f"abandoned after {elapsed:.0f} s with {done:,} bytes received "
                          f"(the deadline per file is {self.deadline:g} s)")
        if elapsed > self.grace and done < self.min_rate * elapsed:
            raise OSError(f"abandoned: too slow ({done:,} bytes in {elapsed:.0f} s, under the "
                          f"minimum of {self.min_rate / 1024:g} KB/s)")


def _fetch(
    url: str,
    part: Path,
    spec: MnistFile,
    pace: Pace,
    report: Callable[[DownloadProgress], None],
    should_stop: Callable[[], bool] | None,
) -> None:
    """Stream `url` into `part`, reporting progress; raise on any failure."""
    limit = 16 + 4 * len(spec.shape) + 784 * spec.shape[0] + (1 << 20)
    request = urllib.request.Request(url, headers={"User-Agent": "digits-tui"})
    started = time.monotonic()
    with _OPENER.open(request, timeout=min(pace.timeout, pace.deadline)) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise OSError(f"server announces {total:,} bytes, far more than {spec.gz_name}")
        done = 0
        report(DownloadProgress(spec.gz_name, "start", 0, total, url))
        with open(part, "wb") as out:
            while True:
                if should_stop is not None and should_stop():
                    raise DownloadCancelled("download cancelled; nothing partial was kept")
                chunk = response.read1(CHUNK)  # what has arrived: read() would wait for all
                pace.check(started, done + len(chunk))
                if not chunk:
                    break
                done += len(chunk)
                if done > limit:
                    raise OSError(f"more than {limit:,} bytes received; not {spec.gz_name}")
                out.write(chunk)
                report(DownloadProgress(spec.gz_name, "progress", done, total, url))
            out.flush()
            os.fsync(out.fileno())
        if total is not None and done != total:
            raise OSError(f"connection closed after {done:,} of {total:,} bytes")


def download_file(
    spec: MnistFile,
    target_dir: Path,
    *,
    bases: list[str] | None = None,
    timeout: float = 30.0,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    pace: Pace | None = None,
) -> Path:
    """Download one canonical file into `target_dir`, trying each mirror in turn.

    `pace` (default: `timeout` per read, DEADLINE per file, MIN_RATE) bounds the time spent on
    each mirror. Returns the path of the verified file. Raises MnistError listing every mirror's
    failure when none works, DownloadCancelled when `should_stop()` turns true. Never leaves a
    partial file.
    """
    report = on_progress or (lambda event: None)
    pace = pace or Pace(timeout=timeout)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file, a device, a FIFO, a dangling or looping link
        raise MnistError(f"cannot download into {target_dir}: it is not a folder") from None
    except NotADirectoryError:
        raise MnistError(f"cannot download into {target_dir}: part of that path is a file, "
                         "not a folder") from None
    for name in (spec.gz_name, spec.name):  # a FIFO, device or folder there is not ours
        try:
            check_output(target_dir / name, is_ours=lambda _: True, force=True, what="data file")
        except FileRefused as exc:
            raise MnistError(f"{target_dir / name}: {exc}") from None
    failures = []
    for base in bases if bases is not None else mirrors():
        url = urllib.parse.urljoin(base, spec.gz_name)
        part = target_dir / f".{spec.gz_name}.part-{os.getpid()}"
        try:
            check_url(url)
            _fetch(url, part, spec, pace, report, should_stop)
            report(DownloadProgress(spec.gz_name, "verifying", mirror=url))
            load_verified(part, spec, repair_hint=False)
            with open(part, "rb") as fh:
                name = spec.gz_name if fh.read(2) == GZIP_MAGIC else spec.name
            final = target_dir / name
            os.replace(part, final)
            report(DownloadProgress(spec.gz_name, "done", mirror=url))
            return final
        except DownloadCancelled:
            raise
        except (TimeoutError, MnistError, OSError, urllib.error.URLError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            failures.append(f"{urllib.parse.urlsplit(url).netloc}: {reason}")
            report(DownloadProgress(spec.gz_name, "failed", mirror=url, error=str(reason)))
        finally:
            part.unlink(missing_ok=True)
    raise MnistError(
        f"could not download {spec.gz_name} ({'; '.join(failures) or 'no mirrors'}); if this "
        f"machine is offline, copy the four files into a folder and set MNIST_DIR to it"
    )


def remove_stale_parts(target_dir: Path, max_age: float = STALE_PART_SECONDS) -> None:
    """Delete partial downloads left by a process that was killed (older than `max_age` s)."""
    if not target_dir.is_dir():
        return
    now = time.time()
    for part in target_dir.glob(".*.part-*"):
        try:
            if now - part.stat().st_mtime > max_age:
                part.unlink()
        except OSError:
            pass


def download(
    target_dir: Path | None = None,
    *,
    bases: list[str] | None = None,
    timeout: float = 30.0,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    pace: Pace | None = None,
) -> Path:
    """Make `target_dir` (default: the user cache) hold all four verified files.

    Files already present are verified first and kept when good; missing or damaged ones are
    downloaded (a damaged one is replaced only once a verified copy has arrived). Returns the
    directory.
    """
    target_dir = Path(target_dir) if target_dir is not None else cache_dir()
    remove_stale_parts(target_dir)
    for spec in FILES:
        present = find_file(target_dir, spec) if target_dir.is_dir() else None
        if present is not None:
            try:
                load_verified(present, spec)
            except MnistError:
                present = None
        if present is not None:
            if on_progress:
                on_progress(DownloadProgress(spec.gz_name, "present"))
            continue
        download_file(
            spec,
            target_dir,
            bases=bases,
            timeout=timeout,
            on_progress=on_progress,
            should_stop=should_stop,
            pace=pace,
        )
    return target_dir
