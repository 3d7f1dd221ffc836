"""Emotion recognition and preservation figures of a manifest (``affectcodec emotion-eval`` is a
thin adapter over :func:`evaluate_emotion`).

Without reconstructions: WA / UAR / macro-F1 of each judge (and of the teacher's own head) on the
manifest's utterances. With a folder of reconstructions (the manifest's relative paths, decoded by
a codec): the same on the reconstructions, EDR per judge, MEDR / WEDR, prosody preservation and
the teacher-feature cosine similarity.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from affectcodec.audio import load as load_audio
from affectcodec.data.manifests import Manifest, ManifestError
from affectcodec.emotion.checkpoint import EmotionCheckpointError, resolve_model_dir
from affectcodec.emotion.registry import DEFAULT_TEACHER, load_teacher
from affectcodec.emotion.ser import SERTeacher
from affectcodec.errors import EvaluationError
from affectcodec.eval.emotion import EmotionReport, evaluate_judges, teacher_cosine
from affectcodec.eval.prosody_metrics import ProsodyPreservation
from affectcodec.judges.adaptation import SpeakerHead
from affectcodec.judges.loading import load_judges
from affectcodec.judges.teacher_head import TeacherHead

#: The judging modes: speaker-independent, and speaker-adapted (per-speaker statistics of the
#: original utterances, no labels).
MODES = ("independent", "adapted")


@dataclass(frozen=True)
class EmotionEvaluation:
    """What :func:`evaluate_emotion` found.

    Attributes:
        results: the full report, as written to JSON: ``manifest``, ``split``, ``utterances``,
            per mode ``{"judges": ..., "teacher_head": ... or None}``, with reconstructions
            ``prosody`` and ``teacher_cosine``, and ``wall_time_s``.
        reports: per mode, the judges' report and the teacher head's (None when the teacher
            has no classifier head).
    """

    results: dict[str, Any]
    reports: dict[str, tuple[EmotionReport, EmotionReport | None]]


def evaluate_emotion(manifest: str | Path, *, split: str | None = None,
                     reconstructed: str | Path | None = None, judges: Sequence[str] | None = None,
                     teacher: str | None = None, mode: str = "both", batch_size: int = 16,
                     json_path: str | Path | None = None) -> EmotionEvaluation:
    """Judge metrics of a manifest's utterances and, given reconstructions, how much emotion,
    prosody and teacher features they preserve.

    Args:
        manifest: manifest file (.tsv, .csv, .jsonl).
        split: only rows of this split (None: all rows).
        reconstructed: folder of reconstructions with the manifest's relative paths (None:
            judge the originals only). Each is cut or zero-padded to its original's length.
        judges: judge folders or bundled names (None: the bundled judges; empty: none, only
            the teacher's head).
        teacher: teacher folder or bundled name (None: ``ser-teacher``).
        mode: ``"independent"``, ``"adapted"`` or ``"both"`` (see :data:`MODES`).
        batch_size: utterances per judge call.
        json_path: also write :attr:`EmotionEvaluation.results` here as JSON.

    Returns:
        The results and the reports they were made from.

    Raises:
        EvaluationError: an unreadable manifest, an empty split, a judge or teacher that cannot
            be loaded, a missing reconstruction, or judging that fails on the data (a judge
            without one of the manifest's emotions).

    Example:
        >>> from affectcodec.eval.emotion_evaluation import evaluate_emotion
        >>> run = evaluate_emotion("manifest.tsv", split="valid",
        ...                        reconstructed="decoded/")  # doctest: +SKIP
        >>> run.results["independent"]["judges"]["medr"]  # doctest: +SKIP
    """
    try:
        rows = Manifest.read(manifest)
        if split:
            rows = rows.filter(split)
            if not len(rows):
                raise EvaluationError(f"{manifest}: no rows with split {split!r}")
        loaded = load_judges(judges)
        teacher_model = load_teacher(teacher)
    except (ManifestError, EmotionCheckpointError, ValueError) as exc:
        raise EvaluationError(str(exc)) from None
    start = time.time()
    original = [load_audio(rows.audio_path(i)) for i in range(len(rows))]
    rec = _reconstructions(rows, Path(reconstructed), original) if reconstructed else None
    emotions = [e.emotion for e in rows]

    # The teacher's own classifier is reported beside (not among) the judges.
    heads = ([TeacherHead(teacher_model, SpeakerHead.load(resolve_model_dir(teacher or DEFAULT_TEACHER)))]
             if isinstance(teacher_model, SERTeacher) else [])  # the loaded teacher, not a second copy
    speakers = [e.speaker for e in rows]
    results: dict[str, Any] = {"manifest": str(manifest), "split": split, "utterances": len(rows)}
    reports = {}
    for m in MODES if mode == "both" else (mode,):
        spk = speakers if m == "adapted" else None
        try:
            report = evaluate_judges(loaded, emotions, original, rec, batch_size, spk)
            head = evaluate_judges(heads, emotions, original, rec, batch_size, spk) if heads else None
        except ValueError as exc:
            raise EvaluationError(f"{m} judging: {exc}") from None
        reports[m] = (report, head)
        results[m] = {"judges": report.to_dict(), "teacher_head": head.to_dict() if head else None}
    if rec is not None:
        prosody = ProsodyPreservation()
        cosines = []
        for o, r in zip(original, rec, strict=True):
            prosody.update(o[None], r[None])
            cosines.append(float(teacher_cosine(teacher_model, o[None], r[None])[0]))
        results["prosody"] = prosody.compute().to_dict()
        results["teacher_cosine"] = sum(cosines) / len(cosines)
    results["wall_time_s"] = round(time.time() - start, 1)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1) + "\n")
    return EmotionEvaluation(results, reports)


def _reconstructions(rows: Manifest, root: Path, original: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    reconstructed = []
    for i, e in enumerate(rows):
        path = root / e.path
        if not path.is_file():
            raise EvaluationError(f"{path}: reconstruction of manifest row {i + 1} not found")
        rec = load_audio(path)
        n = original[i].shape[-1]  # codecs may pad: compare the original's length
        reconstructed.append(torch.nn.functional.pad(rec, (0, max(0, n - rec.shape[-1])))[:, :n])
    return reconstructed
