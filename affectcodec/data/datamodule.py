"""LightningDataModule over a corpus manifest: random training crops, whole validation clips.

A manifest is a tab-separated file with a header line and at least the columns ``path`` (audio
file, relative to the manifest's folder or absolute) and ``split`` (``train``, ``valid``, ...);
other columns (speaker, emotion, duration, text, ...) are carried along and ignored here. The
default is the project's nEMO subset (:func:`default_manifest`).

The reader below is deliberately tiny (``csv`` and two required columns) so that it can be
swapped for the project's full manifest module without touching the data module's interface.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import soundfile as sf
import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from affectcodec import audio
from affectcodec.audio import MODEL_RATE
from affectcodec.data.paths import corpus_manifest, default_manifest

REQUIRED_COLUMNS = ("path", "split")


def _locate(manifest: str) -> Path:
    path = Path(manifest)
    if path.exists() or path.is_absolute() or path.suffix:
        return path
    return corpus_manifest(manifest)


def read_manifest(path: str | os.PathLike, split: str, valid_speakers: Sequence[str] = (),
                  allow_empty: bool = False) -> list[dict[str, str]]:
    """Rows of ``split`` in a TSV manifest, each with ``path`` made absolute.

    Rows whose ``speaker`` is in ``valid_speakers`` count as split ``valid`` whatever their
    ``split`` column says (a corpus with no validation split of its own, like speech-16k).
    ``allow_empty`` returns ``[]`` instead of raising when no row has that split.

    Raises:
        FileNotFoundError: no such manifest.
        ValueError: a missing required column, or no row of that split.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist (set data.manifest or "
                                f"$AFFECTCODEC_DATA)")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"manifest {path} lacks the column(s) {missing} "
                             f"(has {reader.fieldnames})")
        held_out = set(valid_speakers)
        rows = [dict(r) for r in reader
                if ("valid" if r.get("speaker") in held_out else r["split"]) == split]
    if not rows and not allow_empty:
        raise ValueError(f"manifest {path} has no rows with split {split!r}")
    for row in rows:
        p = Path(row["path"])
        row["path"] = str(p if p.is_absolute() else path.parent / p)
    return rows


