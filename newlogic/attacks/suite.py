"""The strong suite: the fixed set of strong attacks every model meets at every table ε (issues 21, 28, 32; torch-free).

A table's worst case is only as strong as the attacks behind it (Carlini et al. 2019 §4; Croce &
Hein 2020). So every shipped config runs, on every model of every ablation and at every ε that a
table column of that ablation is bounded by (pixel threat model, not unbounded), the members of
``PROFILES``:

- ``apgd``: AutoAttack's gradient part on scale-free losses, APGD-DLR + APGD-T (untargeted and
  targeted DLR; L∞ and L2). AutoAttack's APGD-CE is left out: cross-entropy depends on the scale
  of the scores (its gradient vanishes on confident samples), which Croce & Hein 2020 §3 give as
  the reason for DLR ("invariant to shift and rescaling"; AutoAttack's ``plus`` version runs
  APGD-DLR): multiplying a model's scores by k must not move a robustness figure
  (``bench/scale_invariance.py``);
- ``square``: AutoAttack's gradient-free Square on its own (the catalog's black-box ``square``;
  L∞), 5,000 queries (standard, RobustBench's) or 1,000 (quick: still a real random search, where a
  masked gradient leaves the gradient members stuck);
- ``adaptive``: the attack through the logic layers' smooth surrogate (L∞);
- ``transfer``: examples crafted on the ablation's softmax baseline (``TRANSFER_SOURCE``) by
  ``apgd_max_loss`` (APGD on its cross-entropy, every step on every sample, the highest-loss
  iterate: high-confidence examples transfer) and evaluated on the model (L∞ and L2). The source
  is the grammar's default model, ``relu`` (ReLU, linear units, no folding, softmax output with
  cross-entropy; canonical ``ModelSpec()``): the ablation's own Baseline row where it lists one,
  else the same config's ``relu`` of the same seed, which the workflow trains as the transfer's
  input. Its gradient never goes through the attacked model, so no masking there can stop it.

At each norm's largest ε the members with a catalog ``budget`` (APGD, adaptive) run once more with
twice their budget (twice the restarts, so twice steps × restarts: the convergence check;
Square's weakness at a small budget and a transfer's are no sign of masking).
The settings are added to the config before anything reads it (``expand_strong_suite``), with
ids ``suite_<member>_<norm>_<ε>`` and ``…_x2``, and to each ablation's ``suite`` list: evaluated
and part of every worst case, never a table column.

The config's ``strong_suite`` mapping chooses ``profile`` (``standard``: RobustBench's budget;
``quick``: a cheap budget for the laptop demo) and ``limit`` (images per model and seed, the
suite's stated sample count). An ablation can name its members' ε explicitly with ``suite_eps``.
"""

from collections.abc import Mapping
from typing import Any

from newlogic.attacks.catalog import PIXELS, attack_entry
from newlogic.attacks.request import attack_request
from newlogic.attacks.resolve import resolve_setting
from newlogic.errors import UserError
from newlogic.spec import ModelSpec, format_model_name

SUITE_PREFIX = "suite_"
DOUBLED = "_x2"
DEFAULT_LIMIT = 1000  # images per model and seed [project]
TRANSFER_SOURCE = format_model_name(ModelSpec())  # the softmax baseline, "relu": the transfer member's source
APGD_MEMBER = ["apgd-dlr", "apgd-t"]  # scale-free losses only (module docstring)


def _transfer(apgd_steps: int) -> dict[str, Any]:
    """The transfer member: ``apgd_max_loss`` on ``TRANSFER_SOURCE``'s cross-entropy, ``apgd_steps`` steps."""
    return {"attack": "transfer", "base_attack": "apgd_max_loss", "loss": "ce", "apgd_steps": apgd_steps,
            "restarts": 1, "surrogate": TRANSFER_SOURCE}


# member → its setting at the profile's budget; its norm and ε are filled in (``MEMBER_NORMS``)
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "standard": {
        "apgd": {"attack": "autoattack", "preset": "strong", "components": APGD_MEMBER, "apgd_steps": 100,
                 "restarts": 1},
        "square": {"attack": "square", "preset": "strong", "square_queries": 5000, "restarts": 1},
        "adaptive": {"attack": "adaptive", "preset": "strong"},
        "transfer": _transfer(100),
    },
    "quick": {
        "apgd": {"attack": "autoattack", "preset": "strong", "components": APGD_MEMBER, "apgd_steps": 10,
                 "restarts": 1},
        "square": {"attack": "square", "preset": "strong", "square_queries": 1000, "restarts": 1},
        "adaptive": {"attack": "adaptive", "preset": "strong", "nb_iter": 20, "restarts": 1},
        "transfer": _transfer(20),
    },
}
MEMBER_NORMS = {"apgd": ("linf", "l2"), "square": ("linf",), "adaptive": ("linf",), "transfer": ("linf", "l2")}
AUTOATTACK_NORMS = {"linf": "Linf", "l2": "L2"}
DOUBLING = ("restarts",)  # twice the budget (steps × restarts): twice the random restarts


