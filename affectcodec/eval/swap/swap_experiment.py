"""The emotion-swap experiment: does B's emotion partition move A's perceived emotion to B's?

Material: pairs of utterances of the same sentence by the same speaker in different emotions
(nEMO records every sentence in six emotions). For every ordered pair (A, B), A's acoustic
sub-tokens are decoded with B's emotion sub-tokens (:func:`affectcodec.swap.swap_emotion`, B
time-stretched to A's frame count); the *control* is A decoded unchanged (its plain
reconstruction). Independent judges then classify both outputs, and the uncoded originals, each
speaker-independent and speaker-adapted; STOI of each output against the original A says how
much of A's content survives. This module builds the pairs and produces one row per output;
:mod:`.swap_statistics` turns the rows into figures, :mod:`.swap_report` into tables.

Encoding: each utterance is encoded once, at the highest requested rate, through the CLI's
``.affc`` path (:func:`affectcodec.affc_io.encode_audio`); lower rates are its first stages, which
are exactly the tokens of encoding at that rate (residual quantization: stage k only sees the
residual of stages < k).

Work is one task per sentence (all its pairs, all rates), run in worker processes with one torch
thread each, like ``affectcodec eval``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from affectcodec import audio
from affectcodec.affc_io import ModelIdentity, encode_audio
from affectcodec.data.manifests import Utterance
from affectcodec.eval.workers import WorkerPool
from affectcodec.judges.adaptation import SpeakerStats
from affectcodec.judges.loading import load_judges
from affectcodec.metrics import stoi
from affectcodec.pretrained import load
from affectcodec.swap import swap_emotion

#: Judging modes: speaker-independent, and speaker-adapted (statistics of the speaker's originals).
MODES = ("independent", "adapted")

_WORKER: dict[str, Any] = {}


def sentence_groups(utterances: Sequence[Utterance]) -> list[list[Utterance]]:
    """Utterances grouped by (speaker, text), in (speaker, text) order, each group by path.

    Utterances without a transcript and groups with fewer than two distinct emotions give no
    pair and are left out.
    """
    groups: dict[tuple[str, str], list[Utterance]] = defaultdict(list)
    for u in utterances:
        if u.text.strip():
            groups[(u.speaker, u.text.strip())].append(u)
    return [sorted(g, key=lambda u: u.path) for _, g in sorted(groups.items())
            if len({u.emotion for u in g}) >= 2]


def ordered_pairs(group: Sequence[Utterance]) -> list[tuple[int, int]]:
    """Every ordered pair (a, b) of indices into ``group`` whose emotions differ, A-major."""
    return [(a, b) for a in range(len(group)) for b in range(len(group))
            if group[a].emotion != group[b].emotion]


def pick_groups(groups: list[list[Utterance]], limit: int | None) -> list[list[Utterance]]:
    """At most ``limit`` groups, evenly spaced over the ordered list (deterministic)."""
    if limit is None or limit >= len(groups):
        return groups
    if limit < 1:
        raise ValueError(f"the sentence limit must be >= 1, got {limit}")
    return [groups[(i * len(groups)) // limit] for i in range(limit)]


# ------------------------------------------------------------------------------ judging
def judge_outputs(judges: Sequence[Any], wav: torch.Tensor,
                  stats: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Predictions of every judge on a batch of equal-length outputs.

    Args:
        judges: emotion judges.
        wav: float [B, 1, N] at 16 kHz, every item N samples long (no padding).
        stats: per judge name, the :class:`~affectcodec.judges.adaptation.SpeakerStats` of the
            batch's speaker; None (or a missing judge) = no adapted prediction.

    Returns:
        ``{judge: {"independent": [label] * B, "adapted": [label] * B or None,
        "embedding": float [B, E] or None}}``; embeddings only for judges with a speaker head.
    """
    out = {}
    for j in judges:
        proba, emb = j.proba_and_embedding(wav)
        labels = list(j.labels)
        adapted = None
        if emb is not None and stats and stats.get(j.name) is not None:
            adapted = [labels[i] for i in j.speaker_head.proba(emb, stats[j.name]).argmax(-1).tolist()]
        out[j.name] = {"independent": [labels[i] for i in proba.argmax(-1).tolist()],
                       "adapted": adapted, "embedding": emb}
    return out


