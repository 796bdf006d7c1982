"""The attack registry (SPEC §5): ``ATTACKS`` maps a name to its ``AttackSpec``; settings resolve through it.

Families, one module each: ``gradient`` (fgsm, fgm_l2, bim, pgd: cleverhans), ``carlini``
(cw_l2: the project's batched C&W), ``spsa`` (the project's batched SPSA), ``confidence`` (max_confidence),
``saliency`` (jsma: torchattacks), ``transfer``, ``autoattack`` (torchattacks), ``uniform_noise`` (the noise
baseline of the masking checks).
"""

from collections.abc import Mapping
from typing import Any

from newlogic.attacks import autoattack, carlini, gradient, max_confidence, saliency, spsa, transfer, uniform_noise
from newlogic.attacks.base import (
    PRESETS,
    AttackContext,
    AttackSpec,
    ResolvedAttack,
    Surrogate,
    resolve_parameters,
)
from newlogic.errors import UserError

ATTACKS: dict[str, AttackSpec] = {
    spec.name: spec
    for spec in (*gradient.SPECS, carlini.SPEC, spsa.SPEC, max_confidence.SPEC, saliency.SPEC, transfer.SPEC,
                 autoattack.SPEC, uniform_noise.SPEC)
}
SETTING_KEYS = ("attack", "preset")

__all__ = ["ATTACKS", "PRESETS", "AttackContext", "AttackSpec", "ResolvedAttack", "Surrogate", "resolve_setting"]


def _attack_spec(name: Any) -> AttackSpec:
    if name not in ATTACKS:
        raise UserError(f"unknown attack {name!r}; valid: {', '.join(ATTACKS)}")
    return ATTACKS[name]


def resolve_setting(setting: Mapping[str, Any], dataset: str) -> ResolvedAttack:
    """``{"attack": name, "preset": ..., <parameter>: value}`` → the attack with every parameter resolved.

    The preset defaults to ``paper`` (or the attack's only preset). A transfer setting names its
    crafting attack in ``base_attack``; the base attack's parameters are valid keys of the setting.
    """
    if "attack" not in setting:
        raise UserError(f"an attack setting needs an 'attack' key (one of {', '.join(ATTACKS)}); got {dict(setting)}")
    spec = _attack_spec(setting["attack"])
    preset = setting.get("preset", spec.default_preset)
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    overrides = {key: value for key, value in setting.items() if key not in SETTING_KEYS}
    if spec.kind != "transfer":
        return ResolvedAttack(spec, preset, resolve_parameters(spec, preset, overrides, dataset), overrides)
    base_name = overrides.get("base_attack", spec.presets[spec.default_preset]["base_attack"])
    base_spec = _attack_spec(base_name)
    if base_spec.kind == "transfer":
        raise UserError("attack transfer: base_attack cannot be transfer itself")
    base_preset = preset if preset in base_spec.presets else base_spec.default_preset
    base_overrides = {key: value for key, value in overrides.items() if key != "base_attack"}
    params = resolve_parameters(spec, preset, overrides, dataset, extra=base_spec.presets[base_preset])
    base = ResolvedAttack(base_spec, base_preset, resolve_parameters(base_spec, base_preset, base_overrides, dataset),
                          base_overrides)
    return ResolvedAttack(spec, preset, params, overrides, base)
