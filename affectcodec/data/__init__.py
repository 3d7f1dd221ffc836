"""Manifests, corpus manifest builders and datasets (see ARCHITECTURE.md); the label maps,
which the emotion models store too, live in :mod:`affectcodec.emotion.labels`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562), as in the top-level package: the manifest and corpus modules
# need no torch, and the command line builds its parsers from them.
_LAZY = {"BUILDERS": "corpora", "build_manifest": "corpora", "RandomCropDataset": "dataset",
         "UtteranceDataset": "dataset", "collate": "dataset",
         "NEMO_EMOTIONS": "affectcodec.emotion.labels", "LabelMap": "affectcodec.emotion.labels",
         "Manifest": "manifests", "ManifestEntry": "manifests", "ManifestError": "manifests",
         "Utterance": "manifests"}

if TYPE_CHECKING:
    from affectcodec.data.corpora import BUILDERS, build_manifest
    from affectcodec.data.dataset import RandomCropDataset, UtteranceDataset, collate
    from affectcodec.data.manifests import Manifest, ManifestEntry, ManifestError, Utterance
    from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = _LAZY[name] if "." in _LAZY[name] else f"{__name__}.{_LAZY[name]}"
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["BUILDERS", "NEMO_EMOTIONS", "LabelMap", "Manifest", "ManifestEntry", "ManifestError",
           "RandomCropDataset", "Utterance", "UtteranceDataset", "build_manifest", "collate"]
