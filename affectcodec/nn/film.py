"""Feature-wise linear modulation (FiLM) of the acoustic latent by a pooled emotion vector."""

from __future__ import annotations

from torch import Tensor, nn


class FiLM(nn.Module):
    """``A_f = gamma * A + beta`` with ``gamma = 1 + W_g e_g``, ``beta = W_b e_g`` per frame.

    Both maps start at zero, so an untrained FiLM is the identity and conditioning is learnt.

    Args:
        cond_dim: channels of the conditioning vector e_g.
        dim: channels of the modulated latent A.
    """

    def __init__(self, cond_dim: int, dim: int):
        super().__init__()
        self.gamma = nn.Conv1d(cond_dim, dim, 1)
        self.beta = nn.Conv1d(cond_dim, dim, 1)
        for conv in (self.gamma, self.beta):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, a: Tensor, cond: Tensor) -> Tensor:
        """A float [B, dim, T], e_g float [B, cond_dim, T] -> float [B, dim, T]."""
        return (1 + self.gamma(cond)) * a + self.beta(cond)
