"""One writer per output: an advisory ``fcntl.flock`` lock on a model directory or a result path.

The lock file (``.lock`` inside a model directory, ``.<name>.lock`` beside a result file) holds
the holder's ``pid@host`` and is removed when the holder is done. A second run on a held output
fails at once with a UserError naming the holder; the kernel drops the lock when its holder exits,
however it exits (SIGKILL included: the file then stays, unlocked), so a lock is never stale.
The lock file is opened with ``O_NOFOLLOW`` and must be a regular file: a symlink (or anything
else) planted at its path is refused, never followed, truncated or written through.
Temp files of atomic writes carry no owner: a cleanup may delete them only while it holds the
output's lock (then their writer is gone).
"""

import errno
import fcntl
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newlogic.errors import UserError

DIRECTORY_LOCK = ".lock"


def lock_path(output: Path) -> Path:
    """Where the lock of ``output`` lives: ``output/.lock`` for a directory, ``.<name>.lock`` beside a file."""
    output = Path(output)
    return output / DIRECTORY_LOCK if output.is_dir() else output.with_name(f".{output.name}.lock")


def holder() -> str:
    """This process as a lock holder: ``pid@host``."""
    return f"{os.getpid()}@{socket.gethostname()}"


@contextmanager
def output_lock(output: Path | str) -> Iterator[Path]:
    """Hold the exclusive lock of ``output`` (a model directory that exists, or a result file path) while inside.

    Raises UserError naming the holder when another process holds it.
    """
    path = lock_path(Path(output))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, output)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder().encode(), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # before the lock goes: a run that opened this file finds it gone
        os.close(fd)


def _open_lock_file(path: Path) -> int:
    """``path`` opened read-write (created if absent) without following a symlink; UserError unless a plain file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK):
            raise UserError(f"lock file {path} is a symbolic link; remove it (newlogic never follows one)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UserError(f"lock file {path} is not a regular file; remove it")
    return fd


def _acquire(path: Path, output: Path | str) -> int:
    """An open descriptor of ``path`` holding its exclusive flock; UserError naming the holder when taken.

    The holder removes the file on release, so a lock taken on a file that is no longer at ``path``
    (opened just before its holder finished) is dropped and taken again on the new file.
    """
    while True:
        fd = _open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            found = os.pread(fd, 256, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            raise UserError(f"{output} is being written by another run (pid@host {found}); wait for it to end, "
                            "or write to another output") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
