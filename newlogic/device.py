"""Device choice: ``auto`` is CUDA when present, else the CPU with a warning."""

import warnings
from typing import TYPE_CHECKING

from newlogic.errors import UserError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> "torch.device":
    """``auto`` → ``cuda`` if available (warning on fallback to ``cpu``); ``cuda[:i]`` must exist.

    torch is imported here, not with the module: the CLI imports this module before its signal handlers.
    """
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        warnings.warn("no CUDA device found: running on the CPU", stacklevel=2)
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.split(":")[0] == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} asked for, but CUDA is not available here; use --device auto or cpu")
        return torch.device(name)
    raise UserError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:<index>")
