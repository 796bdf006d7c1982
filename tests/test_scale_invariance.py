"""bench/scale_invariance.py in small (issue 21): the strong attacks do not depend on the scale of the scores.

Scores ``k·s`` (k = 100) give the same predictions and the same robustness as ``s``; each strong
attack's adversarial accuracy on the digits ReLU model must move by at most 1 point. The paper
preset's cleverhans FGM-L2 (batch-mean cross-entropy, ‖g‖² floored at 1e−12) does move: the
artefact this measures.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.data import load_dataset
from newlogic.evaluation.model_loading import load_trained_model

BENCH = Path(__file__).resolve().parents[1] / "bench" / "scale_invariance.py"
_spec = importlib.util.spec_from_file_location("scale_invariance", BENCH)
scale_invariance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale_invariance)

SCALES = (1.0, 100.0)
IMAGES = 100
# the project's strong gradient attacks, at a few steps (the bench runs them in full, and the suite's APGD and Square)
QUICK = {"fgsm": {}, "fgm_l2": {}, "bim": {"nb_iter": 5}, "pgd": {"nb_iter": 5, "restarts": 2},
         "adaptive": {"nb_iter": 5, "restarts": 2}}


@pytest.fixture(scope="module")
def relu(digits_model_dir: Path) -> tuple[list[tuple[nn.Module, str]], torch.Tensor, torch.Tensor]:
    model = load_trained_model(digits_model_dir).model.requires_grad_(False).eval()
    test = load_dataset("digits")[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:IMAGES]
    return [(model, "softmax")], test.images[order], test.labels[order]


@pytest.mark.parametrize("name", list(QUICK))
def test_strong_attacks_do_not_depend_on_the_score_scale(relu, name: str) -> None:
    models, x, y = relu
    setting = {**scale_invariance.STRONG[name], **QUICK[name]}
    deviation, accuracies = scale_invariance.scale_deviation(models, x, y, setting, SCALES)
    assert deviation <= 1.0, accuracies
    assert accuracies[0][0] < 0.9  # the attack does something at this ε


def test_the_paper_fgm_l2_depends_on_the_score_scale(relu) -> None:
    models, x, y = relu
    deviation, accuracies = scale_invariance.scale_deviation(models, x, y, scale_invariance.PAPER["fgm_l2"], SCALES)
    assert deviation > 5.0, accuracies
