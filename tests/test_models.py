"""Models of SPEC §3 for every journal name of SPEC §1; channel rules, options, ramps, init."""

from collections import Counter

import pytest
import torch
from journal_names import JOURNAL_NAMES
from torch import nn

from newlogic.datasets import DatasetInfo, dataset_info
from newlogic.errors import UserError
from newlogic.nn.activations import Centering, ReLog
from newlogic.nn.init import DYNAMIC_GAIN, initialize
from newlogic.nn.models import (
    ARCHITECTURES,
    ArchOptions,
    Normalize,
    build_model,
    max_fit_parameters,
    ramp_state,
    resolve_arch,
)
from newlogic.nn.units import ConvUnit, DenseUnit, Unit
from newlogic.spec import parse_model_name

# SPEC §1, every name that must parse (the legacy cnn-<dataset>- names carry their own dataset)
DIGITS = dataset_info("digits")
TINY_CIFAR = DatasetInfo("tiny", 3, 32, 32, 10, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))


def _count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def _forward_both_modes(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        model.train()(x)
        return model.eval()(x)


@pytest.mark.parametrize("name", JOURNAL_NAMES)
def test_every_journal_name_builds_the_mnist_cnn(name: str) -> None:
    model = build_model(parse_model_name(name), DIGITS, ArchOptions())
    scores = _forward_both_modes(model, torch.rand(2, 1, 28, 28))
    assert scores.shape == (2, 10) and torch.isfinite(scores).all()


@pytest.mark.slow  # ~40 s on 2 shared CPU cores: min/max-out VGGs have up to 150 M parameters
@pytest.mark.parametrize("name", JOURNAL_NAMES)
def test_every_journal_name_builds_vgg11(name: str) -> None:
    model = build_model(parse_model_name(name), TINY_CIFAR, ArchOptions(arch="vgg11"))
    with torch.no_grad():
        scores = model(torch.rand(2, 3, 32, 32))  # training mode: the ramps advance too
    assert scores.shape == (2, 10) and torch.isfinite(scores).all()


# --- channel rules: parameter counts by hand -----------------------------------------------------------
# MNIST CNN, F = fold factor, V doubles the weights (not the biases) of quadratic/elliptical units:
#   conv1 1·16F·25 + 16F,  conv2 16·32F·25 + 32F,  linear 32·7·7·10F + 10F
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("relu", (400 + 16) + (12800 + 32) + (15680 + 10)),  # 28,938
        ("relog-maxout_4", (1600 + 64) + (51200 + 128) + (62720 + 40)),  # 115,752
        ("relog-minmaxout_2_4", (3200 + 128) + (102400 + 256) + (125440 + 80)),  # 231,504
        ("relog-elliptical-maxout_4", (2 * 1600 + 64) + (2 * 51200 + 128) + (2 * 62720 + 40)),  # 231,272
        ("relog-quadratic-maxout_4", (2 * 1600 + 64) + (2 * 51200 + 128) + (2 * 62720 + 40)),
        ("relog-spherical-maxout_4", (1600 + 64) + (51200 + 128) + (62720 + 40)),  # no second weight
    ],
)
def test_mnist_cnn_parameter_counts(name: str, expected: int) -> None:
    assert _count(build_model(parse_model_name(name), DIGITS, ArchOptions())) == expected


def test_vgg11_parameter_count_is_kuangliu_without_batchnorm() -> None:
    """Convs 3·64·9+64, 64·128·9+128, 128·256·9+256, 256·256·9+256, 256·512·9+512, 3 × (512·512·9+512); 512·10+10.

    = 9,225,610; with BatchNorm (2 per channel, 2,752 channels) kuangliu's VGG11: 9,231,114.
    """
    spec = parse_model_name("relu")
    assert _count(build_model(spec, TINY_CIFAR, ArchOptions(arch="vgg11"))) == 9_225_610
    assert _count(build_model(spec, TINY_CIFAR, ArchOptions(arch="vgg11", batchnorm=True))) == 9_231_114


