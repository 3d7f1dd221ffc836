"""Causal building blocks on top of descript-audio-codec's layers (Snake, weight-normed convs).

Every convolution here is causal: output frame ``t`` depends only on input up to the end of its
own block. That one property gives three guarantees the codec documents: a padded batch yields
the tokens each item gets alone, a long file processed in windows (with enough left context)
yields the tokens of the whole file, and streaming is possible. DAC's own blocks pad
symmetrically, so they are re-assembled here from its layers with left padding only.
"""

from __future__ import annotations

import warnings

import torch.nn.functional as F
from dac.nn.layers import Snake1d, WNConvTranspose1d
from torch import Tensor, nn
from torch.nn.utils import weight_norm

from affectcodec.nn.determinism import Conv1d

__all__ = ["Snake1d", "CausalConv1d", "CausalConvTranspose1d", "ResidualUnit", "wn_conv1d"]


def wn_conv1d(*args, **kwargs) -> nn.Conv1d:
    """DAC's weight-normalised Conv1d (``WNConv1d``: legacy ``weight_norm`` of a Conv1d) over the
    batch-invariant :class:`~affectcodec.nn.determinism.Conv1d`, without torch's deprecation
    notice for ``weight_norm``.

    The notice concerns the legacy ``weight_g`` / ``weight_v`` parametrisation that DAC's layers
    (and so the checkpoints built from them) use; it is kept on purpose.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return weight_norm(Conv1d(*args, **kwargs))


def _wn_conv_transpose1d(*args, **kwargs) -> nn.ConvTranspose1d:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return WNConvTranspose1d(*args, **kwargs)


class CausalConv1d(nn.Module):
    """Weight-normalised Conv1d padded on the left only.

    With ``stride > 1`` the kernel is expected to be ``2 * stride`` (DAC's downsampling): output
    frame ``t`` then sees input samples ``[(t - 1) * stride, (t + 1) * stride)``, and an input of
    length ``L`` (a multiple of ``stride``) gives ``L // stride`` frames.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1):
        super().__init__()
        self.left_pad = (kernel_size - 1) * dilation + 1 - stride
        self.conv = wn_conv1d(in_channels, out_channels, kernel_size, stride=stride,
                              dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (self.left_pad, 0)))


class CausalConvTranspose1d(nn.Module):
    """Weight-normalised transposed Conv1d (kernel ``2 * stride``) trimmed on the right.

    ``T`` input frames give ``T * stride`` samples; output block ``t`` depends on input frames
    ``t - 1`` and ``t`` only.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = _wn_conv_transpose1d(in_channels, out_channels, 2 * stride, stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)[..., : x.shape[-1] * self.stride]


class ResidualUnit(nn.Module):
    """DAC's residual unit (Snake, k=7 dilated conv, Snake, 1x1 conv, skip), made causal."""

    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            CausalConv1d(dim, dim, kernel_size=7, dilation=dilation),
            Snake1d(dim),
            wn_conv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)
