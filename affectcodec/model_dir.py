"""Where released model folders live: the bundled ``checkpoints/`` folder and its names.

Light on purpose (no model code is imported), so that every kind of released folder (codec,
teacher, judges) resolves bundled names the same way without an import cycle.
"""

from __future__ import annotations

import os
from pathlib import Path

from affectcodec.model_config import is_bundled_name


def checkpoints_dir() -> Path:
    """Folder of bundled models: ``$AFFECTCODEC_CHECKPOINTS`` or the project's ``checkpoints/``."""
    env = os.environ.get("AFFECTCODEC_CHECKPOINTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "checkpoints"


def bundled_dir(name: str) -> Path | None:
    """The bundled model folder called ``name``, or None. Only plain names count
    (:data:`affectcodec.model_config.NAME_PATTERN`: no path, not ``..``)."""
    if not is_bundled_name(name):
        return None
    path = checkpoints_dir() / name
    return path if (path / "config.json").is_file() else None
