"""Loading the bundled (or any local) emotion judges, offline.

Bundled folders under ``checkpoints/`` (see :func:`affectcodec.model_dir.checkpoints_dir`):
``judge-crnn`` and ``judge-functionals``. (The teacher's own head,
:class:`~affectcodec.judges.teacher_head.TeacherHead`, is not loaded here: it measures the
teacher and is not an independent judge of a codec trained with it.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from affectcodec.emotion.checkpoint import EmotionCheckpointError, resolve_model_dir
from affectcodec.judges.crnn import MODEL_TYPE as CRNN_TYPE
from affectcodec.judges.crnn import CRNNJudge
from affectcodec.judges.functionals import MODEL_TYPE as FUNC_TYPE
from affectcodec.judges.functionals import FunctionalsJudge
from affectcodec.judges.judge import EmotionJudge
from affectcodec.model_dir import MODEL_TYPES, read_meta

DEFAULT_JUDGES: tuple[str, ...] = ("judge-crnn", "judge-functionals")

#: Judge classes by the ``model_type`` of their folder's config.json.
JUDGES: dict[str, type[EmotionJudge]] = {CRNN_TYPE: CRNNJudge, FUNC_TYPE: FunctionalsJudge}


def load_judge(name: str | os.PathLike) -> EmotionJudge:
    """One judge from a bundled folder name or a model folder.

    Raises:
        EmotionCheckpointError: no such folder, or a folder that is not a judge.
    """
    path = resolve_model_dir(name)
    model_type = read_meta(path, EmotionCheckpointError).get("model_type")
    if model_type not in JUDGES:
        what = MODEL_TYPES.get(model_type) if isinstance(model_type, str) else None
        raise EmotionCheckpointError(f"{path}: model_type {model_type!r}"
                                     f"{f' ({what})' if what else ''} is not a judge; judges: "
                                     f"{sorted(JUDGES)}")
    return JUDGES[model_type](path)


def load_judges(names: Sequence[str | os.PathLike] | None = None) -> list[EmotionJudge]:
    """The emotion judges used for evaluation.

    Args:
        names: bundled folder names or model folders; None = the bundled judges
            (``judge-crnn``, ``judge-functionals``).
    """
    return [load_judge(n) for n in (DEFAULT_JUDGES if names is None else names)]
