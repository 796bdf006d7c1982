"""The one rule for names that become paths or shell words: run names, ablation names, setting ids.

A safe name is letters, digits, ``_``, ``-`` and ``.``, starts with neither ``-`` (an option to a
command) nor ``.`` (a hidden or lock file, ``..``), and holds no ``..``. A reserved name is one the
result folder or the tables already use (a file beside the results, a table column, a partial file),
so a setting called ``checks`` never overwrites ``checks.json`` and one called ``clean`` never
fills the clean-accuracy column. The workflow schema (``workflow/schemas/config.schema.yaml``) states
the same pattern; the CLI checks it again (``check_safe_name``). Torch-free: the workflow imports it.
"""

import re

from newlogic.errors import UserError
from newlogic.store import paths

SAFE_NAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]*$")
SAFE_NAME_PATTERN = SAFE_NAME.pattern  # the schema's `pattern` (kept equal by tests/test_names.py)
MAX_NAME_LENGTH = 100
# names the result folder and the tables use: files beside a model's results ({setting}.json
# lives next to checks.json), table and CSV columns (newlogic.report.tables), folders of results/
RESERVED_NAMES = frozenset({
    "clean", "model", "checks", "noise", "label", "verdict", "ramp_unfinished", "noise_rejected",
    "scrambled_rejected", "config", "metrics", "summary", "runs", "models", "attacks", "tables", "figures",
    "analysis", "logs", "benchmarks", "landscape",  # landscape.json lives next to checks.json (issue 32)
    *(name.rsplit(".", 1)[0] for name in (paths.METRICS_FILE, paths.WEIGHTS_FILE)),
})
# partial and result files, lock files, the CSV's per-column fields
RESERVED_SUFFIXES = (".partial", ".npz", ".json", ".lock", "_std", "_runs", "_significant")
RESERVED_PREFIXES = ("worst_",)  # newlogic.report.worst_case.COLUMN_PREFIX: the worst-case columns


def safe_name_error(value: object) -> str | None:
    """Why ``value`` is not a safe, unreserved name, or None when it is one."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if len(value) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if not SAFE_NAME.fullmatch(value):
        return "may hold only letters, digits, '_', '-' and '.', must not start with '-' or '.', nor hold '..'"
    lowered = value.lower()
    if lowered in RESERVED_NAMES:
        return f"is reserved (the result folder or the tables use it: {', '.join(sorted(RESERVED_NAMES))})"
    if lowered.endswith(RESERVED_SUFFIXES) or lowered.startswith(RESERVED_PREFIXES):
        return (f"is reserved: no name may end with {', '.join(RESERVED_SUFFIXES)} or start with "
                f"{', '.join(RESERVED_PREFIXES)} (result files and table columns use them)")
    return None


def check_safe_name(value: object, what: str) -> str:
    """``value`` when it is a safe, unreserved name; else a one-line UserError naming ``what`` and the rule."""
    reason = safe_name_error(value)
    if reason is not None:
        raise UserError(f"{what} {value!r} {reason}")
    return value  # type: ignore[return-value]