def decode_swaps(codec: Any, content: Any, emotions: Sequence[Any]) -> torch.Tensor:
    """The control and the swaps of one content utterance, decoded as one batch.

    Args:
        codec: the model that made the codes.
        content: :class:`~affectcodec.codes.Codes` of A, tokens [1, K, T_A].
        emotions: Codes of each B (tokens [1, K' >= K, T_B]).

    Returns:
        float [1 + len(emotions), 1, N_A]: item 0 is A decoded unchanged, item i is A with the
        emotion sub-tokens of ``emotions[i - 1]``; every item has A's length, so the batch needs
        no padding and each item equals its decode alone.
    """
    tokens = torch.cat([content.tokens] + [swap_emotion(content, b).tokens for b in emotions])
    batch = replace(content, tokens=tokens, lengths=content.lengths.repeat(tokens.shape[0]))
    return codec.decode(batch)


# ------------------------------------------------------------------------------ the run
def run_experiment(model: str, groups: list[list[Utterance]], stages: Sequence[tuple[float, int]],
                   judges: Sequence[Any], judge_names: Sequence[str] | None = None, workers: int = 2,
                   progress: Callable[[str, int, int], None] = lambda phase, done, total: None
                   ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, list[str]]]:
    """Judge the originals, then score every sentence's swaps and controls.

    Args:
        model: model folder (loaded in each worker).
        groups: sentences (see :func:`sentence_groups`).
        stages: ``(kbps, n_stages)`` of each rate.
        judges: the judges (loaded here too: speaker statistics are computed in this process).
        judge_names: what the workers pass to :func:`~affectcodec.judges.load_judges`.
        workers: worker processes with one torch thread each; 1 = in this process.
        progress: called with ``(phase, done, total)``, phase ``"originals"`` then ``"sentences"``.

    Returns:
        ``(originals, rows, adapted_missing)``: per utterance path and judge, the prediction on the
        original (per mode); one row per output (see :func:`_output_rows`); per judge, the
        speakers for which adapted judging is undefined (no head, or too few utterances).
    """
    threads = 1 if workers > 1 else None
    init = (model, list(judge_names) if judge_names is not None else None, list(stages), threads)
    utterances = [u for g in groups for u in g]
    with WorkerPool(workers, _init_worker, init) as pool:
        judged = dict(pool.map(_judge_original, utterances, lambda d, t: progress("originals", d, t)))
        stats, missing = _speaker_stats(judges, utterances, judged)
        originals = _adapt_originals(judges, utterances, judged, stats)
        tasks = [(g, stats[g[0].speaker]) for g in groups]
        parts = pool.map(_score_group, tasks, lambda d, t: progress("sentences", d, t))
    return originals, [r for part in parts for r in part], missing


