"""Speaker-adapted classification: utterance embeddings normalised by speaker statistics.

Recognising emotion in an unseen speaker's voice from one utterance is hard with a handful of
training speakers: a speaker's habitual pitch, loudness and timbre look like an emotion (on
nEMO, the held-out speaker EB0 is heard as "happy" most of the time). The standard remedy in
speech emotion recognition is speaker-level feature normalisation: z-normalise each utterance's
embedding with the mean and standard deviation of the *same speaker's* utterances. The statistics
need no labels, only several utterances of the speaker (ideally covering several emotions).

A :class:`SpeakerHead` is a logistic regression trained on speaker-normalised embeddings; every
bundled emotion model ships one (``speaker_head.safetensors``) beside its speaker-independent
classifier. In an evaluation of a codec, the statistics come from the speaker's *original*
utterances and are applied to originals and reconstructions alike, so a shift the codec
introduces (a lower pitch, a duller timbre) is still seen by the judge.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

HEAD_FILE, HEAD_INFO = "speaker_head.safetensors", "speaker_head.json"
#: Fewer reference utterances than this are refused: their statistics are not a speaker's.
MIN_REFERENCE = 5


@dataclass
class SpeakerStats:
    """Per-dimension mean and standard deviation of one speaker's utterance embeddings [E]."""

    mean: Tensor
    std: Tensor
    count: int

    @classmethod
    def from_embeddings(cls, embeddings: Tensor | np.ndarray) -> SpeakerStats:
        """Statistics of embeddings float [U, E] (U >= MIN_REFERENCE utterances)."""
        z = torch.as_tensor(np.asarray(embeddings), dtype=torch.float64)
        if z.dim() != 2 or z.shape[0] < MIN_REFERENCE:
            raise ValueError(f"speaker statistics need at least {MIN_REFERENCE} utterances, got "
                             f"{z.shape[0] if z.dim() == 2 else 'a non-[U, E] tensor'}")
        return cls(z.mean(0), z.std(0, unbiased=False), int(z.shape[0]))

    def normalise(self, z: Tensor) -> Tensor:
        """(z - mean) / std for embeddings float [B, E]."""
        return (z.double() - self.mean) / (self.std + 1e-6 * (1 + self.std.abs().max()))


class SpeakerHead:
    """Standardiser + multinomial logistic regression on speaker-normalised embeddings.

    Args:
        mean, scale: standardiser [E] (fitted on speaker-normalised training embeddings).
        coef: [C, E]; intercept: [C].
        info: training facts (C, cross-validation UAR, ...).
    """

    def __init__(self, mean: Tensor, scale: Tensor, coef: Tensor, intercept: Tensor,
                 info: dict | None = None):
        self.mean, self.scale = mean.double(), scale.double()
        self.coef, self.intercept = coef.double(), intercept.double()
        self.info = info or {}

    def proba(self, embeddings: Tensor, stats: SpeakerStats) -> Tensor:
        """Embeddings float [B, E] of one speaker -> probabilities float [B, C]."""
        z = (stats.normalise(embeddings) - self.mean) / self.scale
        return torch.softmax(z @ self.coef.T + self.intercept, dim=-1).float()

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``speaker_head.safetensors`` and ``speaker_head.json`` into a model folder."""
        directory = Path(directory)
        tensors = {"mean": self.mean, "scale": self.scale, "coef": self.coef, "intercept": self.intercept}
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(directory / HEAD_FILE))
        (directory / HEAD_INFO).write_text(json.dumps(self.info, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> SpeakerHead | None:
        """The head of a model folder, or None when it has none."""
        path = Path(directory) / HEAD_FILE
        if not path.is_file():
            return None
        t = load_file(str(path))
        if set(t) != {"mean", "scale", "coef", "intercept"}:
            raise ValueError(f"{path}: unexpected tensors {sorted(t)}")
        info_path = Path(directory) / HEAD_INFO
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        return cls(t["mean"], t["scale"], t["coef"], t["intercept"], info)
