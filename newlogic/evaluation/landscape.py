"""The loss landscape of one model on a few images (issue 32): convergence, ε to the end, gradients on the path.

Three measurements, each on the first ``n_images`` test images of the seed's order that the model
classifies right (``newlogic.evaluation.shuffled``), with the adaptive attack (catalog ``adaptive``,
strong preset: PGD on the margin through every component's surrogate, ``newlogic.attacks.adaptive``;
one run from x, ``restarts: 1``):

- ``iterations``: the attack at L∞ ``eps`` with ``steps·m`` steps for each multiple m of
  ``multiples`` (1×, 2×, 4×): per image, whether it is still classified right. Converged when the
  largest count leaves no less than the next smaller (``check_rules.check_landscape_converged``);
- ``eps_sweep``: the attack with ``steps`` steps at each ε of ``eps_sweep``, whose largest is at
  least ``REACHES_GREY`` = 0.5: the mid-grey image ``0.5·1`` then lies in every image's L∞ ball on
  [0, 1], so an attack that follows the model's gradients reaches (≈) 0 accuracy there
  (``check_rules.check_landscape_reaches_zero``);
- ``gradients``: the adaptive attack's own path at L∞ ``eps``, ``steps`` steps (the annealed
  temperature τ_t of ``adaptive.temperatures``): at every iterate x_t of every image still
  classified right, the input gradient of the margin loss, exact (``‖∇ₓL‖₂``) and the surrogate's
  (``‖∇̃ₓL‖₂`` at τ_t, the one the attack steps along). A step is *blind* when the exact gradient is
  not finite or ``‖∇ₓL‖₂ ≤ NEAR_ZERO·‖∇̃ₓL‖₂`` (a zero exact gradient where the surrogate is
  non-zero, the case at a curved unit's centre; or both zero: nothing to follow); an image is blind
  when more than half of its path's steps are (``check_rules.check_landscape_gradients``).

``landscape.json`` (``write_landscape``) holds the per-image outcomes (0/1 lists, in the order of
``index``, the test-split positions), the per-step mean gradient norms, the options, ``model_ref``
and ``provenance.config_hash`` of the request (``landscape_request``: a result of the same
request is kept, as noise.json is). The checks read it through the collector (no torch there).
"""

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import torch
from torch import nn

from newlogic.attacks.adaptive import temperatures
from newlogic.attacks.base import run_attack
from newlogic.attacks.catalog import CLIP_MAX, CLIP_MIN, SURROGATE_ATTACK
from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import LOSSES, Loss
from newlogic.attacks.pgd import DIRECTIONS, LINF, l2_norm, loss_gradient, project
from newlogic.attacks.request import attack_request
from newlogic.attacks.resolve import resolve_setting
from newlogic.errors import UserError
from newlogic.evaluation.target import attack_target
from newlogic.nn.outputs import OUTPUTS
from newlogic.nn.surrogate import surrogate_gradients
from newlogic.options import AT_LEAST_ONE, POSITIVE, check_ranges, from_dict
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import collect_provenance, config_hash
from newlogic.store.results import LANDSCAPE_FILE
from newlogic.store.results import LANDSCAPE_SCHEMA_VERSION as SCHEMA_VERSION

__all__ = ["LANDSCAPE_FILE", "LandscapeOptions", "landscape_options", "measure_landscape", "write_landscape"]

REACHES_GREY = 0.5  # L∞ ε from which the mid-grey image is in every [0, 1] image's ball
NEAR_ZERO = 1e-3  # a step is blind when ‖exact gradient‖ ≤ NEAR_ZERO·‖surrogate gradient‖ [project]
ATTACK = {"attack": SURROGATE_ATTACK, "preset": "strong", "norm": LINF, "restarts": 1}  # the landscape's attack


@dataclass(frozen=True)
class LandscapeOptions:
    """The config's ``landscape`` block: images, the ε of the iteration sweep and of the path (None: the smallest
    L∞ ε of the model's settings), the base step count (None: the adaptive strong preset's ``nb_iter``), its
    multiples, and the ε sweep (largest ≥ ``REACHES_GREY``)."""

    n_images: Annotated[int, AT_LEAST_ONE] = 50
    eps: Annotated[float, POSITIVE] | None = None
    steps: Annotated[int, AT_LEAST_ONE] | None = None
    multiples: tuple[int, ...] = (1, 2, 4)
    eps_sweep: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5)


