"""Check ``config``: the workflow config passes what the dry run checks (``newlogic.study_loader``, as Snakemake)."""

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newlogic.errors import UserError
from newlogic.preflight.findings import Context, Finding
from newlogic.study_loader import config_schema, fill_schema_defaults, read_study_source, study_from_config


def prepared_config(config_file: Path | str) -> tuple[dict[str, Any], str | None]:
    """(config, problem): the file read strictly, then prepared by the one study loader (``study_from_config``).

    The Snakefile's path: the schema, its defaults, the strong suite, ``validate_config``. With a
    problem, the config is returned as read with the schema's defaults filled in (the other checks
    still read its dataset, run and data_dir) and the loader's one line; a file that cannot be read
    at all is a UserError.
    """
    raw = read_study_source(Path(config_file))
    try:
        return study_from_config(copy.deepcopy(raw)).config, None
    except UserError as error:
        fill_schema_defaults(raw, config_schema())
        return raw, str(error)


def check_config(context: Context) -> Iterator[Finding]:
    """The config passes what the dry run checks: the loader's problem (``prepared_config``), if any, blocks."""
    if context.config_problem:
        yield Finding("config", "blocking", context.config_problem,
                      "correct the config (snakemake -n names the same value)")
    else:
        yield Finding("config", "ok", "the config passes the dry run's validation")
