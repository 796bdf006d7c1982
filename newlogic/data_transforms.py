"""Image transforms and synthetic images shared by training and evaluation (SPEC §2 negatives, §6 open world).

Low in the layers (beside ``newlogic.data``), so that the scrambling negatives
(``newlogic.training.negatives``), noise rejection (``newlogic.evaluation.noise``) and the confidence
figure (``newlogic.figures.confidence``) use one definition without importing each other.
"""

import torch


def permute_pixels(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random order of the ``H·W`` pixel positions, the same for every image and channel.

    The order is drawn on ``generator``'s device (moved to the images' device if that differs).
    """
    batch, channels, height, width = images.shape
    order = torch.randperm(height * width, generator=generator, device=generator.device).to(images.device)
    return images.reshape(batch, channels, height * width)[:, :, order].reshape(images.shape)


def uniform_noise(count: int, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """``count`` images of ``shape`` (C, H, W), every pixel i.i.d. ``U(0, 1)`` from a generator seeded with ``seed``."""
    return torch.rand(count, *shape, generator=torch.Generator().manual_seed(seed))
