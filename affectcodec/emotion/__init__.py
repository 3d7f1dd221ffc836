"""Emotion teachers (frozen feature extractors) and prosody analysis."""

from affectcodec.emotion.prosody import ProsodyAnalyzer, ProsodyFrames
from affectcodec.emotion.teacher import (
    TEACHERS,
    EmotionTeacher,
    ProsodyTeacher,
    build_teacher,
    register_teacher,
)

__all__ = ["TEACHERS", "EmotionTeacher", "ProsodyAnalyzer", "ProsodyFrames", "ProsodyTeacher",
           "build_teacher", "register_teacher"]
