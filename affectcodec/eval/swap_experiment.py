"""The emotion-swap experiment: does B's emotion partition move A's perceived emotion to B's?

Material: pairs of utterances of the same sentence by the same speaker in different emotions
(nEMO records every sentence in six emotions). For every ordered pair (A, B), A's acoustic
sub-tokens are decoded with B's emotion sub-tokens (:func:`affectcodec.swap.swap_emotion`, B
time-stretched to A's frame count); the *control* is A decoded unchanged (its plain
reconstruction). Independent judges then classify both outputs:

* moved to B: share of outputs predicted as B's emotion label;
* stayed A: share predicted as A's label;
* matches B: share whose prediction equals the judge's prediction on the original B (the judge's
  view of B, right or wrong).

The control's "moved to B" rate is what the judge says about A's reconstruction anyway, so the
effect of the swap is ``swap - control``; its 95 % interval comes from a bootstrap over sentences
(pairs of one sentence are not independent). STOI of each output against the original A says
how much of A's content survives.

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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from affectcodec import audio
from affectcodec.eval.report import fmt
from affectcodec.eval.workers import WorkerPool

#: Judging modes: speaker-independent, and speaker-adapted (statistics of the speaker's originals).
MODES = ("independent", "adapted")
#: Kinds of output: the swap, the control (A reconstructed), and the uncoded original A.
KINDS = ("swap", "control", "original")

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class Utterance:
    """One recording: ``key`` is its manifest path, ``path`` the audio file."""

    key: str
    path: str
    speaker: str
    text: str
    emotion: str


def sentence_groups(utterances: Sequence[Utterance]) -> list[list[Utterance]]:
    """Utterances grouped by (speaker, text), in (speaker, text) order, each group by key.

    Utterances without a transcript and groups with fewer than two distinct emotions give no
    pair and are left out.
    """
    groups: dict[tuple[str, str], list[Utterance]] = defaultdict(list)
    for u in utterances:
        if u.text.strip():
            groups[(u.speaker, u.text.strip())].append(u)
    return [sorted(g, key=lambda u: u.key) for _, g in sorted(groups.items())
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
    from affectcodec.swap import swap_emotion

    tokens = torch.cat([content.tokens] + [swap_emotion(content, b).tokens for b in emotions])
    batch = replace(content, tokens=tokens, lengths=content.lengths.repeat(tokens.shape[0]))
    return codec.decode(batch)


# ------------------------------------------------------------------------------ worker tasks
def _init_worker(model: str, judge_names: Sequence[str] | None, stages: Sequence[tuple[float, int]],
                 threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    from affectcodec import load
    from affectcodec.affc_io import ModelIdentity
    from affectcodec.judges.loading import load_judges

    codec = load(model)
    # The identity (a hash of all weights) once, not once per encoded file.
    _WORKER.update(codec=codec, identity=ModelIdentity.of(codec), judges=load_judges(judge_names),
                   stages=list(stages))


def _judge_original(u: Utterance) -> tuple[str, dict[str, Any]]:

    wav = audio.load(u.path)
    preds = judge_outputs(_WORKER["judges"], wav[None])
    return u.key, {name: {"independent": p["independent"][0],
                          "embedding": None if p["embedding"] is None else p["embedding"][0].tolist()}
                   for name, p in preds.items()}


def _score_group(task: tuple[list[Utterance], dict[str, Any]]) -> list[dict[str, Any]]:
    """Swaps and controls of one sentence at every rate: one row per output."""
    from affectcodec.affc_io import encode_audio
    from affectcodec.metrics import stoi

    group, stats = task
    codec, judges, stages = _WORKER["codec"], _WORKER["judges"], _WORKER["stages"]
    top = max(k for _, k in stages)
    codes = [encode_audio(codec, u.path, n_stages=top, model=_WORKER["identity"])[0] for u in group]
    refs = [audio.load(u.path)[0].numpy() for u in group]
    rows = []
    for kbps, k in stages:
        cut = [c.truncate(k) for c in codes]
        for a, ua in enumerate(group):
            partners = [b for b in range(len(group)) if group[b].emotion != ua.emotion]
            wav = decode_swaps(codec, cut[a], [cut[b] for b in partners])
            preds = judge_outputs(judges, wav, stats)
            n = min(wav.shape[-1], refs[a].size)  # equal for 16 kHz sources; resampling may differ by one
            for i, b in enumerate([None, *partners]):
                targets = [b] if b is not None else partners
                for t in targets:  # the control is listed once per pair it controls
                    rows.append({
                        "kbps": kbps, "kind": "swap" if b is not None else "control",
                        "sentence": f"{ua.speaker}|{ua.text}", "a": ua.key, "b": group[t].key,
                        "a_emotion": ua.emotion, "b_emotion": group[t].emotion,
                        "samples_out": int(wav.shape[-1]),
                        "stoi": stoi(refs[a][:n], wav[i, 0, :n].numpy()) if t == targets[0] else None,
                        "pred": {name: {m: (p[m][i] if p[m] is not None else None) for m in MODES}
                                 for name, p in preds.items()}})
    return rows


def run(model: str, groups: list[list[Utterance]], stages: Sequence[tuple[float, int]],
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

    Returns:
        ``(originals, rows, adapted_missing)``: per utterance key and judge, the prediction on the
        original (per mode); one row per output (see :func:`_score_group`); per judge, the
        speakers for which adapted judging is undefined (no head, or too few utterances).
    """
    threads = 1 if workers > 1 else None
    init = (model, list(judge_names) if judge_names is not None else None, list(stages), threads)
    utterances = [u for g in groups for u in g]
    with WorkerPool(workers, _init_worker, init) as pool:
        judged = dict(pool.map(_judge_original, utterances, lambda d, t: progress("originals", d, t)))
        originals, stats, missing = _originals(judges, utterances, judged)
        tasks = [(g, stats[g[0].speaker]) for g in groups]
        parts = pool.map(_score_group, tasks, lambda d, t: progress("sentences", d, t))
    return originals, [r for part in parts for r in part], missing


