"""Noise rejection (newlogic.evaluation.noise): known answers on hand-built models, the inputs, the JSON."""

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.datasets import dataset_info
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.noise import (
    REJECTION,
    evaluate_noise_rejection,
    rejection_statistics,
    scrambled,
    uniform_noise,
)
from newlogic.nn.models import ArchOptions, build_model
from newlogic.options import to_dict
from newlogic.spec import parse_model_name
from newlogic.store.atomic import atomic_write_json
from newlogic.store.provenance import config_hash
from newlogic.store.results import NOISE_SCHEMA_VERSION, sha256_file
from newlogic.training.torch_save import atomic_torch_save

DIGITS_TEST = 360  # 20 % of scikit-learn's 1,797 digits


def write_constant_model(model_dir: Path, name: str, bias: list[float]) -> Path:
    """A digits model directory whose scores are ``bias`` for every input (classifier weights 0)."""
    spec = parse_model_name(name)
    options = ArchOptions()
    model = build_model(spec, dataset_info("digits"), options)
    dense = model.classifier[0]
    with torch.no_grad():
        dense.weight.zero_()
        dense.bias.copy_(torch.tensor(bias))
    record = {"schema_version": 1, "model": spec.to_dict(), "dataset": "digits", "seed": 0, "training": {},
              "architecture": to_dict(options)}
    record["provenance"] = {"config_hash": config_hash(record)}  # loading verifies the fingerprint
    atomic_torch_save(model.state_dict(), model_dir / "model.pt")
    atomic_write_json(model_dir / "config.json", {**record, "weights_sha256": sha256_file(model_dir / "model.pt")})
    atomic_write_json(model_dir / "metrics.json", {"schema_version": 1})
    return model_dir


def _rates(result: dict) -> dict[str, float]:
    return {name: entry["rejection_rate"] for name, entry in result["inputs"].items()}


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


@pytest.mark.parametrize(
    ("name", "bias", "rate", "max_probability"),
    [
        ("relu-sigmoid_out", [-1.0] * 10, 1.0, _sigmoid(-1.0)),  # every output σ(-1) < 0.5
        ("relu-sigmoid_out", [-1.0] * 3 + [1.0] + [-1.0] * 6, 0.0, _sigmoid(1.0)),  # class 3 at σ(1) > 0.5
        ("relu-sigmoid_out", [0.0] + [-5.0] * 9, 0.0, 0.5),  # σ(0) = 0.5 is not below 0.5
        ("relu", [10.0] + [0.0] * 9, 0.0, math.exp(10) / (math.exp(10) + 9)),  # confident softmax
        ("relu", [0.0] * 10, 1.0, 0.1),  # uniform softmax: max p = 0.1
    ],
)
def test_rejection_rates_of_constant_models(tmp_path: Path, name: str, bias: list[float], rate: float,
                                            max_probability: float) -> None:
    model_dir = write_constant_model(tmp_path / "model", name, bias)
    out = tmp_path / "noise.json"
    result = evaluate_noise_rejection(model_dir, out, data_dir=Path("data"), device="cpu", n_samples=50, seed=1)
    assert _rates(result) == {"clean": rate, "uniform_noise": rate, "scrambled": rate}
    for entry in result["inputs"].values():
        assert entry["mean_max_probability"] == pytest.approx(max_probability, rel=1e-5)
    assert result["output"] == ("sigmoid" if "sigmoid_out" in name else "softmax")
    assert result["rejection_definition"] == REJECTION[result["output"]][0]
    written = json.loads(out.read_text())
    assert written["schema_version"] == NOISE_SCHEMA_VERSION and written["inputs"] == result["inputs"]
    assert written["provenance"]["config_hash"] and written["model_ref"]["dir"] == str(model_dir)
    assert written["model_ref"]["weights_sha256"] == sha256_file(model_dir / "model.pt")
    assert [entry["count"] for entry in written["inputs"].values()] == [DIGITS_TEST, 50, 50]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


