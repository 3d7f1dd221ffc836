"""Frame-feature sources for the quantization analysis: built-in extractors and user files.

Built-in sources compute features from 16 kHz audio at 50 frames/s:

* ``logmel``: 80-bin natural-log mel spectrum (the signal-level reference);
* ``teacher``: the frozen emotion teacher's frame features (any :class:`EmotionTeacher`);
* ``codec``: a codec checkpoint's pre-quantization latent ``U = [U_e ; A_f]``.

User features (HuBERT, WavLM, emotion2vec... computed elsewhere) come as one file per
utterance, listed in a manifest whose ``path`` column names ``.npy`` or ``.safetensors`` files of
shape ``[T, D]``. They are read without pickle and validated.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

FEATURE_SUFFIXES = (".npy", ".safetensors")


class FeatureSource(ABC):
    """Maps one utterance to frame features float [T, D]."""

    name: str
    dim: int

    @abstractmethod
    def __call__(self, wav: Tensor) -> Tensor:
        """wav float [N] at 16 kHz -> features float [T, D]."""


def _pad_to_hop(wav: Tensor, hop: int = 320) -> Tensor:
    wav = wav.reshape(1, 1, -1).float()
    frames = max(1, -(-wav.shape[-1] // hop))
    return F.pad(wav, (0, frames * hop - wav.shape[-1]))


class LogMelSource(FeatureSource):
    """80-bin log-mel at hop 320 (aligned with the codec's frames)."""

    name, dim = "logmel", 80

    def __call__(self, wav: Tensor) -> Tensor:
        from affectcodec.eval.leakage import frame_log_mel

        return frame_log_mel(wav.reshape(-1))


class TeacherSource(FeatureSource):
    """The frame features of an emotion teacher (e.g. ``affectcodec.emotion.load_teacher()``)."""

    def __init__(self, teacher: torch.nn.Module, name: str = "teacher"):
        self.teacher, self.name, self.dim = teacher, name, int(teacher.feature_dim)

    @torch.no_grad()
    def __call__(self, wav: Tensor) -> Tensor:
        return self.teacher(_pad_to_hop(wav))[0].t()


class CodecLatentSource(FeatureSource):
    """A codec's continuous pre-quantization latent (``AffectCodec.latent``)."""

    def __init__(self, codec: torch.nn.Module, name: str = "codec"):
        self.codec, self.name = codec, name
        self.dim = int(codec.emotion_dim + codec.acoustic_dim)

    @torch.no_grad()
    def __call__(self, wav: Tensor) -> Tensor:
        return self.codec.latent(_pad_to_hop(wav))[0][0].t()


def load_feature_file(path: str | os.PathLike, dim: int | None = None) -> Tensor:
    """Read one utterance's features float32 [T, D] from ``.npy`` or ``.safetensors``.

    A ``.safetensors`` file must hold exactly one tensor (any name) or one named ``features``.
    Pickled ``.npy`` files are refused.

    Raises:
        ValueError: unknown suffix, not 2-D, empty, non-finite values, or ``D != dim``.
    """
    path = Path(path)
    if path.suffix not in FEATURE_SUFFIXES:
        raise ValueError(f"{path}: feature files must be {' or '.join(FEATURE_SUFFIXES)}")
    try:
        if path.suffix == ".npy":
            array = torch.from_numpy(np.load(path, allow_pickle=False))
        else:
            from safetensors.torch import load_file

            tensors = load_file(str(path))
            if "features" in tensors:
                array = tensors["features"]
            elif len(tensors) == 1:
                array = next(iter(tensors.values()))
            else:
                raise ValueError(f"{path}: holds {sorted(tensors)}; expected one tensor or 'features'")
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and str(path) in str(exc):
            raise
        raise ValueError(f"{path}: cannot read features ({exc})") from exc
    if array.dim() != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{path}: features must be [T, D] with T, D >= 1, got {tuple(array.shape)}")
    if not array.dtype.is_floating_point or not torch.isfinite(array).all():
        raise ValueError(f"{path}: features must be finite floating-point values")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{path}: feature dimension {array.shape[1]} differs from {dim} of the other files")
    return array.float()
