"""LightningDataModule for the emotion classifiers: random crops to train, whole utterances to
validate, both from one manifest split by its ``split`` column."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from torch.utils.data import DataLoader

from affectcodec.data.dataset import RandomCropDataset, UtteranceDataset, collate
from affectcodec.data.manifests import Manifest
from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap


class EmotionDataModule(L.LightningDataModule):
    """Args:
        manifest: TSV/CSV/JSONL manifest (see :mod:`affectcodec.data.manifests`).
        labels: class names in output order (the model's ``labels`` must be the same).
        train_split, valid_split: values of the manifest's ``split`` column.
        crop_seconds: training crop length.
        batch_size: items per batch (train and valid).
        num_workers: DataLoader workers.
        preload: keep decoded audio in memory.
    """

    def __init__(self, manifest: str, labels: Sequence[str] = NEMO_EMOTIONS, train_split: str = "train",
                 valid_split: str = "valid", crop_seconds: float = 3.0, batch_size: int = 32,
                 num_workers: int = 0, preload: bool = True):
        super().__init__()
        self.manifest_path, self.labels = manifest, LabelMap(labels)
        self.train_split, self.valid_split = train_split, valid_split
        self.crop_seconds, self.batch_size = crop_seconds, batch_size
        self.num_workers, self.preload = num_workers, preload
        self.train_set: RandomCropDataset | None = None
        self.valid_set: UtteranceDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        manifest = Manifest.read(self.manifest_path, self.labels)
        train = manifest.filter(self.train_split)
        valid = manifest.filter(self.valid_split)
        if not len(train):
            raise ValueError(f"{self.manifest_path}: no rows with split {self.train_split!r}")
        self.train_set = RandomCropDataset(train, self.labels, self.crop_seconds, preload=self.preload)
        self.valid_set = UtteranceDataset(valid, self.labels, preload=self.preload) if len(valid) else None

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, self.batch_size, shuffle=True, drop_last=True,
                          collate_fn=collate, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader | list:
        if self.valid_set is None:
            return []
        return DataLoader(self.valid_set, self.batch_size, shuffle=False, collate_fn=collate,
                          num_workers=self.num_workers)
