"""Task-level measure: a speech-emotion-recognition probe on pooled frame features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor


def pool(frames: Tensor) -> np.ndarray:
    """Utterance vector float [2D]: mean and standard deviation over frames of [T, D]."""
    x = frames.float()
    std = x.std(0) if x.shape[0] > 1 else x.new_zeros(x.shape[1])
    return np.concatenate([x.mean(0).numpy(), std.numpy()])


@dataclass
class ProbeScores:
    """Scores of a probe on one set of utterances.

    Attributes:
        labels: class names (order of the vectors and of the confusion matrix).
        recall: per-class recall.
        macro_f1: unweighted mean F1 over classes.
        uar: unweighted average recall.
        confusion: counts [true, predicted].
        to_neutral: share of non-neutral utterances predicted as neutral (NaN without a
            ``neutral`` class).
    """

    labels: list[str]
    recall: list[float]
    macro_f1: float
    uar: float
    confusion: list[list[int]]
    to_neutral: float


class SERProbe:
    """Standardised logistic regression over pooled features, fitted on unquantized features."""

    def __init__(self, labels: Sequence[str], c: float = 1.0, seed: int = 0):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.labels = list(labels)
        classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        self.model = make_pipeline(StandardScaler(), classifier)

    def fit(self, features: Sequence[Tensor], labels: Sequence[str]) -> SERProbe:
        """Fit on utterances' frame features ([T, D] each) and their labels."""
        y = [self.labels.index(label) for label in labels]
        self.model.fit(np.stack([pool(f) for f in features]), y)
        return self

    def predict(self, features: Sequence[Tensor]) -> np.ndarray:
        return self.model.predict(np.stack([pool(f) for f in features]))

    def score(self, features: Sequence[Tensor], labels: Sequence[str]) -> ProbeScores:
        from sklearn.metrics import confusion_matrix, f1_score, recall_score

        y = np.array([self.labels.index(label) for label in labels])
        pred = self.predict(features)
        classes = list(range(len(self.labels)))
        recall = recall_score(y, pred, labels=classes, average=None, zero_division=0)
        cm = confusion_matrix(y, pred, labels=classes)
        to_neutral = float("nan")
        if "neutral" in self.labels:
            n = self.labels.index("neutral")
            mask = y != n
            to_neutral = float((pred[mask] == n).mean()) if mask.any() else float("nan")
        return ProbeScores(self.labels, recall.tolist(),
                           float(f1_score(y, pred, labels=classes, average="macro", zero_division=0)),
                           float(recall.mean()), cm.tolist(), to_neutral)
