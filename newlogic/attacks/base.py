"""What every attack shares: its registry entry, presets with derived defaults, and setting resolution (SPEC §5).

An attack is a function ``run(target, x, y, attack, context) -> x_adv``: ``target`` maps pixels in
[0, 1] to what the attack differentiates (scores, or probabilities with ``attack_on: probs``),
``x`` a batch of images, ``y`` their true labels, ``attack`` the resolved setting (parameters),
``context`` the rest (classes, probabilities, surrogate, seed). ``x_adv`` stays in [0, 1].

A setting ``{"attack": name, "preset": "paper" | "strong", <parameter>: value, ...}`` resolves to
the preset's defaults, then the overrides, then the defaults derived from other parameters
(e.g. the strong BIM step ``eps/10``), then the defaults that depend on the dataset.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch
from torch import nn

from newlogic.attack_kinds import ATTACK_KINDS
from newlogic.attacks.normalized import normalization, pixel_range, run_normalized
from newlogic.errors import UserError
from newlogic.options import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Range, coerce
from newlogic.threat_model import DEFAULT_CLIP, NORMALIZED, THREAT_MODELS

PRESETS = ("paper", "strong")
DEFAULT_PRESET = "paper"
ATTACK_ON = ("scores", "probs")
CLIP_MIN, CLIP_MAX = 0.0, 1.0
ADAM_BETAS = (0.9, 0.999)  # Adam's (β₁, β₂), Kingma & Ba 2015's defaults: C&W and SPSA


@dataclass(frozen=True)
class Derived:
    """A default computed from the other resolved parameters, e.g. ``Derived(lambda p: p["eps"] / 10)``.

    ``kind`` is the type an override of it must have; floats are rounded to 10 significant digits.
    """

    compute: Callable[[dict[str, Any]], Any]
    kind: type = float

    def __call__(self, params: dict[str, Any]) -> Any:
        value = self.compute(params)
        return float(f"{value:.10g}") if isinstance(value, float) else value


@dataclass(frozen=True)
class ByDataset:
    """A default that depends on the dataset: MNIST-like 28×28 sets and CIFAR-10 (SPEC §5 "0.3 / 8/255")."""

    mnist: Any
    cifar10: Any

    def __call__(self, dataset: str) -> Any:
        return self.cifar10 if dataset == "cifar10" else self.mnist


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
    **dict.fromkeys(("eps_iter", "lr", "learning_rate", "delta", "initial_const", "normalized_clip"), POSITIVE),
    "confidence": NON_NEGATIVE,
    **dict.fromkeys(("theta", "gamma"), Range(0, 1, low_open=True)),
}
# ε by norm: an L∞ bound beyond 1 means nothing for images in [0, 1], so it is refused;
# ``eps: unbounded`` says explicitly "any image" and resolves to ε = 1 (``linf_unbounded``);
# with ``threat_model: normalized`` the L∞ range is [0, 2·normalized_clip] and unbounded is its end.
EPS_RANGES: dict[str, Range] = {"l2": NON_NEGATIVE, "l0": NON_NEGATIVE}  # L∞: [0, ``_unbounded_eps``]
UNBOUNDED = "unbounded"


@dataclass(frozen=True)
class Surrogate:
    """The model a transfer attack crafts on: its attack target and its probabilities ``x → p``."""

    target: nn.Module
    probabilities: Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class AttackContext:
    """What an attack needs besides the batch: class count, the probabilities of the attacked model, surrogate, seed.

    ``probabilities(x)`` is softmax or sigmoid of the attacked model's scores (its real output,
    whatever ``attack_on`` says); ``surrogate`` is where a transfer attack crafts; ``records``,
    where given, receives per-sample tensors an attack measures besides the images, by name
    (AutoAttack: ``autoattack.SURVIVED``); the caller reads and clears it after each batch.
    """

    num_classes: int
    probabilities: Callable[[torch.Tensor], torch.Tensor]
    seed: int = 0
    surrogate: Surrogate | None = None
    records: dict[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class ResolvedAttack:
    """One attack setting with every parameter resolved; ``base`` is the crafting attack of a transfer."""

    spec: "AttackSpec"
    preset: str
    params: dict[str, Any]
    overrides: dict[str, Any]
    base: "ResolvedAttack | None" = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def norm(self) -> str:
        """The threat model's norm: linf, l2 or l0 (a transfer attack's is its base attack's)."""
        if self.base is not None:
            return self.base.norm
        return self.spec.norm if isinstance(self.spec.norm, str) else self.spec.norm(self.params)

    @property
    def unbounded(self) -> bool:
        """Whether this setting can reach any perturbation (then it must bring the accuracy to ≈0)."""
        return self.spec.unbounded(self.params)

    @property
    def eps(self) -> float | None:
        """The perturbation bound in ``norm`` (None for attacks without one: C&W, JSMA)."""
        return self.params.get("eps")

    @property
    def pixel_range(self) -> tuple[float, float]:
        """The pixel values adversarial images may take: [0, 1] unless ``threat_model: normalized``."""
        return pixel_range(self.params)

    def run(self, target: nn.Module, x: torch.Tensor, y: torch.Tensor, context: AttackContext) -> torch.Tensor:
        """Craft adversarial examples for the batch ``(x, y)`` (in the normalised box: ``threat_model: normalized``)."""
        if self.params["threat_model"] == NORMALIZED and self.base is None:
            return run_normalized(self, target, x, y, context)
        return self.spec.run(target, x, y, self, context)


AttackFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, ResolvedAttack, AttackContext], torch.Tensor]


@dataclass(frozen=True)
class AttackSpec:
    """A registered attack: its function, threat model (``norm``: linf, l2, l0), kind, presets.

    ``norm`` is the threat model's norm, or a function of the parameters giving it.
    ``kind`` (one of ``ATTACK_KINDS``) is what the gradient-masking checks compare by.
    ``presets`` maps a preset name to its defaults (constants, ``Derived`` or ``ByDataset``);
    ``types`` gives the type of parameters whose default is None; ``choices`` the valid strings;
    ``unbounded(params)`` says whether the setting can reach any perturbation, so that it must
    bring the accuracy to ≈0 (Carlini et al. 2019).
    """

    name: str
    run: AttackFn
    norm: str | Callable[[dict[str, Any]], str]
    kind: str
    presets: Mapping[str, Mapping[str, Any]]
    description: str
    types: Mapping[str, type] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unbounded: Callable[[dict[str, Any]], bool] = lambda _params: False

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"attack {self.name}: kind {self.kind!r} is not one of {ATTACK_KINDS}")

    @property
    def default_preset(self) -> str:
        """``paper`` where the attack has it, else its only preset."""
        return DEFAULT_PRESET if DEFAULT_PRESET in self.presets else next(iter(self.presets))


def _parameter_type(key: str, default: Any, types: Mapping[str, type]) -> Any:
    """The type hint of parameter ``key``: ``types[key] | None`` for parameters whose default may be None,
    ``Annotated`` with its ``PARAMETER_RANGES`` range."""
    hint = types[key] | None if key in types else type(default)
    return Annotated[hint, PARAMETER_RANGES[key]] if key in PARAMETER_RANGES else hint


def _unbounded_eps(settings: Mapping[str, Any]) -> float:
    """The L∞ ε that reaches any image (``eps: unbounded``): 1 in pixels, 2·``normalized_clip`` in normalised units."""
    if settings.get("threat_model") == NORMALIZED:
        return 2 * coerce(settings["normalized_clip"], Annotated[float, POSITIVE], "parameter normalized_clip")
    return CLIP_MAX - CLIP_MIN


def _check_eps(spec: AttackSpec, params: dict[str, Any], requested: Any) -> None:
    """ε within its norm's ``EPS_RANGES``; ``unbounded`` only for L∞ (a transfer's base attack checks its own)."""
    if spec.kind == "transfer" or "eps" not in params:
        return
    norm = spec.norm if isinstance(spec.norm, str) else spec.norm(params)
    if requested == UNBOUNDED and norm != "linf":
        raise UserError(f"attack {spec.name}: eps {UNBOUNDED!r} applies to L∞ attacks only; this one is {norm}: "
                        "give a number >= 0")
    bounds = Range(0, _unbounded_eps(params)) if norm == "linf" else EPS_RANGES.get(norm, NON_NEGATIVE)
    if not bounds.contains(params["eps"]):
        extra = f" or {UNBOUNDED!r}" if norm == "linf" else ""
        raise UserError(f"attack {spec.name}: eps {params['eps']!r} is out of range for {norm}; "
                        f"valid: {bounds.describe()}{extra}")


