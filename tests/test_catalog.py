"""The attack catalog is torch-free data, the one place that knows attacks (issue 23)."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from newlogic.attacks.catalog import (
    CATALOG,
    KINDS,
    PRESETS,
    ByDataset,
    attack_entry,
)
from newlogic.attacks.resolve import resolve_setting
from newlogic.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "matplotlib")
# noise.json's input set of the same name (the rejection of uniform-noise images), not the attack
SAME_WORD = {path: {"uniform_noise"} for path in ("newlogic/evaluation/noise.py", "newlogic/report/tables.py",
                                                 "newlogic/report/collect.py")}


def test_resolving_every_preset_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from newlogic.attacks import CATALOG, resolve_setting\n"
        "for name, entry in CATALOG.items():\n"
        "    for preset in entry.presets:\n"
        "        for dataset in ('mnist5k', 'cifar10'):\n"
        "            resolve_setting({'attack': name, 'preset': preset}, dataset)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_entry_names_a_callable_implementation(name: str) -> None:
    entry = CATALOG[name]
    assert entry.kind in KINDS and set(entry.presets) <= set(PRESETS)
    module = importlib.import_module(entry.module)
    assert callable(getattr(module, entry.function))
    if entry.summarize_records is not None:
        assert callable(getattr(module, entry.summarize_records))


def test_catalog_fields_the_checks_read() -> None:
    pgd = resolve_setting({"attack": "pgd", "preset": "strong", "nb_iter": 10, "restarts": 2}, "mnist5k")
    assert pgd.entry.budget is not None and pgd.entry.budget(pgd.params) == 20
    assert attack_entry("cw_l2").per_sample_norm == "l2"
    assert [name for name, entry in CATALOG.items() if entry.needs_surrogate] == ["transfer"]
    assert resolve_setting({"attack": "autoattack", "norm": "L2", "eps": 0.5}, "mnist5k").norm == "l2"


def test_an_unknown_dataset_or_attack_is_an_error_not_a_default() -> None:
    with pytest.raises(UserError, match="unknown dataset 'svhn'"):
        ByDataset(mnist=0.3, cifar10=8 / 255)("svhn")
    with pytest.raises(UserError, match="unknown attack 'fgsn'; valid: fgsm"):
        attack_entry("fgsn")


def _string_constants(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


def test_no_module_outside_attacks_names_an_attack() -> None:
    """Checks, tables, evaluation, listing and the CLI read the catalog; only ``newlogic/attacks/`` names attacks."""
    outside = [path for path in (ROOT / "newlogic").rglob("*.py") if "attacks" not in path.relative_to(ROOT).parts]
    outside += list((ROOT / "workflow").rglob("*.smk")) + [ROOT / "Snakefile"]
    named = {str(path.relative_to(ROOT)): sorted(_string_constants(path) & set(CATALOG))
             for path in outside if path.suffix == ".py"}
    named.update({str(path.relative_to(ROOT)): sorted(name for name in CATALOG if f'"{name}"' in path.read_text())
                  for path in outside if path.suffix != ".py"})
    named = {path: sorted(set(names) - SAME_WORD.get(path, set())) for path, names in named.items()}
    assert {path: names for path, names in named.items() if names} == {}
