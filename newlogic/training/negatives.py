"""Negative examples for open-world training of ``sigmoid_out`` models (SPEC §2), by name.

From epoch ``TrainOptions.negatives_start_epoch`` (journal: 1) each batch of ``B`` images also
yields ``count = round(negatives_ratio·B)`` negatives. Their targets are all zeros, they go
through the same loss, and their mean loss is added to the batch's. A sampler returns the
negatives and a 0/1 weight per negative (0 = drop it), so the shapes never depend on the
data and nothing waits for the device.

Sources: negative ``i`` is made from image ``i mod B`` of the (already shuffled) batch.
Which scrambling a batch gets is drawn from the host generator; the permutations are drawn
on the images' device, from ``_generator(images, host, device)``: the host generator for CPU
images (the draws, and so the results, of earlier versions), the device generator on a GPU
(no index copy from the host per batch); per-image draws from the device generator.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from newlogic.data_transforms import permute_pixels
from newlogic.errors import UserError
from newlogic.registry import keyed_by
from newlogic.training.options import NEGATIVES_NAMES

Negatives = tuple[torch.Tensor, torch.Tensor]
# (images [B, C, H, W], labels [B], count, host generator, device generator) → (negatives, weights)
NegativeSampler = Callable[[torch.Tensor, torch.Tensor, int, torch.Generator, torch.Generator], Negatives]

# image side → the two block sizes of block scrambling (SPEC §2: MNIST 5 and 7, CIFAR-10 3 and 9)
BLOCK_SIZES: dict[int, tuple[int, int]] = {28: (5, 7), 32: (3, 9)}
OVERLAY_SCALE = (0.7, 1.0)


def _sources(images: torch.Tensor, count: int) -> torch.Tensor:
    return images[torch.arange(count, device=images.device) % images.shape[0]]


def _generator(images: torch.Tensor, host: torch.Generator, device: torch.Generator) -> torch.Generator:
    """Where a batch's permutations are drawn: ``host`` for CPU images, else the device generator."""
    return host if images.device.type == "cpu" else device


def block_order(size: int, block: int, generator: torch.Generator) -> torch.Tensor:
    """Indices ``0..size-1`` cut into consecutive blocks of ``block`` (the last may be shorter), blocks shuffled.

    With ``perm`` a random order of the ``⌈size/block⌉`` blocks and ``rank[perm[k]] = k``, index
    ``i`` goes to the place given by sorting ``rank[i // block]·size + i``: block by block in the
    order ``perm``, each block's indices kept in order (on ``generator``'s device, no host sync).
    """
    indices = torch.arange(size, device=generator.device)
    perm = torch.randperm(-(-size // block), generator=generator, device=generator.device)
    rank = torch.empty_like(perm)
    rank[perm] = torch.arange(len(perm), device=generator.device)
    return (rank[indices // block] * size + indices).argsort()


def scramble_blocks(images: torch.Tensor, block: int, generator: torch.Generator) -> torch.Tensor:
    """Permute blocks of ``block`` rows, then blocks of ``block`` columns (one order per batch)."""
    rows = block_order(images.shape[2], block, generator).to(images.device)
    columns = block_order(images.shape[3], block, generator).to(images.device)
    return images[:, :, rows][:, :, :, columns]


@dataclass(frozen=True)
class Scrambling:
    """``scrambling`` (SPEC §2): per batch, with equal odds, either one random pixel permutation
    (channels kept) or block scrambling with a block size drawn from ``block_sizes``.

    [project] The journal names the two block sizes per dataset; here each batch draws one of
    them and uses it for the rows and for the columns.
    """

    block_sizes: tuple[int, int]

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, count: int, host: torch.Generator, device: torch.Generator
    ) -> Negatives:
        sources = _sources(images, count)
        choice = int(torch.randint(len(self.block_sizes) + 1, (1,), generator=host))
        generator = _generator(images, host, device)
        if choice == len(self.block_sizes):
            negatives = permute_pixels(sources, generator)
        else:
            negatives = scramble_blocks(sources, self.block_sizes[choice], generator)
        return negatives, torch.ones(count, device=images.device)

    @classmethod
    def for_size(cls, height: int, width: int) -> "Scrambling":
        """The block sizes for ``height × width`` images (28×28 or 32×32)."""
        if height != width or height not in BLOCK_SIZES:
            sizes = ", ".join(f"{side}x{side}" for side in BLOCK_SIZES)
            raise UserError(f"scrambling negatives need {sizes} images, got {height}x{width}")
        first, second = BLOCK_SIZES[height]
        return cls((first, second))


@dataclass(frozen=True)
class Overlay:
    """``overlay`` (SPEC §2): ``n = max(a·x_i, b·x_j)`` pixel-wise, ``a, b ~ U(0.7, 1)`` per image,
    ``j`` a random partner in the batch; pairs with equal labels get weight 0 (dropped).
    """

    scale: tuple[float, float] = OVERLAY_SCALE

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, count: int, host: torch.Generator, device: torch.Generator
    ) -> Negatives:
        first = torch.arange(count, device=images.device) % images.shape[0]
        second = torch.randint(images.shape[0], (count,), generator=device, device=images.device)
        scales = torch.empty(2, count, 1, 1, 1, device=images.device).uniform_(*self.scale, generator=device)
        negatives = torch.maximum(scales[0] * images[first], scales[1] * images[second])
        return negatives, (labels[first] != labels[second]).to(images.dtype)

    @classmethod
    def for_size(cls, height: int, width: int) -> "Overlay":
        """Overlay works for any image size."""
        return cls()


# ModelSpec.negatives → factory(height, width) → sampler
NEGATIVES: dict[str, Callable[[int, int], NegativeSampler]] = keyed_by(NEGATIVES_NAMES, {
    "scrambling": Scrambling.for_size,
    "overlay": Overlay.for_size,
}, "NEGATIVES")


def negative_sampler(name: str, height: int, width: int) -> NegativeSampler:
    """The sampler named ``name`` for ``height × width`` images."""
    if name not in NEGATIVES:
        raise UserError(f"unknown negatives {name!r}; valid: {', '.join(NEGATIVES)}")
    return NEGATIVES[name](height, width)