def resolve_parameters(
    spec: AttackSpec, preset: str, overrides: Mapping[str, Any], dataset: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Preset defaults + overrides, then ``Derived`` and ``ByDataset`` defaults; unknown keys are a UserError.

    Each override is checked for type, finiteness and its ``PARAMETER_RANGES`` range; ε for its
    norm's ``EPS_RANGES`` (``eps: unbounded`` = L∞ ε 1).

    ``extra`` holds further valid keys with their defaults (a transfer's base-attack parameters).
    """
    if preset not in spec.presets:
        raise UserError(f"attack {spec.name} has no preset {preset!r}; valid: {', '.join(spec.presets)}")
    defaults = {**spec.presets[preset], **(extra or {})}
    defaults.update({key: value for key, value in COMMON_DEFAULTS.items() if key not in defaults})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(unknown)} for attack {spec.name}; "
                        f"valid: {', '.join(defaults)}")
    types = {**COMMON_TYPES, **spec.types}
    choices = {**COMMON_CHOICES, **spec.choices}
    params: dict[str, Any] = {}
    for key, default in defaults.items():
        if isinstance(default, ByDataset):
            default = default(dataset)
        if key in overrides:
            template = default.kind() if isinstance(default, Derived) else default
            where = f"attack {spec.name}: parameter {key}"
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
            raise UserError(f"attack {spec.name}: {key} {invalid[0]!r} is not valid; valid: {', '.join(choices[key])}")
    if params["threat_model"] == NORMALIZED:
        params["normalization"] = normalization(dataset)
    _check_eps(spec, params, overrides.get("eps"))
    return params


def linf_unbounded(params: dict[str, Any]) -> bool:
    """An L∞ bound of 1 (``eps: unbounded``) allows any image in [0, 1]."""
    return params["eps"] >= CLIP_MAX - CLIP_MIN


def best_other(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``max_{j≠y} s_j`` per sample."""
    return scores.scatter(1, y[:, None], float("-inf")).amax(dim=1)


def margin(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``s_y − max_{j≠y} s_j`` per sample: negative exactly when the sample is misclassified."""
    return scores.gather(1, y[:, None]).squeeze(1) - best_other(scores, y)


def adam_step(param: torch.Tensor, m: torch.Tensor, v: torch.Tensor, grad: torch.Tensor,
              t: int | torch.Tensor, lr: float, eps: float) -> torch.Tensor:
    """One bias-corrected Adam step (Kingma & Ba 2015); returns the new ``param``, updates ``m`` and ``v`` in place.

    ``m ← β₁·m + (1 − β₁)·g``, ``v ← β₂·v + (1 − β₂)·g²``, then
    ``param − lr·m̂/(√v̂ + ε)`` with ``m̂ = m/(1 − β₁ᵗ)``, ``v̂ = v/(1 − β₂ᵗ)`` (β = ``ADAM_BETAS``).
    ``t`` is the step count from 1 after this step: an int, or a tensor of per-sample counts that
    broadcasts against ``param``.
    """
    beta1, beta2 = ADAM_BETAS
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps)


def first_success(target: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  attempts: Iterable[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]) -> torch.Tensor:
    """``first_success_counts``'s adversarial examples."""
    return first_success_counts(target, x, y, attempts)[0]


def first_success_counts(target: nn.Module, x: torch.Tensor, y: torch.Tensor,
                         attempts: Iterable[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]],
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``attempts`` in turn, each on the samples the ones before left classified right; keep each sample's last.

    A sample fooled by one attempt keeps that adversarial example; a sample never fooled keeps
    the last attempt's (restarts of PGD, the components of AutoAttack). Returns the examples and,
    per sample, how many attempts it survived (classified right after them): the robust
    accuracy after attempt k (from 1) is the fraction of samples with a count ≥ k.
    """
    best = x.clone()
    survived = torch.zeros(len(x), dtype=torch.long, device=x.device)
    remaining = torch.arange(len(x), device=x.device)
    for attempt in attempts:
        adv = attempt(x[remaining], y[remaining]).detach()
        best[remaining] = adv
        with torch.no_grad():
            robust = target(adv).argmax(dim=1) == y[remaining]
        remaining = remaining[robust]
        survived[remaining] += 1
        if len(remaining) == 0:
            break
    return best, survived
