"""Attacks with known answers: analytic FGM steps, bounds, an undefended model falling, MaxConfidence, presets."""

from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.attacks import CATALOG, catalog, resolve_setting
from newlogic.attacks.apgd import apgd
from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext, Surrogate
from newlogic.attacks.losses import LOSSES
from newlogic.data import load_dataset
from newlogic.errors import UserError
from newlogic.evaluation.batches import evaluate_attack
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.partial import batch_seed
from newlogic.evaluation.shuffled import ShuffledTest


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


def test_losses_by_hand() -> None:
    scores = torch.tensor([[3.0, 1.0, 2.0, 0.0], [0.0, 5.0, 1.0, -1.0]])
    y = torch.tensor([0, 2])
    assert torch.equal(LOSSES["margin"](scores, y), torch.tensor([-1.0, 4.0]))  # max_{j≠y} s_j − s_y
    assert torch.allclose(LOSSES["dlr"](scores, y), torch.tensor([-(3 - 2) / (3 - 1), -(1 - 5) / (5 - 0)]))
    expected_ce = torch.logsumexp(scores, dim=1) - scores[[0, 1], y]
    assert torch.allclose(LOSSES["ce"](scores, y), expected_ce)
    assert torch.allclose(LOSSES["margin"](10 * scores, y), 10 * LOSSES["margin"](scores, y))
    assert torch.allclose(LOSSES["dlr"](10 * scores, y), LOSSES["dlr"](scores, y))


def test_the_catalog_choices_are_the_implementations() -> None:
    from newlogic.attacks import losses, pgd

    assert tuple(losses.LOSSES) == catalog.LOSSES
    assert tuple(pgd.DIRECTIONS) == catalog.STEP_NORMS


def test_l2_directions_have_length_one_or_zero_without_a_floor() -> None:
    from newlogic.attacks.pgd import project, unit_l2

    g = torch.tensor([[3e-30, 4e-30, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    assert torch.allclose(unit_l2(g), torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.0, 0.0], [0.6, 0.0, 0.8]]))
    assert torch.allclose(project(g, "l2", 1.0)[2], torch.tensor([0.6, 0.0, 0.8]))
    assert torch.equal(project(g[:1], "l2", 1.0), g[:1])


def _linear_model(scale: float) -> nn.Module:
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    with torch.no_grad():
        linear[1].weight.mul_(scale)
        linear[1].bias.mul_(scale)
    return linear.requires_grad_(False)


def test_strong_fgm_on_a_linear_model_steps_exactly_eps_along_the_margin_gradient() -> None:
    linear = _linear_model(1.0)
    x = 0.4 + 0.2 * torch.rand(6, 1, 3, 4)  # far from the box's edges: no clipping at ε 0.05
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    weight = linear[1].weight
    runner_up = (linear(x).scatter(1, y[:, None], float("-inf"))).argmax(dim=1)
    w = weight[runner_up] - weight[y]  # ∇x (s_j* − s_y) for W x + b
    eps = 0.05
    fgsm = resolve_setting({"attack": "fgsm", "preset": "strong", "eps": eps}, "digits")
    assert torch.allclose(run_attack(fgsm, linear, x, y, _context(linear)), x + eps * w.sign().view_as(x))
    fgm_l2 = resolve_setting({"attack": "fgm_l2", "preset": "strong", "eps": eps}, "digits")
    adv = run_attack(fgm_l2, linear, x, y, _context(linear))
    assert torch.allclose(adv, x + (eps * w / w.norm(dim=1, keepdim=True)).view_as(x), atol=1e-7)
    assert torch.allclose((adv - x).flatten(1).norm(dim=1), torch.full((6,), eps), rtol=1e-5)
    confident = _linear_model(1000.0)  # scores 1000 times larger: the same steps
    assert torch.allclose(run_attack(fgm_l2, confident, x, y, _context(confident)), adv, atol=1e-6)


def test_strong_cross_entropy_steps_keep_their_length_where_cleverhans_s_shrink() -> None:
    """A confident model in a batch of 100: cleverhans divides each gradient by 100 and floors ‖g‖² at 1e−12."""
    confident = _linear_model(40.0)
    x = 0.1 + 0.8 * torch.rand(100, 1, 3, 4)  # no clipping at ε 0.01
    y = confident(x).argmax(dim=1)
    eps = 0.01
    lengths = {}
    for preset, extra in (("strong", {"loss": "ce"}), ("paper", {})):
        attack = resolve_setting({"attack": "fgm_l2", "preset": preset, "eps": eps, **extra}, "digits")
        adv = run_attack(attack, confident, x, y, _context(confident))
        lengths[preset] = (adv - x).flatten(1).norm(dim=1)
    moved = lengths["strong"] > 0
    assert moved.float().mean() > 0.9
    assert torch.allclose(lengths["strong"][moved], torch.full((int(moved.sum()),), eps), rtol=1e-5)
    assert lengths["paper"].median() < eps / 2


def test_an_undefended_model_falls_under_the_strong_bim_and_the_adaptive_attack(digits) -> None:
    model, x, y = digits
    for setting in ({"attack": "bim", "preset": "strong", "eps": 0.3},
                    {"attack": "adaptive", "eps": 0.3, "nb_iter": 20, "restarts": 1}):
        adv = run_attack(resolve_setting(setting, "digits"), model, x, y, _context(model))
        assert (model(adv).argmax(dim=1) == y).float().mean() <= 0.02, setting


class _Inputs(nn.Module):
    """The model, keeping every batch it is fed."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.model(x)


def test_apgd_starts_come_from_the_batch_seed_and_leave_the_global_rng_alone(digits) -> None:
    model, x, y = digits
    starts = {}
    for seed in (1, 2, 1):
        recorder = _Inputs(model)
        state = torch.get_rng_state()
        apgd(recorder, x[:8], y[:8], loss="ce", norm="Linf", eps=0.1, steps=2, restarts=1, seed=seed,
             num_classes=10)
        assert torch.equal(torch.get_rng_state(), state)
        start = recorder.seen[1]  # after the clean pass: the random start
        if seed in starts:
            assert torch.equal(start, starts[seed])
        starts[seed] = start
    assert not torch.equal(starts[1], starts[2])


def test_every_batch_gets_its_own_seed(digits_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = []

    def recording(target, x, y, attack, context):
        seeds.append(context.seed)
        return x.clone()

    monkeypatch.setattr("newlogic.attacks.gradient.fgsm", recording)
    trained = load_trained_model(digits_model_dir)
    test = load_dataset("digits", digits_model_dir.parent)[1]
    evaluate_attack(ShuffledTest(test, 0, trained.model, "softmax", torch.device("cpu")), 8,
                    resolve_setting({"attack": "fgsm"}, "digits"), seed=5, batch_size=4)
    assert seeds == [batch_seed(5, 0), batch_seed(5, 4)] and seeds[0] != seeds[1]
