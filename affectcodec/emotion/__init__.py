"""Emotion teachers (frozen feature extractors), emotion judges and prosody analysis."""

from affectcodec.emotion.checkpoint import EmotionCheckpointError
from affectcodec.emotion.crnn import CRNNJudge, CRNNNet
from affectcodec.emotion.functionals_judge import FunctionalsJudge
from affectcodec.emotion.judge import EmotionJudge
from affectcodec.emotion.loading import load_judges, load_teacher
from affectcodec.emotion.prosody import ProsodyAnalyzer, ProsodyFrames
from affectcodec.emotion.ser import SERNet, SERTeacher
from affectcodec.emotion.teacher import (
    TEACHERS,
    EmotionTeacher,
    ProsodyTeacher,
    build_teacher,
    register_teacher,
)

__all__ = ["TEACHERS", "CRNNJudge", "CRNNNet", "EmotionCheckpointError", "EmotionJudge",
           "EmotionTeacher", "FunctionalsJudge", "ProsodyAnalyzer", "ProsodyFrames",
           "ProsodyTeacher", "SERNet", "SERTeacher", "build_teacher", "load_judges", "load_teacher",
           "register_teacher"]