def _originals(judges: Sequence[Any], utterances: Sequence[Utterance], judged: dict[str, Any]
               ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, list[str]]]:
    from affectcodec.judges.adaptation import SpeakerStats

    # Speaker statistics from the chosen original utterances of each speaker (no labels), used
    # for originals, controls and swaps alike, as in ``affectcodec eval``.
    stats: dict[str, dict[str, Any]] = defaultdict(dict)
    missing: dict[str, list[str]] = {}
    for j in judges:
        missing[j.name] = []
        for spk in sorted({u.speaker for u in utterances}):
            emb = [judged[u.key][j.name]["embedding"] for u in utterances if u.speaker == spk]
            try:
                if j.speaker_head is None:
                    raise ValueError("no speaker head")
                stats[spk][j.name] = SpeakerStats.from_embeddings(np.array(emb))
            except ValueError:
                stats[spk][j.name] = None
                missing[j.name].append(spk)
    originals: dict[str, dict[str, Any]] = {}
    for u in utterances:
        originals[u.key] = {}
        for j in judges:
            rec = judged[u.key][j.name]
            adapted = None
            if stats[u.speaker][j.name] is not None:
                emb = torch.tensor([rec["embedding"]])
                adapted = j.labels[int(j.speaker_head.proba(emb, stats[u.speaker][j.name]).argmax(-1)[0])]
            originals[u.key][j.name] = {"independent": rec["independent"], "adapted": adapted}
    return originals, stats, missing


# ------------------------------------------------------------------------------ statistics
def _rate(hits: Sequence[bool]) -> float | None:
    return float(np.mean(hits)) if len(hits) else None


def bootstrap_difference(sentences: Sequence[str], x: Sequence[bool], y: Sequence[bool],
                         n_boot: int = 2000, seed: int = 0) -> list[float] | None:
    """95 % percentile interval of ``mean(x) - mean(y)`` over paired outcomes, resampling sentences.

    Args:
        sentences: the sentence of each pair (the resampling unit).
        x, y: paired outcomes (e.g. swap and control "moved to B"), one per pair.
    """
    names = sorted(set(sentences))
    if len(names) < 2:
        return None
    index = {s: i for i, s in enumerate(names)}
    g = np.array([index[s] for s in sentences])
    n = np.bincount(g, minlength=len(names)).astype(float)
    d = np.bincount(g, weights=np.asarray(x, float) - np.asarray(y, float), minlength=len(names))
    pick = np.random.default_rng(seed).integers(0, len(names), size=(n_boot, len(names)))
    diffs = d[pick].sum(1) / n[pick].sum(1)
    return [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))]


