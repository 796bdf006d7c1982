"""Choices of the per-model figures, without torch, scikit-learn or matplotlib (planning checks them).

``FigureOptions`` is ``from_dict``-able from a config's ``figures:`` mapping; the figure modules
(``patches``, ``interpolation``, ``gallery``, ``confidence``) take their defaults from here.
"""

from dataclasses import dataclass, field
from typing import Annotated, Any

from newlogic.attacks.catalog import GALLERY_SETTING
from newlogic.options import AT_LEAST_ONE, NON_NEGATIVE, Range, check_ranges

TOP_FRACTION = 0.01  # top_patches: share of conv1 positions kept (SPEC §6: 1%)
N_CLUSTERS = 4  # top_patches: k-means patterns
DEFAULT_CLASSES = (1, 7, 0)  # [project] x, y, z: a 1 → 7 path (similar shapes) and a 1 → 0 path (different)
GALLERY_SAMPLES = 8
NOISE_SAMPLES = 1000  # uniform-noise images of the confidence histogram


@dataclass(frozen=True)
class FigureOptions:
    """Choices of the per-model figures.

    ``channel``: the conv1 channel of ``top_patches``; ``top_fraction``: its share of positions
    (SPEC §6: 1%); ``n_clusters``: k-means patterns; ``weight_scope``: ``neuron`` or ``global``
    max|w| scaling; ``interpolation_classes``: digits x, y, z; ``gallery_setting``: the attack
    setting of the gallery (SPEC §6: C&W); ``gallery_samples``; ``noise_samples``: uniform-noise
    images of the confidence histogram. Ranges (``newlogic.options.check_ranges``): ``channel`` >= 0,
    ``top_fraction`` in (0, 1], counts >= 1.
    """

    channel: Annotated[int, NON_NEGATIVE] = 0
    top_fraction: Annotated[float, Range(0, 1, low_open=True)] = TOP_FRACTION
    n_clusters: Annotated[int, AT_LEAST_ONE] = N_CLUSTERS
    weight_scope: str = "neuron"
    interpolation_classes: tuple[int, int, int] = DEFAULT_CLASSES
    gallery_setting: dict[str, Any] = field(default_factory=lambda: dict(GALLERY_SETTING))
    gallery_samples: Annotated[int, AT_LEAST_ONE] = GALLERY_SAMPLES
    noise_samples: Annotated[int, AT_LEAST_ONE] = NOISE_SAMPLES

    def __post_init__(self) -> None:
        check_ranges(self, "figures")