def test_vgg16_journal_cifar_ablation_layout() -> None:
    """VGG16, BN on, modified from cfg index 12: the last four convs (cfg 12, 14, 15, 16) and the classifier."""
    spec = parse_model_name("relog-quadratic-max_fit_l2-maxout_4")
    model = build_model(spec, TINY_CIFAR, ArchOptions(arch="vgg16", batchnorm=True, modification_start_layer=12))
    units = [m for m in model.modules() if isinstance(m, Unit)]
    plain = [m for m in model.modules() if type(m) is nn.Conv2d]
    assert [(u.in_channels, u.out_channels) for u in units if isinstance(u, ConvUnit)] == [(512, 2048)] * 4
    assert isinstance(units[-1], DenseUnit) and units[-1].out_features == 40
    assert len(plain) == 9 and all(u.unit_kind == "quadratic" for u in units)
    kinds = Counter(type(m).__name__ for m in model.modules())
    assert kinds["ReLU"] == 9 and kinds["ReLog"] == 4 and kinds["BatchNorm2d"] == 13 and kinds["Fold"] == 5
    weights, biases = max_fit_parameters(model)
    assert len(weights) == 10 and len(biases) == 5
    assert not {id(p) for p in weights + biases} & {id(p) for conv in plain for p in conv.parameters()}
    scores = _forward_both_modes(model, torch.rand(2, 3, 32, 32))
    assert scores.shape == (2, 10) and torch.isfinite(scores).all()


def test_batchnorm_follows_the_activation_with_its_momentum() -> None:
    model = build_model(parse_model_name("relog-maxout_4"), DIGITS, ArchOptions(batchnorm=True, bn_momentum=0.05))
    layers = list(model.features)
    norms = [i for i, layer in enumerate(layers) if isinstance(layer, nn.BatchNorm2d)]
    assert len(norms) == 2
    assert all(isinstance(layers[i - 1], ReLog) and layers[i].momentum == 0.05 for i in norms)


def test_centering_sits_after_each_relog() -> None:
    model = build_model(parse_model_name("relog"), DIGITS, ArchOptions(centering=True))
    assert sum(isinstance(m, Centering) for m in model.modules()) == 2


def test_normalize_is_the_first_layer_and_only_shifts_inputs() -> None:
    spec = parse_model_name("relog-elliptical-maxout_4")
    gray = DatasetInfo("gray", 1, 28, 28, 10, (0.2,), (0.3,))
    plain = build_model(spec, gray, ArchOptions()).eval()
    normalized = build_model(spec, gray, ArchOptions(normalize=True)).eval()
    assert isinstance(normalized[0], Normalize)
    normalized.load_state_dict(plain.state_dict())  # the same weights; normalize has no saved state
    x = torch.rand(3, 1, 28, 28)
    expected = plain((x - 0.2) / 0.3)
    assert torch.allclose(normalized(x), expected, atol=1e-5)


