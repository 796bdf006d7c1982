"""Configs are data: the strict YAML and JSON readers for workflow configs and every file or argument a user gives.

Refused, with one line naming the file and the place: a YAML tag (``!!python/...``, ``!foo``: code or
objects, not data), a key given twice in one mapping (YAML and ``json`` would keep the last one
silently), ``__use_yte__`` (Snakemake's template engine would evaluate Python in it), a number that is
infinite or not a number (``.inf``, ``1e400`` in JSON), nesting deeper than Python's recursion (YAML
brackets: deeper than ``MAX_BRACKET_DEPTH``, before PyYAML's scanner spends minutes on them), and
YAML aliases that expand to more than ``MAX_YAML_NODES`` nodes (a 1 KB file of nested aliases
stands for billions: the "billion laughs"). ``load_yaml`` and ``parse_json_text`` are the readers;
``parse_config_text`` adds a config's own rules. Torch-free: the Snakefile imports it.
"""

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from newlogic.errors import UserError

YTE_KEY = "__use_yte__"
IN_PROGRESS = -1  # _expanded_size's mark of a node whose children are being counted
# PyYAML's scanner takes quadratic time in the depth of flow brackets (100,000 `[`: minutes)
MAX_BRACKET_DEPTH = 200
BRACKETS = re.compile(r"[\[\]{}]")
MAX_YAML_NODES = 100_000  # nodes of a YAML document once its aliases are expanded (the largest shipped config: ~2,000)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, non-finite numbers and alias expansions beyond ``MAX_YAML_NODES``."""

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None and _expanded_size(node, {}) > MAX_YAML_NODES:
            raise UserError(f"its aliases (*name) expand to more than {MAX_YAML_NODES:,} nodes; "
                            "write the values out instead of repeating anchors")
        return node


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded: 1 + its children's sizes (``sizes``: by node id, so linear).

    A node repeated through an alias is counted at each use, as the loaded data holds it at each use;
    the count stops soon after it passes ``MAX_YAML_NODES``. An alias inside its own anchor (data
    that contains itself) is a UserError: no config, JSON or table can hold it.
    """
    known = sizes.get(id(node))
    if known == IN_PROGRESS:
        raise UserError(f"line {node.start_mark.line + 1}: an alias (*name) inside its own anchor makes data that "
                        "contains itself")
    if known is not None:
        return known
    sizes[id(node)] = IN_PROGRESS
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    size = 1
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_YAML_NODES:
            break
    sizes[id(node)] = size
    return size


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise UserError(f"line {key_node.start_mark.line + 1}: a key must be a plain name, got {key!r}")
        if key in mapping:
            raise UserError(f"line {key_node.start_mark.line + 1}: key {key!r} given twice in one mapping; keep one")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


def _construct_float(loader: _StrictLoader, node: yaml.ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise UserError(f"line {node.start_mark.line + 1}: {node.value!r} is not a finite number")
    return value


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _refuse_tags(text: str) -> None:
    """A UserError at the first explicit tag (``!x``, ``!!x``, ``%TAG``): a config holds plain data only."""
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, (yaml.TagToken, yaml.DirectiveToken)):
            raise UserError(f"line {token.start_mark.line + 1}: YAML tags and directives are not allowed in a "
                            "config (plain keys, strings, numbers, lists and mappings only)")


def _bracket_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text`` (brackets inside strings count too: an upper bound)."""
    depth = deepest = 0
    for match in BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def load_yaml(text: str, where: str) -> Any:
    """The data ``text`` holds as YAML (or JSON), read strictly (see the module); else a UserError naming ``where``."""
    depth = _bracket_depth(text)
    if depth > MAX_BRACKET_DEPTH:
        raise UserError(f"{where}: brackets nested {depth} deep, more than {MAX_BRACKET_DEPTH}; no config needs that")
    try:
        _refuse_tags(text)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    except RecursionError:
        raise UserError(f"{where}: nested too deeply to read") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}: " if mark is not None else ""
        raise UserError(f"{where}: {place}not valid YAML ({getattr(error, 'problem', None) or error})") from None
    except ValueError as error:  # an integer longer than int() reads (4,300 digits)
        raise UserError(f"{where}: a number too long to read ({error})") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict; a key given twice is a UserError (``json`` would keep the last)."""
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise UserError(f"key {key!r} given twice in one object; keep one")
        mapping[key] = value
    return mapping


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UserError(f"{text[:40]} is not a finite number")
    return value


def _no_constant(name: str) -> float:
    raise UserError(f"{name} is not a finite number")


def parse_json_text(text: str, where: str, *, finite: bool = True) -> Any:
    """The data ``text`` holds as JSON, read strictly; UserError naming ``where`` otherwise.

    Refused: a key given twice in one object, integers of more than 4,300 digits, nesting deeper
    than Python's recursion and, when ``finite``, ``NaN``/``Infinity`` and numbers beyond the float
    range (``1e400``). ``finite=False`` leaves them to a reader that names the key (``options.coerce``).
    """
    numbers: dict[str, Any] = {"parse_constant": _no_constant, "parse_float": _finite_float} if finite else {}
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, **numbers)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    except RecursionError:
        raise UserError(f"{where}: nested too deeply to read") from None
    except ValueError as error:  # json.JSONDecodeError, or an integer longer than int() reads
        raise UserError(f"{where} is not valid JSON ({error})") from None


def parse_config_text(text: str, where: str) -> dict[str, Any]:
    """The mapping ``text`` holds (YAML or JSON), read strictly; UserError naming ``where`` otherwise."""
    config = load_yaml(text, where)
    if not isinstance(config, dict):
        raise UserError(f"{where} must hold a mapping of keys")
    if YTE_KEY in config:
        raise UserError(f"{where}: {YTE_KEY} is not allowed (a config is data; templates would run Python)")
    return config


def read_config_file(path: Path | str) -> dict[str, Any]:
    """The config in file ``path``, read strictly (``parse_config_text``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"config file {path} cannot be read ({error})") from None
    return parse_config_text(text, f"config file {path}")


