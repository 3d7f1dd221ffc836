"""The whole emotion-swap evaluation (``affectcodec swap-eval`` is a thin adapter over this).

:func:`evaluate_swap` checks the request, builds the sentence groups of a manifest split, runs the
experiment (:mod:`.swap_experiment`), summarises it (:mod:`.swap_statistics`) and writes
``results.json``, ``report.md`` and ``pairs.tsv`` (:mod:`.swap_report`) to one folder.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from affectcodec import pretrained
from affectcodec.codec import CheckpointError
from affectcodec.data.manifests import Manifest
from affectcodec.data.paths import default_manifest
from affectcodec.emotion.checkpoint import EmotionCheckpointError
from affectcodec.errors import EvaluationError
from affectcodec.eval.swap.swap_experiment import ordered_pairs, pick_groups, run_experiment, sentence_groups
from affectcodec.eval.swap.swap_report import pairs_tsv, report_markdown
from affectcodec.eval.swap.swap_statistics import summarise
from affectcodec.fsutil import atomic_path
from affectcodec.judges.loading import load_judges
from affectcodec.version import __version__

#: The files :func:`evaluate_swap` writes to its output folder.
OUTPUTS = ("results.json", "report.md", "pairs.tsv")


def evaluate_swap(out: str | Path, manifest: str | Path | None = None, *, split: str = "valid",
                  model: str | None = None, kbps: Sequence[float] | None = None,
                  judges: Sequence[str] | None = None, limit_sentences: int | None = None,
                  workers: int = 2, force: bool = False, command: str | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run the emotion-swap experiment on the same-sentence pairs of a manifest split and write
    ``results.json``, ``report.md`` and ``pairs.tsv`` to ``out``.

    For every ordered pair (A, B) of utterances of one sentence by one speaker in different
    emotions, A's acoustic sub-tokens are decoded with B's emotion sub-tokens (swap) and A
    unchanged (control); the judges' verdicts, speaker-independent and speaker-adapted, and STOI
    against A are summarised per rate.

    Args:
        out: output folder (created).
        manifest: manifest with a text column (default: nEMO under ``../shared/data``).
        split: manifest split.
        model: model folder or bundled name (default: the bundled default model); it must have
            an emotion partition.
        kbps: bitrates (default: all the model's).
        judges: judge folders or bundled names (default: the bundled judges).
        limit_sentences: at most this many sentences, evenly spaced over the sorted
            (speaker, text) groups.
        workers: worker processes (one torch thread each).
        force: overwrite results already in ``out``.
        command: the command line recorded in the results (default: this call).
        progress: called with ``(phase, done, total)``; the phases are the originals, then the
            sentences.

    Returns:
        The contents of ``results.json``.

    Raises:
        EvaluationError: outputs exist (without ``force``), a model that cannot be loaded or
            has no emotion partition, a rate it lacks, an unreadable manifest, a split without
            pairs, a judge that cannot be loaded or lacks one of the split's emotions.

    Example:
        >>> from affectcodec.eval.swap import evaluate_swap
        >>> results = evaluate_swap("runs/swap", split="valid", kbps=[6.0],
        ...                         limit_sentences=10)  # doctest: +SKIP
        >>> results["n_pairs"], results["kbps"]  # doctest: +SKIP
    """
    started = time.time()
    if command is None:
        command = (f"affectcodec.eval.swap.evaluate_swap({str(out)!r}, {manifest!r}, split={split!r}, "
                   f"model={model!r}, kbps={kbps!r}, limit_sentences={limit_sentences!r})")
    out = Path(out)
    existing = [out / name for name in OUTPUTS if (out / name).exists()]
    if existing and not force:
        raise EvaluationError(f"{existing[0]} exists; use -f to overwrite")
    try:
        model_path = pretrained.resolve(model).resolve()
        codec = pretrained.load(model_path)
    except CheckpointError as exc:
        raise EvaluationError(str(exc)) from exc
    if codec.levels is None:
        raise EvaluationError(f"{model_path.name}: this model has no emotion partition (its tokens are "
                              f"codebook indices, not FSQ digits): there is nothing to swap")
    rates = kbps if kbps is not None else list(codec.bitrates)
    try:
        stages = [(float(k), codec.stages_for(k)) for k in rates]
    except ValueError as exc:
        raise EvaluationError(str(exc)) from exc
    if limit_sentences is not None and limit_sentences < 1:
        raise EvaluationError(f"--limit-sentences must be >= 1, got {limit_sentences}")
    try:
        manifest_path = Path(manifest) if manifest else default_manifest()
        rows = Manifest.read(manifest_path)
    except (ValueError, FileNotFoundError) as exc:
        raise EvaluationError(str(exc)) from exc
    utterances = rows.filter(split=split).utterances()
    if not utterances:
        raise EvaluationError(f"{manifest_path}: no utterances in split {split!r}")
    groups = sentence_groups(utterances)
    if not groups:
        raise EvaluationError(f"{manifest_path}: split {split!r} has no sentence recorded by one "
                              f"speaker in two emotions (pairs need the text column)")
    groups = pick_groups(groups, limit_sentences)
    try:
        loaded = load_judges(judges)
    except (EmotionCheckpointError, ValueError) as exc:
        raise EvaluationError(str(exc)) from exc
    emotions = sorted({u.emotion for g in groups for u in g})
    for j in loaded:
        unknown = [e for e in emotions if e not in j.labels]
        if unknown:
            raise EvaluationError(f"judge {j.name} has no label {unknown[0]!r} "
                                  f"(its labels: {', '.join(j.labels)})")

    originals, pair_rows, missing = run_experiment(str(model_path), groups, stages, loaded, judges,
                                                   max(1, workers),
                                                   progress or (lambda phase, done, total: None))
    names = [j.name for j in loaded]
    results = {
        "command": command,
        "model": str(model_path), "manifest": str(manifest_path), "split": split,
        "kbps": [k for k, _ in stages], "judges": names, "emotions": emotions,
        "n_sentences": len(groups), "n_utterances": sum(len(g) for g in groups),
        "n_pairs": sum(len(ordered_pairs(g)) for g in groups),
        **summarise(pair_rows, originals, names, emotions),
        "adapted_missing": missing, "seconds": round(time.time() - started, 1),
        "versions": {"affectcodec": __version__, "torch": torch.__version__,
                     "python": platform.python_version()}}
    texts = {"results.json": json.dumps(results, indent=2) + "\n",
             "report.md": report_markdown(results), "pairs.tsv": pairs_tsv(pair_rows, names)}
    for name, text in texts.items():
        with atomic_path(out / name, force=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return results
