"""bench/scale_invariance.py in small (issues 21, 28): the strong attacks do not depend on the scale of the scores.

Scores ``k·s`` (k = 100) give the same predictions and the same robustness as ``s``; each strong
attack's adversarial accuracy on the digits ReLU model must move by at most 1 point. The strong
suite's APGD member (APGD-DLR + APGD-T) must do so over every k of the bench (0.01 … 1000) on the
bench's ReLU, min/max-out and sigmoid/BCE models. The paper preset's cleverhans FGM-L2 (batch-mean
cross-entropy, ‖g‖² floored at 1e−12) and AutoAttack's APGD-CE do move: the artefact this measures.
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
SUITE_IMAGES = 50  # the suite's APGD member over every k of the bench, on three models
CE_SCALES = (1.0, 1000.0)
# the project's strong gradient attacks, at a few steps (the bench runs them in full, and the suite's APGD and Square)
QUICK = {"fgsm": {}, "fgm_l2": {}, "bim": {"nb_iter": 5}, "pgd": {"nb_iter": 5, "restarts": 2},
         "adaptive": {"nb_iter": 5, "restarts": 2}}


@pytest.fixture(scope="module")
def bench_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[nn.Module, str]], torch.Tensor,
                                                                     torch.Tensor]:
    """The bench's three models (ReLU, ReLog min/max-out, sigmoid/BCE) and its first ``IMAGES`` test images."""
    cache = tmp_path_factory.mktemp("scale")
    x, y = scale_invariance.test_images(IMAGES, cache)
    return scale_invariance.trained_models(cache), x, y


@pytest.mark.slow  # 3 models × 5 scales, ~1 min (the bench adds L2); the fixture trains 3 digits models
def test_the_suites_apgd_member_does_not_depend_on_the_score_scale(bench_models) -> None:
    models, x, y = bench_models
    deviation, accuracies = scale_invariance.scale_deviation(models, x[:SUITE_IMAGES], y[:SUITE_IMAGES],
                                                             scale_invariance.STRONG["apgd"])
    assert deviation <= 1.0, accuracies
    assert all(row[0] < 0.9 for row in accuracies), accuracies  # the attack does something at this ε


@pytest.mark.slow  # ~1 min
def test_apgd_ce_depends_on_the_score_scale(bench_models) -> None:
    """The loss the suite leaves out: APGD-CE + APGD-T moves (this test can see a scale-dependent member)."""
    models, x, y = bench_models
    deviation, accuracies = scale_invariance.scale_deviation(models, x, y, scale_invariance.PAPER["apgd_ce"],
                                                             CE_SCALES)
    assert deviation > 1.0, accuracies


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
