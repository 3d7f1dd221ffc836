"""Frame-rate encoder: causal STFT front end and causal ConvNeXt blocks at 50 Hz.

The DAC-style encoder spends most of its time in narrow convolutions at 8-16 kHz. This one
does the sample-rate work with an FFT instead: a causal STFT (``n_fft`` samples, hop
``hop // subframes``) whose ``subframes`` consecutive log-magnitude frames are stacked into one
frame per hop, embedded by a 1x1 conv and processed by causal ConvNeXt blocks at the frame rate.
Everything after the FFT runs at 50 frames per second.

Phase features (``phase=True``): besides ``log|S|`` each bin gives its power-law compressed
complex value ``|S|^0.3 * exp(i arg S)`` (real and imaginary part), so the latent can carry
where in a frame the glottal pulses fall. A decoder whose layers are shift-invariant with a
bounded receptive field cannot produce a phase that advances from frame to frame out of
features that do not change: on a held vowel it repeats one frame, which overlap-add turns
into a comb at multiples of the frame rate (the harmonics of a magnitude-only front end are
lost that way). The timing has to come from the input.

Causality: STFT frame ``j`` covers the samples ``[(j + 1) * h - n_fft, (j + 1) * h)`` (``h``
the STFT hop), so codec frame ``t`` depends on samples before ``(t + 1) * hop`` only, within
:attr:`FrameEncoder.receptive_field` samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.nn.convnext import ChannelLayerNorm, ConvNeXtStack
from affectcodec.nn.determinism import Conv1d

#: Smallest STFT the front end accepts.
N_FFT_MIN = 16


#: Exponent of the compressed complex phase features.
PHASE_COMPRESSION = 0.3


class CausalLogSpectrogram(nn.Module):
    """float [B, 1, N] -> frames float [B, channels, N // hop] (causal).

    ``channels`` is ``n_fft // 2 + 1`` (``log|S|``), or three times that with ``phase``
    (``log|S|``, then the real and the imaginary part of ``|S|^0.3 exp(i arg S)``).
    """

    def __init__(self, n_fft: int, hop: int, phase: bool = False):
        super().__init__()
        if n_fft < N_FFT_MIN or n_fft < hop:
            raise ValueError(f"n_fft must be >= {N_FFT_MIN} and >= the STFT hop {hop}, got {n_fft}")
        self.n_fft, self.hop, self.phase = int(n_fft), int(hop), bool(phase)
        self.channels = (n_fft // 2 + 1) * (3 if phase else 1)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)

    def forward(self, wav: Tensor) -> Tensor:
        return torch.cat(self.parts(wav), dim=-1).transpose(1, 2)

    def parts(self, wav: Tensor) -> list[Tensor]:
        """The feature groups frame-major, each float [B, N // hop, n_fft // 2 + 1]: ``log|S|``,
        then (``phase``) the real and the imaginary part of ``|S|^0.3 exp(i arg S)``;
        :meth:`forward` is their concatenation over channels."""
        x = F.pad(wav[:, 0], (self.n_fft - self.hop, 0))
        frames = x.unfold(-1, self.n_fft, self.hop)  # [B, J, n_fft]
        spec = torch.fft.rfft(frames * self.window, dim=-1)
        features = torch.log(spec.abs().clamp_min(1e-5))
        if not self.phase:
            return [features]
        # exp(c * log|S|), not pow(): torch's vectorised pow and its scalar remainder loop
        # differ in the last bit, so the last elements of a tensor would round differently
        # from the same frame inside a longer (padded) batch; exp and log agree. The real and
        # imaginary parts are scaled separately: the same products as the complex product
        # with a real factor, without promoting the factor to a complex tensor.
        factor = torch.exp(features * (PHASE_COMPRESSION - 1.0))
        return [features, spec.real * factor, spec.imag * factor]


class FrameEncoder(nn.Module):
    """Waveform float [B, 1, N] -> latent float [B, latent_dim, N // hop].

    Args:
        dim: channels of the ConvNeXt blocks.
        n_blocks: causal ConvNeXt blocks at the frame rate.
        latent_dim: output channels.
        hop: samples per frame (320 at 16 kHz = 50 frames/s).
        subframes: STFT frames per codec frame (the STFT hop is ``hop // subframes``).
        n_fft: STFT size of the front end.
        phase: add the compressed complex STFT to the log-magnitude (see the module docstring).

    ``N`` must be a multiple of ``hop``. The output goes through a LayerNorm before its last
    projection, so it sits at unit scale from the first step (the quantizer's grid needs that).
    """

    def __init__(self, dim: int = 256, n_blocks: int = 4, latent_dim: int = 256, hop: int = 320,
                 subframes: int = 2, n_fft: int = 640, phase: bool = False):
        super().__init__()
        if hop % subframes:
            raise ValueError(f"hop {hop} must be a multiple of subframes {subframes}")
        self.hop_length, self.subframes = int(hop), int(subframes)
        self.spectrogram = CausalLogSpectrogram(n_fft, hop // subframes, phase)
        self.embed = Conv1d(self.spectrogram.channels * subframes, dim, 1)
        self.embed_norm = ChannelLayerNorm(dim)
        self.backbone = ConvNeXtStack(dim, n_blocks)
        self.project = Conv1d(dim, latent_dim, 1)
        #: Samples of left context a frame depends on (exact).
        self.receptive_field = self.backbone.context * hop + hop + n_fft - hop // subframes

    def forward(self, wav: Tensor) -> Tensor:
        parts = self.spectrogram.parts(wav)  # each [B, T * subframes, F_i]
        b, j = parts[0].shape[:2]
        r, t = self.subframes, j // self.subframes
        # Each frame's sub-frames stacked along channels, channel-major: [B, F, r, T] viewed
        # as [B, F * r, T]; each group is written into place once (no concatenated copy).
        spec = parts[0].new_empty(b, self.spectrogram.channels, r, t)
        start = 0
        for part in parts:
            width = part.shape[-1]
            spec[:, start: start + width] = part.reshape(b, t, r, width).permute(0, 3, 2, 1)
            start += width
        spec = spec.view(b, -1, t)
        return self.project(self.backbone(self.embed_norm(self.embed(spec))))
