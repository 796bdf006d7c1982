"""Torch registries are keyed by their torch-free names and refuse any other keys at import (issue 31).

Planning checks a config's names against the torch-free tuples (``newlogic.nn.options``,
``newlogic.training.options``, ``newlogic.attacks.catalog``); each torch registry is built from them
with ``newlogic.registry.keyed_by``, so no test has to keep the two in step.
"""

import ast
from pathlib import Path

import pytest

from newlogic.registry import RegistryMismatch, keyed_by

ROOT = Path(__file__).resolve().parents[1]
# registry → the torch-free names it is keyed by
KEYED = {
    "newlogic/nn/activations.py": {"ACTIVATIONS": "ACTIVATION_NAMES", "RELOG_FORMS": "RELOG_FORM_NAMES"},
    "newlogic/nn/units.py": {"UNITS": "UNIT_NAMES"},
    "newlogic/nn/outputs.py": {"OUTPUTS": "OUTPUT_NAMES"},
    "newlogic/nn/folding.py": {"SURROGATES": "FOLDING_NAMES"},
    "newlogic/nn/init.py": {"INIT_METHODS": "INIT_METHOD_NAMES"},
    "newlogic/nn/models.py": {"ARCHITECTURES": "ARCHITECTURE_NAMES"},
    "newlogic/training/losses.py": {"LOSSES": "DATA_LOSS_NAMES", "REGULARIZERS": "REGULARIZER_NAMES"},
    "newlogic/training/negatives.py": {"NEGATIVES": "NEGATIVES_NAMES"},
    "newlogic/training/augment.py": {"AUGMENTATIONS": "AUGMENTATION_NAMES"},
    "newlogic/training/optimizers.py": {"OPTIMIZERS": "OPTIMIZER_NAMES", "SCHEDULES": "SCHEDULE_NAMES"},
    "newlogic/attacks/losses.py": {"LOSSES": "LOSS_NAMES"},
    "newlogic/attacks/autoattack.py": {"COMPONENTS": "AUTOATTACK_COMPONENTS"},
    "newlogic/attacks/saliency.py": {"TARGETS": "JSMA_TARGETS"},
}


@pytest.mark.parametrize("registry", [{"b": 2, "a": 1}, {"a": 1}, {"a": 1, "b": 2, "c": 3}])
def test_keyed_by_refuses_other_or_reordered_names(registry: dict[str, int]) -> None:
    with pytest.raises(RegistryMismatch, match=r"^R holds .*, but its torch-free names are a, b$"):
        keyed_by(("a", "b"), registry, "R")
    assert keyed_by(("a", "b"), {"a": 1, "b": 2}, "R") == {"a": 1, "b": 2}


def _keyed_by_calls(path: Path) -> dict[str, str]:
    """Module-level ``REGISTRY = keyed_by(NAMES, {...}, what)`` assignments: registry → the names' variable."""
    calls = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Call):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            call = node.value
            if isinstance(call.func, ast.Name) and call.func.id == "keyed_by" and isinstance(target, ast.Name):
                assert isinstance(call.args[0], ast.Name)
                calls[target.id] = call.args[0].id
    return calls


@pytest.mark.parametrize("module", list(KEYED))
def test_every_named_registry_is_keyed_by_its_torch_free_names(module: str) -> None:
    calls = _keyed_by_calls(ROOT / module)
    assert {registry: calls.get(registry) for registry in KEYED[module]} == KEYED[module]
