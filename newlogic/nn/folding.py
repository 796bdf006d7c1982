"""Folding of channels (SPEC §2): max-out and min/max-out."""

import torch
from torch import nn


class Fold(nn.Module):
    """Min over consecutive groups of ``min_group`` channels, then max over groups of ``max_group``.

    Input ``[N, C·m·k, ...]`` → output ``[N, C, ...]``: ``maxout_k`` is (1, k), ``minmaxout_m_k``
    is (m, k), an OR (max) of ANDs (min). Channel dim is 1.
    """

    def __init__(self, min_group: int = 1, max_group: int = 1) -> None:
        super().__init__()
        self.min_group = min_group
        self.max_group = max_group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, *rest = x.shape
        if self.min_group > 1:
            x = x.reshape(batch, channels // self.min_group, self.min_group, *rest).amin(dim=2)
            channels //= self.min_group
        if self.max_group > 1:
            x = x.reshape(batch, channels // self.max_group, self.max_group, *rest).amax(dim=2)
        return x

    def extra_repr(self) -> str:
        return f"min_group={self.min_group}, max_group={self.max_group}"
