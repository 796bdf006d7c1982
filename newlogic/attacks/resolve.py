"""An attack setting resolved against the catalog (SPEC §5): every parameter, checked; torch-free.

A setting ``{"attack": name, "preset": "paper" | "strong", <parameter>: value, ...}`` resolves to
the preset's defaults, then the overrides, then the defaults derived from other parameters
(e.g. the strong BIM step ``eps/10``), then the defaults that depend on the dataset. Running the
resolved attack is ``newlogic.attacks.base.run_attack``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from newlogic.attacks.catalog import (
    CATALOG,
    CLIP_MAX,
    CLIP_MIN,
    DEFAULT_CLIP,
    NORMALIZED,
    PRESETS,
    THREAT_MODELS,
    AttackEntry,
    ByDataset,
    Derived,
    attack_entry,
)
from newlogic.datasets import dataset_info
from newlogic.errors import UserError
from newlogic.options import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Range, coerce

ATTACK_ON = ("scores", "probs")
SETTING_KEYS = ("attack", "preset")

# Parameters every attack has: what it differentiates, images per batch (SPEC §5: batch 100),
# and how many of the shuffled test images it attacks (None: all; SPSA paper: 1,500).
# ``threat_model``: ``pixels`` (ε in pixel units, clip [0, 1]) or the paper's ``normalized`` (ε in
# normalised units, clip ±``normalized_clip``; SPEC §3 calls it a flaw; ``newlogic.attacks.normalized``).
COMMON_DEFAULTS: dict[str, Any] = {"attack_on": "scores", "batch_size": 100, "num_images": None,
                                   "threat_model": "pixels", "normalized_clip": DEFAULT_CLIP}
COMMON_TYPES: dict[str, type] = {"num_images": int}
COMMON_CHOICES: dict[str, tuple[str, ...]] = {"attack_on": ATTACK_ON, "threat_model": THREAT_MODELS}

# The valid range of each numeric attack parameter, by name (numbers must also be finite):
# counts >= 1, step sizes and constants > 0, C&W's κ >= 0, JSMA's θ and γ in (0, 1].
COUNT_PARAMETERS = ("nb_iter", "restarts", "binary_search_steps", "max_iterations", "spsa_samples", "batch_size",
                    "num_images", "apgd_steps", "fab_steps", "square_queries")
PARAMETER_RANGES: dict[str, Range] = {
    **dict.fromkeys(COUNT_PARAMETERS, AT_LEAST_ONE),
    **dict.fromkeys(("eps_iter", "lr", "learning_rate", "delta", "initial_const", "normalized_clip", "temperature",
                     "final_temperature"), POSITIVE),
    "confidence": NON_NEGATIVE,
    **dict.fromkeys(("theta", "gamma"), Range(0, 1, low_open=True)),
}
# ε by norm: an L∞ bound beyond 1 means nothing for images in [0, 1], so it is refused;
# ``eps: unbounded`` says explicitly "any image" and resolves to ε = 1 (``linf_unbounded``);
# with ``threat_model: normalized`` the L∞ range is [0, 2·normalized_clip] and unbounded is its end.
EPS_RANGES: dict[str, Range] = {"l2": NON_NEGATIVE, "l0": NON_NEGATIVE}  # L∞: [0, ``_unbounded_eps``]
UNBOUNDED = "unbounded"


@dataclass(frozen=True)
class ResolvedAttack:
    """One attack setting with every parameter resolved; ``base`` is the crafting attack of a transfer."""

    entry: AttackEntry
    preset: str
    params: dict[str, Any]
    overrides: dict[str, Any]
    base: "ResolvedAttack | None" = None

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def norm(self) -> str:
        """The threat model's norm: linf, l2 or l0 (a transfer attack's is its base attack's)."""
        return self.base.norm if self.base is not None else self.entry.norm_of(self.params)

    @property
    def unbounded(self) -> bool:
        """Whether this setting can reach any perturbation (then it must bring the accuracy to ≈0)."""
        return self.entry.unbounded(self.params)

    @property
    def eps(self) -> float | None:
        """The perturbation bound in ``norm`` (None for attacks without one: C&W, JSMA)."""
        return self.params.get("eps")

    @property
    def pixel_range(self) -> tuple[float, float]:
        """The pixel values adversarial images may take: [0, 1] unless ``threat_model: normalized``."""
        return pixel_range(self.params)


def normalization(dataset: str) -> dict[str, list[float]]:
    """The per-channel ``mean`` and ``std`` of ``dataset`` that define z (recorded in the setting's parameters)."""
    info = dataset_info(dataset)
    return {"mean": list(info.mean), "std": list(info.std)}


def pixel_range(params: dict[str, Any]) -> tuple[float, float]:
    """The lowest and highest pixel value the threat model allows: [0, 1], or ``mean_c ± C·std_c`` over channels."""
    if params.get("threat_model") != NORMALIZED:
        return CLIP_MIN, CLIP_MAX
    stats, clip = params["normalization"], params["normalized_clip"]
    pairs = list(zip(stats["mean"], stats["std"], strict=True))
    return min(m - clip * s for m, s in pairs), max(m + clip * s for m, s in pairs)


