"""Released emotion-model folders (teacher and judges): the package's one model-folder format
(:mod:`affectcodec.model_dir`) plus the model's ``labels.json``.

Format version 2 stores the constructor arguments under ``"config"``, as every released folder
does; version 1 (the bundled teacher and judges) stored them under ``"args"`` and is still read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from affectcodec import model_dir
from affectcodec.emotion.labels import LABELS_FILE, LabelMap
from affectcodec.model_dir import WEIGHTS_FILE, ModelDirError

FORMAT_VERSION = 2


class EmotionCheckpointError(ModelDirError):
    """A folder that is not a loadable emotion model of the expected type."""


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """A model folder from a bundled name (a folder of ``checkpoints/``) or a path."""
    return model_dir.resolve(name_or_path, EmotionCheckpointError)


def save_model_dir(directory: str | os.PathLike, model_type: str, args: dict[str, Any],
                   tensors: dict[str, torch.Tensor], labels: LabelMap,
                   extra: dict[str, Any] | None = None) -> Path:
    """Write a model folder; ``args`` are the constructor arguments, ``extra`` (training facts)
    goes into config.json's ``training``."""
    return model_dir.write_model_dir(directory, model_type, FORMAT_VERSION, args, tensors,
                                     training=extra, files={LABELS_FILE: labels.write})


def read_model_dir(directory: str | os.PathLike, model_type: str
                   ) -> tuple[dict[str, Any], dict[str, torch.Tensor], LabelMap]:
    """(constructor args, tensors, labels) of a folder written by :func:`save_model_dir`."""
    directory = resolve_model_dir(directory)
    meta = model_dir.read_meta(directory, EmotionCheckpointError)
    model_dir.check_type(directory, meta, model_type, range(1, FORMAT_VERSION + 1),
                         EmotionCheckpointError)
    tensors = model_dir.read_tensors(directory / WEIGHTS_FILE, "cpu", EmotionCheckpointError)
    return dict(meta["config"]), tensors, LabelMap.load(directory)
