"""Causal ConvNeXt blocks at the frame rate (the backbone of the Vocos-style generator).

ConvNeXt (Liu et al., "A ConvNet for the 2020s", CVPR 2022) as Vocos uses it for audio
(Siuzdak, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders",
ICLR 2024): depthwise conv, LayerNorm over channels, pointwise MLP with GELU, layer scale,
residual. Two changes for a codec whose tokens must not depend on chunking: the depthwise conv
is padded on the left only (causal), and every layer keeps the ``[B, C, T]`` layout with 1x1
convolutions for the pointwise maps, so the whole stack runs through the same convolution
layers of :mod:`affectcodec.nn.determinism`, whose inference does not depend on the batch or the
thread count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.nn.determinism import Conv1d


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of ``[B, C, T]``, per frame (so it stays causal)."""

    def __init__(self, dim: int, eps: float = 1e-6, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, dim, 1)) if affine else None
        self.bias = nn.Parameter(torch.zeros(1, dim, 1)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).square().mean(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            x = x * self.weight + self.bias
        return x


class CausalConvNeXtBlock(nn.Module):
    """One causal ConvNeXt block on ``[B, dim, T]``.

    Args:
        dim: channels.
        hidden_dim: channels of the pointwise MLP (Vocos: 3 x dim).
        kernel_size: depthwise kernel (frames of left context it adds: ``kernel_size - 1``).
        layer_scale: initial value of the per-channel residual scale (Vocos: 1 / n_blocks).
    """

    def __init__(self, dim: int, hidden_dim: int, kernel_size: int = 7, layer_scale: float = 0.1):
        super().__init__()
        self.context = kernel_size - 1
        self.dwconv = Conv1d(dim, dim, kernel_size, groups=dim)
        self.norm = ChannelLayerNorm(dim)
        self.pwconv1 = Conv1d(dim, hidden_dim, 1)
        self.pwconv2 = Conv1d(hidden_dim, dim, 1)
        self.gamma = nn.Parameter(torch.full((1, dim, 1), float(layer_scale)))

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(F.pad(x, (self.context, 0)))
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + self.gamma * y


class ConvNeXtStack(nn.Module):
    """``n_blocks`` causal ConvNeXt blocks followed by a channel LayerNorm.

    :attr:`context` is the frames of left context one output frame depends on.
    """

    def __init__(self, dim: int, n_blocks: int, hidden_mult: int = 3, kernel_size: int = 7):
        super().__init__()
        self.blocks = nn.Sequential(*[
            CausalConvNeXtBlock(dim, hidden_mult * dim, kernel_size, layer_scale=1.0 / max(1, n_blocks))
            for _ in range(n_blocks)])
        self.norm = ChannelLayerNorm(dim)
        self.context = n_blocks * (kernel_size - 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.blocks(x))
