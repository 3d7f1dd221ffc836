"""The figures of the emotion-swap experiment, from its per-output rows.

Per rate, judge and mode, over the ordered pairs (A, B): the share of outputs predicted as B's
emotion (*moved to B*), as A's (*stayed A*), and as the judge's prediction on the original B
(*matches B*), for the swap, the control and the uncoded original A; the effect of the swap,
``moved_to_b(swap) - moved_to_b(control)``, with a 95 % interval from a bootstrap over
sentences (pairs of one sentence are not independent); and the moved-to-B rate per (A's
emotion, B's emotion). The rows come from :func:`~.swap_experiment.run_experiment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from affectcodec.eval.bootstrap import bootstrap_difference
from affectcodec.eval.swap.swap_experiment import MODES

#: Kinds of output: the swap, the control (A reconstructed), and the uncoded original A.
KINDS = ("swap", "control", "original")

#: A swap row and the control row of the same pair (A, B) at the same rate.
Pair = tuple[dict[str, Any], dict[str, Any]]


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
        out[f"{kbps:g}"] = _summarise_rate([r for r in rows if r["kbps"] == kbps], originals,
                                           judge_names, emotions)
    return {"rates": out}


def _summarise_rate(rows: Sequence[dict[str, Any]], originals: dict[str, dict[str, Any]],
                    judge_names: Sequence[str], emotions: Sequence[str]) -> dict[str, Any]:
    """The figures of one rate's rows."""
    controls = {(r["a"], r["b"]): r for r in rows if r["kind"] == "control"}
    pairs = [(s, controls[(s["a"], s["b"])]) for s in rows if s["kind"] == "swap"]
    # The control is scored once per utterance A (its first pair), the swap once per pair.
    stoi = {"swap": [s["stoi"] for s, _ in pairs],
            "control": [c["stoi"] for c in controls.values() if c["stoi"] is not None]}
    return {
        "n_pairs": len(pairs),
        "stoi": {k: (float(np.nanmean(v)) if v else None) for k, v in stoi.items()},
        "judges": {name: {mode: _judge_figures(pairs, originals, name, mode, emotions) for mode in MODES}
                   for name in judge_names}}


def _judge_figures(pairs: Sequence[Pair], originals: dict[str, dict[str, Any]], name: str, mode: str,
                   emotions: Sequence[str]) -> dict[str, Any] | None:
    """One judge's figures in one mode; None if a prediction is missing (no adapted judging)."""
    preds = {"swap": [s["pred"][name][mode] for s, _ in pairs],
             "control": [c["pred"][name][mode] for _, c in pairs],
             "original": [originals[s["a"]][name][mode] for s, _ in pairs]}
    if any(p is None for v in preds.values() for p in v):
        return None
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
    return res


def _rate(hits: Sequence[bool]) -> float | None:
    return float(np.mean(hits)) if len(hits) else None


def _matrix(pairs: Sequence[Pair], hits: Sequence[bool], emotions: Sequence[str]
            ) -> list[list[float | None]]:
    """Share of hits per (A's emotion, B's emotion); None where no pair has those emotions."""
    index = {e: i for i, e in enumerate(emotions)}
    total = np.zeros((len(emotions), len(emotions)))
    count = np.zeros_like(total)
    for (s, _), h in zip(pairs, hits, strict=True):
        i, j = index[s["a_emotion"]], index[s["b_emotion"]]
        total[i, j] += h
        count[i, j] += 1
    return [[float(total[i, j] / count[i, j]) if count[i, j] else None for j in range(len(emotions))]
            for i in range(len(emotions))]
