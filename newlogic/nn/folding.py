"""Folding of channels (SPEC §2): max-out and min/max-out, an OR (max) of ANDs (min)."""

import torch
from torch import nn


class Fold(nn.Module):
    """Min over consecutive groups of ``m = min_group`` channels, then max over groups of ``k = max_group``.

    Input ``[N, C·m·k, ...]`` → output ``[N, C, ...]`` (channel dim 1; any trailing dims):
    ``y[:, c] = max_{i<k} min_{j<m} x[:, (c·k + i)·m + j]``. ``maxout_k`` is (1, k) and
    ``minmaxout_m_k`` is (m, k) (SPEC §2); (1, 1) is the identity. One reshape and one
    ``amin``/``amax`` each, no loop over channels. At ties the gradient is shared equally
    among the tied inputs (``torch.amax``/``amin``).
    """

    def __init__(self, min_group: int = 1, max_group: int = 1) -> None:
        super().__init__()
        self.min_group = min_group
        self.max_group = max_group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, *rest = x.shape
        factor = self.min_group * self.max_group
        if channels % factor:
            raise ValueError(f"Fold({self.min_group}, {self.max_group}) needs channels divisible by {factor}, "
                             f"got {channels}")
        x = x.reshape(batch, channels // factor, self.max_group, self.min_group, *rest)
        if self.min_group > 1:
            x = x.amin(dim=3, keepdim=True)
        if self.max_group > 1:
            x = x.amax(dim=2, keepdim=True)
        return x.reshape(batch, channels // factor, *rest)

    def extra_repr(self) -> str:
        return f"min_group={self.min_group}, max_group={self.max_group}"
