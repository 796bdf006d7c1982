"""Atomic file writes: write a temporary file beside the target, then rename over it.

A reader (or a job killed half-way) never sees a half-written file. Torch files are written by
``newlogic.training.torch_save.atomic_torch_save`` through ``atomic_write``: this module imports no torch.
"""

import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newlogic.errors import UserError

FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def remove_stale_temporaries(directory: Path, names: tuple[str, ...]) -> None:
    """Delete the temp files (``.{name}.*.tmp``) that a killed atomic write of one of ``names`` left in ``directory``.

    Call it only while holding the lock of the outputs (``newlogic.store.lock.output_lock``): then
    the writers of those temp files are gone, and a live run's temp file is never touched.
    """
    for name in names:
        for stale in Path(directory).glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path | str, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` (same directory, fsynced).

    A full disk or quota (ENOSPC, EDQUOT) is a UserError naming it; the temp file is removed.

    The file gets the usual permissions (0666 minus the umask), not ``mkstemp``'s private 0600,
    so results on a shared cluster file system stay readable by the group.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except OSError as error:
        if error.errno in FULL_DISK:
            raise UserError(f"cannot write {path}: {errno.errorcode[error.errno]} ({os.strerror(error.errno)}); "
                            "free space on that file system, then run again") from None
        raise
    finally:
        tmp_path.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path: Path | str, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
