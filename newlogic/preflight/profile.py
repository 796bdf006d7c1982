"""A Snakemake profile read as data: strict YAML, no template, resource expressions by a small grammar.

A profile is code to Snakemake: it evaluates a ``__use_yte__`` template and every string resource
(``eval``) when it reads the file. Preflight runs none of it. The file is read by the strict config
loader (``newlogic.config_file``: no tags, no duplicate keys, finite numbers); ``__use_yte__`` is
refused in one line; a resource value is a number, an expression of the grammar ``RESOURCE_GRAMMAR``
(evaluated at attempt 1), or a plain value (``PLAIN_VALUE``: partition names, ``gpu:1``); anything
else is refused, since Snakemake would evaluate it as Python.
"""

import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from newlogic.config_file import YTE_KEY, parse_config_text
from newlogic.errors import UserError
from newlogic.preflight.findings import DEFAULT_INIT_SECONDS, JOB_RULES, ClusterSettings

RESOURCE_GRAMMAR = "sum := product ('+' product)*; product := factor ('*' factor)*; factor := INTEGER | attempt"
TOKEN = re.compile(r"\s*(?:([0-9]{1,12})|(attempt)|([+*]))")  # ASCII digits, at most 12
PLAIN_VALUE = re.compile(r"[\w .:,=/@+\-]*")  # what a plain string resource may hold (no brackets, quotes, $)
STATUS_COMMANDS = ("sacct", "squeue")
MAX_INIT_SECONDS = 86_400


def resource_value(value: Any, where: str) -> Any:
    """A profile's resource at attempt 1: a number stays; ``"480 * attempt"`` → 480; ``"gpu:1"`` stays.

    Strings are read with ``RESOURCE_GRAMMAR`` (integers, ``attempt`` = 1, ``*`` before ``+``); one that
    is not an expression must match ``PLAIN_VALUE``. Never ``eval``.
    """
    if isinstance(value, bool) or value is None:
        raise UserError(f"{where}: {value!r} is not a resource value (a number, `N * attempt`, a sum or a name)")
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        raise UserError(f"{where}: {value!r} is not a resource value (a number, `N * attempt`, a sum or a name)")
    expression = _expression(value)
    if expression is not None:
        return expression
    if PLAIN_VALUE.fullmatch(value) is None:
        raise UserError(f"{where}: {value!r} is neither a plain value (letters, digits, `_ . : , = / @ + -`) nor "
                        f"an expression of {RESOURCE_GRAMMAR}; Snakemake would evaluate it as Python")
    return value


def _expression(text: str) -> int | None:
    """The value of ``text`` at attempt 1 under ``RESOURCE_GRAMMAR``, or ``None`` when it is not one."""
    tokens: list[str] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        match = TOKEN.match(text, position)
        if match is None:
            return None
        tokens.append(match.group(match.lastindex or 0))
        position = match.end()
    factors, operators = tokens[::2], tokens[1::2]
    if not factors or any(token in "+*" for token in factors) or any(token not in "+*" for token in operators) \
            or len(factors) != len(operators) + 1:
        return None
    total, product = 0, 1
    for operator, factor in zip(["*", *operators], factors, strict=True):
        if operator == "+":
            total, product = total + product, 1
        product *= 1 if factor == "attempt" else int(factor)
    return total + product


def profile_file(profile: Path | str) -> Path:
    """``config.yaml`` of a profile given as a folder, its file, or a name under ``$XDG_CONFIG_HOME/snakemake``."""
    given = Path(profile).expanduser()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (given, given / "config.yaml", config_home / "snakemake" / str(profile) / "config.yaml"):
        if candidate.is_file():
            return candidate
    raise UserError(f"profile {profile}: no config.yaml there (nor in {config_home / 'snakemake' / str(profile)}); "
                    "give a profile folder such as cluster/local-slurm")


def _refuse_template(text: str, path: Path) -> None:
    """UserError when the file names ``__use_yte__`` anywhere (scanned, not loaded: nothing is expanded)."""
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return  # parse_config_text names the syntax error
    if any(isinstance(token, yaml.ScalarToken) and token.value == YTE_KEY for token in tokens):
        raise UserError(f"profile {path} is a template ({YTE_KEY}): Snakemake itself would run its Python when it "
                        "reads the profile, so preflight reads none of it; read it before you use it, and give "
                        "preflight a plain-YAML profile (or run snakemake, whose preflight checks the run)")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a mapping of names to values, got {type(value).__name__} {value!r:.80}")
    return value


