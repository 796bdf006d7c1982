"""One model's seed-shuffled test split, with the clean measurements every setting shares (SPEC §5; issue 13).

Every attack setting of a (model, seed) attacks a prefix of the same order: the test split
shuffled with ``torch.randperm`` on a generator seeded with the seed. What does not depend on
the attack is measured once and shared by every setting of the process (``newlogic evaluate``)
and by noise rejection's clean set:

- the model's clean scores ``s = f(x)`` (pre-softmax or pre-sigmoid);
- per attack target (``attack_on``: scores or probs, ``newlogic.evaluation.target``), whether
  ``∇_x CE(target(x), y)`` is zero everywhere or has a non-finite entry (``zero_gradients``).

Both are computed per chunk of ``CHUNK`` consecutive images of the order (images
``[k·CHUNK, (k+1)·CHUNK)``, the last one shorter), when a setting first needs one of its images.
The chunks are fixed, so a measurement never depends on which settings ran before it or in the
same process, nor on their batch sizes: one setting alone (``newlogic attack``) gives the same
bits as all of them together. A chunk is measured at once: on a GPU, the backward pass of the
model on ``CHUNK`` images must fit in memory (an attack's own batches halve on out-of-memory,
the chunks do not).
"""

import functools
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from newlogic.data import Split, load_dataset
from newlogic.evaluation.model_loading import TrainedModel
from newlogic.evaluation.target import attack_target

CHUNK = 100


def zero_gradients(target: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per sample: whether ``∇_x CE(target(x), y)`` is zero everywhere or has a non-finite entry (gradient masking).

    ``CE`` is the cross-entropy the gradient attacks ascend (of the scores, or of the
    probabilities with ``attack_on: probs``); summed over the batch, each sample's input gradient
    is its own (eval mode: no batch coupling).
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = nn.functional.cross_entropy(target(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    grad = grad.flatten(1)
    return (grad == 0).all(dim=1) | ~torch.isfinite(grad).all(dim=1)


class ShuffledTest:
    """The test split in the order of ``seed``, and the clean measurements of ``model`` on it, chunk by chunk.

    ``images[i]``, ``labels[i]`` are the test split's ``order[i]``-th image and label (on the
    host); ``clean_scores`` and ``zero_gradient`` return tensors on ``device``.
    """

    def __init__(self, split: Split, seed: int, model: nn.Module, output: str, device: torch.device) -> None:
        self.order = torch.randperm(len(split.labels), generator=torch.Generator().manual_seed(seed))
        self.images = split.images[self.order]
        self.labels = split.labels[self.order]
        self.seed = seed
        self.model = model
        self.output = output
        self.device = device
        self._scores: dict[int, torch.Tensor] = {}
        self._zero_gradients: dict[tuple[str, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels ``[start, stop)`` of the order, on the device."""
        return self.images[start:stop].to(self.device), self.labels[start:stop].to(self.device)

    def clean_scores(self, start: int, stop: int) -> torch.Tensor:
        """The model's scores on images ``[start, stop)`` of the order."""
        return self._span(self._scores_of_chunk, start, stop)

    def zero_gradient(self, attack_on: str, start: int, stop: int) -> torch.Tensor:
        """``zero_gradients`` of the target through ``attack_on`` on images ``[start, stop)`` of the order."""
        return self._span(lambda chunk: self._zero_gradients_of_chunk(attack_on, chunk), start, stop)

    def _span(self, of_chunk: Callable[[int], torch.Tensor], start: int, stop: int) -> torch.Tensor:
        if not 0 <= start < stop <= len(self):
            raise ValueError(f"images [{start}, {stop}) are not a non-empty span of the {len(self)} test images")
        first, last = start // CHUNK, (stop - 1) // CHUNK
        joined = torch.cat([of_chunk(chunk) for chunk in range(first, last + 1)])
        return joined[start - first * CHUNK: stop - first * CHUNK]

    def _scores_of_chunk(self, chunk: int) -> torch.Tensor:
        if chunk not in self._scores:
            images, _ = self.batch(chunk * CHUNK, (chunk + 1) * CHUNK)
            with torch.no_grad():
                self._scores[chunk] = self.model(images)
        return self._scores[chunk]

    def _zero_gradients_of_chunk(self, attack_on: str, chunk: int) -> torch.Tensor:
        if (attack_on, chunk) not in self._zero_gradients:
            images, labels = self.batch(chunk * CHUNK, (chunk + 1) * CHUNK)
            target = attack_target(self.model, self.output, attack_on)
            self._zero_gradients[attack_on, chunk] = zero_gradients(target, images, labels)
        return self._zero_gradients[attack_on, chunk]


def lazy_shuffled_test(trained: TrainedModel, data_dir: Path, seed: int, device: torch.device,
                       ) -> Callable[[], ShuffledTest]:
    """The ``ShuffledTest`` of ``trained`` on ``device`` for ``seed``; the split is read once, when first asked for."""
    return functools.cache(lambda: ShuffledTest(load_dataset(trained.dataset, data_dir)[1], seed, trained.model,
                                                trained.spec.output, device))
