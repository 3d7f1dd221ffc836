"""Finding and loading released models (bundled under ``checkpoints/`` or any folder)."""

from __future__ import annotations

import os
from pathlib import Path

from affectcodec import model_dir
from affectcodec.codec import AffectCodec, CheckpointError, read_config
from affectcodec.model_dir import checkpoints_dir

#: The bundled model that ``load()`` and the CLI use by default.
DEFAULT_MODEL = "affectcodec-16k-small"

#: Model classes by the ``model_type`` stored in their config.json.
MODEL_TYPES: dict[str, type[AffectCodec]] = {"affectcodec": AffectCodec}


def resolve(name_or_path: str | os.PathLike | None = None) -> Path:
    """The model folder for a bundled model name, a folder path, or None (the default model)."""
    if name_or_path is None:
        path = checkpoints_dir() / DEFAULT_MODEL
        if not path.is_dir():
            raise CheckpointError(
                f"no bundled default model: {path} does not exist (is AFFECTCODEC_CHECKPOINTS "
                f"pointing elsewhere?); pass a model folder")
        return path
    return model_dir.resolve(name_or_path, CheckpointError)


def load(name_or_path: str | os.PathLike | None = None, device: str = "cpu") -> AffectCodec:
    """Load a released model in eval mode.

    Args:
        name_or_path: a bundled model's name (a folder of ``checkpoints/``), a model folder, or
            None for the bundled default (``affectcodec-16k-small``).
        device: where to put it.

    Raises:
        CheckpointError: no such model, or a folder that is not a loadable model.
    """
    path = resolve(name_or_path)
    model_type = read_config(path).get("model_type")
    if model_type not in MODEL_TYPES:
        what = model_dir.MODEL_TYPES.get(model_type) if isinstance(model_type, str) else None
        if what:
            raise CheckpointError(f"{path}: model_type {model_type!r} is not a codec ({what})")
        raise CheckpointError(f"{path}: unknown model_type {model_type!r}; known: {sorted(MODEL_TYPES)}")
    return MODEL_TYPES[model_type].from_pretrained(path, map_location=device).to(device)
