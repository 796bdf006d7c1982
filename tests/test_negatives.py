"""Negative examples (SPEC §2): scrambling keeps pixel values and channels, overlay is a scaled max."""

import pytest
import torch

from newlogic.data_transforms import permute_pixels
from newlogic.errors import UserError
from newlogic.training.negatives import (
    BLOCK_SIZES,
    Overlay,
    Scrambling,
    block_order,
    negative_sampler,
    scramble_blocks,
)


def generators(seed: int = 0) -> tuple[torch.Generator, torch.Generator]:
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)


def distinct_images(n: int, channels: int, side: int) -> torch.Tensor:
    """Every pixel value unique, so a permutation can be read back from the output."""
    return torch.arange(n * channels * side * side, dtype=torch.float32).reshape(n, channels, side, side)


def test_pixel_permutation_is_one_order_for_all_images_and_channels() -> None:
    images = distinct_images(3, 3, 32)
    out = permute_pixels(images, generators()[0])
    order = (out[0, 0].flatten() - images[0, 0].flatten()[0]).long()  # positions read from the values
    assert sorted(order.tolist()) == list(range(32 * 32))
    assert order.tolist() != list(range(32 * 32))
    for n in range(3):
        for c in range(3):
            assert torch.equal(out[n, c].flatten(), images[n, c].flatten()[order])


@pytest.mark.parametrize(("size", "block"), [(28, 5), (28, 7), (32, 3), (32, 9)])
def test_block_order_moves_whole_blocks(size: int, block: int) -> None:
    order = block_order(size, block, torch.Generator().manual_seed(3)).tolist()
    assert sorted(order) == list(range(size))
    blocks, run = [], [order[0]]  # runs of consecutive indices that do not cross a block boundary
    for previous, current in zip(order, order[1:], strict=False):
        if current == previous + 1 and current % block != 0:
            run.append(current)
        else:
            blocks.append(run)
            run = [current]
    blocks.append(run)
    expected = sorted(list(range(start, min(start + block, size))) for start in range(0, size, block))
    assert sorted(blocks) == expected


@pytest.mark.parametrize(("size", "block"), [(28, 5), (28, 7), (32, 3), (32, 9), (10, 10)])
def test_block_order_places_the_blocks_in_the_drawn_order(size: int, block: int) -> None:
    """The blocks follow ``randperm`` of the block count on the generator: the draws of earlier versions on CPU."""
    for seed in range(5):
        perm = torch.randperm(-(-size // block), generator=torch.Generator().manual_seed(seed)).tolist()
        expected = [index for b in perm for index in range(b * block, min((b + 1) * block, size))]
        assert block_order(size, block, torch.Generator().manual_seed(seed)).tolist() == expected


def test_block_scrambling_permutes_rows_then_columns() -> None:
    images = distinct_images(2, 1, 28)
    out = scramble_blocks(images, 7, generators()[0])
    rows = {tuple(sorted(row.tolist())) for row in images[0, 0]}
    assert {tuple(sorted(row.tolist())) for row in out[0, 0]} == rows  # each row keeps its pixels
    columns = {tuple(sorted(col.tolist())) for col in images[0, 0].T}
    assert {tuple(sorted(col.tolist())) for col in out[0, 0].T} == columns
    assert not torch.equal(out, images)


def test_scrambling_uses_both_kinds_and_the_dataset_block_sizes() -> None:
    host, device = generators()
    images = distinct_images(4, 1, 28)
    sampler = negative_sampler("scrambling", 28, 28)
    assert sampler == Scrambling(BLOCK_SIZES[28])
    kinds = set()
    for _ in range(30):
        out, weights = sampler(images, torch.arange(4), 6, host, device)
        assert out.shape == (6, 1, 28, 28) and torch.equal(weights, torch.ones(6))
        # negative i comes from image i mod 4 and holds exactly its pixels
        for i in range(6):
            assert torch.equal(out[i].flatten().sort().values, images[i % 4].flatten().sort().values)
        steps_of_one = int((out[0, 0, 0].diff() == 1).sum())  # a block keeps runs of neighbouring columns
        kinds.add("block" if steps_of_one >= 20 else "pixel")
    assert kinds == {"block", "pixel"}


def test_scrambling_rejects_other_image_sizes() -> None:
    with pytest.raises(UserError, match="28x28, 32x32"):
        negative_sampler("scrambling", 8, 8)


def test_unknown_negatives_name() -> None:
    with pytest.raises(UserError, match="scrambling, overlay"):
        negative_sampler("mixup", 28, 28)


def test_overlay_is_max_of_scaled_pairs_and_drops_equal_labels() -> None:
    # image k is 1 on row k only (disjoint supports): a negative shows which pair made it and the scales
    images = torch.zeros(8, 1, 8, 8)
    for k in range(8):
        images[k, 0, k] = 1.0
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    host, device = generators(5)
    out, weights = Overlay()(images, labels, 64, host, device)
    assert out.shape == (64, 1, 8, 8)
    for i in range(64):
        row_values = out[i, 0].amax(dim=1)  # the scale of each source image on its row, 0 if unused
        used = torch.nonzero(row_values).flatten().tolist()
        assert i % 8 in used and len(used) in (1, 2)
        assert torch.all((row_values[used] >= 0.7) & (row_values[used] <= 1.0))
        assert torch.equal(out[i, 0], row_values[:, None] * torch.ones(8))  # whole rows: a max of scaled images
        partner = next((k for k in used if k != i % 8), i % 8)
        assert weights[i].item() == float(labels[i % 8] != labels[partner])
    assert 0 < weights.sum().item() < 64