def _parameter_type(key: str, default: Any, types: Mapping[str, type]) -> Any:
    """The type hint of parameter ``key``: ``types[key] | None`` for parameters whose default may be None,
    ``Annotated`` with its ``PARAMETER_RANGES`` range."""
    hint = types[key] | None if key in types else type(default)
    return Annotated[hint, PARAMETER_RANGES[key]] if key in PARAMETER_RANGES else hint


def _unbounded_eps(settings: Mapping[str, Any]) -> float:
    """The L∞ ε that reaches any image (``eps: unbounded``): 1 in pixels, 2·``normalized_clip`` in normalised units."""
    if settings.get("threat_model") == NORMALIZED:
        clip: float = coerce(settings["normalized_clip"], Annotated[float, POSITIVE], "parameter normalized_clip")
        return 2 * clip
    return CLIP_MAX - CLIP_MIN


def _check_eps(entry: AttackEntry, params: dict[str, Any], requested: Any) -> None:
    """ε within its norm's ``EPS_RANGES``; ``unbounded`` only for L∞ (a transfer's base attack checks its own)."""
    if entry.needs_surrogate or "eps" not in params:
        return
    norm = entry.norm_of(params)
    if requested == UNBOUNDED and norm != "linf":
        raise UserError(f"attack {entry.name}: eps {UNBOUNDED!r} applies to L∞ attacks only; this one is {norm}: "
                        "give a number >= 0")
    bounds = Range(0, _unbounded_eps(params)) if norm == "linf" else EPS_RANGES.get(norm, NON_NEGATIVE)
    if not bounds.contains(params["eps"]):
        extra = f" or {UNBOUNDED!r}" if norm == "linf" else ""
        raise UserError(f"attack {entry.name}: eps {params['eps']!r} is out of range for {norm}; "
                        f"valid: {bounds.describe()}{extra}")


def resolve_parameters(
    entry: AttackEntry, preset: str, overrides: Mapping[str, Any], dataset: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Preset defaults + overrides, then ``Derived`` and ``ByDataset`` defaults; unknown keys are a UserError.

    Each override is checked for type, finiteness and its ``PARAMETER_RANGES`` range; ε for its
    norm's ``EPS_RANGES`` (``eps: unbounded`` = L∞ ε 1).

    ``extra`` holds further valid keys with their defaults (a transfer's base-attack parameters).
    """
    if preset not in entry.presets:
        raise UserError(f"attack {entry.name} has no preset {preset!r}; valid: {', '.join(entry.presets)}")
    defaults = {**entry.presets[preset], **(extra or {})}
    defaults.update({key: value for key, value in COMMON_DEFAULTS.items() if key not in defaults})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(unknown)} for attack {entry.name}; "
                        f"valid: {', '.join(defaults)}")
    types = {**COMMON_TYPES, **entry.types}
    choices = {**COMMON_CHOICES, **entry.choices}
    params: dict[str, Any] = {}
    for key, default in defaults.items():
        if isinstance(default, ByDataset):
            default = default(dataset)
        if key in overrides:
            template = default.kind() if isinstance(default, Derived) else default
            where = f"attack {entry.name}: parameter {key}"
            unbounded = key == "eps" and overrides[key] == UNBOUNDED
            value = _unbounded_eps({**defaults, **overrides}) if unbounded else overrides[key]
            params[key] = coerce(value, _parameter_type(key, template, types), where)
        else:
            params[key] = default
    for key, value in params.items():
        if isinstance(value, Derived):
            params[key] = value(params)
        values = params[key] if isinstance(params[key], list) else [params[key]]
        invalid = [value for value in values if key in choices and value not in choices[key]]
        if invalid:
            raise UserError(f"attack {entry.name}: {key} {invalid[0]!r} is not valid; valid: {', '.join(choices[key])}")
    if params["threat_model"] == NORMALIZED:
        params["normalization"] = normalization(dataset)
    _check_eps(entry, params, overrides.get("eps"))
    return params


def resolve_setting(setting: Mapping[str, Any], dataset: str) -> ResolvedAttack:
    """``{"attack": name, "preset": ..., <parameter>: value}`` → the attack with every parameter resolved.

    The preset defaults to ``paper`` (or the attack's only preset). A transfer setting names its
    crafting attack in ``base_attack``; the base attack's parameters are valid keys of the setting.
    """
    if "attack" not in setting:
        raise UserError(f"an attack setting needs an 'attack' key (one of {', '.join(CATALOG)}); "
                        f"got {dict(setting)}")
    entry = attack_entry(setting["attack"])
    preset = setting.get("preset", entry.default_preset)
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    overrides = {key: value for key, value in setting.items() if key not in SETTING_KEYS}
    if not entry.needs_surrogate:
        return ResolvedAttack(entry, preset, resolve_parameters(entry, preset, overrides, dataset), overrides)
    base_entry = attack_entry(overrides.get("base_attack", entry.presets[entry.default_preset]["base_attack"]))
    if base_entry.needs_surrogate:
        raise UserError(f"attack {entry.name}: base_attack cannot be {base_entry.name} itself")
    base_preset = preset if preset in base_entry.presets else base_entry.default_preset
    base_overrides = {key: value for key, value in overrides.items() if key != "base_attack"}
    params = resolve_parameters(entry, preset, overrides, dataset, extra=base_entry.presets[base_preset])
    base = ResolvedAttack(base_entry, base_preset,
                          resolve_parameters(base_entry, base_preset, base_overrides, dataset), base_overrides)
    return ResolvedAttack(entry, preset, params, overrides, base)
