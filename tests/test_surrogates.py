"""Every component's adaptive path (issue 32): the surrogate registries cover the grammar and the built layers,
the surrogate mode leaves forward and state exact, and each surrogate breaks a construction that masks it from
the project's strong PGD."""

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from newlogic.attacks import resolve_setting
from newlogic.attacks.base import run_attack
from newlogic.attacks.context import AttackContext
from newlogic.attacks.losses import margin_loss
from newlogic.datasets import DatasetInfo
from newlogic.evaluation.target import ModelGuard, attack_target
from newlogic.nn import activations, folding, outputs, units
from newlogic.nn.activations import ReLU
from newlogic.nn.folding import Fold
from newlogic.nn.models import build_model
from newlogic.nn.options import ACTIVATION_NAMES, OUTPUT_NAMES, RELOG_FORM_NAMES, UNIT_NAMES, ArchOptions
from newlogic.nn.surrogate import EXACT_LAYERS, TRAINING_ONLY, SmoothBackward, SurrogateEntry, surrogate_gradients
from newlogic.nn.units import DenseUnit, Unit
from newlogic.spec import TOKENS, ModelSpec, parse_model_name
from newlogic.training.options import DATA_LOSS_NAMES, NEGATIVES_NAMES, REGULARIZER_NAMES

FOLDING_TOKENS = tuple(sorted({re.sub(r"_.*", "", pattern) for pattern, (kind, _) in TOKENS.items()
                               if kind == "folding"}))  # maxout_<k> → maxout
# each token kind of the grammar → (the values it gives ModelSpec, the registry beside their implementation)
COMPONENT_REGISTRIES: dict[str, tuple[tuple[str, ...], dict[str, SurrogateEntry]]] = {
    "activation": (ACTIVATION_NAMES, activations.SURROGATES),
    "units": (UNIT_NAMES, units.SURROGATES),
    "folding": (FOLDING_TOKENS, folding.SURROGATES),
    "output": (OUTPUT_NAMES, outputs.SURROGATES),
}
TRAINING_ONLY_NAMES = {"loss": DATA_LOSS_NAMES, "regulariser": REGULARIZER_NAMES, "negatives": NEGATIVES_NAMES}


MNIST_SHAPE = DatasetInfo("mnist-shaped", 1, 28, 28, 10, (0.13,), (0.31,))


def _stated(entry: SurrogateEntry | None) -> bool:
    return isinstance(entry, SurrogateEntry) and bool(entry.surrogate or entry.none_needed)


def test_every_grammar_component_has_a_surrogate_or_a_stated_reason() -> None:
    kinds = {kind for kind, _ in TOKENS.values()}
    assert kinds == set(COMPONENT_REGISTRIES) | set(TRAINING_ONLY), "a token kind without a surrogate registry"
    for kind, (names, registry) in COMPONENT_REGISTRIES.items():
        assert set(names) == set(registry), (kind, names, tuple(registry))
        assert all(_stated(registry[name]) for name in names), kind
    assert set(TRAINING_ONLY) == set(TRAINING_ONLY_NAMES)
    assert all(_stated(entry) and entry.none_needed.startswith("training-only") for entry in TRAINING_ONLY.values())
    assert set(RELOG_FORM_NAMES) == set(activations.RELOG_FORM_SURROGATES)
    for entry in (*activations.RELOG_FORM_SURROGATES.values(), activations.CENTERING_SURROGATE,
                  activations.RELOG_RAMP_SURROGATE, units.CURVATURE_RAMP_SURROGATE):
        assert _stated(entry)
    for name in ("elliptical", "quadratic", "spherical"):
        assert units.SURROGATES[name].surrogate  # the curved units have one; no stated reason stands in for it


def test_an_entry_gives_a_surrogate_or_a_reason_never_both_nor_neither() -> None:
    with pytest.raises(ValueError, match="either"):
        SurrogateEntry()
    with pytest.raises(ValueError, match="either"):
        SurrogateEntry(surrogate="f", none_needed="r")