def landscape_options(data: Mapping[str, Any] | None, where: str = "landscape") -> LandscapeOptions:
    """The config's ``landscape`` block as ``LandscapeOptions``; a UserError names a bad value and the valid ones."""
    options = from_dict(LandscapeOptions, dict(data or {}), where)
    check_ranges(options, where)
    multiples = sorted(set(options.multiples))
    if len(multiples) < 2 or multiples[0] < 1:
        raise UserError(f"{where}.multiples {list(options.multiples)} must hold two or more distinct whole "
                        "numbers ≥ 1 (e.g. [1, 2, 4])")
    if not options.eps_sweep or min(options.eps_sweep) <= 0 or max(options.eps_sweep) < REACHES_GREY:
        raise UserError(f"{where}.eps_sweep {list(options.eps_sweep)} must be ε values > 0 whose largest is ≥ "
                        f"{REACHES_GREY} (where the mid-grey image is within every image's reach)")
    return LandscapeOptions(options.n_images, options.eps, options.steps, tuple(multiples),
                            tuple(sorted(set(options.eps_sweep))))


def _attack(eps: float, steps: int | None, dataset: str) -> Any:
    setting = {**ATTACK, "eps": eps, **({} if steps is None else {"nb_iter": steps})}
    return resolve_setting(attack_request("landscape_attack", setting).attack, dataset)


def _correct(target: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, dataset: str,
             context: AttackContext) -> list[int]:
    """Per image, 1 when the adaptive attack at L∞ ``eps`` with ``steps`` steps leaves it classified right."""
    x_adv = run_attack(_attack(eps, steps, dataset), target, x, y, context)
    with torch.no_grad():
        return (target(x_adv).argmax(dim=1) == y).int().tolist()


def gradient_path(target: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: Loss, eps: float, eps_iter: float,
                  steps: int, temperature: float, final_temperature: float) -> dict[str, Any]:
    """The adaptive attack's path (L∞ sign steps of ``eps_iter`` on ``loss`` through the surrogate at τ_t) with
    the exact and surrogate gradient norms at every iterate of every image still classified right (module
    docstring)."""
    schedule = temperatures(temperature, final_temperature, steps)
    x_adv = x.detach().clone()
    active = torch.arange(len(x), device=x.device)
    path_steps = torch.zeros(len(x), dtype=torch.long)
    blind_steps = torch.zeros(len(x), dtype=torch.long)
    masked_steps = torch.zeros(len(x), dtype=torch.long)
    exact_mean: list[float] = []
    surrogate_mean: list[float] = []
    for tau in schedule:
        scores, exact = loss_gradient(target, x_adv[active], y[active], loss)
        right = scores.argmax(dim=1) == y[active]
        with surrogate_gradients(target, tau):
            _, smooth = loss_gradient(target, x_adv[active], y[active], loss)
        active, exact, smooth = active[right], exact[right], smooth[right]
        if len(active) == 0:
            break
        exact_norm, smooth_norm = l2_norm(exact).cpu(), l2_norm(smooth).cpu()
        blind = ~torch.isfinite(exact_norm) | (exact_norm <= NEAR_ZERO * smooth_norm)
        where = active.cpu()
        path_steps[where] += 1
        blind_steps[where] += blind.long()
        masked_steps[where] += (blind & (smooth_norm > 0)).long()
        exact_mean.append(float(exact_norm[torch.isfinite(exact_norm)].mean()) if torch.isfinite(
            exact_norm).any() else math.nan)
        surrogate_mean.append(float(smooth_norm.mean()))
        moved = x_adv[active] + eps_iter * DIRECTIONS[LINF](smooth)
        x_adv[active] = (x[active] + project(moved - x[active], LINF, eps)).clamp(CLIP_MIN, CLIP_MAX)
    total = int(path_steps.sum())
    return {"eps": eps, "steps": steps, "near_zero": NEAR_ZERO,
            "path_steps": path_steps.tolist(), "blind_steps": blind_steps.tolist(),
            "masked_steps": masked_steps.tolist(),
            "blind_step_fraction": float(blind_steps.sum()) / total if total else 0.0,
            "exact_norm_mean": exact_mean, "surrogate_norm_mean": surrogate_mean}


