"""The layers of SPEC §2 against hand computations, gradcheck in float64, and the ramps."""

import math

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from newlogic.errors import UserError
from newlogic.nn.activations import BetaReLog, Centering, ReLog, make_activation
from newlogic.nn.folding import Fold
from newlogic.nn.models import ArchOptions
from newlogic.nn.units import UNITS, ConvUnit, DenseUnit
from newlogic.spec import parse_model_name

UNIT_KINDS = list(UNITS)


def _at_strength(module: torch.nn.Module, strength: float) -> torch.nn.Module:
    module.strength.fill_(strength)
    return module.eval()


def _away_from_zero(shape: tuple[int, ...], seed: int = 0, margin: float = 0.1) -> torch.Tensor:
    """float64 values with |x| >= margin (no ReLU/|V| kink within gradcheck's eps)."""
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x + margin * torch.sign(x)


# --- ReLog, journal form: y = s·(log_n(relu(x) + 1/n) + 1) + (1 - s)·relu(x) -------------------------

@pytest.mark.parametrize(
    ("base", "strength", "x", "expected"),
    [
        (10.0, 1.0, [-1.0, 0.0, 0.9, 9.9], [0.0, 0.0, 1.0, 2.0]),  # log10(1) + 1, log10(10) + 1
        (100.0, 1.0, [0.99, 99.99], [1.0, 2.0]),  # log100(1) + 1, log100(100) + 1
        (10.0, 0.5, [-1.0, 0.9, 9.9], [0.0, 0.5 * 1 + 0.5 * 0.9, 0.5 * 2 + 0.5 * 9.9]),
        (10.0, -0.3, [-1.0, 0.9, 9.9], [0.0, 0.9, 9.9]),  # s clipped below at 0: plain ReLU
    ],
)
def test_relog_journal_form_by_hand(base: float, strength: float, x: list[float], expected: list[float]) -> None:
    relog = _at_strength(ReLog(base=base), strength)
    assert relog(torch.tensor(x, dtype=torch.float64)).tolist() == pytest.approx(expected, abs=1e-12)


def test_relog_journal_variants_of_spec() -> None:
    """SPEC §2: log10(relu(x) + 0.01) + 2 = 2·ReLog(100)."""
    x = torch.tensor([0.0, 0.05, 1.0, 7.0], dtype=torch.float64)
    relog100 = _at_strength(ReLog(base=100.0), 1.0)
    assert torch.allclose(2 * relog100(x), torch.log10(x + 0.01) + 2)


@pytest.mark.parametrize(
    ("beta", "strength", "x", "expected"),
    [
        (1.0, 1.0, [-2.0, 0.0, math.e - 1, math.e**2 - 1], [0.0, 0.0, 1.0, 2.0]),  # ln(1 + x)
        (2.0, 0.5, [math.e - 1], [1.0]),  # β_eff = 2·0.5 = 1
        (1.0, 0.0, [1.0], [0.99995000333]),  # β_eff = 1e-4: ln(1.0001)/1e-4 = 1 - 0.5e-4 + 1e-8/3
    ],
)
def test_relog_beta_form_by_hand(beta: float, strength: float, x: list[float], expected: list[float]) -> None:
    relog = _at_strength(BetaReLog(beta=beta), strength)
    assert relog(torch.tensor(x, dtype=torch.float64)).tolist() == pytest.approx(expected, abs=1e-10)


def test_centering_follows_relog_only() -> None:
    options = ArchOptions(centering=True, relog_start=1.0)
    relog = make_activation("relog", options.relog_settings(parse_model_name("relog").relog_base)).eval()
    assert isinstance(relog[-1], Centering)
    assert relog(torch.tensor([-1.0, 0.9, 9.9])).tolist() == pytest.approx([-0.5, 0.5, 1.5])
    relu = make_activation("relu", options.relog_settings(parse_model_name("relu").relog_base))
    assert relu(torch.tensor([-1.0, 0.9])).tolist() == pytest.approx([0.0, 0.9])


def test_beta_form_rejects_a_journal_base() -> None:
    with pytest.raises(UserError, match="relog_form"):
        settings = ArchOptions(relog_form="beta").relog_settings(parse_model_name("relog_100").relog_base)
        make_activation("relog", settings)


