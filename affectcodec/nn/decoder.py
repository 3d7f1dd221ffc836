"""Causal convolutional decoder in the style of DAC, mirroring :class:`~affectcodec.nn.Encoder`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from affectcodec.nn.layers import CausalConv1d, CausalConvTranspose1d, ResidualUnit, Snake1d


class DecoderBlock(nn.Module):
    """Snake, transposed-conv upsampling by ``stride``, three dilated residual units."""

    def __init__(self, in_dim: int, out_dim: int, stride: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(in_dim),
            CausalConvTranspose1d(in_dim, out_dim, stride),
            ResidualUnit(out_dim, dilation=1),
            ResidualUnit(out_dim, dilation=3),
            ResidualUnit(out_dim, dilation=9),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class Decoder(nn.Module):
    """Latent float [B, input_dim, T] -> waveform float [B, 1, T * hop] in [-1, 1].

    Args:
        input_dim: channels of the quantized latent.
        dim: channels after the first conv; halved by each block (DAC's ``decoder_dim``).
        strides: upsampling per block, in order (DAC uses the encoder's strides reversed).
    """

    def __init__(self, input_dim: int, dim: int = 256, strides: Sequence[int] = (8, 5, 4, 2)):
        super().__init__()
        layers: list[nn.Module] = [CausalConv1d(input_dim, dim, kernel_size=7)]
        for stride in strides:
            layers.append(DecoderBlock(dim, dim // 2, stride))
            dim //= 2
        layers += [Snake1d(dim), CausalConv1d(dim, 1, kernel_size=7)]
        self.block = nn.Sequential(*layers)
        self.hop_length = math.prod(strides)

    @property
    def context_frames(self) -> int:
        """Frames of left context a frame's samples depend on (an upper bound).

        Walks the layers from the output back to the input: a causal conv with kernel ``k`` and
        dilation ``d`` adds ``(k - 1) * d`` samples at its rate, a transposed conv of stride
        ``s`` (output block ``t`` depends on input frames ``t - 1`` and ``t``) adds up to
        ``2 s - 1`` samples of its output rate and divides the rate by ``s``. The last layer's
        samples are converted to frames, plus one frame for alignment.
        """
        layers = [m for m in self.modules() if isinstance(m, (CausalConv1d, CausalConvTranspose1d))]
        context, scale = 0, 1  # context in output samples; output samples per sample at this layer
        for layer in reversed(layers):
            if isinstance(layer, CausalConvTranspose1d):
                context += (2 * layer.stride - 1) * scale
                scale *= layer.stride
            else:
                conv = layer.conv
                context += (conv.kernel_size[0] - 1) * conv.dilation[0] * scale
        return math.ceil(context / self.hop_length) + 1

    #: Strictly causal: a sample depends on its own and earlier frames only.
    lookahead_frames = 0

    def forward(self, latent: Tensor, frames: Tensor | None = None) -> Tensor:
        """``frames`` (valid frames per item) is accepted for the generators' common interface;
        a causal decoder needs no mask: frames past an item's end cannot reach its samples."""
        return torch.tanh(self.block(latent))
