"""Registries keyed by torch-free names: the names are declared once, where planning can read them.

A torch module's registry (e.g. ``newlogic.nn.activations.ACTIVATIONS``) maps names to torch code;
planning (``snakemake -n``, ``newlogic.validation``) must check a config's names without importing
torch. So the names live in a torch-free module beside the code (``newlogic.nn.options``,
``newlogic.training.options``, ``newlogic.attacks.catalog``), and the torch registry is built with
``keyed_by``, which refuses at import a registry whose keys are not exactly those names in their
order: a name added on one side only fails the first import, never a later job.
"""

from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


class RegistryMismatch(RuntimeError):
    """A torch registry whose keys differ from its torch-free names (a programming error, caught at import)."""


def keyed_by(names: Sequence[str], registry: Mapping[str, T], what: str) -> dict[str, T]:
    """``registry`` as a dict, checked to hold exactly ``names`` in their order (``what`` names both in the error)."""
    if tuple(registry) != tuple(names):
        raise RegistryMismatch(f"{what} holds {', '.join(registry)}, but its torch-free names are {', '.join(names)}")
    return dict(registry)
