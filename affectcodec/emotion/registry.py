"""The teacher registry: names in codec configs -> teacher classes, and loading a teacher.

The registry is explicit (both bundled teachers are listed here, not registered as a side effect
of importing their module); a user's own teacher joins it with :func:`register_teacher`. The
bundled learned teacher lives in ``checkpoints/ser-teacher`` (see
:func:`affectcodec.model_dir.checkpoints_dir`).
"""

from __future__ import annotations

import os
from typing import Any

from affectcodec.emotion.checkpoint import EmotionCheckpointError
from affectcodec.emotion.ser import SERTeacher
from affectcodec.emotion.teacher import EmotionTeacher, ProsodyTeacher

DEFAULT_TEACHER = "ser-teacher"

#: Teacher classes by the ``name`` a codec config stores (``{"name": "ser", ...}``).
TEACHERS: dict[str, type[EmotionTeacher]] = {ProsodyTeacher.name: ProsodyTeacher,
                                             SERTeacher.name: SERTeacher}


def register_teacher(cls: type[EmotionTeacher]) -> type[EmotionTeacher]:
    """Class decorator: make a teacher buildable by its ``name`` from a codec config."""
    TEACHERS[cls.name] = cls
    return cls


def build_teacher(spec: dict[str, Any]) -> EmotionTeacher:
    """Build a teacher from ``{"name": ..., **constructor_args}`` (as stored in a codec config)."""
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in TEACHERS:
        raise ValueError(f"unknown emotion teacher {name!r}; known: {sorted(TEACHERS)}")
    return TEACHERS[name](**spec)


def load_teacher(name: str | os.PathLike | None = None) -> EmotionTeacher:
    """A frozen emotion teacher.

    Args:
        name: None for the bundled learned teacher (``ser-teacher``); a bundled folder name or a
            model folder of a trained :class:`~affectcodec.emotion.SERTeacher`; or the name of a
            registered training-free teacher (``"prosody"``).

    Raises:
        EmotionCheckpointError: no such folder, or not a teacher checkpoint.
    """
    if name is None:
        name = DEFAULT_TEACHER
    if isinstance(name, str) and name in TEACHERS and not os.path.isdir(name):
        try:
            return TEACHERS[name]()
        except TypeError as exc:
            raise EmotionCheckpointError(f"teacher {name!r} needs weights: pass its model folder "
                                         f"({exc})") from exc
    return SERTeacher(pretrained=name)
