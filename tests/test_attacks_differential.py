"""The project's C&W L2 against cleverhans's ``carlini_wagner_l2``: same model, samples and parameters.

The project's version must be at least as strong: equal or lower adversarial accuracy.
"""

from pathlib import Path

import pytest
import torch
from cleverhans.torch.attacks.carlini_wagner_l2 import carlini_wagner_l2 as reference_cw

from newlogic.attacks.carlini import carlini_wagner_l2
from newlogic.data import load_dataset
from newlogic.model_dir import load_trained_model


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
