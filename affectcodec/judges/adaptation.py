"""Speaker-adapted classification: utterance embeddings normalised by speaker statistics.

Recognising emotion in an unseen speaker's voice from one utterance is hard with a handful of
training speakers: a speaker's habitual pitch, loudness and timbre look like an emotion (on
nEMO, the held-out speaker EB0 is heard as "happy" most of the time). The standard remedy in
speech emotion recognition is speaker-level feature normalisation: z-normalise each utterance's
embedding with the mean and standard deviation of the *same speaker's* utterances. The statistics
need no labels, only several utterances of the speaker (ideally covering several emotions).

A :class:`SpeakerHead` is a logistic regression trained on speaker-normalised embeddings; every
bundled emotion model ships one (its folder ``speaker_head/``) beside its speaker-independent
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
from torch import Tensor

from affectcodec import model_dir

#: The head's folder inside its model's folder, and its model type there.
HEAD_DIR, MODEL_TYPE, FORMAT_VERSION = "speaker_head", "speaker_head", 1
#: The files of a head written before it had a folder of its own (still read).
LEGACY_FILES = ("speaker_head.safetensors", "speaker_head.json")
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

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the head as the released folder ``speaker_head/`` inside a model folder
        (:mod:`affectcodec.model_dir`'s format, type ``speaker_head``); returns that folder."""
        tensors = {"mean": self.mean, "scale": self.scale, "coef": self.coef, "intercept": self.intercept}
        folder = model_dir.write_model_dir(Path(directory) / HEAD_DIR, MODEL_TYPE, FORMAT_VERSION,
                                           {}, tensors, training=self.info)
        for legacy in LEGACY_FILES:  # a head written before the folder format is now stale
            (Path(directory) / legacy).unlink(missing_ok=True)
        return folder

    @classmethod
    def load(cls, directory: str | os.PathLike) -> SpeakerHead | None:
        """The head of a model folder, or None when it has none.

        Reads ``speaker_head/`` and, for folders written before it, the two files
        ``speaker_head.safetensors`` and ``speaker_head.json`` beside the model.
        """
        directory = Path(directory)
        folder = directory / HEAD_DIR
        if folder.is_dir():
            meta = model_dir.read_meta(folder)
            model_dir.check_type(folder, meta, MODEL_TYPE, range(1, FORMAT_VERSION + 1))
            path, info = folder / model_dir.WEIGHTS_FILE, dict(meta.get("training", {}))
        elif (directory / LEGACY_FILES[0]).is_file():
            path = directory / LEGACY_FILES[0]
            info_path = directory / LEGACY_FILES[1]
            info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        else:
            return None
        shapes = model_dir.read_weight_shapes(path)
        if set(shapes) != {"mean", "scale", "coef", "intercept"}:
            raise model_dir.ModelDirError(f"{path}: unexpected tensors {sorted(shapes)}")
        t = model_dir.read_tensors(path)
        return cls(t["mean"], t["scale"], t["coef"], t["intercept"], info)
