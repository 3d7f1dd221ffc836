"""Released emotion-model folders: ``config.json`` + ``model.safetensors`` + ``labels.json``.

``config.json`` holds ``model_type``, ``format_version``, ``package_version`` and ``args`` (every
constructor argument); weights are safetensors (never pickle), loaded with strict key checks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from affectcodec.emotion.labels import LabelMap
from affectcodec.errors import AffectCodecError
from affectcodec.model_dir import bundled_dir, checkpoints_dir
from affectcodec.version import __version__

FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


class EmotionCheckpointError(AffectCodecError, ValueError):
    """A folder that is not a loadable emotion model of the expected type."""


def resolve_model_dir(name_or_path: str | os.PathLike) -> Path:
    """A model folder from a bundled name (a folder of ``checkpoints/``) or a path."""
    bundled = bundled_dir(str(name_or_path))
    if bundled is not None:
        return bundled
    path = Path(name_or_path)
    if path.is_dir():
        return path
    raise EmotionCheckpointError(f"no emotion model folder {str(name_or_path)!r} (neither a folder "
                                 f"nor a bundled model in {checkpoints_dir()})")


def save_model_dir(directory: str | os.PathLike, model_type: str, args: dict[str, Any],
                   tensors: dict[str, torch.Tensor], labels: LabelMap,
                   extra: dict[str, Any] | None = None) -> Path:
    """Write a model folder; ``extra`` (training facts) goes into config.json's ``training``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"model_type": model_type, "format_version": FORMAT_VERSION,
              "package_version": __version__, "args": args}
    if extra:
        config["training"] = extra
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
              str(directory / WEIGHTS_FILE))
    labels.save(directory)
    return directory


def read_model_dir(directory: str | os.PathLike, model_type: str
                   ) -> tuple[dict[str, Any], dict[str, torch.Tensor], LabelMap]:
    """(constructor args, tensors, labels) of a folder written by :func:`save_model_dir`."""
    directory = resolve_model_dir(directory)
    try:
        config = json.loads((directory / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EmotionCheckpointError(f"{directory}: unreadable {CONFIG_FILE} ({exc})") from exc
    if config.get("model_type") != model_type:
        raise EmotionCheckpointError(f"{directory}: model_type {config.get('model_type')!r}, "
                                     f"expected {model_type!r}")
    if config.get("format_version") != FORMAT_VERSION:
        raise EmotionCheckpointError(f"{directory}: format_version {config.get('format_version')!r} "
                                     f"is not supported (this package reads {FORMAT_VERSION})")
    try:
        tensors = load_file(str(directory / WEIGHTS_FILE))
    except Exception as exc:  # safetensors raises its own error types
        raise EmotionCheckpointError(f"{directory}: unreadable {WEIGHTS_FILE} ({exc})") from exc
    return dict(config.get("args", {})), tensors, LabelMap.load(directory)
