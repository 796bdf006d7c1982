"""The project's Carlini & Wagner L2 attack (Carlini & Wagner 2017; SPEC §5), batched and with early exits.

Per sample, in tanh space ``x' = (tanh(w + δ) + 1)/2`` with ``w = atanh(0.999999·(2x − 1))``,
Adam minimises over δ

    c·max(s_y(x') − max_{j≠y} s_j(x') + κ, 0) + ‖x' − x‖₂²

(``s`` the target's outputs), for ``max_iterations`` steps per binary-search step; c starts at
``initial_const`` and, per sample, is halved towards the last failure after a successful step or
multiplied by 10 after a failed one until a success bounds it (then bisected). The result is,
per sample, the adversarial iterate of smallest L2 found (x itself where none was found).

Differences from cleverhans 4's ``carlini_wagner_l2`` (the objective and search above are C&W's):

- the whole batch is updated by tensor operations, with no per-sample Python loop;
- Adam's state (δ, moments, per-sample step count) carries over between binary-search steps, as
  in cleverhans (Carlini's code resets it; measured on digits, resetting weakened the attack);
- ``minimize_distortion: false`` (default) freezes a sample once it has an adversarial example:
  its success is final, so the accuracy is the same, and the reported L2 is that of its first
  success rather than the smallest; ``true`` keeps every sample through every step (C&W proper);
- ``abort_early``: a sample whose loss fell by less than 0.01 % over the last tenth of the
  iterations stops its binary-search step (Carlini's rule, per sample);
- Adam's ε is 1e-10, not 1e-8: pixels at 0 or 1 sit where tanh is flat (gradients ~1e-6), where
  ε = 1e-8 damps their steps. cleverhans sums ``const·f`` as a batch×batch matrix (``const`` has
  shape [N, 1]), which scales every gradient by N (effective ε 1e-8/N) and makes every sample's
  constant the batch mean; here each sample has its own constant and gradient scale;
- the iterate after the last Adam step of a binary-search step is checked too;
- the samples still optimised are gathered into compact tensors when the set changes, not in
  every iteration; on a GPU the host reads the device only at the checks (every ``FREEZE_EVERY``
  iterations for the freezing, every tenth of the run for the abort), on the CPU (where such a
  read costs nothing) it freezes successes after every iteration.
"""

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from newlogic.attacks.base import AttackContext, AttackSpec, ResolvedAttack, adam_step, margin

TANH_SCALE = 0.999999
ADAM_EPS = 1e-10  # see the module docstring
NO_BOUND = 1e10
FREEZE_EVERY = 5
ABORT_IMPROVEMENT = 0.9999
CW_PARAMETERS = ("binary_search_steps", "max_iterations", "lr", "initial_const", "confidence", "abort_early",
                 "minimize_distortion")


@dataclass
class _Samples:
    """Per-sample state: of the whole batch, or gathered once for the samples still optimised in a step.

    ``index`` is each row's position in the batch; ``w``, ``flat``, ``y``, ``const`` are read-only
    within a step; Adam's ``delta``, ``m``, ``v``, ``t`` carry over between steps.
    """

    index: torch.Tensor
    w: torch.Tensor
    flat: torch.Tensor
    y: torch.Tensor
    const: torch.Tensor
    delta: torch.Tensor
    m: torch.Tensor
    v: torch.Tensor
    t: torch.Tensor
    best_l2: torch.Tensor
    best_adv: torch.Tensor
    success: torch.Tensor
    last_loss: torch.Tensor

    def select(self, rows: torch.Tensor) -> "_Samples":
        return _Samples(*(getattr(self, f.name)[rows] for f in fields(self)))

    def store(self, part: "_Samples") -> None:
        """Write ``part``'s rows back into this (whole-batch) state."""
        for f in fields(self):
            getattr(self, f.name)[part.index] = getattr(part, f.name)


