"""config/README.md explains every key of the workflow config schema, and only keys the schema has.

Key paths are read from workflow/schemas/config.schema.yaml generically, so a key added to the
schema without a README row fails here: ``dataset``; ``attacks.*.limit`` (``*``: any id, from
``additionalProperties``); ``ablations.*.models[].name`` (``[]``: list items, ``oneOf`` branches).
"""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
README = (ROOT / "config" / "README.md").read_text()
ROW = re.compile(r"^\| `([^`]+)` \|(.+)\|\s*$", re.MULTILINE)


def schema_keys(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key path the schema defines below ``node``."""
    keys = []
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        keys += [path, *schema_keys(child, f"{path}.")]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        keys += schema_keys(extra, f"{prefix}*.")
    items = node.get("items")
    if isinstance(items, dict):
        for branch in [items, *items.get("oneOf", []), *items.get("anyOf", [])]:
            keys += schema_keys(branch, f"{prefix.removesuffix('.')}[].")
    return list(dict.fromkeys(keys))


def readme_rows() -> dict[str, str]:
    return {key: text.strip() for key, text in ROW.findall(README)}


def test_every_schema_key_has_a_readme_row_and_every_row_a_schema_key() -> None:
    keys, rows = schema_keys(SCHEMA), readme_rows()
    assert [key for key in keys if key not in rows] == [], "keys without a row in config/README.md"
    assert [row for row in rows if row not in keys] == [], "rows of config/README.md for keys the schema lacks"
    assert all(len(text) > 10 for text in rows.values())


def test_key_paths_are_found_at_every_depth() -> None:
    keys = schema_keys(SCHEMA)
    assert {"dataset", "attacks", "attacks.*.limit", "ablations.*.models", "ablations.*.models[].label"} <= set(keys)
    toy = {"properties": {"a": {"additionalProperties": {"properties": {"b": {"items": {"properties": {"c": {}}}}}}}}}
    assert schema_keys(toy) == ["a", "a.*.b", "a.*.b[].c"]
