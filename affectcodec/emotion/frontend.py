"""Log-mel front ends of the learned emotion models (no trainable parameters).

* :class:`CausalLogMel` (the SER teacher): frames end at the frame's end, hop 320 (50 Hz), and a
  causal, bounded-window mean normalisation, so a frame depends only on the samples before its
  end, within a fixed receptive field.
* :class:`UtteranceLogMel` (the CRNN judge): a centred 100 Hz log-mel with per-utterance mean and
  variance normalisation over the valid frames; judges see whole utterances and need no causality.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from torch import Tensor, nn

from affectcodec.audio import MODEL_RATE


class CausalLogMel(nn.Module):
    """Causal log-mel with sliding-window cepstral-style mean normalisation.

    Frame ``t`` is the ``win_length`` samples ending at ``(t + 1) * hop_length`` (zeros before the
    start), Hann-windowed; ``log(mel + 1e-6)`` on ``n_mels`` Slaney mel bands. Each band then has
    the mean of the *active* frames among the last ``norm_frames`` frames subtracted (a frame is
    active when its power is above ``activity_db`` dBFS; zeros and digital silence are not), which
    removes the recording's gain and channel colour per speaker without looking ahead.

    Receptive field: ``win_length + (norm_frames - 1) * hop_length`` samples.

    Args:
        sample_rate: input rate (16 kHz).
        hop_length: frame step (320).
        win_length: analysis window = FFT size (640 = 40 ms).
        n_mels: mel bands.
        f_min, f_max: band range in Hz.
        norm_frames: frames in the normalisation window (100 = 2 s); 0 switches it off.
        activity_db: frame power (dBFS) above which a frame counts in the normalisation mean.
    """

    def __init__(self, sample_rate: int = MODEL_RATE, hop_length: int = 320, win_length: int = 640,
                 n_mels: int = 64, f_min: float = 50.0, f_max: float = 8000.0,
                 norm_frames: int = 100, activity_db: float = -60.0):
        super().__init__()
        self.hop_length, self.win_length, self.n_mels = hop_length, win_length, n_mels
        self.norm_frames, self.activity_db = int(norm_frames), float(activity_db)
        window = torch.hann_window(win_length, periodic=True)
        fbank = torchaudio.functional.melscale_fbanks(win_length // 2 + 1, f_min, f_max, n_mels,
                                                      sample_rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("fbank", fbank, persistent=False)

    @property
    def receptive_field(self) -> int:
        """Samples of left context one frame depends on."""
        return self.win_length + max(self.norm_frames - 1, 0) * self.hop_length

    def forward(self, wav: Tensor) -> Tensor:
        """float [B, 1, N] (N a multiple of hop) -> normalised log-mel float [B, n_mels, N // hop]."""
        if wav.dim() != 3 or wav.shape[1] != 1 or wav.shape[-1] % self.hop_length:
            raise ValueError(f"expected wav [B, 1, N] with N a multiple of {self.hop_length}, "
                             f"got {tuple(wav.shape)}")
        frames = F.pad(wav[:, 0].float(), (self.win_length - self.hop_length, 0))
        frames = frames.unfold(-1, self.win_length, self.hop_length) * self.window  # [B, T, W]
        spec = torch.fft.rfft(frames)
        power = spec.real**2 + spec.imag**2
        logmel = torch.log(power @ self.fbank + 1e-6).transpose(1, 2)  # [B, M, T]
        if self.norm_frames <= 0:
            return logmel
        frame_db = 10 * torch.log10(frames.pow(2).mean(-1) / self.window.pow(2).mean() + 1e-10)
        active = (frame_db > self.activity_db).to(logmel.dtype).unsqueeze(1)  # [B, 1, T]
        stacked = torch.cat([logmel * active, active], dim=1)
        # Sliding sums over the last norm_frames frames (left zero padding: nothing before the
        # start counts); avg_pool1d rather than cumsum differences keeps float32 exact-ish on
        # hour-long inputs and makes frame t independent of the file's length.
        sums = F.avg_pool1d(F.pad(stacked, (self.norm_frames - 1, 0)), self.norm_frames, stride=1)
        mean = sums[:, :-1] / sums[:, -1:].clamp(min=1.0 / self.norm_frames)
        return logmel - mean


class UtteranceLogMel(nn.Module):
    """Centred log-mel at ``hop_length`` with mean/variance normalisation over each utterance.

    Args:
        sample_rate: input rate.
        n_fft, hop_length: STFT size and step (400 / 160 = 25 ms / 10 ms).
        n_mels: mel bands.
    """

    def __init__(self, sample_rate: int = MODEL_RATE, n_fft: int = 400, hop_length: int = 160,
                 n_mels: int = 64):
        super().__init__()
        self.hop_length = hop_length
        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop_length,
                                                        n_mels=n_mels, f_min=50.0, f_max=8000.0,
                                                        power=2.0, norm="slaney", mel_scale="slaney")

    def frame_lengths(self, lengths: Tensor) -> Tensor:
        """Valid frames per item for valid sample counts ``lengths`` [B]."""
        return torch.div(lengths, self.hop_length, rounding_mode="floor") + 1

    def forward(self, wav: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """wav float [B, 1, N], lengths [B] -> (features float [B, n_mels, T], frame lengths [B]).

        Frames past an item's length are set to 0 after normalisation."""
        x = torch.log(self.mel(wav[:, 0].float()) + 1e-6)  # [B, M, T]
        flen = self.frame_lengths(lengths.to(x.device)).clamp(max=x.shape[-1])
        mask = (torch.arange(x.shape[-1], device=x.device)[None] < flen[:, None]).to(x.dtype)[:, None]
        count = mask.sum(-1, keepdim=True)
        mean = (x * mask).sum(-1, keepdim=True) / count
        var = ((x - mean).pow(2) * mask).sum(-1, keepdim=True) / count
        return (x - mean) / (var + 1e-5).sqrt() * mask, flen
