"""Evaluation: emotion recognition and degradation (EDR), prosody preservation (see ARCHITECTURE.md)."""

from affectcodec.eval.emotion import (
    ClassificationMetrics,
    EmotionReport,
    JudgeResult,
    classification_metrics,
    degradation_rate,
    evaluate_judges,
    judge_predictions,
    teacher_cosine,
)
from affectcodec.eval.prosody_metrics import ProsodyPreservation, ProsodyScores, prosody_preservation

__all__ = ["ClassificationMetrics", "EmotionReport", "JudgeResult", "ProsodyPreservation",
           "ProsodyScores", "classification_metrics", "degradation_rate", "evaluate_judges",
           "judge_predictions", "prosody_preservation", "teacher_cosine"]
