"""The depth-propagation experiment (SPEC §6): ReLU explodes with unscaled weights, ReLog stays bounded."""

import json
import math
from pathlib import Path

import pytest

from newlogic.errors import UserError
from newlogic.evaluation.depth import run_depth_experiment


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("depth") / "depth.json"
    result = run_depth_experiment(layers=100, width=256, seed=0, out=out)
    written = json.loads(Path(out).read_text())
    assert written["runs"] == result["runs"] and "provenance" in written
    return result


def _run(result: dict, init: str, activation: str) -> dict:
    (run,) = [r for r in result["runs"] if r["init"] == init and r["activation"] == activation]
    return run


def test_first_layer_matches_the_half_normal_mean(result: dict) -> None:
    """Layer 1 of ReLU: z ~ N(0, σ²·width) per unit, E[relu(z)] = σ_z/√(2π)."""
    assert _run(result, "kaiming", "relu")["mean_abs"][0] == pytest.approx(math.sqrt(2) / math.sqrt(2 * math.pi),
                                                                            rel=0.02)
    assert _run(result, "unit_normal", "relu")["mean_abs"][0] == pytest.approx(16 / math.sqrt(2 * math.pi), rel=0.02)


def test_relu_with_unscaled_weights_overflows_near_the_predicted_layer(result: dict) -> None:
    """×√(width/2) = ×√128 per layer overflows float32 (3.4e38) after ≈ 88.7 / ln √128 ≈ 36.5 layers."""
    run = _run(result, "unit_normal", "relu")
    assert 33 <= run["first_nonfinite_layer"] <= 40
    assert run["growth_last_over_first"] is None
    finite = [value for value in run["mean_abs"] if value is not None]
    assert finite[-1] / finite[0] > 1e25


@pytest.mark.parametrize("init", ["kaiming", "unit_normal"])
def test_relog_stays_bounded_through_100_layers(result: dict, init: str) -> None:
    run = _run(result, init, "relog")
    assert run["first_nonfinite_layer"] is None and len(run["mean_abs"]) == 100
    first = run["mean_abs"][0]
    assert all(0.5 * first <= value <= 2 * first for value in run["mean_abs"])


def test_relu_with_kaiming_init_neither_explodes_nor_vanishes_at_width_256(result: dict) -> None:
    """The honest counterpart: true Kaiming init keeps ReLU's scale within two orders of magnitude."""
    run = _run(result, "kaiming", "relu")
    assert run["first_nonfinite_layer"] is None
    assert 1e-2 < run["growth_last_over_first"] < 1e2


def test_empty_network_is_a_user_error() -> None:
    with pytest.raises(UserError, match="layers >= 1"):
        run_depth_experiment(layers=0)
