"""Matplotlib plumbing shared by the evaluation and analysis reports and training's TensorBoard
images (headless, atomic files), and the one spectrogram plot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from affectcodec.audio import MODEL_RATE
from affectcodec.metrics import log_mel


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Lay out, write to a temporary PNG and rename onto ``path``; close the figure."""
    from affectcodec.fsutil import atomic_path

    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    pyplot().close(fig)
    return path


def spectrogram_figure(signals: Mapping[str, np.ndarray | torch.Tensor], title: str | None = None):
    """One log-mel panel (:func:`affectcodec.metrics.log_mel`) per named 16 kHz signal (float [N]),
    titled by its key, on one colour scale: the loudest bin of all panels at the top, 13
    natural-log units (about 56 dB) of range below it. Returns the matplotlib figure."""
    plt = pyplot()
    mels = {name: log_mel(torch.as_tensor(wav).detach().float().cpu()).numpy()
            for name, wav in signals.items()}
    top = max(float(m.max()) for m in mels.values())
    fig, axes = plt.subplots(len(mels), 1, figsize=(9, 1.9 * len(mels)), squeeze=False, sharex=True)
    for ax, (name, mel) in zip(axes[:, 0], mels.items(), strict=True):
        ax.imshow(mel, origin="lower", aspect="auto", vmin=top - 13, vmax=top, cmap="magma",
                  extent=(0, len(signals[name]) / MODEL_RATE, 0, mel.shape[0]))
        ax.set_ylabel("mel bin", fontsize=8)
        ax.set_title(name, fontsize=9)
    axes[-1, 0].set_xlabel("seconds")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
