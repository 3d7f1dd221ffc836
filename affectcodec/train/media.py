"""Audio samples and spectrogram images for TensorBoard (rank zero only)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor


def log_mel_db(wav: Tensor, sample_rate: int, n_mels: int = 80) -> np.ndarray:
    """Log-mel spectrogram in dB, float [n_mels, frames], of 1-D audio (25 ms / 10 ms frames)."""
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=512, win_length=400,
                                               hop_length=160, n_mels=n_mels)(wav.float().cpu())
    return (10.0 * torch.log10(mel.clamp(min=1e-10))).numpy()


def spectrogram_figure(signals: Mapping[str, Tensor], sample_rate: int):
    """A matplotlib figure with one log-mel panel per named 1-D signal (same colour scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = {name: log_mel_db(w, sample_rate) for name, w in signals.items()}
    top = max(float(s.max()) for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 2.0 * len(specs)), squeeze=False)
    for ax, (name, spec) in zip(axes[:, 0], specs.items(), strict=True):
        ax.imshow(spec, origin="lower", aspect="auto", vmin=top - 80.0, vmax=top, cmap="magma",
                  extent=(0, spec.shape[1] * 160 / sample_rate, 0, spec.shape[0]))
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return fig
