"""Frame-level prosody at the codec frame rate (50 Hz), computed in torch.

Pitch is found by the window-corrected normalised autocorrelation of Boersma ("Accurate
short-term analysis of the fundamental frequency and the harmonics-to-noise ratio of a sampled
sound", IFA Proceedings 17, 1993) with a small octave cost; energy, spectral centroid and
spectral tilt come from the same frame's power spectrum. Everything is deterministic and causal:
frame ``t`` is the ``window`` samples ending at ``(t + 1) * hop`` (samples before the start of the
signal are zeros), so a frame never depends on audio after its own hop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec.audio import MODEL_RATE


@dataclass
class ProsodyFrames:
    """Per-frame prosody, each float [B, T] (``T = N // hop``).

    Attributes:
        f0_hz: fundamental frequency in Hz where voiced, 0 elsewhere.
        periodicity: peak of the window-corrected normalised autocorrelation, in [0, 1].
        voiced: 1.0 where the frame is voiced (periodic and not silent), else 0.0.
        energy_db: frame power in dB relative to full scale (sine at amplitude 1 = -3 dB).
        centroid_hz: spectral centroid in Hz.
        tilt_db_per_octave: slope of the log power spectrum against log2 frequency, 100-5000 Hz.
    """

    f0_hz: Tensor
    periodicity: Tensor
    voiced: Tensor
    energy_db: Tensor
    centroid_hz: Tensor
    tilt_db_per_octave: Tensor


class ProsodyAnalyzer(torch.nn.Module):
    """Computes :class:`ProsodyFrames` for waveforms float [B, 1, N] at ``sample_rate``.

    Args:
        sample_rate: input rate (16 kHz in the codec).
        hop_length: frame step (320 = 50 frames/s).
        window_length: analysis window (960 = 60 ms: three periods of the lowest pitch).
        f0_min, f0_max: pitch search range in Hz.
        voicing_threshold: periodicity above which a frame may be voiced.
        silence_db: frames quieter than this are unvoiced whatever their periodicity.
        octave_cost: preference for shorter lags, per octave (suppresses sub-harmonic picks).
    """

    def __init__(self, sample_rate: int = MODEL_RATE, hop_length: int = 320, window_length: int = 960,
                 f0_min: float = 60.0, f0_max: float = 500.0, voicing_threshold: float = 0.45,
                 silence_db: float = -55.0, octave_cost: float = 0.02):
        super().__init__()
        if window_length % hop_length:
            raise ValueError("window_length must be a multiple of hop_length")
        self.sample_rate, self.hop_length, self.window_length = sample_rate, hop_length, window_length
        self.min_lag = int(math.floor(sample_rate / f0_max))
        self.max_lag = int(math.ceil(sample_rate / f0_min))
        if self.max_lag + 1 >= window_length:
            raise ValueError("window too short for f0_min")
        self.voicing_threshold, self.silence_db, self.octave_cost = voicing_threshold, silence_db, octave_cost
        self.n_fft = 1 << (2 * window_length - 1).bit_length()  # linear (not circular) ACF
        window = torch.hann_window(window_length, periodic=False, dtype=torch.float64)
        window_acf = torch.fft.irfft(torch.fft.rfft(window, self.n_fft).abs() ** 2, self.n_fft)
        freqs = torch.fft.rfftfreq(self.n_fft, 1.0 / sample_rate, dtype=torch.float64)
        # Least-squares slope of y against log2(f) over 100-5000 Hz as one fixed weight vector.
        band = (freqs >= 100) & (freqs <= 5000)
        x = torch.where(band, torch.log2(freqs.clamp(min=1.0)), torch.zeros_like(freqs))
        x_mean = x[band].mean()
        slope_w = torch.where(band, x - x_mean, torch.zeros_like(x))
        slope_w = slope_w / (slope_w**2).sum()
        lags = torch.arange(self.max_lag + 2, dtype=torch.float64)
        cost = octave_cost * torch.log2(lags.clamp(min=1) / self.min_lag)
        window_acf = window_acf[: self.max_lag + 2] / window_acf[0]
        for name, value in (("window", window), ("window_acf", window_acf), ("freqs", freqs),
                            ("slope_w", slope_w), ("lag_cost", cost)):
            self.register_buffer(name, value.float(), persistent=False)

    @property
    def receptive_field(self) -> int:
        """Samples of left context one frame depends on."""
        return self.window_length

    def frames(self, wav: Tensor) -> Tensor:
        """float [B, 1, N] (N a multiple of hop) -> analysis frames float [B, T, window]."""
        if wav.dim() != 3 or wav.shape[1] != 1 or wav.shape[-1] % self.hop_length:
            raise ValueError(f"expected wav [B, 1, N] with N a multiple of {self.hop_length}, "
                             f"got {tuple(wav.shape)}")
        padded = F.pad(wav[:, 0].float(), (self.window_length - self.hop_length, 0))
        return padded.unfold(-1, self.window_length, self.hop_length)

    def forward(self, wav: Tensor) -> ProsodyFrames:
        frames = self.frames(wav) * self.window
        spec = torch.fft.rfft(frames, self.n_fft)
        power = spec.real**2 + spec.imag**2  # [B, T, F]
        acf = torch.fft.irfft(power, self.n_fft)[..., : self.max_lag + 2]
        energy = acf[..., :1]
        norm = acf / energy.clamp(min=1e-12) / self.window_acf
        search = norm[..., self.min_lag : self.max_lag + 1] - self.lag_cost[self.min_lag : self.max_lag + 1]
        best = search.argmax(-1) + self.min_lag  # [B, T]
        r0 = norm.gather(-1, (best - 1).unsqueeze(-1)).squeeze(-1)
        r1 = norm.gather(-1, best.unsqueeze(-1)).squeeze(-1)
        r2 = norm.gather(-1, (best + 1).unsqueeze(-1)).squeeze(-1)
        denom = r0 - 2 * r1 + r2
        shift = torch.where(denom.abs() > 1e-9, 0.5 * (r0 - r2) / denom, torch.zeros_like(denom))
        lag = best.float() + shift.clamp(-0.5, 0.5)
        periodicity = r1.clamp(0.0, 1.0)
        window_power = (self.window**2).sum()
        energy_db = 10 * torch.log10(energy[..., 0] / window_power + 1e-10)
        voiced = ((periodicity > self.voicing_threshold) & (energy_db > self.silence_db)).float()
        f0 = voiced * self.sample_rate / lag
        total = power.sum(-1).clamp(min=1e-12)
        centroid = (power * self.freqs).sum(-1) / total
        tilt = (10 * torch.log10(power + 1e-10)) @ self.slope_w
        return ProsodyFrames(f0, periodicity, voiced, energy_db, centroid, tilt)
