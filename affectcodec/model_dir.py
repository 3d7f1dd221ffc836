"""Released model folders, every kind (codec, teacher, judges, speaker heads): one format.

A folder holds ``config.json`` and ``model.safetensors`` (plus files of its own kind, such as a
judge's ``labels.json``). ``config.json`` is::

    {"model_type": "...", "format_version": N, "package_version": "...",
     "config": {every constructor argument}, "training": {facts, optional}}

Emotion models written before this module (their format version 1) kept the constructor
arguments under ``"args"``; :func:`read_meta` still reads them. Weights are safetensors (never
a pickle) and are read only after their header's shapes have been checked by the caller
(:func:`read_weight_shapes`), so a crafted file cannot make the loader allocate what it claims.
Every file is written through :func:`affectcodec.fsutil.atomic_path`: an interrupted save
never leaves a half-written model.

Light on purpose (no model code is imported): every kind of folder resolves bundled names, reads
and writes the same way without an import cycle. The classes that rebuild a model from a folder
are the loaders of each kind (``affectcodec.load`` for codecs, ``judges.loading`` for judges,
``emotion.registry`` for teachers); :data:`MODEL_TYPES` names each type's kind so that a folder
given to the wrong loader gets a message that says which loader it needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from affectcodec.errors import AffectCodecError
from affectcodec.fsutil import atomic_path
from affectcodec.model_config import is_bundled_name
from affectcodec.version import __version__

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"

#: Largest config.json read (the bundled ones are at most about 1.5 KB).
MAX_CONFIG_BYTES = 1 << 20

#: Every model type this package writes, and what it is (the loader to use).
MODEL_TYPES: dict[str, str] = {
    "affectcodec": "a codec: load it with affectcodec.load",
    "ser_teacher": "an emotion teacher: a codec's teacher config names it",
    "crnn_judge": "an emotion judge: load it with affectcodec.judges.loading.load_judge",
    "functionals_judge": "an emotion judge: load it with affectcodec.judges.loading.load_judge",
    "speaker_head": "a speaker-adapted head: it lives inside a judge's or teacher's folder",
}


class ModelDirError(AffectCodecError, ValueError):
    """A folder that is not a loadable released model (of the expected type)."""


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
    return path if (path / CONFIG_FILE).is_file() else None


def bundled_names() -> list[str]:
    """Names of the bundled model folders."""
    root = checkpoints_dir()
    return sorted(p.name for p in root.glob("*") if (p / CONFIG_FILE).is_file()) if root.is_dir() else []


def resolve(name_or_path: str | os.PathLike, error: type[ModelDirError] = ModelDirError) -> Path:
    """A model folder from a bundled name (a bundled name wins over a folder of the same name in
    the working directory) or a folder path.

    Raises:
        ``error``: neither a bundled name nor a folder.
    """
    bundled = bundled_dir(str(name_or_path))
    if bundled is not None:
        return bundled
    path = Path(name_or_path)
    if path.is_dir():
        return path
    names = bundled_names()
    raise error(f"no model folder {str(name_or_path)!r} (bundled models: "
                f"{', '.join(names) if names else 'none'})")


def read_meta(directory: str | os.PathLike, error: type[ModelDirError] = ModelDirError) -> dict[str, Any]:
    """The parsed ``config.json`` of a model folder; its size is bounded and its shape checked.

    The constructor arguments are returned under ``"config"`` whichever key the file used
    (``"args"`` in emotion folders of format version 1).

    Raises:
        ``error``: no folder or config, too large, not JSON, or no config object.
    """
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise error(f"{directory}: not a model folder (no such directory)")
    if not path.is_file():
        raise error(f"{directory}: no {CONFIG_FILE}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise error(f"{path}: {path.stat().st_size} bytes, more than a config's {MAX_CONFIG_BYTES}")
    try:
        meta = json.loads(path.read_text())
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, huge ints, deep nesting
        raise error(f"{path}: not valid JSON ({str(exc)[:120] or type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise error(f"{path}: not a JSON object")
    if "config" not in meta and isinstance(meta.get("args"), dict):
        meta["config"] = meta.pop("args")  # the emotion folders' first schema
    if not isinstance(meta.get("config"), dict):
        raise error(f"{path}: missing the 'config' object")
    if not isinstance(meta.get("format_version"), int):
        raise error(f"{path}: missing or non-integer format_version")
    return meta


def check_type(directory: Path, meta: Mapping[str, Any], model_type: str, versions: range,
               error: type[ModelDirError] = ModelDirError) -> None:
    """Raise ``error`` unless the folder holds ``model_type`` in one of ``versions``."""
    found = meta.get("model_type")
    if found != model_type:
        what = f" ({MODEL_TYPES[found]})" if isinstance(found, str) and found in MODEL_TYPES else ""
        raise error(f"{directory}: model_type {found!r}{what}, expected {model_type!r}")
    if meta["format_version"] not in versions:
        raise error(f"{directory}: format_version {meta['format_version']} is not supported "
                    f"(this package reads {versions.start}..{versions.stop - 1})")


def read_weight_shapes(path: Path, error: type[ModelDirError] = ModelDirError) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a ``model.safetensors`` header, without reading the tensors.

    safetensors checks the header against the file's size (the header is at most 100 MB and
    every tensor's bytes must lie inside the file), so nothing here allocates what a crafted
    header claims.
    """
    if not path.is_file():
        raise error(f"{path.parent}: no {path.name}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise error(f"{path}: not a readable safetensors file "
                    f"({str(exc)[:160] or type(exc).__name__})") from None


def read_tensors(path: Path, device: str | torch.device = "cpu",
                 error: type[ModelDirError] = ModelDirError) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file."""
    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise error(f"{path}: not a readable safetensors file "
                    f"({str(exc)[:160] or type(exc).__name__})") from None


def write_model_dir(directory: str | os.PathLike, model_type: str, format_version: int,
                    config: Mapping[str, Any], tensors: Mapping[str, torch.Tensor],
                    training: Mapping[str, Any] | None = None,
                    files: Mapping[str, Callable[[Path], None]] | None = None) -> Path:
    """Write a released folder (created if needed); returns it.

    Args:
        model_type, format_version: the folder's type (a key of :data:`MODEL_TYPES`) and its
            format version.
        config: every constructor argument (JSON).
        tensors: the weights.
        training: facts about the training run, stored under ``"training"``.
        files: further files of this kind: name -> function that writes it to the path given.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model_type {model_type!r}; known: {sorted(MODEL_TYPES)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"model_type": model_type, "format_version": int(format_version),
                            "package_version": __version__, "config": dict(config)}
    if training:
        meta["training"] = dict(training)
    state = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    writers = {WEIGHTS_FILE: lambda p: save_file(state, str(p), metadata={"format": "pt"}),
               **(files or {}),
               # config.json last: a folder with a config is a complete folder
               CONFIG_FILE: lambda p: p.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")}
    for name, write in writers.items():
        with atomic_path(directory / name, force=True) as tmp:
            write(tmp)
    return directory