def carlini_wagner_l2(
    target: nn.Module, x: torch.Tensor, y: torch.Tensor, *, binary_search_steps: int, max_iterations: int,
    lr: float, initial_const: float, confidence: float = 0.0, abort_early: bool = True,
    minimize_distortion: bool = False,
) -> torch.Tensor:
    """Untargeted C&W L2 on the batch ``(x, y)``, pixels in [0, 1]; see the module docstring."""
    n, device = len(x), x.device
    flat = x.flatten(1)
    zeros = torch.zeros(n, device=device)
    batch = _Samples(
        index=torch.arange(n, device=device), w=torch.atanh((2 * flat - 1) * TANH_SCALE), flat=flat, y=y,
        const=torch.full((n,), float(initial_const), device=device), delta=torch.zeros_like(flat),
        m=torch.zeros_like(flat), v=torch.zeros_like(flat), t=zeros.clone(),
        best_l2=torch.full((n,), math.inf, device=device), best_adv=flat.clone(),
        success=torch.zeros(n, dtype=torch.bool, device=device), last_loss=zeros.clone(),
    )
    found = torch.zeros_like(batch.success)
    lower, upper = zeros.clone(), torch.full((n,), NO_BOUND, device=device)
    abort_every = max(1, max_iterations // 10)
    freeze_every = 1 if device.type == "cpu" else FREEZE_EVERY  # reading a CPU tensor costs no device sync

    for _ in range(binary_search_steps):
        searched = torch.ones_like(found) if minimize_distortion else ~found
        batch.success.zero_()
        batch.last_loss.fill_(math.inf)
        active = batch.select(searched.nonzero().squeeze(1))
        for iteration in range(1, max_iterations + 2):
            if len(active.index) == 0:
                break
            final = iteration > max_iterations  # the last Adam step's result is checked too
            delta = active.delta.requires_grad_(not final)
            with torch.set_grad_enabled(not final):
                adv = (torch.tanh(active.w + delta) + 1) / 2
                scores = target(adv.view(-1, *x.shape[1:]))
                lead = -margin(scores, active.y)  # max_{j≠y} s_j − s_y: how far the best wrong class leads
                l2 = (adv - active.flat).square().sum(dim=1)
                loss = active.const * (confidence - lead).clamp(min=0) + l2
            with torch.no_grad():
                success = lead > confidence
                improved = success & (l2 < active.best_l2)
                active.best_l2 = torch.where(improved, l2, active.best_l2)
                active.best_adv = torch.where(improved[:, None], adv, active.best_adv)
                active.success |= success
            if final:
                break
            (grad,) = torch.autograd.grad(loss.sum(), delta)
            with torch.no_grad():
                active.t += 1  # Adam bias-corrects at each sample's own step count
                active.delta = adam_step(delta.detach(), active.m, active.v, grad, active.t[:, None], lr, ADAM_EPS)
            freeze = not minimize_distortion and iteration % freeze_every == 0
            abort = abort_early and iteration % abort_every == 0
            if freeze or abort:
                keep = ~active.success if freeze else torch.ones_like(success)
                if abort:
                    keep &= loss.detach() < ABORT_IMPROVEMENT * active.last_loss
                    active.last_loss = loss.detach()
                if not bool(keep.all()):
                    batch.store(active)
                    active = active.select(keep)
        batch.store(active)
        found |= batch.success
        const = batch.const
        upper = torch.where(searched & batch.success, torch.minimum(upper, const), upper)
        lower = torch.where(searched & ~batch.success, torch.maximum(lower, const), lower)
        bounded = upper < NO_BOUND / 10
        batch.const = torch.where(searched, torch.where(bounded, (lower + upper) / 2, const * 10), const)
    return batch.best_adv.view_as(x)


def cw_l2(target: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: ResolvedAttack,
          _context: AttackContext) -> torch.Tensor:
    """C&W L2 with the setting's parameters."""
    return carlini_wagner_l2(target, x, y, **{key: attack.params[key] for key in CW_PARAMETERS})


UNBOUNDED_CONST = 10.0


def cw_unbounded(params: dict) -> bool:
    """C&W can reach any distortion when its search can raise c to ``UNBOUNDED_CONST`` [project]:
    ``initial_const · 10^(binary_search_steps − 1) ≥ 10`` (the paper preset's single step at c = 1 cannot)."""
    return params["initial_const"] * 10 ** (params["binary_search_steps"] - 1) >= UNBOUNDED_CONST


SPEC = AttackSpec(
    "cw_l2", cw_l2, "l2", "iterative",
    {"paper": {"binary_search_steps": 1, "max_iterations": 50, "lr": 0.5, "initial_const": 1.0, "confidence": 0.0,
               "abort_early": True, "minimize_distortion": False},
     "strong": {"binary_search_steps": 9, "max_iterations": 1000, "lr": 1e-2, "initial_const": 1e-3,
                "confidence": 0.0, "abort_early": True, "minimize_distortion": False}},
    "C&W L2: Adam in tanh space on c·max(margin + κ, 0) + L2², binary search on c",
    unbounded=cw_unbounded,
)
