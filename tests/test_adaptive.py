"""The adaptive attack (issue 21): the fold's smooth surrogate backward; a masked model it breaks and PGD does not."""

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.adaptive import temperatures
from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext
from newlogic.data import load_dataset
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.target import ModelGuard
from newlogic.nn.activations import BetaReLog, ReLog, ReLU
from newlogic.nn.folding import Fold
from newlogic.nn.surrogate import SmoothBackward, surrogate_gradients

LEVELS = 2  # the quantiser's levels per unit: pixels become 0, 0.5 or 1


class _StraightThrough(torch.autograd.Function):
    """``round(x·k)/k`` forward; identity backward (the straight-through estimator)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, levels: int) -> torch.Tensor:
        return torch.round(x * levels) / levels

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class Quantiser(SmoothBackward, nn.Module):
    """``round(x·k)/k``: a gradient of 0 almost everywhere (a deliberately masked input layer); BPDA: identity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.surrogate_temperature is None:
            return torch.round(x * LEVELS) / LEVELS
        return _StraightThrough.apply(x, LEVELS)


def _hard_fold_reference(x: torch.Tensor, fold: Fold) -> torch.Tensor:
    batch, channels = x.shape[:2]
    grouped = x.reshape(batch, channels // (fold.min_group * fold.max_group), fold.max_group, fold.min_group)
    return grouped.amin(dim=3).amax(dim=2)


def _smooth_fold_reference(x: torch.Tensor, fold: Fold, tau: float) -> torch.Tensor:
    """``τ·logsumexp_i(−τ·logsumexp_j(−x/τ)/τ)``: the smooth surrogate, differentiated by autograd."""
    batch, channels = x.shape[:2]
    grouped = x.reshape(batch, channels // (fold.min_group * fold.max_group), fold.max_group, fold.min_group)
    soft_min = -tau * torch.logsumexp(-grouped / tau, dim=3)
    return tau * torch.logsumexp(soft_min / tau, dim=2)


def test_surrogate_mode_keeps_the_fold_forward_and_gives_the_smooth_gradient() -> None:
    torch.manual_seed(0)
    fold = Fold(2, 4)
    x = torch.randn(5, 24, dtype=torch.float64)
    hard = fold(x)
    assert torch.equal(hard, _hard_fold_reference(x, fold))
    point = x.clone().requires_grad_(True)
    with surrogate_gradients(fold, 0.5) as mode:
        soft = fold(point)
        assert torch.equal(soft, hard)  # bit-identical forward
        (grad,) = torch.autograd.grad(soft.sum(), point)
        mode.temperature = 1e-4
        (sharp,) = torch.autograd.grad(fold(point).sum(), point)
    assert fold.surrogate_temperature is None
    reference = point.detach().requires_grad_(True)
    (expected,) = torch.autograd.grad(_smooth_fold_reference(reference, fold, 0.5).sum(), reference)
    assert torch.allclose(grad, expected, atol=1e-12)
    assert (grad > 0).float().mean() > 0.9  # every branch gets a share; the hard fold gives one input of 8 all of it
    (exact,) = torch.autograd.grad(fold(point).sum(), point)
    assert (exact != 0).sum() == 5 * 3
    assert torch.allclose(sharp, exact, atol=1e-6)  # τ → 0: the hard fold's gradient


def test_surrogate_mode_is_restored_after_an_error_and_leaves_the_state_alone(digits_model_dir: Path) -> None:
    model = nn.Sequential(Quantiser(), load_trained_model(digits_model_dir).model, Fold(1, 2)).eval()
    guard = ModelGuard(model)
    with pytest.raises(RuntimeError, match="inside"), surrogate_gradients(model, 0.1):
        assert model[0].surrogate_temperature == 0.1 and model[2].surrogate_temperature == 0.1
        raise RuntimeError("inside")
    assert model[0].surrogate_temperature is None and model[2].surrogate_temperature is None
    guard.check("the surrogate mode")


def test_the_temperature_is_annealed_geometrically() -> None:
    schedule = temperatures(1.0, 0.01, 5)
    assert schedule[0] == 1.0 and abs(schedule[-1] - 0.01) < 1e-12 and abs(schedule[2] - 0.1) < 1e-12
    assert temperatures(0.5, 0.01, 1) == [0.5]


@pytest.fixture(scope="module")
def masked(digits_model_dir: Path) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The digits ReLU model behind an input quantiser, and 100 test images it classifies right."""
    model = nn.Sequential(Quantiser(), load_trained_model(digits_model_dir).model).requires_grad_(False).eval()
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:150]
    x, y = test.images[order], test.labels[order]
    with torch.no_grad():
        right = model(x).argmax(dim=1) == y
    return model, x[right][:100], y[right][:100]


def _accuracy_after(model: nn.Module, x: torch.Tensor, y: torch.Tensor, setting: dict) -> float:
    context = AttackContext(10, lambda v: model(v).softmax(dim=1), seed=0)
    guard = ModelGuard(model)
    torch.manual_seed(0)
    adv = run_attack(resolve_setting(setting, "digits"), model, x, y, context)
    guard.check("the attack")
    assert (adv - x).abs().max() <= setting["eps"] + 1e-6
    with torch.no_grad():
        return float((model(adv).argmax(dim=1) == y).float().mean())


def test_the_adaptive_attack_breaks_a_quantised_model_where_pgd_does_not(masked) -> None:
    model, x, y = masked
    budget = {"eps": 0.3, "nb_iter": 20, "restarts": 2}
    pgd = _accuracy_after(model, x, y, {"attack": "pgd", **budget})
    adaptive = _accuracy_after(model, x, y, {"attack": "adaptive", **budget})
    assert pgd > 0.5, pgd  # zero gradients: PGD stays at its random starts
    assert adaptive < pgd / 2, (adaptive, pgd)
    assert model[0].surrogate_temperature is None


@pytest.mark.parametrize("make", [lambda: ReLU(), lambda: ReLog(start=1.0), lambda: BetaReLog(start=1.0)],
                         ids=["relu", "relog", "beta_relog"])
def test_rectifiers_pass_the_softplus_gradient_through_their_flat_region_only_in_surrogate_mode(make) -> None:
    layer = make().eval()
    x = torch.tensor([-3.0, -0.5, 0.0, 0.4, 2.0], requires_grad=True)
    exact = layer(x)
    (exact_grad,) = torch.autograd.grad(exact.sum(), x)
    assert torch.equal(exact_grad[:2], torch.zeros(2))  # the flat region hides the direction
    with surrogate_gradients(layer, 0.5):
        smooth = layer(x)
        (smooth_grad,) = torch.autograd.grad(smooth.sum(), x)
    assert torch.equal(smooth, exact)  # the forward is the same, bit for bit
    slope_at_zero = {ReLU: 1.0, ReLog: 10 / math.log(10), BetaReLog: 1.0}[type(layer)]
    assert smooth_grad[:2] == pytest.approx(slope_at_zero * torch.sigmoid(x[:2].detach() / 0.5))
    assert layer.surrogate_temperature is None  # restored after the block


def test_a_dead_relu_layer_hides_the_gradient_from_pgd_but_not_from_the_surrogate() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), ReLU(), nn.Linear(3, 2)).eval()
    with torch.no_grad():
        model[1].bias.fill_(-100.0)  # every hidden unit dead: the exact input gradient is 0
    x = torch.rand(5, 4, requires_grad=True)
    (exact,) = torch.autograd.grad(model(x)[:, 0].sum(), x)
    with surrogate_gradients(model, 50.0):
        (smooth,) = torch.autograd.grad(model(x)[:, 0].sum(), x)
    assert torch.count_nonzero(exact) == 0 and torch.count_nonzero(smooth) == smooth.numel()