class MeanPixelScores(nn.Module):
    """Every class scores ``mean(x) − 0.5`` (sigmoid: rejects dark images) or class 0 gets ``10·(mean(x) − 0.5)``."""

    def __init__(self, build: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.build = build

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.build(x.flatten(1).mean(dim=1, keepdim=True) - 0.5)


def test_mixed_inputs_count_across_batches() -> None:
    """7 dark (rejected) and 3 bright images in batches of 3: rate 7/10 for both rules."""
    images = torch.cat([torch.zeros(7, 1, 4, 4), torch.ones(3, 1, 4, 4)])
    sigmoid = MeanPixelScores(lambda centred: centred.expand(-1, 10))
    stats = rejection_statistics(sigmoid, parse_model_name("relu-sigmoid_out"), images, torch.device("cpu"),
                                 batch_size=3)
    assert stats["count"] == 10 and stats["rejection_rate"] == pytest.approx(0.7)
    assert stats["mean_max_probability"] == pytest.approx(0.7 * _sigmoid(-0.5) + 0.3 * _sigmoid(0.5))
    softmax = MeanPixelScores(lambda centred: torch.cat([20 * centred, torch.zeros(len(centred), 9)], dim=1))
    stats = rejection_statistics(softmax, parse_model_name("relu"), images, torch.device("cpu"), batch_size=3)
    assert stats["rejection_rate"] == pytest.approx(0.7)  # dark: max p = 1/(9 + e^-10) ≈ 0.11; bright: ≈ 1


def test_softmax_at_exactly_one_half_is_rejected() -> None:
    two_way = MeanPixelScores(lambda centred: torch.cat([torch.zeros(len(centred), 2),
                                                         torch.full((len(centred), 8), -200.0)], dim=1))
    stats = rejection_statistics(two_way, parse_model_name("relu"), torch.zeros(4, 1, 2, 2), torch.device("cpu"))
    assert stats["mean_max_probability"] == 0.5 and stats["rejection_rate"] == 1.0


def test_uniform_noise_is_seeded_and_in_range() -> None:
    noise = uniform_noise(500, (1, 28, 28), seed=3)
    assert noise.shape == (500, 1, 28, 28) and 0 <= float(noise.min()) and float(noise.max()) < 1
    assert abs(float(noise.mean()) - 0.5) < 0.01  # 392,000 draws: std of the mean 0.00046
    assert torch.equal(noise, uniform_noise(500, (1, 28, 28), seed=3))
    assert not torch.equal(noise, uniform_noise(500, (1, 28, 28), seed=4))


def test_scrambling_permutes_pixels_one_order_per_group() -> None:
    images = torch.rand(10, 2, 5, 5)
    mixed = scrambled(images, seed=0, group=4)
    flat, mixed_flat = images.flatten(2), mixed.flatten(2)
    assert torch.equal(flat.sort(dim=2).values, mixed_flat.sort(dim=2).values)  # same pixels per image and channel
    orders = [(flat[i, 0][:, None] == mixed_flat[i, 0][None, :]).float().argmax(dim=0) for i in range(10)]
    assert all(torch.equal(orders[i], orders[0]) for i in range(4))  # first group of 4: one order
    assert all(torch.equal(orders[i], orders[4]) for i in range(4, 8)) and not torch.equal(orders[0], orders[4])
    assert all(torch.equal(mixed_flat[i, 1], flat[i, 1][orders[i]]) for i in range(10))  # channels moved together
    assert torch.equal(mixed, scrambled(images, seed=0, group=4))


def test_constant_model_loads_as_a_model_directory(tmp_path: Path) -> None:
    trained = load_trained_model(write_constant_model(tmp_path, "relu-sigmoid_out", [-2.0] * 10))
    assert torch.equal(trained.model(torch.rand(3, 1, 28, 28)), torch.full((3, 10), -2.0))


def test_bad_sample_count_is_a_user_error(tmp_path: Path) -> None:
    model_dir = write_constant_model(tmp_path, "relu", [0.0] * 10)
    with pytest.raises(UserError, match="n_samples"):
        evaluate_noise_rejection(model_dir, tmp_path / "x.json", data_dir=Path("data"), device="cpu", n_samples=0)
