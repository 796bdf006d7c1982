"""Architecture options and the names they may take, without torch (SPEC §2–§3).

Planning (``snakemake -n``, ``newlogic.validation``) checks a config's ``architecture`` overrides
here. Each ``*_NAMES`` tuple is the one declaration of a registry's names; the torch registry beside
its code is built with ``newlogic.registry.keyed_by`` from it, so it holds exactly these names or
fails at import: ``ARCHITECTURES`` (``newlogic.nn.models``), ``ACTIVATIONS`` and ``RELOG_FORMS``
(``newlogic.nn.activations``), ``UNITS`` (``newlogic.nn.units``), ``OUTPUTS`` (``newlogic.nn.outputs``),
the folding surrogates (``newlogic.nn.folding.SURROGATES``) and ``INIT_METHODS`` (``newlogic.nn.init``).
The activation, unit, output and folding names are what the model-name grammar (``newlogic.spec``) names.
"""

from dataclasses import dataclass
from typing import Annotated

from newlogic.errors import UserError
from newlogic.options import FRACTION, NON_NEGATIVE, POSITIVE, Range, check_ranges
from newlogic.spec import DEFAULT_RELOG_BASE

# kuangliu/pytorch-cifar models/vgg.py: conv widths, 'M' = 2×2 max-pool (SPEC §3)
VGG_CONFIGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
ARCHITECTURE_NAMES: tuple[str, ...] = ("mnist_cnn", *VGG_CONFIGS)  # newlogic.nn.models.ARCHITECTURES
RELOG_FORM_NAMES: tuple[str, ...] = ("journal", "beta")  # newlogic.nn.activations.RELOG_FORMS
INIT_METHOD_NAMES: tuple[str, ...] = ("kaiming", "dynamic")  # newlogic.nn.init.INIT_METHODS
ACTIVATION_NAMES: tuple[str, ...] = ("relu", "relog")  # ModelSpec.activation: newlogic.nn.activations.ACTIVATIONS
UNIT_NAMES: tuple[str, ...] = ("linear", "quadratic", "elliptical", "spherical")  # ModelSpec.units: nn.units.UNITS
OUTPUT_NAMES: tuple[str, ...] = ("softmax", "sigmoid")  # ModelSpec.output: newlogic.nn.outputs.OUTPUTS
# the grammar's folding tokens (maxout_<k>, minmaxout_<m>_<k>): newlogic.nn.folding.SURROGATES
FOLDING_NAMES: tuple[str, ...] = ("maxout", "minmaxout")
AT_MOST_ONE = Range(high=1.0)  # a ramp's start: a negative one delays the ramp


@dataclass(frozen=True)
class ReLogSettings:
    """Plain values that shape a ReLog (SPEC §2): the journal base n or the paper's β, the ramp, centering."""

    base: float = DEFAULT_RELOG_BASE
    form: str = "journal"
    beta: float = 1.0
    start: float = 0.0
    step: float = 0.001
    centering: bool = False


@dataclass(frozen=True)
class ArchOptions:
    """Architecture options that are not part of the model name (SPEC §2–§3); defaults = the MNIST recipe.

    ``arch``: ``auto`` (MNIST CNN for 28×28 inputs, VGG16 for 32×32) or one of
    ``ARCHITECTURE_NAMES``. ``batchnorm``/``bn_momentum``: BatchNorm after each conv layer's
    activation (PyTorch momentum). ``modification_start_layer``: VGG cfg index from which
    convs are modified (journal CIFAR: 12); MNIST CNN: must be 0. ``centering``: subtract 0.5
    after each ReLog. ``normalize``: ``(x - mean) / std`` of the ``InputShape`` as the first layer.
    ``relog_form``: ``journal`` or ``beta`` (with ``relog_beta``). ``relog_start``/``relog_step``:
    the ReLU→ReLog ramp s; ``curvature_step``: the curvature ramp a (CIFAR recipe: 1e-4).
    Ranges (``Annotated``, checked by ``newlogic.options.check_ranges``): ``bn_momentum`` in (0, 1],
    ``relog_beta`` > 0, ``relog_start`` <= 1 (below 0 delays the ramp), ramp steps in [0, 1]; numbers finite.
    """

    arch: str = "auto"
    batchnorm: bool = False
    bn_momentum: Annotated[float, Range(0, 1, low_open=True)] = 0.01
    modification_start_layer: Annotated[int, NON_NEGATIVE] = 0
    centering: bool = False
    normalize: bool = False
    relog_form: str = "journal"
    relog_beta: Annotated[float, POSITIVE] = 1.0
    relog_start: Annotated[float, AT_MOST_ONE] = 0.0
    relog_step: Annotated[float, FRACTION] = 0.001
    curvature_step: Annotated[float, FRACTION] = 1e-3

    def __post_init__(self) -> None:
        if self.arch != "auto" and self.arch not in ARCHITECTURE_NAMES:
            raise UserError(f"unknown architecture {self.arch!r}; valid: auto, {', '.join(ARCHITECTURE_NAMES)}")
        if self.relog_form not in RELOG_FORM_NAMES:
            raise UserError(f"unknown relog_form {self.relog_form!r}; valid: {', '.join(RELOG_FORM_NAMES)}")
        check_ranges(self, "architecture")

    def relog_settings(self, base: float) -> ReLogSettings:
        """The plain values ``make_activation`` takes: ReLog base n (from the name), form, β, ramp, centering."""
        return ReLogSettings(base=base, form=self.relog_form, beta=self.relog_beta, start=self.relog_start,
                             step=self.relog_step, centering=self.centering)
