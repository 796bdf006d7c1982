"""Data losses and weight regularisers by name (SPEC §2).

Every data loss maps scores ``s [N, C]`` (pre-softmax / pre-sigmoid, what a model returns)
and float targets ``t [N, C]`` (one-hot rows for labelled images, all-zero rows for
negatives) to a **per-sample** loss ``[N]``; the training loop takes the (weighted) mean.
Averaging the per-sample values uniformly gives exactly PyTorch's ``reduction="mean"``.

Regularisers are all the max-fit penalty (SPEC §2) with different coefficients::

    l1·mean|W| + l2·mean(W²) + bias_l1·mean(b) + bias_l2·mean(b·|b|)

where ``W`` pools the weights of every modified layer (``V`` included) and ``b`` pools
their biases, each mean taken over the pooled elements. The bias terms are signed: they
push biases down so a unit fires only when its input fits its pattern.
"""

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from newlogic.registry import keyed_by
from newlogic.spec import ModelSpec
from newlogic.training.options import DATA_LOSS_NAMES, REGULARIZER_NAMES

DataLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy: ``ℓ_n = −Σ_c t_nc · log softmax(s_n)_c``."""
    return -(targets * F.log_softmax(scores, dim=1)).sum(dim=1)


def sigmoid_mse(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Journal ``sigmoid_out`` loss: ``ℓ_n = (1/C)·Σ_c (σ(s_nc) − t_nc)²``."""
    return (torch.sigmoid(scores) - targets).square().mean(dim=1)


def sigmoid_bce(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Paper ``bce`` loss: ``ℓ_n = −(1/C)·Σ_c [t·log σ(s) + (1 − t)·log(1 − σ(s))]`` (from the logits)."""
    return F.binary_cross_entropy_with_logits(scores, targets, reduction="none").mean(dim=1)


# ModelSpec.loss → per-sample loss
LOSSES: dict[str, DataLoss] = keyed_by(DATA_LOSS_NAMES, {"ce": cross_entropy, "mse": sigmoid_mse, "bce": sigmoid_bce},
                                      "LOSSES")


def data_loss(spec: ModelSpec) -> DataLoss:
    """The per-sample data loss of a model (``ce`` for softmax, ``mse``/``bce`` for ``sigmoid_out``)."""
    return LOSSES[spec.loss]


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Σ w·v / max(Σ w, 1)``: the mean over the kept samples (0/1 weights), 0 when none is kept."""
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


@dataclass(frozen=True)
class MaxFitCoefficients:
    """Coefficients of ``l1·mean|W| + l2·mean(W²) + bias_l1·mean(b) + bias_l2·mean(b·|b|)``."""

    l1: float = 0.0
    l2: float = 0.0
    bias_l1: float = 0.0
    bias_l2: float = 0.0


# ModelSpec.regularizer → coefficients from the name's c (SPEC §2)
REGULARIZERS: dict[str, Callable[[float], MaxFitCoefficients]] = keyed_by(REGULARIZER_NAMES, {
    "max_fit_l1": lambda c: MaxFitCoefficients(l1=c, bias_l1=c),
    "max_fit_l2": lambda c: MaxFitCoefficients(l2=c, bias_l2=c),
    "max_margin": lambda c: MaxFitCoefficients(l1=c),
}, "REGULARIZERS")


def regularizer_coefficients(spec: ModelSpec) -> MaxFitCoefficients | None:
    """The max-fit coefficients a model's name asks for, or None when it names no regulariser."""
    if spec.regularizer is None:
        return None
    return REGULARIZERS[spec.regularizer](spec.regularizer_coef)


def _pooled_mean(tensors: Sequence[torch.Tensor], transform: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``mean`` of ``transform(x)`` over all elements of all (at least one) tensors pooled together."""
    total = functools.reduce(operator.add, (transform(tensor).sum() for tensor in tensors))
    return total / sum(tensor.numel() for tensor in tensors)


def max_fit_penalty(
    weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], coefficients: MaxFitCoefficients
) -> torch.Tensor:
    """``l1·mean|W| + l2·mean(W²) + bias_l1·mean(b) + bias_l2·mean(b·|b|)`` (SPEC §2, pooled means).

    Terms with a zero coefficient are skipped; with no biases the bias terms are 0.
    """
    terms = [
        (coefficients.l1, weights, torch.abs),
        (coefficients.l2, weights, torch.square),
        (coefficients.bias_l1, biases, lambda b: b),
        (coefficients.bias_l2, biases, lambda b: b * b.abs()),
    ]
    device = weights[0].device if weights else torch.device("cpu")
    penalty = torch.zeros((), device=device)
    for coefficient, tensors, transform in terms:
        if coefficient and tensors:
            penalty = penalty + coefficient * _pooled_mean(tensors, transform)
    return penalty