def test_the_training_only_tokens_do_not_change_the_model_attacks_see() -> None:
    plain = parse_model_name("relog-elliptical-minmaxout_2_4-sigmoid_out")
    trained = parse_model_name("relog-elliptical-minmaxout_2_4-bce-max_fit_l1-scrambling")
    assert (plain.loss, plain.regularizer, plain.negatives) != (trained.loss, trained.regularizer, trained.negatives)
    models = []
    for spec in (plain, trained):
        torch.manual_seed(0)
        models.append(build_model(spec, MNIST_SHAPE, ArchOptions()).eval())
    assert repr(models[0]) == repr(models[1])
    first, second = (model.state_dict() for model in models)
    assert first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first)


def _built_layers() -> set[type]:
    """The classes of every module the builders make, over every unit, activation, form, folding and layer option."""
    found: set[type] = set()
    for unit in UNIT_NAMES:
        for activation in ACTIVATION_NAMES:
            for form in RELOG_FORM_NAMES:
                for min_group, max_group in ((1, 1), (1, 2), (2, 2)):
                    spec = ModelSpec(activation=activation, units=unit, min_group=min_group, max_group=max_group)
                    options = ArchOptions(relog_form=form, centering=True, batchnorm=True, normalize=True)
                    found |= {type(module) for module in build_model(spec, MNIST_SHAPE, options).modules()}
    vgg = build_model(ModelSpec(), dataclasses.replace(MNIST_SHAPE, channels=3, height=32, width=32),
                      ArchOptions(arch="vgg11", modification_start_layer=3, batchnorm=True))
    return found | {type(module) for module in vgg.modules()}


def test_every_built_layer_has_a_surrogate_or_a_stated_reason() -> None:
    layers = _built_layers()
    assert {Unit, Fold, ReLU, activations.ReLog, activations.BetaReLog} <= {
        base for layer in layers for base in layer.__mro__}
    exact_layers = {**EXACT_LAYERS, activations.Centering.__name__: activations.CENTERING_SURROGATE}
    missing = [layer.__name__ for layer in layers
               if not issubclass(layer, SmoothBackward) and not _stated(exact_layers.get(layer.__name__))]
    assert not missing, f"layers without a surrogate or a stated reason: {missing}"
    assert not [name for name, entry in EXACT_LAYERS.items() if entry.surrogate]


@pytest.mark.parametrize("name", ["relog-elliptical-minmaxout_2_4-bce", "relu-quadratic-maxout_2",
                                  "relog-spherical-minmaxout_2_2-sigmoid_out"])
def test_the_surrogate_mode_keeps_forward_and_state_exact_and_changes_the_gradient(name: str) -> None:
    torch.manual_seed(0)
    spec = parse_model_name(name)
    model = build_model(spec, MNIST_SHAPE, ArchOptions(centering=True, batchnorm=True, relog_start=0.5)).eval()
    for module in model.modules():
        if isinstance(module, Unit) and module.kind.curved:
            module.curvature.fill_(1.0)  # a finished ramp: the curvature counts in full
    target = attack_target(model, spec.output, "probs")
    guard = ModelGuard(model)
    x = torch.rand(4, 1, 28, 28, requires_grad=True)
    exact_scores, exact_probs = model(x), target(x)
    (exact_grad,) = torch.autograd.grad(exact_probs[:, 0].sum(), x)
    with surrogate_gradients(target, 0.5):
        scores, probs = model(x), target(x)
        (surrogate_grad,) = torch.autograd.grad(probs[:, 0].sum(), x)
    assert torch.equal(scores, exact_scores) and torch.equal(probs, exact_probs)  # bit-identical forward
    guard.check("the surrogate mode")
    assert not torch.allclose(surrogate_grad, exact_grad)
    assert all(layer.surrogate_temperature is None for layer in target.modules() if isinstance(layer, SmoothBackward))


# ---- masked constructions: PGD (strong preset) leaves them standing, the adaptive attack breaks them ----