MAX_SEED = 2**32 - 1  # every RNG takes it as it is: numpy's legacy seed (np.random.seed) stops here, torch at 2**64 - 1


def refuse_non_finite(value: Any, where: str) -> None:
    """A UserError at the first infinite or NaN number anywhere in ``value`` (a loaded config)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where} is {value}: only finite numbers are allowed")
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_non_finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_non_finite(item, f"{where}[{index}]")


# rules whose message is the offending value (short), not the rule restated
INSTANCE_RULES = ("pattern", "maxLength", "minLength", "maximum", "minimum", "type", "enum", "not")
MAX_MESSAGE = 160  # characters of a schema message kept in the one-line error (a long value would flood it)


def schema_error(config: dict[str, Any], schema_path: Path | str) -> str | None:
    """The config's most relevant schema violation as one line naming the key and the rule, or None.

    E.g. ``ablations.main.caption: breaks maxLength 2000 ('xxxx…' is too long)``. The schema is
    JSON Schema 2020-12 (``workflow/schemas/config.schema.yaml``), checked with ``jsonschema``.
    """
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    rule = f"{error.validator} {error.validator_value!r}" if not isinstance(error.validator_value, (dict, list)) \
        else str(error.validator)
    message = f"got {error.instance!r}" if error.validator in INSTANCE_RULES else " ".join(error.message.split())
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return f"{key}: breaks the schema's {rule} rule ({message})"


def check_workflow_config(config: dict[str, Any], configfiles: list[Any], schema_path: Path | str) -> None:
    """Everything the Snakefile checks before its rules: each config file read strictly, finite numbers, the schema.

    Snakemake has loaded ``configfiles`` already (its loader keeps duplicate keys' last value and
    evaluates ``__use_yte__`` templates); they are read again here so that such a file is refused
    before any job. UserError with one line otherwise.
    """
    for path in configfiles:
        read_config_file(path)
    refuse_non_finite(config, "config")
    problem = schema_error(config, schema_path)
    if problem is not None:
        raise UserError(problem)
