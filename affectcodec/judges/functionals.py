"""The classical judge: utterance functionals + multinomial logistic regression.

Stored without pickle: the standardisation (mean, scale) and the logistic-regression weights
(coef [C, F], intercept [C]) are safetensors tensors; :meth:`FunctionalsJudge.predict_proba`
evaluates ``softmax(((x - mean) / scale) @ coef.T + intercept)`` itself, so scikit-learn is only
needed to train it (``affectcodec train-functionals``).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor

from affectcodec.emotion.checkpoint import save_model_dir
from affectcodec.emotion.labels import LabelMap
from affectcodec.judges.judge import EmotionJudge
from affectcodec.judges.utterance_functionals import feature_names, utterance_functionals

MODEL_TYPE = "functionals_judge"


class FunctionalsJudge(EmotionJudge):
    """Logistic regression on :func:`~affectcodec.judges.utterance_functionals.utterance_functionals`.

    Args:
        path: a model folder or the name of a bundled one (``"judge-functionals"``).
    """

    name = "functionals"

    def __init__(self, path: str | os.PathLike = "judge-functionals"):
        args, tensors = self._read_folder(path, MODEL_TYPE)
        if args.get("features") != feature_names():
            raise ValueError(f"{path}: its feature list differs from this package's functionals")
        expected = {"mean", "scale", "coef", "intercept"}
        if set(tensors) != expected:
            raise ValueError(f"{path}: expected tensors {sorted(expected)}, found {sorted(tensors)}")
        self.mean, self.scale = tensors["mean"].double(), tensors["scale"].double()
        self.coef, self.intercept = tensors["coef"].double(), tensors["intercept"].double()
        if self.coef.shape != (len(self.labels), len(feature_names())):
            raise ValueError(f"{path}: coef has shape {tuple(self.coef.shape)}")

    def proba_from_features(self, x: np.ndarray | Tensor) -> Tensor:
        """Functionals float [B, F] -> probabilities float [B, C]."""
        x = torch.as_tensor(x, dtype=torch.float64)
        logits = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        return torch.softmax(logits, dim=-1).float()

    @torch.no_grad()
    def embed(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The functionals float64 [B, F] of wav float [B, 1, N] at 16 kHz."""
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[-1], dtype=torch.int64)
        return torch.from_numpy(np.stack([
            utterance_functionals(wav[b, 0, : int(lengths[b])].detach().cpu().numpy())
            for b in range(wav.shape[0])]).astype(np.float64))

    def proba_from_embedding(self, embeddings: Tensor) -> Tensor:
        return self.proba_from_features(embeddings)

    def utterance_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.proba_from_features(self.embed(wav, lengths))


def save_functionals_judge(directory: str | os.PathLike, labels: LabelMap, mean: np.ndarray,
                           scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                           extra: dict | None = None) -> None:
    """Write a released folder for a fitted standardiser + logistic regression."""
    tensors = {k: torch.as_tensor(np.asarray(v, dtype=np.float64))
               for k, v in {"mean": mean, "scale": scale, "coef": coef, "intercept": intercept}.items()}
    save_model_dir(directory, MODEL_TYPE, {"features": feature_names()}, tensors, labels, extra)
