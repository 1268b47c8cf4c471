"""Reading files that may be hostile, and writing files atomically: the one home of both.

Every file digits reads (MNIST data files, model files, settings.json, images for `predict`)
may be something other than a regular file: a FIFO (opening it for reading would block until a
writer appears), a link to `/dev/zero` (endless), a device, a socket, a folder. So it is opened
with O_NONBLOCK (a FIFO opens at once instead of waiting), checked with fstat on the open
descriptor (so what is checked is what is read), refused unless it is a regular file, and read
up to a stated limit only.

    with open_regular(path, limit=...) as f:   # a binary file object, or FileRefused
    data = read_limited(path, limit)           # the whole content, or FileRefused

Writing: `atomic_write` writes a temporary file beside the target, fsyncs it, then renames it
into place (or, with `replace=False`, links it there, which fails if the name is taken: an
atomic claim of the name). A failure removes the temporary file and leaves the target untouched.

`printable` escapes control characters in outside text (a file name with a newline) so a
line-oriented output keeps one line per record.

This module imports neither NumPy nor Textual: both `mnist/` and `network/` use it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["FileRefused", "NameTaken", "open_regular", "read_limited", "file_kind",
           "atomic_write", "check_output", "printable"]


class FileRefused(OSError):
    """A file that is not a regular file, or larger than the reader's limit. str() is the reason
    (without the path: callers put their own name for the file in front)."""

    def __init__(self, reason: str, filename: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.filename = filename  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.reason


class NameTaken(FileExistsError):
    """`atomic_write(..., replace=False)` found the target name already taken."""


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """'a regular file', 'a folder', 'a named pipe (FIFO)', 'a character device'... for st_mode."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _nonblocking(path: str, flags: int) -> int:
    """`open`'s opener: never block on a FIFO, never make a terminal our controlling one."""
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


def open_regular(path: str | os.PathLike[str], limit: int | None = None) -> IO[bytes]:
    """Open `path` for binary reading if it is a regular file of at most `limit` bytes.

    Raises FileRefused (a FIFO, a device, a folder, a socket, or too large) or the OSError of the
    open itself (missing, permission denied). The check is made on the open descriptor.
    """
    try:
        f = open(path, "rb", opener=_nonblocking)  # noqa: SIM115 - returned to the caller
    except IsADirectoryError:
        raise FileRefused("is a folder, not a file", os.fspath(path)) from None
    try:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"is {file_kind(info.st_mode)}, not a regular file",
                              os.fspath(path))
        if limit is not None and info.st_size > limit:
            raise FileRefused(f"is too large ({info.st_size:,} bytes; the limit is {limit:,})",
                              os.fspath(path))
        os.set_blocking(f.fileno(), True)
    except BaseException:
        f.close()
        raise
    return f


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole content of the regular file `path`, refused (FileRefused) past `limit` bytes.

    Reads what fstat said is there (reading `limit` bytes would reserve that much memory
    first); a file that grows while it is read is refused.
    """
    with open_regular(path, limit) as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read(size + 1)
    if len(data) > size:
        raise FileRefused("grew while it was being read", os.fspath(path))
    return data


def check_output(path: str | os.PathLike[str], *, is_ours: Callable[[Path], bool] | None = None,
                 force: bool = False, what: str = "file") -> None:
    """Refuse to write `path` unless that cannot destroy anything that is not ours.

    Nothing there: fine (its folder must exist). A regular file: only with `force`, and only when
    `is_ours(path)` says it is one of our files. Anything else (a folder, a device, a FIFO, a
    symbolic link) is always refused. Raises FileRefused with the reason.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise FileRefused(f"the folder {parent} does not exist", str(path)) from None
        return
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"is {file_kind(info.st_mode)}; refusing to replace it with a {what}",
                          str(path))
    if is_ours is None or not is_ours(path):
        raise FileRefused(f"exists and is not a {what}; refusing to overwrite it", str(path))
    if not force:
        raise FileRefused(f"a {what} exists there already; add --force to overwrite it",
                          str(path))


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any], *,
                 replace: bool = True) -> None:
    """Write a file atomically: `write(f)` fills a temporary file beside `path`, then it is
    fsynced and renamed to `path` (`replace=True`) or linked there (`replace=False`: raises
    NameTaken if `path` exists, so two writers can never both take a name).

    On any failure (a full disk, an interrupt, the name taken) the temporary file is removed
    and `path` is as it was. The new file gets the old file's permissions, else 0o666 & ~umask.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; give it a normal file's mode
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        _fsync_directory(directory)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _link_new(tmp: str, path: Path) -> None:
    """Give the finished temporary file the name `path`, failing if that name exists."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise NameTaken(errno.EEXIST, "exists already", str(path)) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A filesystem without hard links: claim the name with an exclusive create, then rename.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise NameTaken(errno.EEXIST, "exists already", str(path)) from None
        os.replace(tmp, path)


def _file_mode(path: Path) -> int:
    """The permission bits for a file written at `path`: the old file's, else 0o666 & ~umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        pass
    try:  # Linux exposes the umask without having to change it (os.umask is not thread-safe)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable, where the platform allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def printable(text: str) -> str:
    """`text` with control characters (newline, tab, escape, DEL, U+2028...) written as escapes
    (\\n, \\x1b, \\u2028), so outside text cannot split or forge a line of output."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else
                   ("\\\\" if ch == "\\" else ch.encode("unicode_escape").decode("ascii"))
                   for ch in text)