def summarise(rows: Sequence[dict[str, Any]], originals: dict[str, dict[str, Any]],
              judge_names: Sequence[str], emotions: Sequence[str]) -> dict[str, Any]:
    """The figures of results.json from the per-output rows (see the module docstring).

    Returns:
        ``{"rates": {kbps: {"n_pairs", "stoi": {kind: mean}, "judges": {judge: {mode: {
        kind: {"moved_to_b", "stayed_a", "matches_b"}, "effect": {"moved_to_b", "ci95"},
        "matrix": {kind: [[rate or None] * E] * E}}}}}}}``, matrices with rows = A's emotion and
        columns = B's emotion in the order of ``emotions``. A mode whose predictions are missing
        (no adapted judging) is None.
    """
    out: dict[str, Any] = {}
    for kbps in sorted({r["kbps"] for r in rows}):
        swaps = [r for r in rows if r["kbps"] == kbps and r["kind"] == "swap"]
        controls = {(r["a"], r["b"]): r for r in rows if r["kbps"] == kbps and r["kind"] == "control"}
        pairs = [(s, controls[(s["a"], s["b"])]) for s in swaps]
        stoi = {"swap": [s["stoi"] for s, _ in pairs],
                "control": [c["stoi"] for c in controls.values() if c["stoi"] is not None]}
        entry: dict[str, Any] = {
            "n_pairs": len(pairs),
            "stoi": {k: (float(np.nanmean(v)) if v else None) for k, v in stoi.items()},
            "judges": {}}
        for name in judge_names:
            entry["judges"][name] = {}
            for mode in MODES:
                preds = {"swap": [s["pred"][name][mode] for s, _ in pairs],
                         "control": [c["pred"][name][mode] for _, c in pairs],
                         "original": [originals[s["a"]][name][mode] for s, _ in pairs]}
                if any(p is None for v in preds.values() for p in v):
                    entry["judges"][name][mode] = None
                    continue
                a_emo = [s["a_emotion"] for s, _ in pairs]
                b_emo = [s["b_emotion"] for s, _ in pairs]
                b_orig = [originals[s["b"]][name][mode] for s, _ in pairs]
                res: dict[str, Any] = {}
                moved = {}
                for kind, pred in preds.items():
                    moved[kind] = [p == b for p, b in zip(pred, b_emo, strict=True)]
                    res[kind] = {"moved_to_b": _rate(moved[kind]),
                                 "stayed_a": _rate([p == a for p, a in zip(pred, a_emo, strict=True)]),
                                 "matches_b": _rate([p == q for p, q in zip(pred, b_orig, strict=True)])}
                effect = None if not pairs else res["swap"]["moved_to_b"] - res["control"]["moved_to_b"]
                res["effect"] = {"moved_to_b": effect, "ci95": bootstrap_difference(
                    [s["sentence"] for s, _ in pairs], moved["swap"], moved["control"])}
                res["matrix"] = {kind: _matrix(pairs, moved[kind], emotions) for kind in ("swap", "control")}
                entry["judges"][name][mode] = res
        out[f"{kbps:g}"] = entry
    return {"rates": out}


def _matrix(pairs: Sequence[tuple[dict, dict]], hits: Sequence[bool], emotions: Sequence[str]
            ) -> list[list[float | None]]:
    index = {e: i for i, e in enumerate(emotions)}
    total = np.zeros((len(emotions), len(emotions)))
    count = np.zeros_like(total)
    for (s, _), h in zip(pairs, hits, strict=True):
        i, j = index[s["a_emotion"]], index[s["b_emotion"]]
        total[i, j] += h
        count[i, j] += 1
    return [[float(total[i, j] / count[i, j]) if count[i, j] else None for j in range(len(emotions))]
            for i in range(len(emotions))]


