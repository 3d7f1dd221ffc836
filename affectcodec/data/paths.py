"""Where the project's data is found (no Lightning import: inference-side tools use this)."""

from __future__ import annotations

import os
from pathlib import Path

#: speech-16k speakers held out of codec training, for validation on voices the codec never had:
#: every 25th LibriSpeech and every 12th speechocean762 speaker in sorted order (10 + 10).
SPEECH_VALID_SPEAKERS: tuple[str, ...] = (
    "ls103", "ls163", "ls2289", "ls2989", "ls3807", "ls4397", "ls5390", "ls625", "ls7226", "ls8123",
    "so0001", "so0104", "so1027", "so1362", "so2061", "so2380", "so3046", "so5401", "so7001", "so9609",
)


def default_manifest() -> Path:
    """The nEMO manifest: under ``$AFFECTCODEC_DATA`` (the corpus folder or its parent) if set,
    else ``../shared/data/nemo-16k/manifest.tsv`` relative to the repository root."""
    return corpus_manifest("nemo-16k")


def corpus_manifest(corpus: str) -> Path:
    """``<corpus>/manifest.tsv`` of a corpus of the project's data folder (``$AFFECTCODEC_DATA``
    if set: the data folder itself, or for nemo-16k also the corpus folder; else
    ``../shared/data`` beside the repository)."""
    root = os.environ.get("AFFECTCODEC_DATA")
    if root:
        direct = Path(root) / "manifest.tsv"
        if corpus == "nemo-16k" and direct.is_file():
            return direct
        return Path(root) / corpus / "manifest.tsv"
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / corpus / "manifest.tsv"
