"""Attacks with known answers: analytic FGM steps, bounds, an undefended model falling, MaxConfidence, presets."""

from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.attacks import CATALOG, resolve_setting
from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext, Surrogate
from newlogic.data import load_dataset
from newlogic.errors import UserError
from newlogic.store.model_dir import load_trained_model


@pytest.fixture(scope="module")
def digits(digits_model_dir: Path) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The trained ReLU model and 60 test images with their labels."""
    model = load_trained_model(digits_model_dir).model.requires_grad_(False)
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:60]
    return model, test.images[order], test.labels[order]


def _context(model: nn.Module) -> AttackContext:
    probabilities = lambda x: model(x).softmax(dim=1)  # noqa: E731
    return AttackContext(num_classes=10, probabilities=probabilities, seed=0, surrogate=Surrogate(model, probabilities))


def test_every_registered_attack_has_quick_parameters(quick_settings: dict) -> None:
    assert set(quick_settings) == set(CATALOG)


def test_presets_resolve_with_dataset_and_derived_defaults() -> None:
    assert resolve_setting({"attack": "fgsm"}, "digits").params["eps"] == 0.3
    assert resolve_setting({"attack": "fgsm", "preset": "strong"}, "cifar10").params["eps"] == 8 / 255
    strong_bim = resolve_setting({"attack": "bim", "preset": "strong", "eps": 0.1}, "mnist").params
    assert (strong_bim["nb_iter"], strong_bim["eps_iter"]) == (40, 0.01)
    paper_bim = resolve_setting({"attack": "bim"}, "mnist").params
    assert (paper_bim["eps"], paper_bim["nb_iter"], paper_bim["eps_iter"]) == (0.3, 5, 0.1)
    assert resolve_setting({"attack": "bim", "eps_iter": 0.05}, "mnist").params["eps_iter"] == 0.05
    cw = resolve_setting({"attack": "cw_l2", "max_iterations": 10.0}, "digits").params
    assert (cw["binary_search_steps"], cw["max_iterations"], cw["lr"], cw["initial_const"]) == (1, 10, 0.5, 1.0)
    assert resolve_setting({"attack": "spsa"}, "mnist").params["num_images"] == 1500
    assert resolve_setting({"attack": "pgd"}, "digits").preset == "strong"  # pgd has no paper preset
    transfer = resolve_setting({"attack": "transfer", "base_attack": "fgsm", "eps": 0.2}, "digits")
    assert transfer.base.name == "fgsm" and transfer.base.params["eps"] == 0.2 and transfer.norm == "linf"


@pytest.mark.parametrize(("setting", "names"), [
    ({"attack": "nope"}, ["nope", "fgsm", "autoattack"]),
    ({"attack": "fgsm", "epsilon": 1}, ["epsilon", "eps", "attack_on"]),
    ({"attack": "fgsm", "eps": "big"}, ["eps", "float"]),
    ({"attack": "fgsm", "attack_on": "logits"}, ["logits", "scores", "probs"]),
    ({"attack": "jsma", "preset": "strong"}, ["strong", "paper"]),
    ({"attack": "fgsm", "preset": "fast"}, ["fast", "paper", "strong"]),
    ({"attack": "transfer", "base_attack": "nope"}, ["nope", "bim"]),
    ({"attack": "autoattack", "components": ["apgd-ce", "pgd"]}, ["pgd", "square"]),
])
def test_bad_settings_name_the_bad_value_and_the_valid_ones(setting: dict, names: list[str]) -> None:
    with pytest.raises(UserError) as error:
        resolve_setting(setting, "digits")
    assert all(name in str(error.value) for name in names)


def test_fgsm_on_a_linear_model_is_the_analytic_sign_step() -> None:
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).requires_grad_(False)
    x = torch.rand(5, 1, 3, 4)
    y = torch.tensor([0, 1, 2, 0, 1])
    weight, bias = linear[1].weight, linear[1].bias
    # ∇x CE(Wx + b, y) = Wᵀ(softmax(Wx + b) − onehot(y)); the mean over the batch only scales it.
    grad = (torch.softmax(x.flatten(1) @ weight.T + bias, dim=1) - nn.functional.one_hot(y, 3)) @ weight
    eps = 0.1
    expected = (x.flatten(1) + eps * grad.sign()).clamp(0, 1).view_as(x)
    fgsm = resolve_setting({"attack": "fgsm", "eps": eps}, "digits")
    assert torch.allclose(run_attack(fgsm, linear, x, y, _context(linear)), expected, atol=1e-7)
    l2_step = eps * grad / grad.norm(dim=1, keepdim=True)
    fgm_l2 = resolve_setting({"attack": "fgm_l2", "eps": eps}, "digits")
    expected_l2 = (x.flatten(1) + l2_step).clamp(0, 1).view_as(x)
    assert torch.allclose(run_attack(fgm_l2, linear, x, y, _context(linear)), expected_l2, atol=1e-6)


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_attack_stays_in_the_image_box_and_its_eps_ball(name: str, digits, quick_settings: dict) -> None:
    model, images, labels = digits
    count = 2 if name in ("jsma", "spsa") else 20
    x, y = images[:count], labels[:count]
    attack = resolve_setting({"attack": name, **quick_settings[name]}, "digits")
    torch.manual_seed(0)
    adv = run_attack(attack, model, x, y, _context(model))
    assert adv.shape == x.shape
    assert adv.min() >= 0 and adv.max() <= 1
    if attack.norm == "linf":
        assert (adv - x).abs().max() <= attack.eps + 1e-6
    if attack.norm == "l2" and attack.eps is not None:
        assert (adv - x).flatten(1).norm(dim=1).max() <= attack.eps * (1 + 1e-6)
    assert not torch.equal(adv, x)


def test_pgd_at_0_3_leaves_the_undefended_model_near_zero(digits) -> None:
    model, x, y = digits
    torch.manual_seed(0)
    adv = run_attack(resolve_setting({"attack": "pgd", "eps": 0.3}, "digits"), model, x, y, _context(model))
    assert (model(adv).argmax(dim=1) == y).float().mean() <= 0.02


def test_carlini_wagner_fools_the_undefended_model(digits) -> None:
    model, x, y = digits
    setting = {"attack": "cw_l2", "binary_search_steps": 3, "max_iterations": 100, "lr": 0.1}
    adv = run_attack(resolve_setting(setting, "digits"), model, x, y, _context(model))
    clean_correct = model(x).argmax(dim=1) == y
    fooled = model(adv).argmax(dim=1) != y
    assert (fooled & clean_correct).sum() / clean_correct.sum() >= 0.95


def test_carlini_wagner_keeps_each_sample_s_smallest_distortion_over_all_iterations(digits) -> None:
    """Twice the iterations repeat the first half's path, so no success may grow and some must shrink."""
    model, x, y = digits
    setting = {"attack": "cw_l2", "binary_search_steps": 1, "max_iterations": 20, "lr": 0.1, "abort_early": False}
    short = run_attack(resolve_setting(setting, "digits"), model, x, y, _context(model))
    long = run_attack(resolve_setting({**setting, "max_iterations": 40}, "digits"), model, x, y, _context(model))
    fooled_short, fooled_long = model(short).argmax(dim=1) != y, model(long).argmax(dim=1) != y
    assert (fooled_long | ~fooled_short).all()
    l2 = lambda adv: (adv - x).flatten(1).norm(dim=1)[fooled_short]  # noqa: E731
    assert (l2(long) <= l2(short) + 1e-5).all() and l2(long).mean() < 0.99 * l2(short).mean()


