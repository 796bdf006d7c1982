"""Training-time augmentation by name (SPEC §2), batched on the device.

Each image of a batch gets its own random draw (its own crop, angle, noise, erased box,
offset, flip); the whole batch is transformed by a few tensor operations (one
``grid_sample`` for crop + rotation), with no PIL, no per-sample Python and no DataLoader.
An augmentation takes the images and two seeded generators: ``host`` (CPU) for the few
numbers per image that shape a transform (box, angle: computed with numpy and sent to the
device in one copy, cheaper than dozens of tiny device operations) and ``device`` for
per-pixel randomness (noise) and cheap per-image draws. Same seeds, same augmentation.
Inputs and outputs are pixels in [0, 1], ``[N, C, H, W]``.
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from newlogic.errors import UserError
from newlogic.registry import keyed_by
from newlogic.training.options import AUGMENTATION_NAMES

# (images, host generator, device generator) → augmented images
Augmentation = Callable[[torch.Tensor, torch.Generator, torch.Generator], torch.Tensor]


def _uniform(host: torch.Generator, n: int, columns: int) -> np.ndarray:
    """``[n, columns]`` float64 draws from U[0, 1) on the host generator, as numpy."""
    return torch.rand(n, columns, generator=host, dtype=torch.float64).numpy()


def _between(unit: np.ndarray, low: float, high: float) -> np.ndarray:
    """Uniform draws in [0, 1) moved to [low, high)."""
    return low + (high - low) * unit


@functools.cache
def _pixel_centres(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``[H·W, 3]``: normalised x, y (``align_corners=False``) and 1 for every output pixel, row-major."""
    xs = (2 * torch.arange(width, device=device, dtype=dtype) + 1) / width - 1
    ys = (2 * torch.arange(height, device=device, dtype=dtype) + 1) / height - 1
    return torch.stack([xs.expand(height, width), ys[:, None].expand(height, width),
                        torch.ones(height, width, device=device, dtype=dtype)], dim=-1).reshape(height * width, 3)


def affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (N, C, H, W), align_corners=False)`` as one ``[H·W, 3] × [3, 2N]`` matmul.

    On the CPU this is about ten times faster than ``F.affine_grid`` (a batched matmul of tiny matrices).
    """
    n = theta.shape[0]
    grid = _pixel_centres(height, width, theta.device, theta.dtype) @ theta.reshape(2 * n, 3).T
    return grid.reshape(height * width, n, 2).transpose(0, 1).reshape(n, height, width, 2)


@dataclass(frozen=True)
class MnistAugment:
    """The journal's MNIST augmentation (SPEC §2), per image, in this order:

    1. random resized crop: area fraction ``s ~ U(scale)``, aspect ``r = exp(U(log ratio))``,
       ``w = √(s·H·W·r)``, ``h = √(s·H·W/r)``, up to ``attempts`` tries until the box fits
       (else the whole image), box position uniform, resized back to ``H × W`` (bilinear);
    2. rotation by ``θ ~ U(−degrees, degrees)`` about the centre, zeros outside;
    3. Gaussian noise ``x + σ·ε``, ``ε ~ N(0, 1)``, clamped to [0, 1];
    4. random erasing with probability ``erase_p``: a box of area ``U(erase_scale)·H·W`` and
       aspect ``exp(U(log erase_ratio))`` at a uniform position is set to 0.

    Steps 1–2 are one affine map: output normalised coordinates ``u`` are read from input
    coordinates ``c + S·R·u`` with ``S = diag(w/W, h/H)``, ``R`` the rotation (conjugated
    to normalised coordinates) and ``c`` the box centre. The defaults of ``ratio``,
    ``attempts``, ``erase_p`` and ``erase_ratio`` are torchvision's (SPEC names none).
    """

    scale: tuple[float, float] = (0.9, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    attempts: int = 10
    degrees: float = 10.0
    noise_std: float = 0.3
    erase_p: float = 0.5
    erase_scale: tuple[float, float] = (0.01, 0.05)
    erase_ratio: tuple[float, float] = (0.3, 3.3)

    def crop_rotate_theta(self, n: int, height: int, width: int, host: torch.Generator) -> np.ndarray:
        """Per-image affine matrices ``[n, 2, 3]`` (output → input, normalised coordinates).

        In units of the image, the box is ``w/W = √(s·r·H/W)``, ``h/H = √(s/r·W/H)``; its centre
        in normalised coordinates is ``(2p − 1)·(1 − w/W)`` for a uniform position ``p``.
        """
        attempts = self.attempts
        draws = _uniform(host, n, 2 * attempts + 3)
        area = _between(draws[:, :attempts], *self.scale)
        aspect = np.exp(_between(draws[:, attempts:2 * attempts], *map(math.log, self.ratio)))
        sizes = np.ones((n, 2, attempts + 1))  # a last attempt that always fits: the whole image
        sizes[:, 0, :attempts] = np.sqrt(area * aspect * (height / width))
        sizes[:, 1, :attempts] = np.sqrt(area / aspect * (width / height))
        first = (sizes <= 1).all(axis=1).argmax(axis=1)
        sx, sy = sizes[np.arange(n), :, first].T  # w/W, h/H
        shift_x, shift_y = ((2 * draws[:, 2 * attempts:2 * attempts + 2] - 1) * (1 - np.stack([sx, sy], 1))).T
        angle = np.deg2rad(_between(draws[:, -1], -self.degrees, self.degrees))
        cos, sin = np.cos(angle), np.sin(angle)
        return np.stack([sx * cos, -(height / width) * sx * sin, shift_x,
                         (width / height) * sy * sin, sy * cos, shift_y], axis=1).reshape(n, 2, 3)

    def erase_boxes(self, n: int, height: int, width: int, host: torch.Generator) -> np.ndarray:
        """``[n, 4]``: top, left, height, width of each image's erased box; outside the image when not erased."""
        draws = _uniform(host, n, 5)
        area = height * width * _between(draws[:, 0], *self.erase_scale)
        aspect = np.exp(_between(draws[:, 1], *map(math.log, self.erase_ratio)))
        limits = np.array([height, width])
        box = np.minimum(np.maximum(np.round(np.sqrt(np.stack([area * aspect, area / aspect], 1))), 1), limits)
        start = np.floor(draws[:, 2:4] * (limits - box + 1))
        start = np.where(draws[:, 4:] < self.erase_p, start, -limits)  # not erased: a box outside the image
        return np.concatenate([start, box], axis=1)

    def __call__(self, images: torch.Tensor, host: torch.Generator, device: torch.Generator) -> torch.Tensor:
        n, _, height, width = images.shape
        drawn = np.concatenate([self.crop_rotate_theta(n, height, width, host).reshape(n, 6),
                                self.erase_boxes(n, height, width, host)], axis=1)
        shape = torch.from_numpy(drawn).to(device=images.device, dtype=images.dtype)
        grid = affine_grid(shape[:, :6].view(n, 2, 3), height, width)
        out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        noise = torch.randn(out.shape, generator=device, device=out.device, dtype=out.dtype)
        out = noise.mul_(self.noise_std).add_(out).clamp_(0.0, 1.0)
        top, left, box_h, box_w = shape[:, 6:, None].unbind(1)
        rows = torch.arange(height, device=images.device, dtype=images.dtype)
        columns = torch.arange(width, device=images.device, dtype=images.dtype)
        in_rows = (rows >= top) & (rows < top + box_h)
        in_columns = (columns >= left) & (columns < left + box_w)
        return out.masked_fill_((in_rows[:, :, None] & in_columns[:, None, :]).unsqueeze(1), 0.0)


