"""Entries registered from outside the package: the modules an environment variable names (no torch).

A researcher adds a dataset or a figure without editing newlogic: a module of theirs holds a tuple
of entries (``DATASETS``, ``FIGURES``), and ``NEWLOGIC_EXTRA_DATASETS`` / ``NEWLOGIC_EXTRA_FIGURES``
name such modules, comma-separated. The catalogs (``newlogic.datasets``, ``newlogic.figure_catalog``)
register what this module reads.
"""

import importlib
import os
from collections.abc import Iterator
from typing import Any

from newlogic.errors import UserError


def extra_entries(variable: str, attribute: str) -> Iterator[Any]:
    """Every item of ``attribute`` in each module that ``$variable`` names; a module that cannot be imported is a
    UserError naming it."""
    for module_name in filter(None, (part.strip() for part in os.environ.get(variable, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise UserError(f"{variable} names module {module_name!r}, which cannot be imported ({error})") from None
        yield from getattr(module, attribute, ())
