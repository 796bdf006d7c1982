"""Losses, regularisers and output readings against hand computations (SPEC §2)."""

import math

import pytest
import torch

from newlogic.nn.outputs import predictions, probabilities, rejected
from newlogic.spec import parse_model_name
from newlogic.training.losses import (
    MaxFitCoefficients,
    cross_entropy,
    data_loss,
    max_fit_penalty,
    regularizer_coefficients,
    sigmoid_bce,
    sigmoid_mse,
    weighted_mean,
)

SCORES = torch.tensor([[0.0, math.log(3.0)], [2.0, -1.0]])
ONE_HOT = torch.tensor([[0.0, 1.0], [1.0, 0.0]])


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_cross_entropy_by_hand() -> None:
    # row 0: softmax = (1/4, 3/4), target class 1 → −log 3/4; row 1: −log(e² / (e² + e⁻¹))
    expected = [-math.log(0.75), -math.log(math.exp(2) / (math.exp(2) + math.exp(-1)))]
    assert cross_entropy(SCORES, ONE_HOT).tolist() == pytest.approx(expected, rel=1e-6)
    assert cross_entropy(SCORES, ONE_HOT).mean() == pytest.approx(
        torch.nn.functional.cross_entropy(SCORES, ONE_HOT.argmax(1)).item(), rel=1e-6
    )


def test_sigmoid_mse_by_hand() -> None:
    row0 = ((0.5 - 0) ** 2 + (0.75 - 1) ** 2) / 2  # σ(0) = 1/2, σ(log 3) = 3/4
    row1 = ((sigmoid(2) - 1) ** 2 + (sigmoid(-1) - 0) ** 2) / 2
    assert sigmoid_mse(SCORES, ONE_HOT).tolist() == pytest.approx([row0, row1], rel=1e-6)


def test_sigmoid_mse_of_negatives_pushes_every_output_to_zero() -> None:
    zeros = torch.zeros_like(SCORES)
    row0 = (0.5**2 + 0.75**2) / 2
    assert sigmoid_mse(SCORES, zeros)[0].item() == pytest.approx(row0, rel=1e-6)


def test_sigmoid_bce_by_hand() -> None:
    row0 = -(math.log(1 - 0.5) + math.log(0.75)) / 2
    row1 = -(math.log(sigmoid(2)) + math.log(1 - sigmoid(-1))) / 2
    assert sigmoid_bce(SCORES, ONE_HOT).tolist() == pytest.approx([row0, row1], rel=1e-6)


@pytest.mark.parametrize(
    ("name", "loss"),
    [("relu", cross_entropy), ("relog-sigmoid_out", sigmoid_mse), ("relog-elliptical-maxout_4-bce", sigmoid_bce)],
)
def test_loss_follows_the_name(name: str, loss: object) -> None:
    assert data_loss(parse_model_name(name)) is loss


def test_weighted_mean_drops_zero_weights_and_is_zero_when_all_dropped() -> None:
    values = torch.tensor([1.0, 2.0, 6.0])
    assert weighted_mean(values, torch.tensor([1.0, 0.0, 1.0])).item() == pytest.approx(3.5)
    assert weighted_mean(values, torch.zeros(3)).item() == 0.0


def test_max_fit_pools_weights_and_biases_of_all_layers() -> None:
    weights = [torch.tensor([[1.0, -2.0]]), torch.tensor([3.0, -1.0, 0.0, 4.0])]  # 6 weights pooled
    biases = [torch.tensor([0.5]), torch.tensor([-1.5, 2.0])]  # 3 biases pooled
    coefficients = MaxFitCoefficients(l1=0.1, l2=0.01, bias_l1=1.0, bias_l2=2.0)
    mean_abs_w = (1 + 2 + 3 + 1 + 0 + 4) / 6
    mean_sq_w = (1 + 4 + 9 + 1 + 0 + 16) / 6
    mean_b = (0.5 - 1.5 + 2.0) / 3
    mean_b_abs_b = (0.25 - 2.25 + 4.0) / 3  # b·|b| keeps the sign
    expected = 0.1 * mean_abs_w + 0.01 * mean_sq_w + 1.0 * mean_b + 2.0 * mean_b_abs_b
    assert max_fit_penalty(weights, biases, coefficients).item() == pytest.approx(expected, rel=1e-6)


def test_max_fit_bias_terms_are_signed_so_they_reward_negative_biases() -> None:
    weights = [torch.zeros(3)]
    low = max_fit_penalty(weights, [torch.tensor([-1.0])], MaxFitCoefficients(bias_l1=1.0, bias_l2=1.0))
    assert low.item() == pytest.approx(-2.0)


def test_max_fit_gradient_pushes_biases_down() -> None:
    bias = torch.tensor([0.3, -0.2], requires_grad=True)
    max_fit_penalty([torch.ones(2)], [bias], MaxFitCoefficients(bias_l1=1.0)).backward()
    assert torch.all(bias.grad > 0)  # gradient descent lowers every bias


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("relog-max_fit_l1", MaxFitCoefficients(l1=1.0, bias_l1=1.0)),
        ("relog-max_fit_l1_0.5", MaxFitCoefficients(l1=0.5, bias_l1=0.5)),
        ("relog-max_fit_l2", MaxFitCoefficients(l2=0.01, bias_l2=0.01)),
        ("relog-max_fit_l2_0.2", MaxFitCoefficients(l2=0.2, bias_l2=0.2)),
        ("relog-max_margin", MaxFitCoefficients(l1=0.01)),
        ("cnn-mnist-relog-minmaxout_4_2-sigmoid-out-strictening_0.1", MaxFitCoefficients(l1=0.1, bias_l1=0.1)),
        ("relog", None),
    ],
)
def test_regularizer_coefficients_from_the_name(name: str, expected: MaxFitCoefficients | None) -> None:
    assert regularizer_coefficients(parse_model_name(name)) == expected


def test_max_margin_has_no_bias_term() -> None:
    coefficients = regularizer_coefficients(parse_model_name("relog-max_margin_2"))
    penalty = max_fit_penalty([torch.tensor([1.0, -3.0])], [torch.tensor([5.0])], coefficients)
    assert penalty.item() == pytest.approx(2.0 * 2.0)


def test_probabilities_predictions_and_rejection() -> None:
    softmax_spec, sigmoid_spec = parse_model_name("relu"), parse_model_name("relu-sigmoid_out")
    scores = torch.tensor([[-1.0, -2.0], [0.5, -3.0], [-1e-9, -4.0]])
    assert probabilities(scores, softmax_spec).sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert probabilities(scores, sigmoid_spec)[0, 0].item() == pytest.approx(sigmoid(-1.0))
    assert predictions(scores).tolist() == [0, 0, 0]
    assert rejected(scores, softmax_spec).tolist() == [False, False, False]
    assert rejected(scores, sigmoid_spec).tolist() == [True, False, True]