def _speaker_stats(judges: Sequence[Any], utterances: Sequence[Utterance], judged: dict[str, Any]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Per speaker and judge, the speaker statistics (None where undefined: no speaker head, or too
    few utterances), and per judge the speakers without them."""
    # From the chosen original utterances of each speaker (no labels), used for originals,
    # controls and swaps alike, as in ``affectcodec eval``.
    stats: dict[str, dict[str, Any]] = defaultdict(dict)
    missing: dict[str, list[str]] = {}
    for j in judges:
        missing[j.name] = []
        for spk in sorted({u.speaker for u in utterances}):
            emb = [judged[u.path][j.name]["embedding"] for u in utterances if u.speaker == spk]
            try:
                if j.speaker_head is None:
                    raise ValueError("no speaker head")
                stats[spk][j.name] = SpeakerStats.from_embeddings(np.array(emb))
            except ValueError:
                stats[spk][j.name] = None
                missing[j.name].append(spk)
    return stats, missing


def _adapt_originals(judges: Sequence[Any], utterances: Sequence[Utterance], judged: dict[str, Any],
                     stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per utterance path and judge, the prediction on the original in both modes."""
    originals: dict[str, dict[str, Any]] = {}
    for u in utterances:
        originals[u.path] = {}
        for j in judges:
            rec = judged[u.path][j.name]
            adapted = None
            if stats[u.speaker][j.name] is not None:
                emb = torch.tensor([rec["embedding"]])
                adapted = j.labels[int(j.speaker_head.proba(emb, stats[u.speaker][j.name]).argmax(-1)[0])]
            originals[u.path][j.name] = {"independent": rec["independent"], "adapted": adapted}
    return originals


# ------------------------------------------------------------------------------ worker tasks
def _init_worker(model: str, judge_names: Sequence[str] | None, stages: Sequence[tuple[float, int]],
                 threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    codec = load(model)
    # The identity (a hash of all weights) once, not once per encoded file.
    _WORKER.update(codec=codec, identity=ModelIdentity.of(codec), judges=load_judges(judge_names),
                   stages=list(stages))


def _judge_original(u: Utterance) -> tuple[str, dict[str, Any]]:
    wav = audio.load(u.audio_path)
    preds = judge_outputs(_WORKER["judges"], wav[None])
    return u.path, {name: {"independent": p["independent"][0],
                          "embedding": None if p["embedding"] is None else p["embedding"][0].tolist()}
                   for name, p in preds.items()}


def _score_group(task: tuple[list[Utterance], dict[str, Any]]) -> list[dict[str, Any]]:
    """Swaps and controls of one sentence at every rate: one row per output."""
    group, stats = task
    codec, judges, stages = _WORKER["codec"], _WORKER["judges"], _WORKER["stages"]
    top = max(k for _, k in stages)
    codes = [encode_audio(codec, u.audio_path, n_stages=top, model=_WORKER["identity"])[0]
             for u in group]
    refs = [audio.load(u.audio_path)[0].numpy() for u in group]
    rows = []
    for kbps, k in stages:
        cut = [c.truncate(k) for c in codes]
        for a, ua in enumerate(group):
            partners = [b for b in range(len(group)) if group[b].emotion != ua.emotion]
            wav = decode_swaps(codec, cut[a], [cut[b] for b in partners])
            rows += _output_rows(kbps, group, a, partners, wav, judge_outputs(judges, wav, stats), refs[a])
    return rows


def _output_rows(kbps: float, group: Sequence[Utterance], a: int, partners: Sequence[int],
                 wav: torch.Tensor, preds: dict[str, dict[str, Any]], ref: np.ndarray
                 ) -> list[dict[str, Any]]:
    """The rows of content utterance ``group[a]`` at one rate.

    ``wav`` (float [1 + P, 1, N]) is :func:`decode_swaps`' batch: the control, then the swap with
    each of the P partners (indices into ``group``), ``preds`` the judges' predictions on it and
    ``ref`` A's original (float [N]). A swap gives one row, the control one row per pair it
    controls; STOI against ``ref`` is in the first row of each output only.
    """
    ua = group[a]
    n = min(wav.shape[-1], ref.size)  # equal for 16 kHz sources; resampling may differ by one
    rows = []
    for i, b in enumerate([None, *partners]):
        targets = [b] if b is not None else partners
        for t in targets:
            rows.append({
                "kbps": kbps, "kind": "swap" if b is not None else "control",
                "sentence": f"{ua.speaker}|{ua.text}", "a": ua.path, "b": group[t].path,
                "a_emotion": ua.emotion, "b_emotion": group[t].emotion,
                "samples_out": int(wav.shape[-1]),
                "stoi": stoi(ref[:n], wav[i, 0, :n].numpy()) if t == targets[0] else None,
                "pred": {name: {m: (p[m][i] if p[m] is not None else None) for m in MODES}
                         for name, p in preds.items()}})
    return rows
