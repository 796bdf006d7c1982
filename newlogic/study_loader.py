"""The one way a workflow config becomes a ``newlogic.study.Study``: for the Snakefile, the CLI and preflight.

``load_study(source)`` reads a file (or an inline ``{...}`` mapping) strictly (``newlogic.config_file``:
no YAML tags, no key given twice, no ``__use_yte__``), then ``study_from_config`` does, in this order:
``newlogic.config_file.check_workflow_config`` (the Snakefile's config files read again strictly,
finite numbers only, the schema ``workflow/schemas/config.schema.yaml`` in one line naming the key),
the schema's defaults filled in place (as Snakemake's ``validate(..., set_default=True)`` fills them),
the strong suite expanded (``newlogic.attacks.suite``), and every check a job would run
(``newlogic.validation.validate_config``). The Snakefile calls ``study_from_config`` on the config
Snakemake loaded, so the two paths cannot diverge. Planning imports it: no torch, scikit-learn,
matplotlib or pandas (``tests/test_planning.py``).
"""

import copy
from collections import deque
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from newlogic.attacks.suite import expand_strong_suite
from newlogic.config_file import check_workflow_config, parse_config_text, read_config_file
from newlogic.repo_files import CONFIG_SCHEMA
from newlogic.store.config_copy import check_config_copy
from newlogic.study import Study, study_of_prepared
from newlogic.validation import validate_config


@cache
def config_schema() -> dict[str, Any]:
    """The workflow config's schema (``newlogic.repo_files.CONFIG_SCHEMA``), read once."""
    schema: dict[str, Any] = yaml.safe_load(CONFIG_SCHEMA.read_text(encoding="utf-8"))
    return schema


def fill_schema_defaults(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Give every absent key whose schema has a ``default`` that default, in place, at every depth.

    The rule of Snakemake's ``validate(..., set_default=True)`` (the jsonschema FAQ's validator
    extended on ``properties``): while validating, each object the schema describes by ``properties``
    gains ``key: default`` for each absent key with a default. A copy of the default is set, so
    two configs never share one. Every object the schema reaches is filled, even in a config that
    breaks the schema (whose one-line verdict is ``newlogic.config_file.schema_error``'s).
    """
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: dict[str, Any], instance: Any, subschema: dict[str, Any]) -> Any:
        if validator.is_type(instance, "object"):
            for key, property_schema in properties.items():
                if "default" in property_schema:
                    instance.setdefault(key, copy.deepcopy(property_schema["default"]))
        yield from check_properties(validator, properties, instance, subschema)

    filling = validators.extend(Draft202012Validator, {"properties": set_defaults})
    deque(filling(schema).iter_errors(config), maxlen=0)  # the walk fills; its errors are schema_error's


def study_from_config(config: dict[str, Any], *, configfiles: Sequence[Path | str] = (),
                      validate: bool = True) -> Study:
    """Prepare ``config`` in place (defaults, strong suite) and return its ``Study``; UserError with one line.

    ``configfiles``: the files Snakemake merged into ``config`` (``workflow.configfiles``), read again
    strictly. ``validate=False`` skips ``validate_config`` only: a Snakemake job re-parses a config its
    main process has validated already. The schema and its defaults always apply.
    """
    check_workflow_config(config, list(configfiles), CONFIG_SCHEMA)
    fill_schema_defaults(config, config_schema())
    expand_strong_suite(config)
    if validate:
        validate_config(config)
    return study_of_prepared(config)


def read_study_source(source: Path | str) -> dict[str, Any]:
    """The mapping of a config file, or of an inline ``{...}`` text, read strictly, nothing filled in.

    A workflow copy named by its hash (``results/config/<sha16>.json``) must still have that hash
    (``newlogic.store.config_copy``).
    """
    text = str(source)
    if text.lstrip().startswith("{"):
        return parse_config_text(text, "the inline config")
    return read_config_file(check_config_copy(Path(source)))


def load_study(source: Path | str) -> Study:
    """The ``Study`` of a config file or inline mapping: ``read_study_source`` then ``study_from_config``."""
    return study_from_config(read_study_source(source))