# --- ramps ----------------------------------------------------------------------------------------------

def test_relog_ramp_rises_per_training_forward_only_and_caps_at_one() -> None:
    relog = ReLog(start=0.0, step=0.25)
    x = torch.tensor([9.9])
    seen = []
    for _ in range(5):
        relog(x)
        seen.append(float(relog.strength))
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0]
    relog.eval()
    relog(x)
    assert float(relog.strength) == 1.0 and int(relog.strength_steps) == 5


def test_relog_ramp_negative_start_delays_it() -> None:
    relog = ReLog(start=-0.5, step=0.25)
    x = torch.tensor([0.9, 9.9])
    relog(x)
    assert relog(x).tolist() == pytest.approx([0.9, 9.9])  # s = 0 after two passes: still ReLU
    assert relog(x).tolist() == pytest.approx([0.25 * 1 + 0.75 * 0.9, 0.25 * 2 + 0.75 * 9.9])


def test_relog_ramp_reaches_exactly_one_after_one_over_step_passes() -> None:
    relog = ReLog(start=0.0, step=0.001)
    x = torch.zeros(1)
    for _ in range(999):
        relog(x)
    assert float(relog.strength) < 1.0
    relog(x)
    assert float(relog.strength) == 1.0


def test_beta_relog_ramp_moves_beta() -> None:
    relog = BetaReLog(beta=1.0, start=0.0, step=0.5)
    relog(torch.zeros(1))
    relog(torch.zeros(1))  # s = 1: ln(1 + x)
    assert relog.eval()(torch.tensor([math.e - 1])).item() == pytest.approx(1.0)


def test_ramps_survive_state_dict_round_trip() -> None:
    relog, unit = ReLog(start=0.1, step=0.01), DenseUnit("elliptical", 3, 2, curvature_step=0.2)
    for _ in range(3):
        relog(torch.ones(1))
        unit(torch.ones(1, 3))
    fresh_relog, fresh_unit = ReLog(start=0.1, step=0.01), DenseUnit("elliptical", 3, 2, curvature_step=0.2)
    fresh_relog.load_state_dict(relog.state_dict())
    fresh_unit.load_state_dict(unit.state_dict())
    assert float(fresh_relog.strength) == pytest.approx(0.13) and int(fresh_relog.strength_steps) == 3
    assert float(fresh_unit.curvature) == pytest.approx(0.6)
    fresh_unit(torch.ones(1, 3))
    assert float(fresh_unit.curvature) == pytest.approx(0.8)


def test_curvature_ramp_rises_per_training_forward_only_and_caps_at_one() -> None:
    unit = ConvUnit("quadratic", 1, 1, 1, curvature_step=0.4)
    x = torch.ones(1, 1, 2, 2)
    assert float(unit.curvature) == 0.0
    seen = []
    for _ in range(4):
        unit(x)
        seen.append(float(unit.curvature))
    assert seen == pytest.approx([0.4, 0.8, 1.0, 1.0])
    unit.eval()(x)
    assert int(unit.curvature_steps) == 4


def test_linear_units_have_no_curvature() -> None:
    assert not hasattr(DenseUnit("linear", 2, 2), "curvature")
    assert not hasattr(ConvUnit("spherical", 2, 2, 3), "second_weight")


# --- folding --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("min_group", "max_group", "x", "expected"),
    [
        (1, 2, [1.0, 5.0, 3.0, 2.0], [5.0, 3.0]),  # maxout_2
        (2, 2, [1.0, 5.0, 3.0, 2.0, 4.0, 0.0, 7.0, 6.0], [2.0, 6.0]),  # mins 1,2 | 0,6 → max
        (2, 3, [0.0, 9.0, 8.0, 1.0, 2.0, 3.0], [2.0]),  # mins 0,1,2 → 2 (max-then-min would give 3)
        (3, 1, [4.0, 2.0, 6.0], [2.0]),
    ],
)
def test_fold_by_hand(min_group: int, max_group: int, x: list[float], expected: list[float]) -> None:
    fold = Fold(min_group, max_group)
    assert fold(torch.tensor([x])).tolist() == [expected]
    image = torch.tensor(x).view(1, -1, 1, 1).expand(2, -1, 2, 3)  # the same per pixel
    assert fold(image).shape == (2, len(expected), 2, 3)
    assert fold(image)[1, :, 1, 2].tolist() == expected