@dataclass(frozen=True)
class Cifar10Augment:
    """The journal's CIFAR-10 augmentation (SPEC §2): random crop with zero padding, horizontal flip.

    Per image: pad by ``padding`` with zeros, take the ``H × W`` window at offsets
    ``(i, j) ~ U{0..2·padding}²``, mirror it left–right with probability ``flip_p``. One
    ``gather`` over rows and one over columns (reversed for flipped images) for the batch.
    """

    padding: int = 4
    flip_p: float = 0.5

    def __call__(self, images: torch.Tensor, host: torch.Generator, device: torch.Generator) -> torch.Tensor:
        n, channels, height, width = images.shape
        pad = self.padding
        padded = F.pad(images, (pad, pad, pad, pad))
        top = torch.randint(0, 2 * pad + 1, (n, 1), generator=device, device=images.device)
        left = torch.randint(0, 2 * pad + 1, (n, 1), generator=device, device=images.device)
        flip = torch.rand(n, 1, generator=device, device=images.device) < self.flip_p
        rows = top + torch.arange(height, device=images.device)
        columns = left + torch.arange(width, device=images.device)
        columns = torch.where(flip, columns.flip(1), columns)
        out = padded.gather(2, rows[:, None, :, None].expand(n, channels, height, width + 2 * pad))
        return out.gather(3, columns[:, None, None, :].expand(n, channels, height, width))


def no_augmentation(images: torch.Tensor, host: torch.Generator, device: torch.Generator) -> torch.Tensor:
    """The images unchanged."""
    return images


AUGMENTATIONS: dict[str, Augmentation] = keyed_by(AUGMENTATION_NAMES, {
    "none": no_augmentation,
    "mnist": MnistAugment(),
    "cifar10": Cifar10Augment(),
}, "AUGMENTATIONS")


def augmentation(name: str) -> Augmentation:
    """The augmentation named ``name`` (``none``, ``mnist``, ``cifar10``)."""
    if name not in AUGMENTATIONS:
        raise UserError(f"unknown augment {name!r}; valid: {', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]
