"""The project's C&W L2 and SPSA against cleverhans's ``carlini_wagner_l2`` and ``spsa`` on the same inputs.

The project's versions must be at least as strong: equal or lower adversarial accuracy.
"""

from pathlib import Path

import pytest
import torch
from cleverhans.torch.attacks.carlini_wagner_l2 import carlini_wagner_l2 as reference_cw
from cleverhans.torch.attacks.spsa import spsa as reference_spsa

from newlogic.attacks import AttackContext, resolve_setting
from newlogic.attacks.carlini import carlini_wagner_l2
from newlogic.attacks.spsa import spsa_gradient
from newlogic.data import load_dataset
from newlogic.store.model_dir import load_trained_model


@pytest.mark.parametrize(("steps", "iterations", "lr", "const"), [
    (1, 50, 0.5, 1.0),  # the paper preset
    (3, 30, 0.01, 0.1),  # several binary-search steps, a small learning rate: many samples fail at first
])
def test_project_cw_is_at_least_as_strong_as_cleverhans(digits_model_dir: Path, steps: int, iterations: int,
                                                        lr: float, const: float) -> None:
    model = load_trained_model(digits_model_dir).model.requires_grad_(False)
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(1))[:50]
    x, y = test.images[order], test.labels[order]
    params = {"binary_search_steps": steps, "max_iterations": iterations, "lr": lr, "initial_const": const}
    ours = carlini_wagner_l2(model, x, y, **params)
    theirs = reference_cw(model, x, 10, y=y, **params)
    with torch.no_grad():
        ours_accuracy = (model(ours).argmax(dim=1) == y).float().mean()
        theirs_accuracy = (model(theirs).argmax(dim=1) == y).float().mean()
    assert ours_accuracy <= theirs_accuracy
    assert ours_accuracy < (model(x).argmax(dim=1) == y).float().mean()


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


def test_project_spsa_is_at_least_as_strong_as_cleverhans(digits_model_dir: Path) -> None:
    model = load_trained_model(digits_model_dir).model.requires_grad_(False)
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(1))[:40]
    x, y = test.images[order], test.labels[order]
    params = {"eps": 0.3, "nb_iter": 10, "spsa_samples": 16, "learning_rate": 0.05, "delta": 0.01}
    setting = resolve_setting({"attack": "spsa", **params}, "digits")
    torch.manual_seed(0)
    ours = setting.run(model, x, y, AttackContext(10, lambda v: model(v).softmax(dim=1)))
    torch.manual_seed(0)
    theirs = reference_spsa(model, x, params["eps"], params["nb_iter"], clip_min=0.0, clip_max=1.0, y=y,
                            learning_rate=params["learning_rate"], delta=params["delta"],
                            spsa_samples=params["spsa_samples"])
    with torch.no_grad():
        clean_accuracy = (model(x).argmax(dim=1) == y).float().mean()
        ours_accuracy = (model(ours).argmax(dim=1) == y).float().mean()
        theirs_accuracy = (model(theirs).argmax(dim=1) == y).float().mean()
    assert ours_accuracy <= theirs_accuracy
    assert ours_accuracy <= clean_accuracy - 0.3, (float(clean_accuracy), float(ours_accuracy))
    assert (ours - x).abs().max() <= params["eps"] + 1e-6
