"""``atomic_torch_save``: a torch file (weights, checkpoint) written atomically.

It lives in training, its only user, so that ``newlogic.store`` (the files, read by reports and
planning) never imports torch.
"""

import io
from pathlib import Path
from typing import Any

import torch

from newlogic.store.atomic import atomic_write


def atomic_torch_save(obj: Any, path: Path | str) -> Path:
    """``torch.save`` to ``path`` atomically (``newlogic.store.atomic.atomic_write``).

    Serialised in memory first, then written as plain bytes: a full disk then raises ENOSPC as an
    ``OSError`` (torch's own file writer reports it as ``unexpected pos …``), which ``atomic_write``
    turns into a UserError.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getbuffer()))
