"""The emotion-teacher interface and the training-free prosody teacher.

A teacher turns 16 kHz audio into frozen frame-level emotion features at the codec frame rate.
The codec's emotion path adapts them into the emotion partition of its latent and learns to
reproduce them (L_emo, L_cycle). The paper uses emotion2vec; the project ships its own teachers
(no weights are downloaded) and any model a user has locally can be plugged in by subclassing
:class:`EmotionTeacher` and registering it with
:func:`affectcodec.emotion.registry.register_teacher`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.audio import MODEL_RATE
from affectcodec.emotion.prosody import ProsodyAnalyzer


class EmotionTeacher(nn.Module, ABC):
    """Frozen frame-level emotion features at 50 Hz.

    Contract (what the codec relies on):
        * input: float [B, 1, N] at 16 kHz, ``N`` a multiple of ``hop_length`` (320);
        * output: float [B, feature_dim, N // 320];
        * causal with bounded context: frame ``t`` depends only on samples in
          ``[(t + 1) * 320 - receptive_field, (t + 1) * 320)``, zeros before the start. This is
          what makes padded batches and windowed long files give the same tokens as whole
          single files;
        * frozen and deterministic: no parameter trains, ``train()`` is a no-op. Gradients do
          flow through a teacher to its *input* (the cycle loss needs that), never into it.
    """

    name: ClassVar[str]
    sample_rate: ClassVar[int] = MODEL_RATE
    hop_length: ClassVar[int] = 320
    feature_dim: int
    receptive_field: int

    def _freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> EmotionTeacher:
        return self  # always in eval mode: the teacher is frozen

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """``{"name": ..., **constructor_args}``: the architecture, enough to rebuild it with
        :func:`~affectcodec.emotion.registry.build_teacher`. It must not point at weight files:
        a codec stores its teacher's weights in its own ``model.safetensors``."""

    @abstractmethod
    def features(self, wav: Tensor) -> Tensor:
        """float [B, 1, N] at 16 kHz -> float [B, feature_dim, N // 320]."""

    def forward(self, wav: Tensor) -> Tensor:
        return self.features(wav)


class ProsodyTeacher(EmotionTeacher):
    """Training-free prosody features: the classic acoustic correlates of emotion.

    Twelve features per 20 ms frame, each scaled to roughly unit range:

    ====  =======================================================================
    0     log-F0: ``log2(f0 / 100 Hz)`` on voiced frames, 0 on unvoiced frames
    1     periodicity (autocorrelation peak, 0..1): voice quality / voicing strength
    2     voicing decision (0 or 1)
    3     log-energy: frame power in dB / 20
    4     spectral centroid: ``log2(centroid / 1 kHz)``
    5     spectral tilt: dB per octave / 10 (100-5000 Hz)
    6-11  first differences of 0-5 (frame t minus frame t-1)
    ====  =======================================================================

    Frames cover 60 ms ending at the frame's end (see :class:`ProsodyAnalyzer`); with the
    differences, the receptive field is 1,280 samples (80 ms).
    """

    name: ClassVar[str] = "prosody"

    def __init__(self, window_length: int = 960, f0_min: float = 60.0, f0_max: float = 500.0):
        super().__init__()
        self._args = {"window_length": window_length, "f0_min": f0_min, "f0_max": f0_max}
        self.analyzer = ProsodyAnalyzer(self.sample_rate, self.hop_length, window_length, f0_min, f0_max)
        self.feature_dim = 12
        self.receptive_field = window_length + self.hop_length
        self._freeze()

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **self._args}

    def features(self, wav: Tensor) -> Tensor:
        # One extra frame on the left (all-zero audio before the start) for the differences.
        p = self.analyzer(F.pad(wav, (self.hop_length, 0)))
        log_f0 = torch.where(p.voiced > 0, torch.log2(p.f0_hz.clamp(min=1.0) / 100.0),
                             torch.zeros_like(p.f0_hz))
        base = torch.stack([
            log_f0,
            p.periodicity,
            p.voiced,
            p.energy_db / 20.0,
            torch.log2(p.centroid_hz.clamp(min=1.0) / 1000.0),
            p.tilt_db_per_octave / 10.0,
        ], dim=1)  # [B, 6, T + 1]
        return torch.cat([base[..., 1:], base[..., 1:] - base[..., :-1]], dim=1)