class _Rows(nn.Module):
    """The model, counting the images it is fed."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.rows = model, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += len(x)
        return self.model(x)


def test_carlini_wagner_early_abort_saves_model_passes_and_keeps_the_distortion(digits) -> None:
    model, x, y = digits
    setting = {"attack": "cw_l2", "binary_search_steps": 3, "max_iterations": 100, "lr": 0.05, "initial_const": 0.1}
    runs = {}
    for abort in (True, False):
        counted = _Rows(model)
        adv = run_attack(resolve_setting({**setting, "abort_early": abort}, "digits"), counted, x, y, _context(model))
        runs[abort] = (adv, counted.rows)
    (aborted, aborted_rows), (full, full_rows) = runs[True], runs[False]
    assert aborted_rows < 0.8 * full_rows
    accuracy = lambda adv: float((model(adv).argmax(dim=1) == y).float().mean())  # noqa: E731
    assert accuracy(aborted) <= accuracy(full) + 1 / len(y)
    fooled = (model(aborted).argmax(dim=1) != y) & (model(full).argmax(dim=1) != y)
    l2 = lambda adv: (adv - x).flatten(1).norm(dim=1)[fooled].mean()  # noqa: E731
    assert l2(aborted) <= 1.05 * l2(full)


def test_carlini_wagner_treats_each_sample_as_if_alone(digits) -> None:
    """Early aborts gather the samples still running: each sample's result must not depend on the others."""
    model, x, y = digits
    setting = resolve_setting({"attack": "cw_l2", "binary_search_steps": 2, "max_iterations": 50, "lr": 0.05,
                               "initial_const": 0.1}, "digits")
    whole = run_attack(setting, model, x, y, _context(model))
    part = run_attack(setting, model, x[10:20], y[10:20], _context(model))
    assert torch.allclose(whole[10:20], part, atol=1e-4)


def test_max_confidence_reaches_the_confidence_of_the_unattacked_wrong_classes(digits) -> None:
    model, x, y = digits
    probs = lambda images: model(images).softmax(dim=1)  # noqa: E731
    wrong_before = probs(x).scatter(1, y[:, None], 0).amax(dim=1)
    adv = run_attack(resolve_setting({"attack": "max_confidence"}, "digits"), model, x, y, _context(model))
    wrong_after = probs(adv).scatter(1, y[:, None], 0).amax(dim=1)
    assert (wrong_after >= wrong_before - 1e-6).all()
    assert (probs(adv).argmax(dim=1) != y).float().mean() >= 0.95
    assert wrong_after.mean() > 0.9


def test_transfer_crafts_on_the_surrogate_not_on_the_target(digits) -> None:
    model, x, y = digits
    x, y = x[:10], y[:10]
    blind = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).requires_grad_(False)  # a target the attack must not use
    context = AttackContext(10, lambda images: blind(images).softmax(dim=1), 0,
                            Surrogate(model, lambda images: model(images).softmax(dim=1)))
    transfer = resolve_setting({"attack": "transfer", "base_attack": "fgsm"}, "digits")
    expected = run_attack(resolve_setting({"attack": "fgsm"}, "digits"), model, x, y, _context(model))
    assert torch.equal(run_attack(transfer, blind, x, y, context), expected)
    with pytest.raises(UserError, match="surrogate"):
        run_attack(transfer, blind, x, y, AttackContext(10, context.probabilities))