def _resources(value: Any, where: str) -> dict[str, Any]:
    return {str(key): resource_value(item, f"{where}.{key}") for key, item in _mapping(value, where).items()}


def _init_seconds(value: Any, where: str) -> int:
    if value is None:
        return DEFAULT_INIT_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INIT_SECONDS:
        raise UserError(f"{where}: {value!r:.80} is not a whole number of seconds in 0..{MAX_INIT_SECONDS}")
    return value


def load_profile(profile: Path | str) -> ClusterSettings:
    """The ``ClusterSettings`` a plain-YAML Snakemake profile asks for, read as data (module docstring)."""
    path = profile_file(profile)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"profile {path} cannot be read ({error})") from None
    _refuse_template(text, path)
    parsed = parse_config_text(text, f"profile {path}")
    if parsed.get("executor") != "slurm":
        raise UserError(f"profile {path} uses executor {parsed.get('executor')!r:.80}, not 'slurm': preflight "
                        "checks a Slurm cluster's profile, such as cluster/local-slurm")
    status_command = parsed.get("slurm-status-command")
    if status_command is not None and status_command not in STATUS_COMMANDS:
        raise UserError(f"profile {path}: slurm-status-command {status_command!r:.80} is not one of "
                        f"{', '.join(STATUS_COMMANDS)}")
    no_account = parsed.get("slurm-no-account", False)
    if not isinstance(no_account, bool):
        raise UserError(f"profile {path}: slurm-no-account {no_account!r:.80} is not true or false")
    defaults = _resources(parsed.get("default-resources"), f"profile {path}: default-resources")
    per_rule = {str(rule): _resources(body, f"profile {path}: set-resources.{rule}")
                for rule, body in _mapping(parsed.get("set-resources"), f"profile {path}: set-resources").items()}
    jobs = {rule: {**defaults, **per_rule.get(rule, {})} for rule in JOB_RULES}
    named = [defaults.get("slurm_partition")] + [body.get("slurm_partition") for body in per_rule.values()]
    account = os.environ.get("SBATCH_ACCOUNT")
    if account and not no_account:
        for resources in jobs.values():
            resources.setdefault("slurm_account", account)
    return ClusterSettings(
        source=f"profile {path.parent}",
        status_command=status_command,
        no_account=no_account,
        jobs=jobs,
        partitions=tuple(sorted({str(name) for name in named if name})),
        init_seconds=_init_seconds(parsed.get("slurm-init-seconds-before-status-checks"),
                                   f"profile {path}: slurm-init-seconds-before-status-checks"),
    )


def settings_of_workflow(workflow: Any) -> ClusterSettings:
    """The ``ClusterSettings`` of a running workflow (the ``onstart:`` hook): its first train and evaluate job."""
    first: dict[str, dict[str, Any]] = {}
    partitions = set()
    for job in workflow.dag.needrun_jobs():
        if job.is_local:
            continue
        resources = {name: job.resources.get(name) for name in
                     ("slurm_partition", "runtime", "mem_mb", "gpu", "gres", "slurm_account")}
        resources = {name: value for name, value in resources.items() if value not in (None, "")}
        partitions.add(resources.get("slurm_partition"))
        if job.rule.name in JOB_RULES and job.rule.name not in first:
            first[job.rule.name] = resources
    executor = workflow.executor_settings
    return ClusterSettings(
        source="this run",
        status_command=getattr(executor, "status_command", None),
        no_account=bool(getattr(executor, "no_account", False)),
        jobs=first,
        partitions=tuple(sorted(name for name in partitions if isinstance(name, str) and name)),
        init_seconds=_init_seconds(getattr(executor, "init_seconds_before_status_checks", None),
                                   "slurm-init-seconds-before-status-checks"),
    )


def status_command_in_use(settings: ClusterSettings) -> str:
    """``sacct`` or ``squeue``: the profile's choice, else the plugin's default (sacct when installed)."""
    if settings.status_command:
        return settings.status_command
    return "sacct" if shutil.which("sacct") else "squeue"
