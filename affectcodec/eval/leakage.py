"""Leakage probe: how much spectral (acoustic) information a partition's digits carry.

Following the AffectCodec paper's appendix, a ridge regression maps a partition's FSQ digits at
each frame to the 80-bin log-mel spectrum of the input at that frame; the held-out R^2 measures
leakage. Emotion-partition digits of a block-diagonal quantizer should explain little of the
mel spectrum (the paper: R^2 = 0.020 block-diagonal vs 0.099 dense); acoustic digits, much.

Digits are one-hot encoded per (stage, digit) so that the linear map can give every level its own
value. Utterances, not frames, are split into fit and held-out sets, so a speaker's frames in
the same utterance never sit on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchaudio

from affectcodec.audio import MODEL_RATE
from affectcodec.codes import Codes


@dataclass
class LeakageResult:
    """Held-out R^2 (uniform average over mel bins) of the digits -> log-mel regression."""

    partition: str
    r2: float
    n_fit_frames: int
    n_heldout_frames: int


def frame_log_mel(wav: torch.Tensor, hop: int = 320, sample_rate: int = MODEL_RATE) -> torch.Tensor:
    """80-bin natural-log mel float [T, 80] at the codec frame rate (frame t = samples t*hop...)."""
    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=1024, win_length=640, hop_length=hop,
                                               n_mels=80, power=1.0)
    x = wav.reshape(1, -1).float()
    frames = -(-x.shape[-1] // hop)
    return torch.log(mel(x)[0].clamp(min=1e-5))[:, :frames].t()


def one_hot_digits(digits: torch.Tensor, levels: Sequence[int]) -> np.ndarray:
    """digits int [T, K, d] -> float [T, K * sum(levels)] one-hot per stage and digit."""
    parts = []
    for j, level in enumerate(levels):
        parts.append(torch.nn.functional.one_hot(digits[..., j], level).flatten(1))
    return torch.cat(parts, dim=1).numpy().astype(np.float32)


def leakage_probe(codes: Sequence[Codes], wavs: Sequence[torch.Tensor], partition: str = "emotion",
                  heldout_fraction: float = 0.3, alpha: float = 1.0, seed: int = 0) -> LeakageResult:
    """Fit ridge(digits -> log-mel) on some utterances, report R^2 on the others.

    Args:
        codes: one :class:`Codes` per utterance (batch size 1, FSQ layout).
        wavs: the matching input waveforms at 16 kHz, each float [N].
        partition: ``"emotion"`` or ``"acoustic"`` digits.
        heldout_fraction: share of utterances held out.
        alpha: ridge regularisation.
        seed: utterance shuffling seed.
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    if partition not in ("emotion", "acoustic"):
        raise ValueError(f"partition must be 'emotion' or 'acoustic', got {partition!r}")
    if len(codes) != len(wavs) or len(codes) < 2:
        raise ValueError("need at least two utterances, with one waveform per Codes")
    xs, ys = [], []
    for c, w in zip(codes, wavs, strict=True):
        if c.levels is None:
            raise ValueError("the leakage probe needs FSQ codes with an emotion/acoustic layout")
        n_e = c.num_emotion_digits
        digits = c.digits()[0].permute(1, 0, 2)  # [T, K, d]
        frames = int(c.frame_lengths[0])
        if partition == "emotion":
            x = one_hot_digits(digits[:frames, :, :n_e], c.levels[:n_e])
        else:
            x = one_hot_digits(digits[:frames, :, n_e:], c.levels[n_e:])
        y = frame_log_mel(w, c.hop_length, c.sample_rate)[:frames].numpy()
        xs.append(x[: len(y)])
        ys.append(y)
    order = np.random.default_rng(seed).permutation(len(xs))
    n_held = max(1, int(round(heldout_fraction * len(xs))))
    held, fit = order[:n_held], order[n_held:]
    x_fit, y_fit = np.concatenate([xs[i] for i in fit]), np.concatenate([ys[i] for i in fit])
    x_held, y_held = np.concatenate([xs[i] for i in held]), np.concatenate([ys[i] for i in held])
    model = Ridge(alpha=alpha).fit(x_fit, y_fit)
    r2 = float(r2_score(y_held, model.predict(x_held), multioutput="uniform_average"))
    return LeakageResult(partition, r2, len(x_fit), len(x_held))
