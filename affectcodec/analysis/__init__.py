"""Emotion-aware quantization of speech representations: RVQ analysis and Emo-Q routing."""

from affectcodec.analysis.codebooks import balanced_mix, biased_mix, draw_frames, specific_mix
from affectcodec.analysis.emoq import EmoQ, Route, fit_score
from affectcodec.analysis.feature_metrics import code_usage, cosine_by_layer, per_emotion_mean
from affectcodec.analysis.feature_rvq import FeatureRVQ, QuantizedFeatures
from affectcodec.analysis.probe import ProbeScores, SERProbe, pool

__all__ = ["EmoQ", "FeatureRVQ", "ProbeScores", "QuantizedFeatures", "Route", "SERProbe",
           "balanced_mix", "biased_mix", "code_usage", "cosine_by_layer", "draw_frames", "fit_score",
           "per_emotion_mean", "pool", "specific_mix"]
