"""Training throughput: the project's loop against a plain DataLoader loop (issue 3, item 7).

Trains the same model (MNIST CNN ``relu``, Adam, batch 64) on the same data (digits' 1,437
training images) in one process, three ways:

(a) ``project``: newlogic's loop (data as tensors on the device, per-image MNIST augmentation
    batched on the device: ``newlogic.training.loop.train_epoch``);
(b) ``reference``: what most CIFAR repositories do: a torchvision ``VisionDataset`` of PIL
    images, per-sample torchvision transforms (the same augmentation: random resized crop,
    rotation, noise, erasing) and ``DataLoader(num_workers=2, persistent_workers=True)``;
(c) ``model_only``: newlogic's loop with augmentation off, the ceiling (pure model compute).

Each is timed over ``--epochs`` epochs after one warm-up epoch, ``--rounds`` times in turn
(a, b, c, a, b, c, …) so that a passing load on a shared machine hits all three alike; the
best round of each counts. Prints exactly five lines: ``project_img_per_s``,
``reference_img_per_s``, ``model_only_img_per_s``, ``ratio_vs_reference`` (a / b) and
``fraction_of_ceiling`` (a / c).

    .venv/bin/python bench/train_throughput.py [--device auto] [--epochs 1] [--rounds 15] [--threads N]
"""

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import VisionDataset

from newlogic.training.augment import MnistAugment
from newlogic.training.loop import Progress, Run, prepare_run, train_epoch

MODEL = "relu"
DATASET = "digits"


def project_runner(device: str, augment: str) -> tuple[Callable[[], None], int]:
    """One epoch of newlogic's loop, and the images it trains on per epoch."""
    run = prepare_run(MODEL, DATASET, data_dir="data", seed=0, device=device,
                      training={"augment": augment}, architecture={})
    progress = Progress()

    def epoch() -> None:
        train_epoch(run, progress)
        progress.batch, progress.permutation = 0, None
        _sync(run.device)

    return epoch, len(run.train.labels)


class PilDigits(VisionDataset):
    """digits as 8-bit PIL images with per-sample transforms, as torchvision's MNIST class serves them."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable) -> None:
        super().__init__(root="", transform=transform)
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[index], mode="L")), int(self.labels[index])


def add_noise(image: torch.Tensor, std: float = MnistAugment.noise_std) -> torch.Tensor:
    """Gaussian noise clamped to [0, 1], per sample."""
    return (image + std * torch.randn_like(image)).clamp(0.0, 1.0)


def reference_runner(device: str) -> tuple[Callable[[], None], int]:
    """One epoch of a plain DataLoader loop over the same model, optimiser and augmentation."""
    run: Run = prepare_run(MODEL, DATASET, data_dir="data", seed=0, device=device,
                           training={"augment": "none"}, architecture={})
    images = (run.train.images.squeeze(1).cpu().numpy() * 255).round().astype(np.uint8)
    aug = MnistAugment()
    transform = T.Compose([
        T.RandomResizedCrop(28, scale=aug.scale, ratio=aug.ratio),
        T.RandomRotation(aug.degrees),
        T.ToTensor(),
        T.Lambda(add_noise),
        T.RandomErasing(p=aug.erase_p, scale=aug.erase_scale, ratio=aug.erase_ratio),
    ])
    dataset = PilDigits(images, run.train.labels.cpu().numpy(), transform)
    loader = DataLoader(dataset, batch_size=run.config.batch_size, shuffle=True, num_workers=2,
                        persistent_workers=True, pin_memory=run.device.type == "cuda")
    model, optimizer = run.model, run.optimizer
    model.train()

    def epoch() -> None:
        for inputs, labels in loader:
            inputs, labels = inputs.to(run.device, non_blocking=True), labels.to(run.device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(inputs), labels).backward()
            optimizer.step()
        _sync(run.device)

    return epoch, len(dataset)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(epoch: Callable[[], None], size: int, epochs: int) -> float:
    """Images per second over ``epochs`` epochs."""
    started = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per round")
    parser.add_argument("--rounds", type=int, default=15, help="rounds; the best of each method counts")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runners = {
        "project": project_runner(args.device, "mnist"),
        "reference": reference_runner(args.device),
        "model_only": project_runner(args.device, "none"),
    }
    for epoch, _size in runners.values():
        epoch()  # warm-up: allocator, kernels, DataLoader workers
    best = dict.fromkeys(runners, 0.0)
    for _ in range(args.rounds):
        for name, (epoch, size) in runners.items():
            best[name] = max(best[name], images_per_second(epoch, size, args.epochs))
    print(f"project_img_per_s {best['project']:.1f}")
    print(f"reference_img_per_s {best['reference']:.1f}")
    print(f"model_only_img_per_s {best['model_only']:.1f}")
    print(f"ratio_vs_reference {best['project'] / best['reference']:.3f}")
    print(f"fraction_of_ceiling {best['project'] / best['model_only']:.3f}")


if __name__ == "__main__":
    main()