INPUTS = 16  # input coordinates; each construction's clean input is CENTRE in every one
CENTRE = 0.5
EPS = 0.1  # L∞
SAMPLES = 20


def _accuracy_after(target: nn.Module, model: nn.Module, attack: str) -> float:
    x = torch.full((SAMPLES, INPUTS), CENTRE)
    y = torch.zeros(SAMPLES, dtype=torch.int64)
    with torch.no_grad():
        assert bool((model(x).argmax(dim=1) == y).all())
    guard = ModelGuard(model)
    adv = run_attack(resolve_setting({"attack": attack, "preset": "strong", "eps": EPS}, "digits"), target, x, y,
                     AttackContext(model(x).shape[1], lambda v: model(v).softmax(dim=1), seed=0))
    guard.check(attack)
    assert (adv - x).abs().max() <= EPS + 1e-6
    with torch.no_grad():
        return float((model(adv).argmax(dim=1) == y).float().mean())


class _Scores(nn.Module):
    """Class 0's score from a linear unit, the other classes' from ``rest``: ``[N, 1 + classes of rest]``."""

    def __init__(self, threshold: float, rest: nn.Module) -> None:
        super().__init__()
        self.flat = DenseUnit("linear", INPUTS, 1)
        self.rest = rest
        with torch.no_grad():
            self.flat.weight.zero_()
            self.flat.bias.fill_(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.flat(x), self.rest(x)], dim=1)


CURVATURE = 1 / 32  # k of every bump below: the spherical unit's a/2 · 1/INPUTS with a = 1
FAR = 0.1 / CURVATURE  # class 2's centre lies FAR beyond CENTRE in every coordinate: its slope is 2k·FAR = 0.2


def _bumps(kind: str) -> nn.Module:
    """Class 0 scores 0.25; class 1 is a bump ``0.24 − k·|x − c|²`` centred on the clean input c, class 2 a bump
    centred at ``c + FAR``: ``≈ 0.2·Σ(x − c)``, which passes 0.25 only near the ε-ball's corner ``c + ε``.

    At c class 1 is the runner-up and its exact gradient is 0; from any random start it pulls back towards c (the
    margin's runner-up stays class 1 unless Σ(x − c) > 1.2, five standard deviations of a random start), so PGD
    stays at c. The surrogate's flattened curvature gives ``2k·(c − λ·x) > 0``: towards the corner. (At an exact
    centre every direction is alike to the bump, so any surrogate must pick one; this one takes the linear part's,
    ``W = 2k·c``, away from the input's origin, which is where class 2 lies here.)
    """
    unit = DenseUnit(kind, INPUTS, 2).eval()  # eval: the bias below is set from a forward that must not ramp
    centres = torch.stack([torch.full((INPUTS,), CENTRE), torch.full((INPUTS,), CENTRE + FAR)])
    with torch.no_grad():
        unit.curvature.fill_(1.0)
        if unit.kind.second_weight:
            unit.second_weight.fill_(CURVATURE)
        unit.weight.copy_(2 * CURVATURE * centres)
        unit.bias.zero_()
        unit.bias.copy_(torch.tensor([0.24, 0.0]) - unit(torch.full((1, INPUTS), CENTRE))[0])
    return _Scores(0.25, unit).eval()


@pytest.mark.parametrize("kind", ["elliptical", "quadratic", "spherical"])
def test_the_flattened_curvature_breaks_a_bump_centred_on_the_input_where_pgd_does_not(kind: str) -> None:
    model = _bumps(kind).requires_grad_(False)
    x = torch.full((1, INPUTS), CENTRE, requires_grad=True)
    (exact,) = torch.autograd.grad(margin_loss(model(x), torch.zeros(1, dtype=torch.int64)).sum(), x)
    with surrogate_gradients(model, 1.0):
        (smooth,) = torch.autograd.grad(margin_loss(model(x), torch.zeros(1, dtype=torch.int64)).sum(), x)
    assert torch.count_nonzero(exact) == 0 and bool((smooth > 0).all())  # at the centre: 0, then the linear part
    pgd = _accuracy_after(model, model, "pgd")
    adaptive = _accuracy_after(model, model, "adaptive")
    assert pgd == 1.0 and adaptive == 0.0, (pgd, adaptive)


