"""Emotion judges: independent classifiers that grade emotion preservation (evaluation only)."""

from affectcodec.judges.adaptation import SpeakerHead, SpeakerStats
from affectcodec.judges.crnn import CRNNJudge, CRNNNet
from affectcodec.judges.functionals import FunctionalsJudge
from affectcodec.judges.judge import EmotionJudge, pad_batch
from affectcodec.judges.loading import DEFAULT_JUDGES, JUDGES, load_judge, load_judges
from affectcodec.judges.teacher_head import TeacherHead

__all__ = ["DEFAULT_JUDGES", "JUDGES", "CRNNJudge", "CRNNNet", "EmotionJudge", "FunctionalsJudge",
           "SpeakerHead", "SpeakerStats", "TeacherHead", "load_judge", "load_judges", "pad_batch"]
