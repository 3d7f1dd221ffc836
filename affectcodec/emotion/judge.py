"""The emotion-judge interface: independent classifiers that grade emotion preservation.

A judge is *not* the teacher the codec learned from: the bundled judges are of other model
families (a convolutional-recurrent network on a different front end, and a classical
functionals + logistic-regression model) and were trained separately.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor


class EmotionJudge(ABC):
    """Utterance-level emotion classifier used for evaluation.

    Attributes:
        name: short identifier used in reports (e.g. ``"crnn"``).
        labels: class names, in the column order of :meth:`predict_proba`.
    """

    name: str
    labels: tuple[str, ...]

    @abstractmethod
    def predict_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Class probabilities.

        Args:
            wav: float [B, 1, N] at 16 kHz (zero-padded after each length).
            lengths: valid samples per item [B]; None = all N.

        Returns:
            float [B, C], rows summing to 1, columns in the order of ``labels``.
        """

    def predict(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Predicted class indices int64 [B]."""
        return self.predict_proba(wav, lengths).argmax(-1)
