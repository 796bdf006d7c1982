"""The paper's threat model as an option (SPEC §3): ε in normalised units, clip ±C, the rest of the attack unchanged."""

import pytest
import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.base import run_attack
from newlogic.attacks.catalog import AttackEntry
from newlogic.attacks.context import AttackContext
from newlogic.attacks.resolve import ResolvedAttack, resolve_parameters
from newlogic.data import dataset_info
from newlogic.errors import UserError
from newlogic.study_loader import study_from_config

CIFAR = dataset_info("cifar10")
MEAN = torch.tensor(CIFAR.mean).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR.std).view(1, 3, 1, 1)


class Linear(nn.Module):
    """Scores ``[w·x, −w·x]``: the CE gradient's sign per pixel is ``−sign(w)`` for label 0."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (x * self.weight).flatten(1).sum(1, keepdim=True)
        return torch.cat([score, -score], dim=1)


def _context(model: nn.Module) -> AttackContext:
    return AttackContext(num_classes=2, probabilities=lambda x: model(x).softmax(1))


def _images() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 8, 8, generator=generator)  # CIFAR-10's [0, 1] is z ∈ [−1.99, 2.13], inside ±3
    weight = torch.randn(1, 3, 8, 8, generator=generator)
    return x, torch.zeros(4, dtype=torch.int64), weight


def test_pixels_is_the_default_and_clips_to_the_unit_box() -> None:
    attack = resolve_setting({"attack": "fgsm", "eps": 0.3}, "cifar10")
    assert attack.params["threat_model"] == "pixels" and attack.pixel_range == (0.0, 1.0)
    assert "normalization" not in attack.params


def test_fgsm_in_normalized_units_moves_each_channel_by_eps_times_its_std() -> None:
    x, y, weight = _images()
    model = Linear(weight)
    attack = resolve_setting({"attack": "fgsm", "eps": 0.1, "threat_model": "normalized"}, "cifar10")
    assert attack.params["normalization"] == {"mean": list(CIFAR.mean), "std": list(CIFAR.std)}
    adv = run_attack(attack, model, x, y, _context(model))
    expected = x - 0.1 * STD * weight.sign()  # label 0's CE falls along −w: FGSM steps along sign(∇CE) = −sign(w)
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-5)
    pixels = run_attack(resolve_setting({"attack": "fgsm", "eps": 0.1}, "cifar10"), model, x, y, _context(model))
    torch.testing.assert_close(pixels, (x - 0.1 * weight.sign()).clamp(0, 1), rtol=0, atol=1e-6)


def test_normalized_clip_bounds_z_not_the_pixels() -> None:
    x, y, weight = _images()
    model = Linear(weight)
    attack = resolve_setting({"attack": "bim", "eps": 1.0, "eps_iter": 0.5, "nb_iter": 4,
                              "threat_model": "normalized", "normalized_clip": 3.0}, "cifar10")
    adv = run_attack(attack, model, x, y, _context(model))
    z = (adv - MEAN) / STD
    assert float(z.abs().max()) <= 3.0 + 1e-4
    assert float(adv.min()) < 0.0 or float(adv.max()) > 1.0  # the flaw: pixels outside [0, 1]
    low, high = attack.pixel_range
    assert low == pytest.approx(min(m - 3 * s for m, s in zip(CIFAR.mean, CIFAR.std, strict=True)))
    assert high == pytest.approx(max(m + 3 * s for m, s in zip(CIFAR.mean, CIFAR.std, strict=True)))
    assert low - 1e-5 <= float(adv.min()) and float(adv.max()) <= high + 1e-5
    small = resolve_setting({"attack": "bim", "eps": 1.0, "eps_iter": 0.5, "nb_iter": 4,
                             "threat_model": "normalized", "normalized_clip": 2.5}, "cifar10")
    z_small = (run_attack(small, model, x, y, _context(model)) - MEAN) / STD  # clean z is in [−1.99, 2.13]
    assert float(z_small.abs().max()) == pytest.approx(2.5, abs=1e-4)


SEEN: dict = {}


def probe(target: nn.Module, u: torch.Tensor, _y: torch.Tensor, attack: ResolvedAttack,
          _context: AttackContext) -> torch.Tensor:
    """An attack that records what ``run_attack`` hands it (``test_lengths_...``)."""
    SEEN.update(attack.params, u=u, scores=target(u))
    return u


def test_lengths_and_the_cw_constant_are_rescaled_into_the_unit_box() -> None:
    seen = SEEN
    seen.clear()
    spec = AttackEntry("probe", __name__, "probe", "iterative", "l2",
                       {"paper": {"eps": 2.0, "eps_iter": 0.6, "initial_const": 1.0, "lr": 0.5}}, "probe")
    params = resolve_parameters(spec, "paper", {"threat_model": "normalized"}, "cifar10")
    x, y, weight = _images()
    model = Linear(weight)
    adv = run_attack(ResolvedAttack(spec, "paper", params, {}), model, x, y, _context(model))
    assert seen["eps"] == pytest.approx(2.0 / 6) and seen["eps_iter"] == pytest.approx(0.1)
    assert seen["initial_const"] == pytest.approx(1.0 / 36) and seen["lr"] == 0.5  # C&W's lr acts on tanh space
    torch.testing.assert_close(seen["u"], ((x - MEAN) / STD + 3) / 6)
    torch.testing.assert_close(seen["scores"], model(x), rtol=1e-5, atol=1e-4)  # the model still sees pixels
    torch.testing.assert_close(adv, x, rtol=0, atol=1e-6)


def test_a_bad_threat_model_names_the_valid_ones() -> None:
    with pytest.raises(UserError, match="threat_model 'logits' is not valid; valid: pixels, normalized"):
        resolve_setting({"attack": "fgsm", "threat_model": "logits"}, "cifar10")
    with pytest.raises(UserError, match="normalized_clip"):
        resolve_setting({"attack": "fgsm", "threat_model": "normalized", "normalized_clip": 0}, "cifar10")


def test_the_table_caption_says_when_the_paper_threat_model_is_on() -> None:
    config = {
        "dataset": "cifar10",
        "attacks": {"fgsm_0.3": {"attack": "fgsm", "preset": "strong", "eps": 0.3, "threat_model": "pixels"},
                    "fgsm_z": {"attack": "fgsm", "preset": "strong", "eps": 0.3, "threat_model": "normalized"}},
        "ablations": {"pixels": {"caption": "Paper definitions", "models": ["relu"], "attacks": ["fgsm_0.3"]},
                      "paper": {"caption": "Paper definitions", "models": ["relu"]}},
    }
    tables = study_from_config(config).ablations
    assert tables["pixels"].caption == "Paper definitions"
    assert tables["paper"].caption.startswith("Paper definitions. Threat model: the paper's, ε in normalised units")
    assert "clip ±3" in tables["paper"].caption


def test_the_table_caption_says_when_a_column_depends_on_the_score_scale() -> None:
    config = {
        "dataset": "mnist5k",
        "attacks": {"fgsm": {"attack": "fgsm", "eps": 0.3}, "bim_strong": {"attack": "bim", "preset": "strong"},
                    "transfer": {"attack": "transfer", "base_attack": "bim", "eps": 0.3, "surrogate": "relu"}},
        "ablations": {"paper": {"caption": "Paper", "models": ["relu"], "attacks": ["fgsm"]},
                      "strong": {"caption": "Strong", "models": ["relu"], "attacks": ["bim_strong"]},
                      "transfer": {"caption": "Transfer", "models": ["relu"], "attacks": ["transfer"]}},
    }
    tables = study_from_config(config).ablations
    assert tables["paper"].caption.startswith("Paper. Columns of the paper preset (fgsm) run the 2019 code's attacks")
    assert tables["strong"].caption == "Strong"
    assert "(bim)" in tables["transfer"].caption  # a transfer's crafting attack is its base attack
