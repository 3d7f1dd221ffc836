"""The teacher's own classifier head seen through the judge interface."""

from __future__ import annotations

import os

from torch import Tensor, nn

from affectcodec.emotion.checkpoint import resolve_model_dir
from affectcodec.emotion.ser import SERTeacher
from affectcodec.judges.adaptation import SpeakerHead
from affectcodec.judges.judge import EmotionJudge


class TeacherHead(EmotionJudge):
    """A :class:`~affectcodec.emotion.ser.SERTeacher`'s classifier head as a judge
    (``name = "teacher-head"``), with the speaker head stored in the teacher's folder.

    For measuring the teacher; it is not an independent judge of a codec trained with it.

    Args:
        teacher: the teacher whose head this is.
        speaker_head: its speaker-adapted head, or None (speaker-independent only).
    """

    name = "teacher-head"

    def __init__(self, teacher: SERTeacher, speaker_head: SpeakerHead | None = None):
        self.teacher, self.labels = teacher, tuple(teacher.labels)
        self.speaker_head = speaker_head

    @classmethod
    def load(cls, name_or_path: str | os.PathLike = "ser-teacher") -> TeacherHead:
        """The head of a teacher folder (bundled name or path) and its speaker head, if any."""
        return cls(SERTeacher(pretrained=name_or_path),
                   SpeakerHead.load(resolve_model_dir(name_or_path)))

    @property
    def net(self) -> nn.Module:
        """The teacher's network (its weights identify the model in embedding caches)."""
        return self.teacher.net

    def embed(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.teacher.embed(wav, lengths)

    def utterance_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.teacher.predict_proba(wav, lengths)
