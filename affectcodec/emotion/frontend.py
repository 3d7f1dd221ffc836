"""The learned teacher's log-mel front end (no trainable parameters).

:class:`CausalLogMel`: frames end at the frame's end, hop 320 (50 Hz), and a causal,
bounded-window mean normalisation, so a frame depends only on the samples before its end, within
a fixed receptive field. (The CRNN judge's whole-utterance front end is
:class:`affectcodec.judges.crnn.UtteranceLogMel`: judges need no causality.)
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