@pytest.mark.parametrize(
    ("min_group", "max_group", "x", "expected_grad"),
    [
        # mins 1 | 0.5 | 2 (a tie of two) | 0 → max 2: the tied pair shares the gradient
        (2, 4, [1.0, 1.0, 0.5, 2.0, 2.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]),
        (1, 2, [3.0, 3.0], [0.5, 0.5]),  # a tied max
        (2, 2, [1.0, 4.0, 2.0, 1.0], [0.5, 0.0, 0.0, 0.5]),  # the two groups' minima (1, 1) tie: half each
        (3, 1, [2.0, 5.0, 7.0], [1.0, 0.0, 0.0]),
    ],
)
def test_fold_gradient_by_hand_with_ties(min_group: int, max_group: int, x: list[float],
                                         expected_grad: list[float]) -> None:
    inputs = torch.tensor([x], requires_grad=True)
    Fold(min_group, max_group)(inputs).sum().backward()
    assert inputs.grad is not None and inputs.grad[0].tolist() == expected_grad


@pytest.mark.parametrize(("min_group", "max_group"), [(1, 4), (2, 4), (3, 2), (2, 1)])
def test_fold_equals_amin_then_amax_bit_for_bit(min_group: int, max_group: int) -> None:
    factor = min_group * max_group
    generator = torch.Generator().manual_seed(0)
    for x in (torch.randn(8, 16 * factor, 5, 5, generator=generator),
              torch.randint(0, 3, (8, 16 * factor, 5, 5), generator=generator).float(),  # many ties
              torch.randn(4, 10 * factor, generator=generator)):
        grouped = x.reshape(x.shape[0], -1, max_group, min_group, *x.shape[2:]).requires_grad_()
        reference = grouped.amin(dim=3, keepdim=True).amax(dim=2, keepdim=True).reshape(x.shape[0], -1, *x.shape[2:])
        inputs = x.clone().requires_grad_()
        folded = Fold(min_group, max_group)(inputs)
        upstream = torch.randn(folded.shape, generator=generator)
        (expected,) = torch.autograd.grad(reference, grouped, upstream)
        (actual,) = torch.autograd.grad(folded, inputs, upstream)
        assert torch.equal(folded, reference) and torch.equal(actual, expected.reshape(x.shape))


def test_fold_needs_divisible_channels() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        Fold(2, 2)(torch.zeros(1, 6))


# --- units: z = W∗x + b + σ·a·(1 - K∗x²) ---------------------------------------------------------------

def _dense(kind: str, curvature: float) -> DenseUnit:
    unit = DenseUnit(kind, 2, 1).double().eval()
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[1.0, -1.0]]))
        unit.bias.fill_(0.5)
        if unit.kind.second_weight:
            unit.second_weight.copy_(torch.tensor([[2.0, -3.0]]))
        if unit.kind.curved:
            unit.curvature.fill_(curvature)
    return unit


# x = [1, 2]: W·x + b = -0.5; V·x² = 2 - 12 = -10; |V|·x² = 14; mean(x²) = 2.5
@pytest.mark.parametrize(
    ("kind", "curvature", "expected"),
    [
        ("linear", 1.0, -0.5),
        ("quadratic", 1.0, -0.5 + 10 + 1),
        ("elliptical", 1.0, -0.5 - 14 + 1),
        ("spherical", 1.0, -0.5 - 0.5 * 2.5 + 0.5),
        ("quadratic", 0.5, -0.5 + 5 + 0.5),
        ("elliptical", 0.5, -0.5 - 7 + 0.5),
        ("spherical", 0.5, -0.5 - 0.25 * 2.5 + 0.25),
        ("elliptical", 0.0, -0.5),
    ],
)
def test_dense_units_by_hand(kind: str, curvature: float, expected: float) -> None:
    unit = _dense(kind, curvature)
    assert unit(torch.tensor([[1.0, 2.0]], dtype=torch.float64)).item() == pytest.approx(expected)


