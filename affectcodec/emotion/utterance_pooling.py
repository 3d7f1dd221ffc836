"""Masked utterance pooling for the learned teacher's head (whole-utterance, padding-aware)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from affectcodec.nn.determinism import Conv1d


def frame_mask(frame_lengths: Tensor, frames: int) -> Tensor:
    """bool [B, T]: True on the first ``frame_lengths[b]`` frames of item b."""
    return torch.arange(frames, device=frame_lengths.device)[None] < frame_lengths[:, None]


class AttentiveStatsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over the valid frames.

    ``a = softmax_t(v^T tanh(W h_t))`` over valid frames; output ``[sum a h ; sqrt(sum a h^2 -
    (sum a h)^2)]``.

    Args:
        dim: channels of h.
        hidden: width of the scoring layer.
    """

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.score = nn.Sequential(Conv1d(dim, hidden, 1), nn.Tanh(), Conv1d(hidden, 1, 1))
        self.out_dim = 2 * dim

    def forward(self, h: Tensor, frame_lengths: Tensor) -> Tensor:
        """h float [B, D, T], frame_lengths [B] -> float [B, 2 D]."""
        mask = frame_mask(frame_lengths, h.shape[-1])[:, None]
        score = self.score(h).masked_fill(~mask, float("-inf"))
        a = torch.softmax(score, dim=-1)
        mean = (a * h).sum(-1)
        var = (a * h * h).sum(-1) - mean * mean
        return torch.cat([mean, var.clamp(min=1e-6).sqrt()], dim=-1)