def _budgeted(setting: dict[str, Any], factor: int) -> dict[str, Any]:
    """``setting`` with every budget parameter it has (``DOUBLING``) multiplied by ``factor``."""
    return {key: value * factor if key in DOUBLING else value for key, value in setting.items()}


def _norm_parameter(template: dict[str, Any], norm: str) -> dict[str, str]:
    """The ``norm`` parameter of the member's attack (a transfer's: its base attack's), written as its own default
    writes it (``Linf``/``L2`` or ``linf``/``l2``); none for an attack without one (its catalog norm is fixed)."""
    entry = attack_entry(template.get("base_attack", template["attack"]))
    default = entry.presets[entry.default_preset].get("norm")
    if default is None:
        return {}
    return {"norm": AUTOATTACK_NORMS[norm] if default in AUTOATTACK_NORMS.values() else norm}


def _member_setting(template: dict[str, Any], norm: str, eps: float, limit: int) -> dict[str, Any]:
    return {**template, "eps": eps, "limit": limit, **_norm_parameter(template, norm)}


def table_eps(settings: Mapping[str, Mapping[str, Any]], dataset: str) -> list[tuple[str, float]]:
    """Every (norm, ε) a table column is bounded by: pixel threat model, L∞ or L2, bounded (no ``unbounded``)."""
    found = set()
    for name, setting in settings.items():
        try:
            resolved = resolve_setting(attack_request(name, setting).attack, dataset)
        except UserError as error:
            raise UserError(f"attack setting {name!r}: {error}") from None
        if (resolved.eps is None or resolved.norm not in AUTOATTACK_NORMS or resolved.unbounded
                or resolved.params["threat_model"] != PIXELS or resolved.entry.kind == "noise"):
            continue
        found.add((resolved.norm, float(f"{resolved.eps:.10g}")))
    return sorted(found)


def suite_settings(pairs: list[tuple[str, float]], profile: str, limit: int) -> dict[str, dict[str, Any]]:
    """The suite's settings (id → setting) at each (norm, ε) of ``pairs``; at each norm's largest ε, each gradient
    member (one with a catalog ``budget``) has a twin with twice its budget (the convergence check needs one ε per
    threat, and the largest ε is where an unconverged attack leaves the most accuracy on the table)."""
    if profile not in PROFILES:
        raise UserError(f"strong_suite.profile {profile!r} is not valid; valid: {', '.join(PROFILES)}")
    largest = {norm: max(eps for n, eps in pairs if n == norm) for norm, _ in pairs}
    settings = {}
    for norm, eps in pairs:
        for member, template in PROFILES[profile].items():
            if norm not in MEMBER_NORMS[member]:
                continue
            attack_entry(template["attack"])
            base = f"{SUITE_PREFIX}{member}_{norm}_{eps:g}"
            label = f"{member} {norm} ε={eps:g}"
            settings[base] = {**_member_setting(template, norm, eps, limit), "label": f"Suite: {label}"}
            if eps == largest[norm] and attack_entry(template["attack"]).budget is not None:
                settings[base + DOUBLED] = {**_member_setting(_budgeted(template, 2), norm, eps, limit),
                                            "label": f"Suite: {label} (2× budget)"}
    return settings


def expand_strong_suite(config: dict[str, Any]) -> None:
    """Add the strong suite's settings to ``config["attacks"]`` and each ablation's ``suite`` list, in place.

    The members of an ablation run at the (norm, ε) of its own columns (or its ``suite_eps``); an
    ablation without an ``attacks`` list gets the config's own settings written out, so that the
    suite never becomes a column. Idempotent: a config expanded before (a job's copy) is left as
    it is; a setting id starting with ``suite_`` that the suite does not make is refused.
    """
    options = dict(config.get("strong_suite") or {})
    profile, limit = options.get("profile", "standard"), options.get("limit", DEFAULT_LIMIT)
    attacks = config.setdefault("attacks", {})
    own = {name: setting for name, setting in attacks.items() if not name.startswith(SUITE_PREFIX)}
    generated: dict[str, dict[str, Any]] = {}
    for body in (config.get("ablations") or {}).values():
        body.setdefault("attacks", list(own))
        columns = {name: own[name] for name in body["attacks"] if name in own}
        pairs = ([(norm, float(eps)) for norm, eps in body["suite_eps"]] if "suite_eps" in body
                 else table_eps(columns, config["dataset"]))
        members = suite_settings(pairs, profile, limit)
        generated.update(members)
        body["suite"] = list(members)
    foreign = sorted(name for name in attacks if name.startswith(SUITE_PREFIX)
                     and (name not in generated or attacks[name] != generated[name]))
    if foreign:
        raise UserError(f"attack setting id(s) {', '.join(foreign)} start with {SUITE_PREFIX!r}, which the strong "
                        "suite's settings use; rename them")
    attacks.update(generated)
