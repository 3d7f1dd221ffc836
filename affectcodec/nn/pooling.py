"""Attention pooling over a bounded, causal window of frames (utterance-level emotion)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.nn.determinism import Conv1d


class WindowedAttentionPooling(nn.Module):
    """Per frame, the attention-weighted mean of the last ``window`` frames.

    ``e_g[t] = sum_{j in (t - window, t]} softmax(s)_j E_j`` with scores
    ``s_j = 5 tanh(w^T tanh(W E_j))``. The window is what makes the "utterance-level" vector
    defined for files of any length and for chunked processing: it is a bounded-context function
    of the input, unlike a global mean.

    The sums are sliding-window sums (``avg_pool1d``), not differences of a cumulative sum, so
    that the result at frame ``t`` is computed from the same numbers however long the file is.
    Scores are bounded (``|s| <= 5``), so ``exp`` needs no max-subtraction.

    Args:
        dim: channels of E.
        window: frames in the window (default 100 = 2 s at 50 Hz).
        hidden: width of the scoring MLP.
    """

    def __init__(self, dim: int, window: int = 100, hidden: int = 64):
        super().__init__()
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = int(window)
        self.score = nn.Sequential(Conv1d(dim, hidden, 1), nn.Tanh(), Conv1d(hidden, 1, 1))

    def forward(self, e: Tensor) -> Tensor:
        """E float [B, C, T] -> pooled float [B, C, T] (frame t pools frames t-window+1..t)."""
        weight = torch.exp(5.0 * torch.tanh(self.score(e)))  # [B, 1, T]
        stacked = torch.cat([weight * e, weight], dim=1)
        # Left zero-padding: frames before the start contribute nothing to either sum.
        sums = F.avg_pool1d(F.pad(stacked, (self.window - 1, 0)), self.window, stride=1)
        return sums[:, :-1] / sums[:, -1:]