def test_auto_architecture_by_input_size() -> None:
    assert resolve_arch(DIGITS, ArchOptions()) == "mnist_cnn"
    assert resolve_arch(TINY_CIFAR, ArchOptions()) == "vgg16"
    with pytest.raises(UserError, match="mnist_cnn"):
        resolve_arch(DatasetInfo("big", 3, 64, 64, 10, (0.5,) * 3, (0.5,) * 3), ArchOptions())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"arch": "resnet18"}, "valid: auto, mnist_cnn, vgg11, vgg13, vgg16, vgg19"),
        ({"relog_form": "tanh"}, "valid: journal, beta"),
        ({"bn_momentum": 0.0}, "bn_momentum"),
        ({"modification_start_layer": -1}, "modification_start_layer"),
        ({"relog_beta": 0.0}, "relog_beta"),
        ({"curvature_step": -1e-3}, "curvature_step"),
    ],
)
def test_invalid_options_name_the_valid_ones(options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        ArchOptions(**options)


def test_modification_start_layer_bounds() -> None:
    spec = parse_model_name("relog")
    with pytest.raises(UserError, match="VGG only"):
        build_model(spec, DIGITS, ArchOptions(modification_start_layer=2))
    with pytest.raises(UserError, match="valid: 0..13"):
        build_model(spec, TINY_CIFAR, ArchOptions(arch="vgg11", modification_start_layer=14))
    all_plain = build_model(spec, TINY_CIFAR, ArchOptions(arch="vgg11", modification_start_layer=13))
    assert [type(m).__name__ for m in all_plain.modules() if isinstance(m, Unit)] == ["DenseUnit"]


def test_architecture_registry_holds_every_vgg() -> None:
    assert set(ARCHITECTURES) == {"mnist_cnn", "vgg11", "vgg13", "vgg16", "vgg19"}
    convs = {name: sum(isinstance(m, nn.Conv2d) for m in build_model(parse_model_name("relu"), TINY_CIFAR,
                                                                         ArchOptions(arch=name)).modules())
             for name in ("vgg13", "vgg19")}
    assert convs == {"vgg13": 10, "vgg19": 16}


# --- ramps and max_fit through the model ---------------------------------------------------------------

def test_ramp_state_follows_training_passes_and_is_saved() -> None:
    spec = parse_model_name("relog-elliptical-maxout_4")
    options = ArchOptions(relog_start=-0.001, relog_step=0.002, curvature_step=0.01)
    model = build_model(spec, DIGITS, options)
    assert ramp_state(model) == {"relog_strength": pytest.approx(-0.001), "curvature": 0.0}
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        for _ in range(3):
            model.train()(x)
        model.eval()(x)
    state = ramp_state(model)
    assert state == {"relog_strength": pytest.approx(0.005), "curvature": pytest.approx(0.03)}
    restored = build_model(spec, DIGITS, options)
    restored.load_state_dict(model.state_dict())
    assert ramp_state(restored) == state


def test_ramp_state_is_none_without_relog_or_curvature() -> None:
    assert ramp_state(build_model(parse_model_name("relu-maxout_4"), DIGITS, ArchOptions())) == {
        "relog_strength": None, "curvature": None}


def test_max_fit_parameters_are_w_v_and_b_of_modified_layers() -> None:
    model = build_model(parse_model_name("relog-elliptical-maxout_4"), DIGITS, ArchOptions())
    weights, biases = max_fit_parameters(model)
    conv1 = model.features[0]
    assert len(weights) == 6 and len(biases) == 3
    assert weights[0] is conv1.weight and weights[1] is conv1.second_weight and biases[0] is conv1.bias


# --- initialisation ------------------------------------------------------------------------------------

def test_kaiming_init_std_and_zero_bias() -> None:
    model = build_model(parse_model_name("relog-quadratic-maxout_4"), DIGITS, ArchOptions())
    initialize(model, "kaiming", torch.rand(2, 1, 28, 28))
    conv2 = model.features[4]  # fan_in 16·5·5 = 400, 51,200 weights: std within ~1%
    for weight in (conv2.weight, conv2.second_weight):
        assert weight.std().item() == pytest.approx((2 / 400) ** 0.5, rel=0.02)
    assert all(unit.bias.abs().max().item() == 0.0 for unit in model.modules() if isinstance(unit, Unit))


def test_dynamic_init_follows_its_formula_layer_by_layer() -> None:
    """σ_W = 0.9/√(fan_in·E[x²]) of each layer's own input (after the earlier layers' init), σ_V from E[x⁴]."""
    torch.manual_seed(0)
    model = nn.Sequential(DenseUnit("elliptical", 300, 1000), nn.ReLU(), nn.Linear(1000, 800))
    sample = 2 * torch.rand(64, 300)
    initialize(model, "dynamic", sample)
    assert model.training and int(model[0].curvature_steps) == 0
    with torch.no_grad():
        hidden = torch.relu(sample @ model[0].weight.T)  # curvature 0, bias 0
    expected = [
        (model[0].weight, DYNAMIC_GAIN / (300 * sample.pow(2).mean()) ** 0.5),
        (model[0].second_weight, DYNAMIC_GAIN / (300 * sample.pow(4).mean()) ** 0.5),
        (model[2].weight, DYNAMIC_GAIN / (1000 * hidden.pow(2).mean()) ** 0.5),
    ]
    for weight, std in expected:  # 300k-800k weights: the sample std is within ~0.2%
        assert weight.std().item() == pytest.approx(std.item(), rel=0.01)
        assert abs(weight.mean().item()) < 0.01 * std.item()
    assert model[0].bias.abs().max().item() == 0.0 and model[2].bias.abs().max().item() == 0.0


def test_dynamic_init_on_the_mnist_cnn_keeps_ramps_and_gives_moderate_scores() -> None:
    torch.manual_seed(0)
    model = build_model(parse_model_name("relog-elliptical-maxout_4"), DIGITS, ArchOptions())
    initialize(model, "dynamic", torch.rand(32, 1, 28, 28))
    assert model.training and ramp_state(model) == {"relog_strength": 0.0, "curvature": 0.0}
    with torch.no_grad():
        scores = model.eval()(torch.rand(32, 1, 28, 28))
    assert 0.1 < scores.pow(2).mean().item() < 10


def test_unknown_init_method_is_a_user_error() -> None:
    with pytest.raises(UserError, match="valid: kaiming, dynamic"):
        initialize(nn.Linear(2, 2), "xavier", torch.zeros(1, 2))
