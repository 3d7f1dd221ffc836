"""From a manifest (audio or feature files) to :class:`~.experiment.Utterance` objects."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch

from affectcodec import audio
from affectcodec.analysis.experiment import Utterance
from affectcodec.analysis.features import (
    FEATURE_SUFFIXES,
    CodecLatentSource,
    FeatureSource,
    LogMelSource,
    TeacherSource,
    load_feature_file,
)

SOURCES = ("teacher", "logmel", "codec", "files")


class FileSource(FeatureSource):
    """Marks a manifest whose paths are feature files; :func:`load_utterances` reads them."""

    name = "files"
    dim = -1

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:  # pragma: no cover - never called
        raise RuntimeError("file features are read from the manifest, not computed")


def build_source(kind: str, teacher: str | None = None, codec: str | None = None) -> FeatureSource:
    """The feature source named by a recipe."""
    if kind == "logmel":
        return LogMelSource()
    if kind == "teacher":
        from affectcodec.emotion.registry import load_teacher

        return TeacherSource(load_teacher(teacher), name=f"teacher:{teacher or 'default'}")
    if kind == "codec":
        from affectcodec import load

        return CodecLatentSource(load(codec), name=f"codec:{codec or 'default'}")
    if kind == "files":
        return FileSource()
    raise ValueError(f"unknown feature source {kind!r}; choose one of {SOURCES}")


def stratified_cap(indices: list[int], emotions: list[str], cap: int | None) -> list[int]:
    """At most ``cap`` utterances, taken round-robin over emotions (deterministic)."""
    if cap is None or len(indices) <= cap:
        return indices
    groups: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        groups[emotions[i]].append(i)
    chosen, queues = [], [groups[e] for e in sorted(groups)]
    while len(chosen) < cap:
        for q in queues:
            if q and len(chosen) < cap:
                chosen.append(q.pop(0))
    return sorted(chosen)


def load_utterances(manifest_path: str | os.PathLike | None, source: FeatureSource, cap: int | None = None,
                    progress: Callable[[str], None] = lambda msg: None) -> list[Utterance]:
    """Features of the ``train`` and ``valid`` utterances of a manifest (default: nEMO)."""
    from affectcodec.data.manifests import Manifest
    from affectcodec.data.paths import default_manifest

    path = Path(manifest_path) if manifest_path else default_manifest()
    manifest = Manifest.read(path)
    emotions = [e.emotion for e in manifest]
    utterances, dim = [], None
    for split in ("train", "valid"):
        indices = stratified_cap([i for i, e in enumerate(manifest) if e.split == split], emotions, cap)
        progress(f"{split}: {len(indices)} utterances, features '{source.name}'")
        for i in indices:
            file = manifest.audio_path(i)
            if isinstance(source, FileSource):
                if file.suffix not in FEATURE_SUFFIXES:
                    raise ValueError(f"{path}: row {i + 1}: {file} is not a feature file")
                feats = load_feature_file(file, dim)
                dim = feats.shape[1]
            else:
                feats = source(audio.load(file))
            utterances.append(Utterance(feats, manifest[i].emotion, split))
    return utterances
