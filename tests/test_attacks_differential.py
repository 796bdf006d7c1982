"""The project's attacks against the reference implementations on one fixed model and the same 64 images (issue 16).

FGSM, FGM-L2, BIM and PGD without random start (cleverhans in the project) agree exactly with
torchattacks; C&W L2 is at least as strong as cleverhans's ``carlini_wagner_l2`` (adversarial
accuracy at most 1 point higher, mean L2 over the images both fooled at most 5 % larger); the APGD port
gives every sample torchattacks's verdict, and AutoAttack's robust accuracy equals torchattacks's
``AutoAttack`` within 1 point; SPSA is at least as strong as cleverhans's.
"""

from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.apgd import CE, DLR, DLR_TARGETED, apgd
from newlogic.attacks.autoattack import SURVIVED, chain_robust_accuracy
from newlogic.attacks.base import run_attack
from newlogic.attacks.carlini import carlini_wagner_l2
from newlogic.attacks.context import AttackContext
from newlogic.attacks.gradient import pgd_linf
from newlogic.attacks.spsa import spsa_gradient
from newlogic.data import load_dataset
from newlogic.evaluation.model_loading import load_trained_model

IMAGES = 64  # a power of two: torchattacks's mean cross-entropy is cleverhans's sum scaled exactly


@pytest.fixture(scope="module")
def fixed(digits_model_dir: Path) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The digits ReLU model and 64 of its test images (shuffled with seed 1)."""
    model = load_trained_model(digits_model_dir).model.requires_grad_(False)
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(1))[:IMAGES]
    return model, test.images[order], test.labels[order]


def _context(model: nn.Module, records: dict | None = None) -> AttackContext:
    return AttackContext(10, lambda v: model(v).softmax(dim=1), records=records)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def _l2_of_common_successes(model: nn.Module, x: torch.Tensor, y: torch.Tensor, ours: torch.Tensor,
                            theirs: torch.Tensor) -> tuple[float, float]:
    """Mean L2 of both attacks over the images both fooled (classified right before, wrong after).

    Over each attack's own successes the stronger attack would be charged for the hard images only it fools.
    """
    with torch.no_grad():
        both = (model(x).argmax(dim=1) == y) & (model(ours).argmax(dim=1) != y) & (model(theirs).argmax(dim=1) != y)
    assert both.sum() >= len(y) // 2
    ours_l2, theirs_l2 = ((adv - x).flatten(1).norm(dim=1)[both].mean() for adv in (ours, theirs))
    return float(ours_l2), float(theirs_l2)


def _torchattacks_pgd_l2_one_step(model: nn.Module, eps: float) -> object:
    import torchattacks

    return torchattacks.PGDL2(model, eps=eps, alpha=eps, steps=1, random_start=False)


@pytest.mark.parametrize(("setting", "reference"), [
    ({"attack": "fgsm", "eps": 0.2}, lambda ta, model: ta.FGSM(model, eps=0.2)),
    ({"attack": "fgm_l2", "eps": 2.0}, lambda _ta, model: _torchattacks_pgd_l2_one_step(model, 2.0)),
    ({"attack": "bim", "eps": 0.1}, lambda ta, model: ta.BIM(model, eps=0.1, alpha=0.1 / 3, steps=5)),
])
def test_gradient_attacks_equal_torchattacks(fixed, setting: dict, reference) -> None:
    import torchattacks

    model, x, y = fixed
    ours = run_attack(resolve_setting(setting, "digits"), model, x, y, _context(model))
    theirs = reference(torchattacks, model)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-5), float((ours - theirs).abs().max())
    with torch.no_grad():
        assert torch.equal(model(ours).argmax(dim=1), model(theirs).argmax(dim=1))
    assert _accuracy(model, ours, y) < _accuracy(model, x, y)


def test_pgd_without_random_start_equals_torchattacks(fixed) -> None:
    import torchattacks

    model, x, y = fixed
    params = resolve_setting({"attack": "pgd", "preset": "strong", "eps": 0.1}, "digits").params
    ours = pgd_linf(model, x, y, eps=params["eps"], eps_iter=params["eps_iter"], nb_iter=params["nb_iter"],
                    rand_init=False)
    theirs = torchattacks.PGD(model, eps=params["eps"], alpha=params["eps_iter"], steps=params["nb_iter"],
                              random_start=False)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-5), float((ours - theirs).abs().max())
    with torch.no_grad():
        assert torch.equal(model(ours).argmax(dim=1), model(theirs).argmax(dim=1))


@pytest.mark.slow  # ~30 s: cleverhans's C&W loops over the images in Python at every iteration
@pytest.mark.parametrize(("steps", "iterations", "lr", "const", "abort"), [
    (1, 50, 0.5, 1.0, False),  # the paper preset
    (3, 60, 0.05, 0.01, True),  # a binary search from a small constant: many samples fail at first, early aborts
])
def test_project_cw_is_as_strong_as_cleverhans(fixed, steps: int, iterations: int, lr: float, const: float,
                                               abort: bool) -> None:
    from cleverhans.torch.attacks.carlini_wagner_l2 import carlini_wagner_l2 as reference_cw

    model, x, y = fixed
    params = {"binary_search_steps": steps, "max_iterations": iterations, "lr": lr, "initial_const": const}
    ours = carlini_wagner_l2(model, x, y, abort_early=abort, **params)
    theirs = reference_cw(model, x, 10, y=y, **params)
    assert _accuracy(model, ours, y) <= _accuracy(model, theirs, y) + 0.01
    assert _accuracy(model, ours, y) < _accuracy(model, x, y) - 0.5
    ours_l2, theirs_l2 = _l2_of_common_successes(model, x, y, ours, theirs)
    # Carlini's early abort (cleverhans has none) stops a binary-search step before its distortion stops
    # shrinking: it cost 6–7 % of L2 on mnist5k (issue 16), here 6 % (0.861 against 0.812) with this machine's model
    assert ours_l2 <= (1.10 if abort else 1.05) * theirs_l2, (ours_l2, theirs_l2)


@pytest.mark.parametrize(("loss", "norm", "eps"), [(CE, "Linf", 0.1), (DLR_TARGETED, "Linf", 0.1), (CE, "L2", 1.0),
                                                  (DLR, "Linf", 0.1)])
def test_apgd_port_gives_every_sample_the_verdict_of_torchattacks(fixed, loss: str, norm: str, eps: float) -> None:
    import torchattacks

    model, x, y = fixed
    steps = 10
    ours = apgd(model, x, y, loss=loss, norm=norm, eps=eps, steps=steps, restarts=1, seed=0, num_classes=10)
    reference = (torchattacks.APGD(model, norm=norm, eps=eps, steps=steps, n_restarts=1, seed=0, loss=loss)
                 if loss in (CE, DLR) else
                 torchattacks.APGDT(model, norm=norm, eps=eps, steps=steps, n_restarts=1, seed=0, n_classes=10))
    theirs = reference(x, y)
    with torch.no_grad():
        ours_right, theirs_right = model(ours).argmax(dim=1) == y, model(theirs).argmax(dim=1) == y
    assert torch.equal(ours_right, theirs_right)
    assert 0 < ours_right.float().mean() < _accuracy(model, x, y)  # a bound where some samples resist
    distance = (ours - x).flatten(1).abs().amax(dim=1) if norm == "Linf" else (ours - x).flatten(1).norm(dim=1)
    assert distance.max() <= eps * (1 + 1e-5)


@pytest.mark.slow  # ~40 s: FAB-T and Square on the samples APGD leaves
def test_autoattack_robust_accuracy_equals_torchattacks(fixed) -> None:
    import torchattacks

    model, x, y = fixed
    queries = 300
    setting = {"attack": "autoattack", "eps": 0.08, "apgd_steps": 10, "fab_steps": 10, "square_queries": queries}
    records: dict = {}
    ours = run_attack(resolve_setting(setting, "digits"), model, x, y, _context(model, records))
    reference = torchattacks.AutoAttack(model, norm="Linf", eps=0.08, version="standard", n_classes=10, seed=0)
    reference._autoattack.attacks[-1].n_queries = queries  # its Square, at the same query budget
    theirs = reference(x, y)
    assert abs(_accuracy(model, ours, y) - _accuracy(model, theirs, y)) <= 0.01 + 1e-9
    along = chain_robust_accuracy(records[SURVIVED].numpy(), ["apgd-ce", "apgd-t", "fab-t", "square"])
    assert list(along.values()) == sorted(along.values(), reverse=True)
    assert along["square"] == pytest.approx(_accuracy(model, ours, y))
    assert along["apgd-ce"] < _accuracy(model, x, y)


def test_spsa_gradient_is_the_gradient_at_the_iterate() -> None:
    """For L(x) = Σx² (scores [Σx², 0], label 0) the central difference is exact: ĝ → ∇L(x) = 2x, not ∇L(2x)."""
    torch.manual_seed(0)
    x = torch.rand(3, 1, 2, 4) + 0.5

    def target(v: torch.Tensor) -> torch.Tensor:
        return torch.stack([(v ** 2).flatten(1).sum(dim=1), torch.zeros(len(v))], dim=1)

    estimate = spsa_gradient(target, x, torch.zeros(3, dtype=torch.long), delta=0.01, samples=20000)
    exact = 2 * x
    cosine = torch.nn.functional.cosine_similarity(estimate.flatten(1), exact.flatten(1))
    assert (cosine > 0.99).all()
    assert torch.allclose(estimate.flatten(1).norm(dim=1), exact.flatten(1).norm(dim=1), rtol=0.05)


def test_project_spsa_is_at_least_as_strong_as_cleverhans(fixed) -> None:
    from cleverhans.torch.attacks.spsa import spsa as reference_spsa

    model, x, y = fixed
    x, y = x[:40], y[:40]
    params = {"eps": 0.3, "nb_iter": 10, "spsa_samples": 16, "learning_rate": 0.05, "delta": 0.01}
    setting = resolve_setting({"attack": "spsa", **params}, "digits")
    torch.manual_seed(0)
    ours = run_attack(setting, model, x, y, _context(model))
    torch.manual_seed(0)
    theirs = reference_spsa(model, x, params["eps"], params["nb_iter"], clip_min=0.0, clip_max=1.0, y=y,
                            learning_rate=params["learning_rate"], delta=params["delta"],
                            spsa_samples=params["spsa_samples"])
    ours_accuracy, theirs_accuracy = _accuracy(model, ours, y), _accuracy(model, theirs, y)
    assert ours_accuracy <= theirs_accuracy
    assert ours_accuracy <= _accuracy(model, x, y) - 0.3, (_accuracy(model, x, y), ours_accuracy)
    assert (ours - x).abs().max() <= params["eps"] + 1e-6
