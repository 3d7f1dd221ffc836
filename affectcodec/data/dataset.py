"""Datasets over a manifest: random crops for training, whole utterances for evaluation.

Both yield 16 kHz mono float32 audio ``[1, N]`` with the class index of the entry's emotion in a
:class:`~affectcodec.emotion.labels.LabelMap`; :func:`collate` pads a list of items into a batch
``{"wav": [B, 1, N_max], "lengths": [B], "labels": [B], "index": [B]}``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from affectcodec import audio
from affectcodec.audio import MODEL_RATE
from affectcodec.data.manifests import Manifest
from affectcodec.emotion.labels import LabelMap


class UtteranceDataset(Dataset):
    """Whole utterances (evaluation): item ``i`` is entry ``i`` of the manifest.

    Args:
        manifest: the utterances.
        labels: label map; every emotion of the manifest must be in it.
        sample_rate: output rate.
        preload: decode every file once and keep it in memory (16-bit, 2 bytes a sample)
            instead of reading it at every access.
    """

    def __init__(self, manifest: Manifest, labels: LabelMap, sample_rate: int = MODEL_RATE,
                 preload: bool = False):
        manifest.validate(labels, check_files=True)
        self.manifest, self.labels, self.sample_rate = manifest, labels, sample_rate
        self._targets = labels.indices([e.emotion for e in manifest])
        self._cache: list[np.ndarray] | None = None
        if preload:
            self._cache = [self._read_int16(i) for i in range(len(manifest))]

    def __len__(self) -> int:
        return len(self.manifest)

    def _read_int16(self, i: int) -> np.ndarray:
        wav = audio.load(self.manifest.audio_path(i), self.sample_rate)[0].numpy()
        return np.round(np.clip(wav, -1.0, 32767 / 32768) * 32768).astype(np.int16)

    def audio(self, i: int) -> Tensor:
        """float32 [1, N] of entry ``i``."""
        if self._cache is not None:
            return torch.from_numpy(self._cache[i].astype(np.float32) / 32768.0)[None]
        return audio.load(self.manifest.audio_path(i), self.sample_rate)

    def __getitem__(self, i: int) -> dict[str, Tensor | int]:
        return {"wav": self.audio(i), "label": self._targets[i], "index": i}


class RandomCropDataset(UtteranceDataset):
    """Random crops of at most ``crop_seconds`` (training); shorter utterances come whole.

    The crop start is drawn from torch's global generator, so ``seed_everything`` (and
    Lightning's per-worker seeding) makes the crops reproducible.

    Args:
        manifest, labels, sample_rate, preload: as :class:`UtteranceDataset` (preload defaults
            to True: training reads every file many times).
        crop_seconds: crop length.
    """

    def __init__(self, manifest: Manifest, labels: LabelMap, crop_seconds: float = 3.0,
                 sample_rate: int = MODEL_RATE, preload: bool = True):
        super().__init__(manifest, labels, sample_rate, preload)
        if crop_seconds <= 0:
            raise ValueError(f"crop_seconds must be positive, got {crop_seconds}")
        self.crop = int(round(crop_seconds * sample_rate))

    def __getitem__(self, i: int) -> dict[str, Tensor | int]:
        wav = self.audio(i)
        n = wav.shape[-1]
        if n > self.crop:
            start = int(torch.randint(0, n - self.crop + 1, ()).item())
            wav = wav[:, start:start + self.crop]
        return {"wav": wav, "label": self._targets[i], "index": i}


def collate(items: list[dict[str, Tensor | int]]) -> dict[str, Tensor]:
    """Pad items to a batch: wav float [B, 1, N_max] (zeros after each length), lengths int64 [B],
    labels int64 [B], index int64 [B]."""
    lengths = torch.tensor([it["wav"].shape[-1] for it in items], dtype=torch.int64)
    wav = torch.zeros(len(items), 1, int(lengths.max()))
    for b, it in enumerate(items):
        wav[b, :, : lengths[b]] = it["wav"]
    return {"wav": wav, "lengths": lengths,
            "labels": torch.tensor([int(it["label"]) for it in items], dtype=torch.int64),
            "index": torch.tensor([int(it["index"]) for it in items], dtype=torch.int64)}