class AudioClips(Dataset):
    """Mono float audio from manifest rows, resampled to ``sample_rate``.

    Args:
        rows: manifest rows (``path`` absolute).
        sample_rate: rate of the returned audio.
        crop_samples: with ``random_crop``, a random window of this many samples (zero-padded
            if the clip is shorter); without, the first ``crop_samples`` (None: the whole clip).

    Items are ``{"audio": float [1, n], "index": int}``.
    """

    def __init__(self, rows: list[dict[str, str]], sample_rate: int, crop_samples: int | None,
                 random_crop: bool):
        self.rows, self.sample_rate = rows, int(sample_rate)
        self.crop_samples, self.random_crop = crop_samples, random_crop

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.rows[index]["path"]
        with sf.SoundFile(path) as f:
            rate, frames = f.samplerate, f.frames
            want = frames
            if self.crop_samples is not None:
                want = min(frames, -(-self.crop_samples * rate // self.sample_rate))
            start = 0
            if self.random_crop and frames > want:
                start = int(torch.randint(0, frames - want + 1, ()).item())
            f.seek(start)
            data = f.read(want, dtype="float32", always_2d=True)
        wav = torch.from_numpy(data.T.copy()).mean(dim=0, keepdim=True)  # [1, n]
        wav = audio.resample(wav, rate, self.sample_rate)
        if self.crop_samples is not None:
            wav = wav[:, : self.crop_samples]
        return {"audio": wav, "index": index}


def collate(items: list[dict[str, Any]], multiple: int = 1,
            length: int | None = None) -> dict[str, Tensor]:
    """Zero-pad to a common length (``length``, or the longest rounded up to ``multiple``).

    Returns ``{"audio": float [B, 1, N], "lengths": int64 [B], "index": int64 [B]}``.
    """
    lengths = torch.tensor([it["audio"].shape[-1] for it in items], dtype=torch.int64)
    n = length if length is not None else int(lengths.max())
    n = -(-n // multiple) * multiple
    batch = torch.zeros(len(items), 1, n)
    for b, it in enumerate(items):
        batch[b, :, : it["audio"].shape[-1]] = it["audio"]
    index = torch.tensor([it["index"] for it in items], dtype=torch.int64)
    return {"audio": batch, "lengths": lengths, "index": index}


class _Collate:
    # A class, not a lambda, so that worker processes can pickle it.
    def __init__(self, multiple: int, length: int | None):
        self.multiple, self.length = multiple, length

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Tensor]:
        return collate(items, self.multiple, self.length)


class ManifestDataModule(LightningDataModule):
    """Training and validation batches from a TSV manifest.

    Args:
        manifest: manifest path, or a list of them whose rows are pooled (default:
            :func:`default_manifest`). A relative path that does not exist is looked up as a
            corpus of the data folder (``speech-16k`` -> ``../shared/data/speech-16k/manifest.tsv``,
            or under ``$AFFECTCODEC_DATA``).
        valid_speakers: speakers whose rows are validation rows in every manifest (see
            :func:`read_manifest`).
        train_split, valid_split: values of the ``split`` column.
        sample_rate: the codec's rate (files at other rates are resampled).
        crop_seconds: training crop length (rounded up to a multiple of ``hop_length``).
        valid_seconds: validation clips are cut to at most this long (None: whole clips).
        valid_items: use this many validation clips, evenly spaced over the split (None: all).
        batch_size: training batch size per process.
        valid_batch_size: validation batch size per process.
        num_workers: data-loading worker processes per training process.
        hop_length: batches are padded to a multiple of this.

    Batches are ``{"audio": float [B, 1, N], "lengths": int64 [B], "index": int64 [B]}``;
    samples past ``lengths`` are zeros. Under DDP, Lightning shards both loaders per rank.
    """

    def __init__(self, manifest: str | list[str] | None = None,
                 valid_speakers: Sequence[str] = (), train_split: str = "train",
                 valid_split: str = "valid", sample_rate: int = MODEL_RATE, crop_seconds: float = 1.0,
                 valid_seconds: float | None = 4.0, valid_items: int | None = 64,
                 batch_size: int = 8, valid_batch_size: int = 8, num_workers: int = 2,
                 hop_length: int = 320):
        super().__init__()
        names = [manifest] if isinstance(manifest, str) else list(manifest or [])
        self.manifests = [_locate(m) for m in names] or [default_manifest()]
        self.manifest = self.manifests[0]
        self.valid_speakers = tuple(valid_speakers)
        self.train_split, self.valid_split = train_split, valid_split
        self.sample_rate, self.hop_length = int(sample_rate), int(hop_length)
        self.crop_samples = -(-round(crop_seconds * sample_rate) // hop_length) * hop_length
        self.valid_samples = None if valid_seconds is None else round(valid_seconds * sample_rate)
        self.valid_items = valid_items
        self.batch_size, self.valid_batch_size = int(batch_size), int(valid_batch_size)
        self.num_workers = int(num_workers)
        self.train_rows: list[dict[str, str]] = []
        self.valid_rows: list[dict[str, str]] = []

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            self.train_rows = self._rows(self.train_split)
        if stage in (None, "fit", "validate"):
            rows = self._rows(self.valid_split)
            if self.valid_items is not None and self.valid_items < len(rows):
                # Evenly spaced, so a small subset still covers every speaker and emotion block.
                step = len(rows) / self.valid_items
                rows = [rows[int(i * step)] for i in range(self.valid_items)]
            self.valid_rows = rows

    def _rows(self, split: str) -> list[dict[str, str]]:
        # Pooled, one manifest may lack the split (speech-16k has no valid rows of its own);
        # every other problem of any manifest (a missing column, no such file) still raises.
        pooled = len(self.manifests) > 1
        rows = [row for path in self.manifests
                for row in read_manifest(path, split, self.valid_speakers, allow_empty=pooled)]
        if not rows:
            raise ValueError(f"no rows with split {split!r} in {[str(m) for m in self.manifests]}")
        return rows

    def train_dataloader(self) -> DataLoader:
        data = AudioClips(self.train_rows, self.sample_rate, self.crop_samples, random_crop=True)
        return DataLoader(data, batch_size=self.batch_size, shuffle=True, drop_last=True,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          collate_fn=_Collate(self.hop_length, self.crop_samples))

    def val_dataloader(self) -> DataLoader:
        data = AudioClips(self.valid_rows, self.sample_rate, self.valid_samples, random_crop=False)
        return DataLoader(data, batch_size=self.valid_batch_size, shuffle=False,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          collate_fn=_Collate(self.hop_length, None))

    def describe(self) -> dict[str, Any]:
        """Plain facts for checkpoints and model cards."""
        hours = None
        if self.train_rows and all(r.get("duration") for r in self.train_rows):
            hours = round(sum(float(r["duration"]) for r in self.train_rows) / 3600.0, 3)
        return {"manifest": [str(m) for m in self.manifests],
                "valid_speakers": list(self.valid_speakers), "train_split": self.train_split,
                "valid_split": self.valid_split, "train_items": len(self.train_rows),
                "train_hours": hours, "valid_items": len(self.valid_rows),
                "crop_seconds": self.crop_samples / self.sample_rate,
                "batch_size_per_process": self.batch_size}
