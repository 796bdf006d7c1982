"""What every attack shares at run time (SPEC §5): the one path that runs a resolved setting, and shared steps.

An attack is a function ``run(target, x, y, attack, context) -> x_adv`` in the module its catalog
entry names (``newlogic.attacks.catalog``): ``target`` maps pixels in [0, 1] to what the attack
differentiates (scores, or probabilities with ``attack_on: probs``), ``x`` a batch of images,
``y`` their true labels, ``attack`` the resolved setting (``newlogic.attacks.resolve``),
``context`` the rest (classes, probabilities, surrogate, seed). ``x_adv`` stays in [0, 1].
``run_attack`` is the only way to run one: it imports the implementation and applies the paper's
normalised threat model (``newlogic.attacks.normalized``) around it, so no attack handles it.
"""

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from newlogic.attacks.catalog import NORMALIZED, RECORD_FIELDS, AttackEntry
from newlogic.attacks.context import AttackContext
from newlogic.attacks.normalized import run_normalized
from newlogic.attacks.resolve import ResolvedAttack

ADAM_BETAS = (0.9, 0.999)  # Adam's (β₁, β₂), Kingma & Ba 2015's defaults: C&W and SPSA

AttackFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, ResolvedAttack, AttackContext], torch.Tensor]


def implementation(entry: AttackEntry) -> AttackFn:
    """The entry's ``run`` function, imported now (an attack's module and its libraries load only when it runs)."""
    run: AttackFn = getattr(importlib.import_module(entry.module), entry.function)
    return run


def run_attack(attack: ResolvedAttack, target: nn.Module, x: torch.Tensor, y: torch.Tensor,
               context: AttackContext) -> torch.Tensor:
    """Craft adversarial examples for the batch ``(x, y)`` (in the normalised box: ``threat_model: normalized``).

    A transfer setting is not wrapped itself: its base attack, which carries the same threat
    model, runs through here on the surrogate.
    """
    run = implementation(attack.entry)
    if attack.params["threat_model"] == NORMALIZED and attack.base is None:
        return run_normalized(run, attack, target, x, y, context)
    return run(target, x, y, attack, context)


def summarize_records(attack: ResolvedAttack, samples: dict[str, np.ndarray]) -> dict[str, Any]:
    """The result fields an attack derives from its per-sample records (``RECORD_FIELDS``; None where it has none)."""
    fields: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    if attack.entry.summarize_records is not None:
        module = importlib.import_module(attack.entry.module)
        fields.update(getattr(module, attack.entry.summarize_records)(samples, attack.params))
    return fields


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
