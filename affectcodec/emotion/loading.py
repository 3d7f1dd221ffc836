"""Loading the bundled (or any local) emotion teacher and judges, offline.

Bundled folders under ``checkpoints/`` (see :func:`affectcodec.pretrained.checkpoints_dir`):
``ser-teacher`` (the learned teacher), ``judge-crnn`` and ``judge-functionals`` (the judges).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from affectcodec.emotion.checkpoint import CONFIG_FILE, EmotionCheckpointError, resolve_model_dir
from affectcodec.emotion.judge import EmotionJudge
from affectcodec.emotion.teacher import TEACHERS, EmotionTeacher

DEFAULT_TEACHER = "ser-teacher"
DEFAULT_JUDGES: tuple[str, ...] = ("judge-crnn", "judge-functionals")


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
        cls = TEACHERS[name]
        try:
            return cls()
        except TypeError as exc:
            raise EmotionCheckpointError(f"teacher {name!r} needs weights: pass its model folder "
                                         f"({exc})") from exc
    from affectcodec.emotion.ser import SERTeacher

    return SERTeacher(pretrained=name)


def _judge_from_dir(name: str | os.PathLike) -> EmotionJudge:
    from affectcodec.emotion.crnn import MODEL_TYPE as CRNN_TYPE
    from affectcodec.emotion.crnn import CRNNJudge
    from affectcodec.emotion.functionals_judge import MODEL_TYPE as FUNC_TYPE
    from affectcodec.emotion.functionals_judge import FunctionalsJudge

    path = resolve_model_dir(name)
    try:
        model_type = json.loads((path / CONFIG_FILE).read_text()).get("model_type")
    except (OSError, json.JSONDecodeError) as exc:
        raise EmotionCheckpointError(f"{path}: unreadable {CONFIG_FILE} ({exc})") from exc
    judges = {CRNN_TYPE: CRNNJudge, FUNC_TYPE: FunctionalsJudge}
    if model_type not in judges:
        raise EmotionCheckpointError(f"{path}: model_type {model_type!r} is not a judge; judges: "
                                     f"{sorted(judges)}")
    return judges[model_type](path)


def load_judges(names: Sequence[str | os.PathLike] | None = None) -> list[EmotionJudge]:
    """The emotion judges used for evaluation.

    Args:
        names: bundled folder names or model folders; None = the bundled judges
            (``judge-crnn``, ``judge-functionals``).
    """
    return [_judge_from_dir(n) for n in (DEFAULT_JUDGES if names is None else names)]
