"""Answers of ``sinfo`` and ``scontrol`` read strictly: a value that is not what Slurm documents is ``Unreadable``.

The checks turn an ``Unreadable`` into one warning line naming the command, the field and the value,
never into a traceback or a silent skip.
"""

import re

from newlogic.preflight.findings import Context

SLURM_TIME = re.compile(r"(?:([0-9]{1,5})-)?([0-9]{1,7})(?::([0-9]{1,2}))?(?::([0-9]{1,2}))?")
NO_LIMIT = ("infinite", "unlimited")


class Unreadable(ValueError):
    """A Slurm answer that does not parse; its message is the one line the check prints."""


def slurm_minutes(limit: str, where: str = "MaxTime") -> float | None:
    """Minutes of a Slurm time (``[D-]H:M:S``, ``M:S``, ``M``, ``D-H``); ``None`` for ``infinite``/``UNLIMITED``.

    ``Unreadable`` for anything else (e.g. ``n/a``, ``5x``, ``--``).
    """
    text = limit.strip()
    if text.lower() in NO_LIMIT:
        return None
    match = SLURM_TIME.fullmatch(text)
    if match is None:
        raise Unreadable(f"{where} {limit!r:.60} is not a Slurm time ([D-]H:M:S, M:S, M or UNLIMITED)")
    days, first, second, third = match.groups()
    parts = [int(part) for part in (first, second, third) if part is not None]
    if days is not None:  # D-H, D-H:M, D-H:M:S
        seconds = sum(part * unit for part, unit in zip(parts, (3600, 60, 1), strict=False))
        return (int(days) * 86400 + seconds) / 60
    seconds = {1: lambda: parts[0] * 60, 2: lambda: parts[0] * 60 + parts[1],
               3: lambda: parts[0] * 3600 + parts[1] * 60 + parts[2]}[len(parts)]()
    return seconds / 60


def slurm_config(context: Context) -> dict[str, str]:
    """``scontrol show config`` as ``key → value`` (empty when it does not answer)."""
    answer = context.ask("scontrol", "show", "config")
    if answer is None or answer.returncode != 0:
        return {}
    pairs = (line.split("=", 1) for line in answer.stdout.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def min_job_age_seconds(value: str) -> int:
    """``MinJobAge`` (``300 sec``) in seconds; ``Unreadable`` otherwise."""
    match = re.fullmatch(r"([0-9]{1,9})(?:\s*sec)?", value.strip())
    if match is None:
        raise Unreadable(f"scontrol show config gave MinJobAge {value!r:.60}, not a number of seconds")
    return int(match.group(1))


def partition_table(context: Context) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """(partition → (availability, MaxTime), lines that do not parse) from ``sinfo`` (``gpu*``: the default)."""
    answer = context.ask("sinfo", "--noheader", "--format=%R|%a|%l")
    if answer is None or answer.returncode != 0:
        return {}, []
    table, unreadable = {}, []
    for line in answer.stdout.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and fields[0].strip():
            table[fields[0].strip().rstrip("*")] = (fields[1].strip(), fields[2].strip())
        elif line.strip():
            unreadable.append(line)
    return table, unreadable