def _conv(kind: str, padding: int = 0) -> ConvUnit:
    unit = ConvUnit(kind, 1, 1, 2, padding=padding).double().eval()
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]]))
        unit.bias.zero_()
        if unit.kind.second_weight:
            unit.second_weight.copy_(torch.tensor([[[[1.0, -1.0], [0.0, 2.0]]]]))
        if unit.kind.curved:
            unit.curvature.fill_(1.0)
    return unit


IMAGE = torch.tensor([[[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]]], dtype=torch.float64)
# W∗x = [[0, -1], [0, 0]]; V∗x² = [[-1, 22], [-1, -6]]; |V|∗x² = [[7, 22], [1, 12]];
# mean_patch(x²) = [[1.5, 3.5], [1.25, 2.75]]  (x² = [[1, 4, 0], [0, 1, 9], [4, 0, 1]])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("linear", [[0.0, -1.0], [0.0, 0.0]]),
        ("quadratic", [[2.0, -22.0], [2.0, 7.0]]),
        ("elliptical", [[-6.0, -22.0], [0.0, -11.0]]),
        ("spherical", [[-0.25, -2.25], [-0.125, -0.875]]),
    ],
)
def test_conv_units_by_hand(kind: str, expected: list[list[float]]) -> None:
    assert _conv(kind)(IMAGE)[0, 0].flatten().tolist() == pytest.approx(sum(expected, []))


def test_spherical_patch_mean_counts_padding_and_channels() -> None:
    corner = _conv("spherical", padding=1)(IMAGE)[0, 0, 0, 0]  # window: three zeros of padding and x = 1
    assert corner.item() == pytest.approx(-1.0 * 1 - 0.5 * (1 / 4) + 0.5)  # W∗x at the corner: -x[0,0]
    unit = ConvUnit("spherical", 2, 1, 1).double().eval()
    with torch.no_grad():
        unit.weight.fill_(1.0)
        unit.bias.zero_()
        unit.curvature.fill_(1.0)
    x = torch.tensor([3.0, 1.0], dtype=torch.float64).view(1, 2, 1, 1)
    assert unit(x).item() == pytest.approx(4 - 0.5 * (9 + 1) / 2 + 0.5)


# --- gradcheck in float64 -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "module",
    [ReLog(base=10.0), ReLog(base=100.0), BetaReLog(beta=1.5), BetaReLog(beta=1.0)],
    ids=["relog10", "relog100", "beta1.5", "beta1"],
)
@pytest.mark.parametrize("strength", [0.0, 0.6, 1.0])
def test_relog_gradcheck(module: torch.nn.Module, strength: float) -> None:
    relog = _at_strength(module.double(), strength)
    assert gradcheck(relog, (_away_from_zero((3, 5)).requires_grad_(),))


@pytest.mark.parametrize(("min_group", "max_group"), [(1, 4), (2, 4), (3, 2)])
def test_fold_gradcheck(min_group: int, max_group: int) -> None:
    factor = min_group * max_group
    count = 2 * 3 * factor * 2 * 2
    spaced = torch.randperm(count, generator=torch.Generator().manual_seed(1)).double() * 0.1  # no ties
    x = spaced.view(2, 3 * factor, 2, 2).requires_grad_()
    assert gradcheck(Fold(min_group, max_group), (x,))


def _unit_gradcheck(unit: torch.nn.Module, x: torch.Tensor) -> bool:
    unit = unit.double().eval()
    if unit.kind.curved:
        unit.curvature.fill_(0.7)
    names = [name for name, _ in unit.named_parameters()]
    values = [_away_from_zero(tuple(p.shape), seed=index + 2).requires_grad_() for index, p in
              enumerate(unit.parameters())]

    def call(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        return functional_call(unit, dict(zip(names, params, strict=True)), (x,))

    return gradcheck(call, (x.requires_grad_(), *values))


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_conv_unit_gradcheck(kind: str) -> None:
    assert _unit_gradcheck(ConvUnit(kind, 2, 2, 3, padding=1), _away_from_zero((2, 2, 3, 3)))


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_dense_unit_gradcheck(kind: str) -> None:
    assert _unit_gradcheck(DenseUnit(kind, 4, 3), _away_from_zero((2, 4)))
