"""Training curves as TensorBoard event files in the model directory (``tensorboard --logdir results/models``).

Per epoch (TensorBoard step = the epoch index, from 0 as in ``metrics.json``): ``epoch/<key>`` for
every number of the epoch's metrics (``train_loss``, ``train_accuracy``, ``train_regularization``,
``test_loss``, ``test_accuracy``, ``test_rejected``, ``relog_strength`` and ``curvature`` for
ramped models, ``clipped_fraction`` with gradient clipping) and ``epoch/learning_rate``, the
optimiser's rate during that epoch.

Per ``every`` optimiser steps (TensorBoard step = the global step ``epoch · steps_per_epoch + batch``):
``step/loss``, the mean objective of those steps, ``(S_b − S_a) / (b − a)``, where ``S_b`` is the
epoch's running loss sum after batch ``b`` (the last point of an epoch may cover fewer steps; the
points of an epoch, weighted by their steps, average to its ``train_loss``). The running sums stay
on the device: a snapshot is a device-side copy, and all snapshots of an epoch are read back once,
at its end (no host sync per step).
"""

from pathlib import Path
from types import TracebackType
from typing import Any

import torch

from newlogic.training.loop import Progress

STEP_INTERVAL = 10  # optimiser steps per ``step/loss`` point


class TrainingCurves:
    """A TensorBoard writer of one training run (a context manager that closes it)."""

    def __init__(self, out_dir: Path, steps_per_epoch: int, every: int = STEP_INTERVAL) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when training

        self.writer = SummaryWriter(log_dir=str(out_dir))
        self.steps_per_epoch = steps_per_epoch
        self.every = every
        self._start: tuple[int, torch.Tensor | None] = (0, None)
        self._snapshots: list[tuple[int, torch.Tensor]] = []

    def __enter__(self) -> "TrainingCurves":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.writer.close()

    def begin(self, progress: Progress) -> None:
        """Before ``train_epoch``: where the running loss sum starts (0 for a new epoch, else the resumed sum)."""
        self._start = (progress.batch, None if progress.permutation is None else progress.sums["loss"].clone())
        self._snapshots = []

    def step(self, progress: Progress) -> None:
        """After each optimiser step (``train_epoch``'s ``on_step``): a device-side copy of the sum every N steps."""
        if progress.batch % self.every == 0:
            self._snapshots.append((progress.batch, progress.sums["loss"].clone()))

    def end(self, progress: Progress) -> None:
        """After ``train_epoch``: ``step/loss`` of the steps since ``begin`` (the last ones too), read back at once."""
        start_batch, start_sum = self._start
        last = self._snapshots[-1][0] if self._snapshots else start_batch
        if progress.batch > last:
            self._snapshots.append((progress.batch, progress.sums["loss"].clone()))
        if not self._snapshots:
            return
        first = self._snapshots[0][1]
        batches = [start_batch] + [batch for batch, _ in self._snapshots]
        sums = torch.stack([torch.zeros_like(first) if start_sum is None else start_sum]
                           + [value for _, value in self._snapshots]).tolist()
        offset = progress.epoch * self.steps_per_epoch
        for index in range(1, len(batches)):
            mean = (sums[index] - sums[index - 1]) / (batches[index] - batches[index - 1])
            self.writer.add_scalar("step/loss", mean, offset + batches[index])
        self._snapshots = []

    def epoch(self, metrics: dict[str, Any], learning_rate: float) -> None:
        """The epoch's numbers from ``epoch_metrics`` and its learning rate, at step = the epoch index."""
        step = metrics["epoch"]
        for key, value in metrics.items():
            if key not in ("epoch", "seconds") and isinstance(value, int | float):
                self.writer.add_scalar(f"epoch/{key}", value, step)
        self.writer.add_scalar("epoch/learning_rate", learning_rate, step)
        self.writer.flush()
