"""Batched augmentation (SPEC §2): each image its own draw, values in [0, 1], the right geometry."""

import pytest
import torch
import torch.nn.functional as F

from newlogic.errors import UserError
from newlogic.training.augment import AUGMENTATIONS, Cifar10Augment, MnistAugment, augmentation

GEOMETRY_ONLY = {"noise_std": 0.0, "erase_p": 0.0}


def gen(seed: int = 0) -> tuple[torch.Generator, torch.Generator]:
    """(host, device) generators."""
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1000)


def test_registry_and_unknown_name() -> None:
    assert set(AUGMENTATIONS) == {"none", "mnist", "cifar10"}
    images = torch.rand(2, 1, 28, 28)
    assert augmentation("none")(images, *gen()) is images
    with pytest.raises(UserError, match="none, mnist, cifar10"):
        augmentation("autoaugment")


def test_mnist_identity_parameters_give_the_input_back() -> None:
    images = torch.rand(4, 1, 28, 28)
    identity = MnistAugment(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, **GEOMETRY_ONLY)
    assert torch.allclose(identity(images, *gen()), images, atol=1e-5)


def test_mnist_values_stay_in_unit_range_and_shape() -> None:
    images = torch.rand(64, 1, 28, 28)
    out = MnistAugment()(images, *gen())
    assert out.shape == images.shape
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_mnist_each_image_gets_its_own_draw() -> None:
    images = torch.rand(1, 1, 28, 28).expand(16, 1, 28, 28).contiguous()
    aug = MnistAugment()
    theta = aug.crop_rotate_theta(16, 28, 28, gen()[0])
    assert len({tuple(t.flatten().tolist()) for t in theta}) == 16
    out = aug(images, *gen())
    assert all(not torch.equal(out[i], out[j]) for i in range(16) for j in range(i))
    geometry = MnistAugment(**GEOMETRY_ONLY)(images, *gen())
    assert all(not torch.allclose(geometry[i], geometry[j]) for i in range(16) for j in range(i))


def test_mnist_is_reproducible_from_the_generator_seed() -> None:
    images = torch.rand(8, 1, 28, 28)
    aug = MnistAugment()
    assert torch.equal(aug(images, *gen(7)), aug(images, *gen(7)))
    assert not torch.equal(aug(images, *gen(7)), aug(images, *gen(8)))


def test_crop_and_rotation_stay_within_their_ranges() -> None:
    theta = torch.from_numpy(MnistAugment().crop_rotate_theta(500, 28, 28, gen(1)[0]))
    linear = theta[:, :, :2]
    # A = S·R: scale² = det(A) = (w/W)(h/H) = area fraction in (0.9, 1); R a rotation by ≤ 10°
    area = torch.linalg.det(linear)
    assert area.min() >= 0.9 - 1e-5 and area.max() <= 1.0 + 1e-5
    sx = linear[:, 0].norm(dim=1)
    angle = torch.rad2deg(torch.atan2(linear[:, 1, 0] / linear[:, 1].norm(dim=1), linear[:, 0, 0] / sx)).abs()
    assert angle.max() <= 10.0 + 1e-3 and angle.max() > 8.0
    # the crop box lies inside the image: |centre| + half-size ≤ 1 in normalised coordinates
    sy = linear[:, 1].norm(dim=1)
    assert torch.all(theta[:, 0, 2].abs() <= 1 - sx + 1e-5) and torch.all(theta[:, 1, 2].abs() <= 1 - sy + 1e-5)


def test_rotation_moves_a_blob_as_the_affine_map_says() -> None:
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    blob = torch.exp(-((xs - 0.5) ** 2 + (ys - 0.1) ** 2) / 0.02)[None, None].expand(32, 1, 28, 28).contiguous()
    aug = MnistAugment(scale=(1.0, 1.0), ratio=(1.0, 1.0), **GEOMETRY_ONLY)
    theta = torch.from_numpy(aug.crop_rotate_theta(32, 28, 28, gen(3)[0])).float()
    out = aug(blob, *gen(3))

    def centroid(images: torch.Tensor) -> torch.Tensor:
        mass = images[:, 0].sum(dim=(1, 2))
        return torch.stack([(images[:, 0] * xs).sum((1, 2)) / mass, (images[:, 0] * ys).sum((1, 2)) / mass], 1)

    # output u shows input A·u, so the blob at p appears at A⁻¹·p
    expected = torch.linalg.solve(theta[:, :, :2], centroid(blob)[:, :, None]).squeeze(2)
    assert torch.allclose(centroid(out), expected, atol=0.02)
    assert (centroid(out) - centroid(blob)).norm(dim=1).max() > 0.05  # it did rotate


def test_random_erasing_boxes_per_image() -> None:
    ones = torch.ones(400, 1, 28, 28)
    always = MnistAugment(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, noise_std=0.0, erase_p=1.0)
    zeros = (always(ones, *gen()) == 0).sum(dim=(1, 2, 3)).float()
    area = 28 * 28
    assert zeros.min() >= 1 and zeros.max() <= 0.05 * area * 1.6  # rounding of h and w
    assert 0.01 * area * 0.9 < zeros.mean() < 0.05 * area * 1.1
    assert len(set(zeros.tolist())) > 10
    half = MnistAugment(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, noise_std=0.0)
    erased = ((half(ones, *gen()) == 0).sum(dim=(1, 2, 3)) > 0).float().mean()
    assert 0.4 < erased < 0.6


def test_gaussian_noise_std_and_clamp() -> None:
    grey = torch.full((64, 1, 28, 28), 0.5)
    noisy = MnistAugment(scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0.0, erase_p=0.0)(grey, *gen())
    assert noisy.min() == 0.0 and noisy.max() == 1.0  # σ 0.3 around 0.5 reaches both clamps
    assert 0.26 < (noisy - 0.5).std() < 0.31  # σ·√(clamped variance fraction at ±1.67σ) ≈ 0.28
    assert abs(noisy.mean().item() - 0.5) < 0.01


def test_cifar10_is_a_padded_crop_with_optional_flip_per_image() -> None:
    images = torch.rand(64, 3, 32, 32)
    out = Cifar10Augment()(images, *gen())
    padded = F.pad(images, (4, 4, 4, 4))
    offsets, flips = set(), 0
    for n in range(64):
        matches = [
            (i, j, flip)
            for i in range(9) for j in range(9) for flip in (False, True)
            if torch.equal(out[n], (lambda w: w.flip(2) if flip else w)(padded[n, :, i:i + 32, j:j + 32]))
        ]
        assert len(matches) == 1
        offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(offsets) > 20 and 16 < flips < 48
    assert out.min() >= 0 and out.max() <= 1