# ------------------------------------------------------------------------------ report
def report_markdown(results: dict[str, Any]) -> str:
    """report.md of a swap-eval run."""
    emotions = results["emotions"]
    lines = [
        "# Emotion swap", "",
        f"Command: `{results['command']}`", "",
        f"Model `{results['model']}`; manifest `{results['manifest']}`, split `{results['split']}`: "
        f"{results['n_sentences']} sentences, {results['n_utterances']} utterances, "
        f"{results['n_pairs']} ordered pairs (A, B) of the same sentence and speaker in different "
        f"emotions. Package {results['versions']['affectcodec']}, {results['seconds']:.0f} s.", "",
        "Swap: A's acoustic sub-tokens decoded with B's emotion sub-tokens. Control: A decoded "
        "unchanged. Original: the uncoded A. *to B*: share predicted as B's emotion; *stays A*: "
        "share predicted as A's emotion; *= judge(B)*: share whose prediction equals the judge's "
        "prediction on the original B. Effect: swap minus control \"to B\", with a 95 % bootstrap "
        "interval over sentences.", "",
        "| kbit/s | judge | mode | swap to B | control to B | original to B | effect [95 % CI] | "
        "swap stays A | control stays A | swap = judge(B) | control = judge(B) |",
        "|---" * 11 + "|"]
    for kbps, entry in results["rates"].items():
        for judge, modes in entry["judges"].items():
            for mode, r in modes.items():
                if r is None:
                    lines.append(f"| {kbps} | {judge} | {mode} |" + " n/a |" * 8)
                    continue
                ci = r["effect"]["ci95"]
                ci_s = f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else ""
                lines.append(
                    f"| {kbps} | {judge} | {mode} | {fmt(r['swap']['moved_to_b'])} | "
                    f"{fmt(r['control']['moved_to_b'])} | {fmt(r['original']['moved_to_b'])} | "
                    f"{fmt(r['effect']['moved_to_b'])}{ci_s} | {fmt(r['swap']['stayed_a'])} | "
                    f"{fmt(r['control']['stayed_a'])} | {fmt(r['swap']['matches_b'])} | "
                    f"{fmt(r['control']['matches_b'])} |")
    lines += ["", "## STOI against the original A", "", "| kbit/s | swap | control |", "|---|---|---|"]
    for kbps, entry in results["rates"].items():
        lines.append(f"| {kbps} | {fmt(entry['stoi']['swap'])} | {fmt(entry['stoi']['control'])} |")
    lines += ["", "## Swap \"to B\" rate per emotion pair", "",
              "Rows: A's emotion; columns: B's emotion. In brackets: the control's rate for the same "
              "pairs.", ""]
    for kbps, entry in results["rates"].items():
        for judge, modes in entry["judges"].items():
            mode = "adapted" if modes.get("adapted") else "independent"
            r = modes[mode]
            if r is None:
                continue
            lines += [f"### {kbps} kbit/s, judge {judge} ({mode})", "",
                      "| A \\ B | " + " | ".join(emotions) + " |", "|---" * (len(emotions) + 1) + "|"]
            for i, e in enumerate(emotions):
                cells = [f"{fmt(s, 2)} ({fmt(c, 2)})" if s is not None else "-"
                         for s, c in zip(r["matrix"]["swap"][i], r["matrix"]["control"][i], strict=True)]
                lines.append(f"| {e} | " + " | ".join(cells) + " |")
            lines.append("")
    if any(results["adapted_missing"].values()):
        lines += ["Speaker-adapted judging undefined (no speaker head, or fewer than 5 utterances of "
                  "the speaker) for: " + "; ".join(f"{j}: {', '.join(s)}" for j, s in
                                                   results["adapted_missing"].items() if s), ""]
    return "\n".join(lines) + "\n"


def pairs_tsv(rows: Sequence[dict[str, Any]], judge_names: Sequence[str]) -> str:
    """One line per output (swap or control of a pair, per rate), predictions per judge and mode."""
    cols = ["kbps", "kind", "a", "b", "a_emotion", "b_emotion", "stoi"]
    head = cols + [f"{j}/{m}" for j in judge_names for m in MODES]
    lines = ["\t".join(head)]
    for r in rows:
        cells = [f"{r['kbps']:g}", r["kind"], r["a"], r["b"], r["a_emotion"], r["b_emotion"],
                 "" if r["stoi"] is None else f"{r['stoi']:.4f}"]
        cells += [r["pred"][j][m] or "" for j in judge_names for m in MODES]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"
