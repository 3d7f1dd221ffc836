"""Emotion teachers: the frozen feature extractors the codec runs (judges are in ``judges/``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562), as in the top-level package: the label maps need no torch, and
# the manifest code (which the command line's parsers use) reads them.
_LAZY = {"EmotionCheckpointError": "checkpoint", "NEMO_EMOTIONS": "labels", "LabelMap": "labels",
         "ProsodyAnalyzer": "prosody", "ProsodyFrames": "prosody", "TEACHERS": "registry",
         "build_teacher": "registry", "load_teacher": "registry", "register_teacher": "registry",
         "SERNet": "ser", "SERTeacher": "ser", "EmotionTeacher": "teacher",
         "ProsodyTeacher": "teacher"}

if TYPE_CHECKING:
    from affectcodec.emotion.checkpoint import EmotionCheckpointError
    from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap
    from affectcodec.emotion.prosody import ProsodyAnalyzer, ProsodyFrames
    from affectcodec.emotion.registry import TEACHERS, build_teacher, load_teacher, register_teacher
    from affectcodec.emotion.ser import SERNet, SERTeacher
    from affectcodec.emotion.teacher import EmotionTeacher, ProsodyTeacher


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["NEMO_EMOTIONS", "TEACHERS", "EmotionCheckpointError", "EmotionTeacher", "LabelMap",
           "ProsodyAnalyzer", "ProsodyFrames", "ProsodyTeacher", "SERNet", "SERTeacher",
           "build_teacher", "load_teacher", "register_teacher"]
