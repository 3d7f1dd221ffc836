"""Where the project's data is found (no Lightning import: inference-side tools use this)."""

from __future__ import annotations

import os
from pathlib import Path


def default_manifest() -> Path:
    """The nEMO manifest: under ``$AFFECTCODEC_DATA`` (the corpus folder or its parent) if set,
    else ``../shared/data/nemo-16k/manifest.tsv`` relative to the repository root."""
    root = os.environ.get("AFFECTCODEC_DATA")
    if root:
        direct = Path(root) / "manifest.tsv"
        return direct if direct.is_file() else Path(root) / "nemo-16k" / "manifest.tsv"
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / "nemo-16k" / "manifest.tsv"
