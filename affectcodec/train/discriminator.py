"""A multi-resolution STFT discriminator sized for CPU training.

DAC's discriminator (Kumar et al., "High-Fidelity Audio Compression with Improved RVQGAN",
NeurIPS 2023: a multi-period waveform discriminator plus a multi-band complex-STFT one, 32
channels over full-resolution STFT grids) costs 7.7x a generator step of the default recipe on
this project's CPU with its STFT part alone (docs/training.md). This one keeps the design of
that STFT part (complex spectrogram as two channels, 2-D convolutions over time x frequency,
LeakyReLU 0.1, weight normalisation, least-squares GAN targets through DAC's ``GANLoss``) and
makes it cheap where the cost was: fewer channels, one band per resolution, and a stride of 2
along frequency from the first layer. At 16 channels and windows of 1024, 512 and 256 samples
its convolutions cost 0.33 GMAC per second of 16 kHz audio (0.11 per resolution; DAC's STFT
part at the same windows: 2.68 GMAC, 8x more; counted by forward hooks), 52 k parameters.

The output format is DAC's, so :class:`dac.nn.loss.GANLoss` and the training module use it
unchanged: ``forward`` returns one list per sub-discriminator of its feature maps, the last of
which is the score map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from dac.model.discriminator import Discriminator as DACDiscriminator
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


def _conv(in_ch: int, out_ch: int, kernel: tuple[int, int], stride: tuple[int, int]) -> nn.Conv2d:
    padding = (kernel[0] // 2, kernel[1] // 2)
    return weight_norm(nn.Conv2d(in_ch, out_ch, kernel, stride, padding=padding))


class STFTSubDiscriminator(nn.Module):
    """Complex STFT (``window_length``, hop a quarter of it) -> feature maps and a score map.

    Args:
        window_length: STFT window (and FFT size) in samples.
        channels: channels of every hidden layer.
        sample_rate: the audio's rate (checked against the codec's by the training module).

    Input float [B, 1, N]; each feature map is float [B, C, frames, bins'] (time x frequency).
    """

    def __init__(self, window_length: int, channels: int = 16, sample_rate: int = 16000):
        super().__init__()
        self.window_length, self.sample_rate = int(window_length), int(sample_rate)
        self.hop_length = self.window_length // 4
        ch = int(channels)
        self.convs = nn.ModuleList([
            _conv(2, ch, (3, 9), (1, 2)),
            _conv(ch, ch, (3, 9), (1, 2)),
            _conv(ch, ch, (3, 9), (1, 2)),
            _conv(ch, ch, (3, 3), (1, 1)),
        ])
        self.post = _conv(ch, 1, (3, 3), (1, 1))
        self.activation = nn.LeakyReLU(0.1)
        self.register_buffer("window", torch.hann_window(self.window_length), persistent=False)

    def spectrogram(self, x: Tensor) -> Tensor:
        """float [B, 1, N] -> real and imaginary part float [B, 2, frames, window_length // 2 + 1]."""
        spec = torch.stft(x[:, 0].float(), self.window_length, self.hop_length, window=self.window,
                          center=True, pad_mode="reflect", return_complex=True)
        return torch.view_as_real(spec).permute(0, 3, 2, 1)

    def forward(self, x: Tensor) -> list[Tensor]:
        h = self.spectrogram(x)
        fmap = []
        for conv in self.convs:
            h = self.activation(conv(h))
            fmap.append(h)
        fmap.append(self.post(h))
        return fmap


class SpectralDiscriminator(nn.Module):
    """Several :class:`STFTSubDiscriminator` resolutions, with DAC's input normalisation.

    Args:
        fft_sizes: one sub-discriminator per STFT window length.
        channels: hidden channels of each.
        sample_rate: the audio's rate.

    ``forward(x)`` with x float [B, 1, N] returns ``[fmaps of sub-discriminator i]``.
    """

    def __init__(self, fft_sizes: Sequence[int] = (1024, 512, 256), channels: int = 16,
                 sample_rate: int = 16000):
        super().__init__()
        if not fft_sizes:
            raise ValueError("fft_sizes must name at least one STFT window")
        self.discriminators = nn.ModuleList(
            [STFTSubDiscriminator(n, channels, sample_rate) for n in fft_sizes])

    #: DAC's own input normalisation (remove the DC offset, peak to 0.8, so loudness is not a
    #: cue); it reads nothing of its instance, so it serves this class unchanged.
    preprocess = DACDiscriminator.preprocess

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        x = self.preprocess(x)
        return [d(x) for d in self.discriminators]