def measure_landscape(target: nn.Module, x: torch.Tensor, y: torch.Tensor, options: LandscapeOptions, *,
                      eps: float, dataset: str, num_classes: int, seed: int, output: str = "softmax") -> dict[str, Any]:
    """The three measurements of the module docstring on the images of ``x`` (labels ``y``) that ``target`` (its
    scores) classifies right; ``kept`` lists their positions in ``x``."""
    with torch.no_grad():
        kept = torch.nonzero(target(x).argmax(dim=1) == y).flatten()
    x, y = x[kept], y[kept]
    base = _attack(eps, options.steps, dataset).params
    steps = int(base["nb_iter"])
    context = AttackContext(num_classes=num_classes, seed=seed,
                            probabilities=lambda images: OUTPUTS[output].probabilities(target(images)))
    counts = [steps * multiple for multiple in options.multiples]
    iterations = [_correct(target, x, y, eps, count, dataset, context) for count in counts]
    sweep = [_correct(target, x, y, value, steps, dataset, context) for value in options.eps_sweep]
    return {
        "n_images": int(len(y)),
        "kept": kept.cpu().tolist(),
        "attack": {**ATTACK, "loss": base["loss"], "temperature": base["temperature"],
                   "final_temperature": base["final_temperature"]},
        "iterations": {"eps": eps, "steps": counts, "correct": iterations,
                       "accuracy": [sum(row) / len(row) if row else 0.0 for row in iterations]},
        "eps_sweep": {"steps": steps, "eps": list(options.eps_sweep), "correct": sweep,
                      "accuracy": [sum(row) / len(row) if row else 0.0 for row in sweep]},
        "gradients": gradient_path(target, x, y, loss=LOSSES[base["loss"]], eps=eps, eps_iter=base["eps_iter"],
                                   steps=steps,
                                   temperature=base["temperature"], final_temperature=base["final_temperature"]),
    }


def landscape_request(model_ref: Mapping[str, Any], dataset: str, options: LandscapeOptions, eps: float,
                      seed: int) -> dict[str, Any]:
    """What a landscape result depends on: schema, the model (fingerprint, weights), dataset, options, ε, seed."""
    return {"schema_version": SCHEMA_VERSION, "model": model_ref.get("name"), "dataset": dataset,
            "config_hash": model_ref.get("config_hash"), "weights_sha256": model_ref.get("weights_sha256"),
            "options": asdict(options), "eps": eps, "seed": seed}


def landscape_up_to_date(out_path: Path, request: Mapping[str, Any]) -> bool:
    """Whether ``out_path`` holds the landscape of ``request`` (its ``provenance.config_hash``)."""
    try:
        stored = json.loads(Path(out_path).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    provenance = stored.get("provenance") if isinstance(stored, dict) else None
    return isinstance(provenance, dict) and provenance.get("config_hash") == config_hash(dict(request))


def write_landscape(model: nn.Module, output: str, images: torch.Tensor, labels: torch.Tensor,
                    order: torch.Tensor, options: LandscapeOptions, out_path: Path, *, eps: float, dataset: str,
                    model_name: str, model_ref: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``measure_landscape`` on the first ``options.n_images`` of ``images`` (test positions ``order``), written
    atomically to ``out_path`` with ``model_ref`` and ``provenance``; returns what was written."""
    count = min(options.n_images, len(labels))
    target = attack_target(model, output, "scores")
    x, y = images[:count], labels[:count]
    num_classes = int(model(x[:1]).shape[1])
    measured = measure_landscape(target, x, y, options, eps=eps, dataset=dataset, num_classes=num_classes,
                                 seed=seed, output=output)
    request = landscape_request(model_ref, dataset, options, eps, seed)
    result = {"schema_version": SCHEMA_VERSION, "model": model_name, "dataset": dataset, "output": output,
              "seed": seed, "options": asdict(options), "images_tried": count,
              "index": order[:count][measured["kept"]].tolist(), **measured,
              "model_ref": dict(model_ref), "provenance": collect_provenance(request)}
    atomic_write_json(out_path, result)
    return result
