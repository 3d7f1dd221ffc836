"""Feature-wise linear modulation (FiLM) of the acoustic latent by a pooled emotion vector."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from affectcodec.nn.determinism import Conv1d


class FiLM(nn.Module):
    """``A_f = gamma * A + beta`` with ``gamma = 1 + g tanh(W_g e_g / g)``, ``beta = W_b e_g``.

    Both maps start at zero, so an untrained FiLM is the identity and conditioning is learnt.
    ``gamma`` is bounded to ``1 +- max_gamma``: unbounded, the first shipped model learnt
    ``|gamma - 1|`` of 0.8, scaling (and at times flipping) the acoustic latent per utterance
    and moving it off the quantizer's grid.

    Args:
        cond_dim: channels of the conditioning vector e_g.
        dim: channels of the modulated latent A.
        max_gamma: bound of ``|gamma - 1|``.
    """

    def __init__(self, cond_dim: int, dim: int, max_gamma: float = 0.25):
        super().__init__()
        self.max_gamma = float(max_gamma)
        self.gamma = Conv1d(cond_dim, dim, 1)
        self.beta = Conv1d(cond_dim, dim, 1)
        for conv in (self.gamma, self.beta):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, a: Tensor, cond: Tensor) -> Tensor:
        """A float [B, dim, T], e_g float [B, cond_dim, T] -> float [B, dim, T]."""
        g = self.max_gamma
        return (1 + g * torch.tanh(self.gamma(cond) / g)) * a + self.beta(cond)
