"""Emotion preservation: judge metrics on original vs reconstructed audio, and EDR.

Per judge (see docs/evaluation.md for the formulas): weighted accuracy WA (plain accuracy),
unweighted average recall UAR (mean of per-class recalls), macro-F1, per-class recall, confusion
matrix; the emotion degradation rates

    EDR_macro    = 100 * (UAR_orig - UAR_rec) / UAR_orig
    EDR_weighted = 100 * (WA_orig  - WA_rec)  / WA_orig

and MEDR / WEDR, their means over the judges. Lower is better; 0 means the reconstruction is
recognised exactly as well as the original.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from affectcodec.judges.adaptation import SpeakerStats
from affectcodec.judges.judge import EmotionJudge, pad_batch


@dataclass
class ClassificationMetrics:
    """Metrics of one classifier on one set.

    Attributes:
        wa: weighted accuracy = overall accuracy.
        uar: unweighted average recall over the classes present in the targets.
        macro_f1: mean F1 over the classes present in the targets.
        recall: per-class recall (NaN for classes absent from the targets), class order.
        confusion: counts [C, C], rows = true class, columns = predicted class.
        n: number of items.
    """

    wa: float
    uar: float
    macro_f1: float
    recall: list[float]
    confusion: list[list[int]]
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def classification_metrics(target: Tensor | Sequence[int], pred: Tensor | Sequence[int],
                           num_classes: int) -> ClassificationMetrics:
    """WA, UAR, macro-F1, per-class recall and confusion matrix.

    Args:
        target: true class indices [U].
        pred: predicted class indices [U].
        num_classes: C.

    Classes with no true item are left out of UAR and macro-F1 (their recall is undefined).
    """
    t = np.asarray(target, dtype=np.int64).reshape(-1)
    p = np.asarray(pred, dtype=np.int64).reshape(-1)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"target and pred must be non-empty and of equal length, got {t.size} and {p.size}")
    if t.min() < 0 or p.min() < 0 or t.max() >= num_classes or p.max() >= num_classes:
        raise ValueError(f"class indices must be in 0..{num_classes - 1}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    support, predicted, tp = cm.sum(1), cm.sum(0), np.diag(cm)
    present = support > 0
    recall = np.where(present, tp / np.maximum(support, 1), np.nan)
    precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
    denom = precision + np.nan_to_num(recall)
    f1 = np.where(denom > 0, 2 * precision * np.nan_to_num(recall) / np.where(denom > 0, denom, 1), 0.0)
    return ClassificationMetrics(wa=float(tp.sum() / t.size), uar=float(recall[present].mean()),
                                 macro_f1=float(f1[present].mean()), recall=[float(r) for r in recall],
                                 confusion=cm.tolist(), n=int(t.size))


def degradation_rate(original: float, reconstructed: float) -> float:
    """``100 * (original - reconstructed) / original`` (NaN when original is 0)."""
    return 100.0 * (original - reconstructed) / original if original > 0 else math.nan


def recall_change(original: Sequence[Sequence[int]], reconstructed: Sequence[Sequence[int]]) -> list[float]:
    """Per-class recall change ``R_c(rec) - R_c(orig)`` of one judge (negative: the codec loses
    class ``c``), from its confusion matrices [C, C] (rows = true class) on the originals and
    on the reconstructions of the same utterances; NaN for classes with no true item."""
    def recall(cm: Sequence[Sequence[int]]) -> np.ndarray:
        cm = np.asarray(cm, dtype=np.float64)
        support = cm.sum(1)
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)

    o, r = recall(original), recall(reconstructed)
    if o.shape != r.shape:
        raise ValueError(f"confusion matrices of {o.size} and {r.size} classes")
    return [float(x) for x in r - o]


@dataclass
class JudgeResult:
    """One judge on originals and reconstructions (``reconstructed`` None when not given)."""

    judge: str
    original: ClassificationMetrics
    reconstructed: ClassificationMetrics | None = None
    edr_macro: float = math.nan
    edr_weighted: float = math.nan


@dataclass
class EmotionReport:
    """All judges; ``medr`` / ``wedr`` are the means of their EDR_macro / EDR_weighted."""

    labels: list[str]
    judges: list[JudgeResult] = field(default_factory=list)
    medr: float = math.nan
    wedr: float = math.nan

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def judge_predictions(judge: EmotionJudge, audio: Sequence[Tensor], batch_size: int = 16,
                      speaker: SpeakerStats | None = None) -> Tensor:
    """Predicted class indices int64 [U] of a judge over utterances ``audio`` (each float
    [1, N] or [N] at 16 kHz), batched with padding and lengths; ``speaker``: statistics of the
    speaker of all of them, for the speaker-adapted head."""
    preds = []
    for i in range(0, len(audio), batch_size):
        wav, lengths = pad_batch(audio[i:i + batch_size])
        proba = judge.predict_proba(wav, lengths) if speaker is None else \
            judge.predict_proba(wav, lengths, speaker=speaker)
        preds.append(proba.argmax(-1).cpu())
    return torch.cat(preds) if preds else torch.zeros(0, dtype=torch.int64)


@torch.no_grad()
def _embed_all(judge: EmotionJudge, audio: Sequence[Tensor], batch_size: int) -> Tensor:
    return torch.cat([judge.embed(*pad_batch(audio[i:i + batch_size]))
                      for i in range(0, len(audio), batch_size)])


def _predict_all(judge: EmotionJudge, audio: Sequence[Tensor], batch_size: int,
                 speakers: Sequence[str] | None, reference: Sequence[Tensor]) -> Tensor:
    if speakers is None:
        return judge_predictions(judge, audio, batch_size)
    if judge.speaker_head is None:
        raise ValueError(f"judge {judge.name!r} has no speaker head: it can only judge "
                         f"speaker-independently")
    # Same as predict_proba(..., speaker=judge.speaker_stats(reference of the speaker)), with
    # every utterance embedded once.
    emb = _embed_all(judge, audio, batch_size)
    ref = emb if audio is reference else _embed_all(judge, reference, batch_size)
    pred = torch.zeros(len(audio), dtype=torch.int64)
    for spk in sorted(set(speakers)):
        idx = torch.tensor([i for i, s in enumerate(speakers) if s == spk])
        stats = SpeakerStats.from_embeddings(ref[idx])
        pred[idx] = judge.speaker_head.proba(emb[idx], stats).argmax(-1)
    return pred


def evaluate_judges(judges: Sequence[EmotionJudge], emotions: Sequence[str],
                    original: Sequence[Tensor], reconstructed: Sequence[Tensor] | None = None,
                    batch_size: int = 16, speakers: Sequence[str] | None = None) -> EmotionReport:
    """Judge metrics on originals (and reconstructions), EDRs, MEDR and WEDR.

    Args:
        judges: the judges (all must know every emotion in ``emotions``).
        emotions: true emotion name per utterance [U].
        original: utterances, each float [1, N] at 16 kHz.
        reconstructed: the same utterances after a codec, or None.
        batch_size: utterances per judge call.
        speakers: speaker per utterance [U] for speaker-adapted judging: each judge's speaker
            statistics come from that speaker's *original* utterances (no labels) and serve for
            originals and reconstructions alike. None = speaker-independent judging.
    """
    if speakers is not None and len(speakers) != len(original):
        raise ValueError("speakers must have one entry per utterance")
    if len(original) != len(emotions) or (reconstructed is not None and len(reconstructed) != len(original)):
        raise ValueError("emotions, original and reconstructed must have one entry per utterance")
    report = EmotionReport(labels=sorted(set(emotions)))
    for judge in judges:
        index = {name: i for i, name in enumerate(judge.labels)}
        unknown = sorted(set(emotions) - set(index))
        if unknown:
            raise ValueError(f"judge {judge.name!r} has no class for {unknown}; its labels: "
                             f"{list(judge.labels)}")
        target = torch.tensor([index[e] for e in emotions])
        predict = _predict_all
        orig = classification_metrics(target, predict(judge, original, batch_size, speakers, original),
                                      len(index))
        result = JudgeResult(judge.name, orig)
        if reconstructed is not None:
            rec = classification_metrics(
                target, predict(judge, reconstructed, batch_size, speakers, original), len(index))
            result.reconstructed = rec
            result.edr_macro = degradation_rate(orig.uar, rec.uar)
            result.edr_weighted = degradation_rate(orig.wa, rec.wa)
        report.judges.append(result)
    if reconstructed is not None and report.judges:
        report.medr = float(np.mean([r.edr_macro for r in report.judges]))
        report.wedr = float(np.mean([r.edr_weighted for r in report.judges]))
    return report


@torch.no_grad()
def teacher_cosine(teacher: torch.nn.Module, original: Tensor, reconstructed: Tensor,
                   lengths: Tensor | None = None) -> Tensor:
    """Mean per-frame cosine similarity of teacher features, per utterance.

    Args:
        teacher: an :class:`~affectcodec.emotion.EmotionTeacher` (``features`` at 50 Hz).
        original, reconstructed: float [B, 1, N] at 16 kHz.
        lengths: valid samples [B] (None = all N); frames that start past it are ignored.

    Returns:
        float [B]: ``mean_t cos(f_orig[:, t], f_rec[:, t])`` over each item's valid frames.
    """
    hop = teacher.hop_length
    n = original.shape[-1]
    pad = -n % hop
    fo = teacher.features(torch.nn.functional.pad(original, (0, pad)))
    fr = teacher.features(torch.nn.functional.pad(reconstructed, (0, pad)))
    cos = torch.nn.functional.cosine_similarity(fo, fr, dim=1, eps=1e-8)  # [B, T]
    if lengths is None:
        lengths = torch.full((original.shape[0],), n, dtype=torch.int64)
    frames = torch.div(lengths.to(cos.device) + hop - 1, hop, rounding_mode="floor").clamp(1, cos.shape[1])
    mask = torch.arange(cos.shape[1], device=cos.device)[None] < frames[:, None]
    return (cos * mask).sum(1) / mask.sum(1)