def _saturated() -> nn.Module:
    """Class 0 scores 30 (σ = 1 in float32), class 1 ``700·Σ(x − c) − 1000``: below −100 (σ = 0) across the
    random starts, above 30 at the corner ``c + ε``. Every probability is saturated: its exact gradient is 0."""
    unit = DenseUnit("linear", INPUTS, 1)
    with torch.no_grad():
        unit.weight.fill_(700.0)
        unit.bias.fill_(-1000.0 - 700.0 * CENTRE * INPUTS)
    return _Scores(30.0, unit).eval().requires_grad_(False)


@pytest.mark.parametrize("output", OUTPUT_NAMES)
def test_the_identity_through_a_saturated_output_breaks_it_where_pgd_on_the_probabilities_does_not(
        output: str) -> None:
    model = _saturated()
    target = attack_target(model, output, "probs")
    pgd = _accuracy_after(target, model, "pgd")
    adaptive = _accuracy_after(target, model, "adaptive")
    assert pgd == 1.0 and adaptive == 0.0, (pgd, adaptive)


class _Hidden(nn.Module):
    """Class 1's score ``layer(u)``, ``u = 10·Σ(x − c) − 15`` (and a constant 0.2 beside it for a fold)."""

    def __init__(self, layer: nn.Module, branches: int) -> None:
        super().__init__()
        self.unit = DenseUnit("linear", INPUTS, branches)
        self.layer = layer
        with torch.no_grad():
            self.unit.weight.zero_()
            self.unit.weight[0].fill_(10.0)
            self.unit.bias.fill_(0.2)
            self.unit.bias[0] = -15.0 - 10.0 * CENTRE * INPUTS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.unit(x))


CONSTRUCTIONS: dict[str, Callable[[], nn.Module]] = {
    # u < 0 across the random starts: a dead rectifier, exact gradient 0; u = 1 > 0.5 at the corner
    "relu": lambda: _Hidden(ReLU(), 1),
    "relog": lambda: _Hidden(activations.ReLog(start=1.0), 1),
    "beta_relog": lambda: _Hidden(activations.BetaReLog(start=1.0), 1),
    # max(u, 0.2): the constant branch wins across the random starts and takes the whole exact gradient
    "maxout": lambda: _Hidden(Fold(1, 2), 2),
}


@pytest.mark.parametrize("name", CONSTRUCTIONS)
def test_the_rectifier_and_fold_surrogates_break_a_hidden_branch_where_pgd_does_not(name: str) -> None:
    model = _Scores(0.5, CONSTRUCTIONS[name]()).eval().requires_grad_(False)
    pgd = _accuracy_after(model, model, "pgd")
    adaptive = _accuracy_after(model, model, "adaptive")
    assert pgd == 1.0 and adaptive == 0.0, (pgd, adaptive)


def test_the_surrogate_backward_tends_to_the_exact_one_as_the_temperature_falls() -> None:
    model = _bumps("elliptical").requires_grad_(False)
    x = torch.full((3, INPUTS), CENTRE).add_(torch.linspace(-0.05, 0.05, 3)[:, None]).requires_grad_(True)
    (exact,) = torch.autograd.grad(model(x)[:, 1:].sum(), x)
    with surrogate_gradients(model, 1e-6):
        (cold,) = torch.autograd.grad(model(x)[:, 1:].sum(), x)
    assert torch.allclose(cold, exact, atol=1e-6)


def test_the_architecture_page_lists_every_component_of_the_registries() -> None:
    page = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    section = page.split("### Surrogates", 1)[1].split("\n## ", 1)[0]
    names = [name for names, _ in COMPONENT_REGISTRIES.values() for name in names]
    names += [*RELOG_FORM_NAMES, *(name for names in TRAINING_ONLY_NAMES.values() for name in names)]
    assert not [name for name in names if f"`{name}" not in section]
