"""Manifests, corpus manifest builders, label maps and datasets (see ARCHITECTURE.md)."""

from affectcodec.data.corpora import BUILDERS, build_manifest
from affectcodec.data.dataset import RandomCropDataset, UtteranceDataset, collate, load_audio
from affectcodec.data.labels import NEMO_EMOTIONS, LabelMap
from affectcodec.data.manifest import Manifest, ManifestEntry, ManifestError

__all__ = ["BUILDERS", "NEMO_EMOTIONS", "LabelMap", "Manifest", "ManifestEntry", "ManifestError",
           "RandomCropDataset", "UtteranceDataset", "build_manifest", "collate", "load_audio"]
