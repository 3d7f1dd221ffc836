"""Causal convolutional encoder in the style of DAC (Snake activations, residual units)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from affectcodec.nn.layers import CausalConv1d, ResidualUnit, Snake1d


class EncoderBlock(nn.Module):
    """Three dilated residual units at ``dim // 2`` channels, then a strided downsampling conv."""

    def __init__(self, dim: int, stride: int):
        super().__init__()
        self.block = nn.Sequential(
            ResidualUnit(dim // 2, dilation=1),
            ResidualUnit(dim // 2, dilation=3),
            ResidualUnit(dim // 2, dilation=9),
            Snake1d(dim // 2),
            CausalConv1d(dim // 2, dim, kernel_size=2 * stride, stride=stride),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class Encoder(nn.Module):
    """Waveform float [B, 1, N] -> latent float [B, latent_dim, N // hop].

    Args:
        dim: channels after the first conv; doubled by each block (DAC's ``d_model``).
        strides: downsampling per block; their product is the hop (320 -> 50 frames/s at 16 kHz).
        latent_dim: output channels.

    ``N`` must be a multiple of the hop. Causal: frame ``t`` depends on samples before
    ``(t + 1) * hop`` only, within :attr:`receptive_field` samples.
    """

    def __init__(self, dim: int = 16, strides: Sequence[int] = (2, 4, 5, 8), latent_dim: int = 256):
        super().__init__()
        self.hop_length = math.prod(strides)
        layers: list[nn.Module] = [CausalConv1d(1, dim, kernel_size=7)]
        for stride in strides:
            dim *= 2
            layers.append(EncoderBlock(dim, stride))
        layers += [Snake1d(dim), CausalConv1d(dim, latent_dim, kernel_size=3)]
        self.block = nn.Sequential(*layers)
        self.receptive_field = _receptive_field(strides)

    def forward(self, wav: Tensor) -> Tensor:
        return self.block(wav)


def _receptive_field(strides: Sequence[int]) -> int:
    """Samples of left context a frame depends on (exact for this layer stack)."""
    # Walk the stack from the output back to the input, in samples: each conv with kernel k,
    # dilation d at a layer whose step (in input samples) is `jump` adds (k - 1) * d * jump.
    field, jump = 1, 1
    field += 6 * jump  # first k=7 conv
    for stride in strides:
        field += sum(6 * d * jump for d in (1, 3, 9))
        field += (2 * stride - 1) * jump
        jump *= stride
    field += 2 * jump  # final k=3 conv
    return field
