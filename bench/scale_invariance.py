"""Scale invariance of the attacks (issue 21): multiply a model's scores by k, the accuracy under attack must not move.

Scores ``k·s`` (k > 0) give the same predictions and the same true robustness as ``s``, so an
attack's adversarial accuracy at k = 0.01, 1, 20, 100, 1000 (``SCALES``) should be the same.
Trained models (``digits``, ``TRAIN_EPOCHS`` epochs, cached in ``<tmp>/newlogic-bench-scale``): ``relu`` (the baseline),
``relog-minmaxout_2_4`` (ReLog with min/max-out folding) and ``relu-bce`` (sigmoid outputs,
binary cross-entropy). Every attack runs on the same ``--images`` test images (shuffled with seed
0) with the context seed 0, at each k, through ``newlogic.attacks.base.run_attack``.

Attacks: the strong suite (``STRONG``: the strong presets of the project's FGSM, FGM-L2, BIM and
PGD, which step on a margin or DLR loss; the adaptive attack; the suite's APGD member, APGD-DLR +
APGD-T in L∞ and L2, and its Square, at the quick budget, as ``newlogic.attacks.suite`` writes
them) and the scale-dependent ones (``PAPER``: the paper preset's cleverhans FGSM, FGM-L2 and BIM,
kept as the 2019 code ran them, and AutoAttack's APGD-CE + APGD-T: cross-entropy, the loss the
suite leaves out for this). Prints, per attack, the largest deviation over models and k of
the adversarial accuracy from its value at k = 1, in points of accuracy:

    scale_invariance_max_deviation_<attack> X     (strong suite: each must be <= 1)
    paper_scale_deviation_<attack> X              (paper preset: stated, not bounded)

and the accuracies themselves on stderr.

    .venv/bin/python bench/scale_invariance.py [--images 200] [--threads 2]
"""

import argparse
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext
from newlogic.attacks.suite import PROFILES
from newlogic.data import load_dataset
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.nn.outputs import OUTPUTS

DATASET = "digits"
TRAIN_EPOCHS = 3
MODELS = ("relu", "relog-minmaxout_2_4", "relu-bce")
SCALES = (1.0, 0.01, 20.0, 100.0, 1000.0)  # the first is the reference
EPS_LINF, EPS_L2 = 0.1, 1.0  # where the undefended digits models are partly, not wholly, fooled
STRONG: dict[str, dict[str, Any]] = {
    "fgsm": {"attack": "fgsm", "preset": "strong", "eps": EPS_LINF},
    "fgm_l2": {"attack": "fgm_l2", "preset": "strong", "eps": EPS_L2},
    "bim": {"attack": "bim", "preset": "strong", "eps": EPS_LINF},
    "pgd": {"attack": "pgd", "preset": "strong", "eps": EPS_LINF},
    "adaptive": {"attack": "adaptive", "eps": EPS_LINF},
    "apgd": {**PROFILES["quick"]["apgd"], "eps": EPS_LINF, "norm": "Linf"},
    "apgd_l2": {**PROFILES["quick"]["apgd"], "eps": EPS_L2, "norm": "L2"},
    "square": {**PROFILES["quick"]["square"], "eps": EPS_LINF, "norm": "Linf"},
}
PAPER: dict[str, dict[str, Any]] = {
    "fgsm": {"attack": "fgsm", "preset": "paper", "eps": EPS_LINF},
    "fgm_l2": {"attack": "fgm_l2", "preset": "paper", "eps": EPS_L2},
    "bim": {"attack": "bim", "preset": "paper", "eps": EPS_LINF},
    "apgd_ce": {**PROFILES["quick"]["apgd"], "components": ["apgd-ce", "apgd-t"], "eps": EPS_LINF, "norm": "Linf"},
}


class Scaled(nn.Module):
    """``x ↦ k·model(x)``: the same predictions, scores ``k`` times larger."""

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.model(x)


def adversarial_accuracy(model: nn.Module, output: str, x: torch.Tensor, y: torch.Tensor,
                         setting: Mapping[str, Any]) -> float:
    """The fraction of ``x`` classified right after the attack ``setting`` (context seed 0, global RNG seed 0)."""
    attack = resolve_setting(setting, DATASET)
    context = AttackContext(10, lambda v: OUTPUTS[output].probabilities(model(v)), seed=0)
    torch.manual_seed(0)
    adv = run_attack(attack, model, x, y, context)
    with torch.no_grad():
        return float((model(adv).argmax(dim=1) == y).float().mean())


def scale_deviation(models: Iterable[tuple[nn.Module, str]], x: torch.Tensor, y: torch.Tensor,
                    setting: Mapping[str, Any], scales: Iterable[float] = SCALES,
                    ) -> tuple[float, list[list[float]]]:
    """(largest |accuracy at k − accuracy at k = 1| in points over the models and ``scales``, the accuracies).

    ``models``: (model, output) pairs; the first scale is the reference.
    """
    accuracies = [[adversarial_accuracy(Scaled(model, k), output, x, y, setting) for k in scales]
                  for model, output in models]
    deviation = max(abs(row[i] - row[0]) for row in accuracies for i in range(len(row)))
    return 100 * deviation, accuracies


def trained_models(cache: Path) -> list[tuple[nn.Module, str]]:
    """``MODELS`` trained on digits (``TRAIN_EPOCHS`` epochs, seed 0) in ``cache``, loaded, gradients off."""
    from newlogic.training.run import run_training

    loaded = []
    for name in MODELS:
        out_dir = cache / name
        run_training(name, DATASET, out_dir, data_dir=cache, seed=0, device="cpu",
                     training={"epochs": TRAIN_EPOCHS}, architecture={})
        trained = load_trained_model(out_dir)
        loaded.append((trained.model.requires_grad_(False).eval(), trained.spec.output))
    return loaded


def test_images(count: int, data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` digits test images in the order of seed 0, with their labels."""
    test = load_dataset(DATASET, data_dir)[1]
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(0))[:count]
    return test.images[order], test.labels[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = Path(tempfile.gettempdir()) / "newlogic-bench-scale"
    models = trained_models(cache)
    x, y = test_images(args.images, cache)
    print(f"models {', '.join(MODELS)}; {args.images} digits images; scales {SCALES}", file=sys.stderr)
    for prefix, settings in (("scale_invariance_max_deviation", STRONG), ("paper_scale_deviation", PAPER)):
        for name, setting in settings.items():
            deviation, accuracies = scale_deviation(models, x, y, setting)
            print(f"{prefix}_{name} {deviation:.1f}", flush=True)
            for model_name, row in zip(MODELS, accuracies, strict=True):
                print(f"  {prefix}_{name} {model_name}: " + ", ".join(f"k={k:g} {100 * a:.1f}%"
                                                                     for k, a in zip(SCALES, row, strict=True)),
                      file=sys.stderr)


if __name__ == "__main__":
    main()
