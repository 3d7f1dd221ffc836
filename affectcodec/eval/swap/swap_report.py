"""``report.md`` and ``pairs.tsv`` of an ``affectcodec swap-eval`` run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from affectcodec.eval.report import fmt
from affectcodec.eval.swap.swap_experiment import MODES


def report_markdown(results: dict[str, Any]) -> str:
    """report.md of a swap-eval run: the figures per rate, judge and mode, STOI, and the
    per-emotion-pair matrices (``results`` is results.json, see :func:`~.swap_statistics.summarise`)."""
    lines = _introduction(results) + _figures_table(results) + _stoi_table(results)
    lines += _pair_matrices(results)
    if any(results["adapted_missing"].values()):
        lines += ["Speaker-adapted judging undefined (no speaker head, or fewer than 5 utterances of "
                  "the speaker) for: " + "; ".join(f"{j}: {', '.join(s)}" for j, s in
                                                   results["adapted_missing"].items() if s), ""]
    return "\n".join(lines) + "\n"


def _introduction(results: dict[str, Any]) -> list[str]:
    return [
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
        "interval over sentences.", ""]


def _figures_table(results: dict[str, Any]) -> list[str]:
    lines = [
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
    return lines


def _stoi_table(results: dict[str, Any]) -> list[str]:
    lines = ["", "## STOI against the original A", "", "| kbit/s | swap | control |", "|---|---|---|"]
    for kbps, entry in results["rates"].items():
        lines.append(f"| {kbps} | {fmt(entry['stoi']['swap'])} | {fmt(entry['stoi']['control'])} |")
    return lines


def _pair_matrices(results: dict[str, Any]) -> list[str]:
    """Per rate and judge, the swap's "to B" rate per (A's emotion, B's emotion), the control's in
    brackets; speaker-adapted where it is defined."""
    emotions = results["emotions"]
    lines = ["", "## Swap \"to B\" rate per emotion pair", "",
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
    return lines


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
