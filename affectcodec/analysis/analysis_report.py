"""``report.md`` and PNG plots from the results of :func:`~.experiment.run_analysis`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from affectcodec.eval.plotting import pyplot
from affectcodec.eval.plotting import save_figure as _save
from affectcodec.eval.report import fmt
from affectcodec.fsutil import atomic_path


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    """Similarity vs layer per emotion, code usage, recall / macro-F1 vs bitrate, Emo-Q vs balanced."""
    plt = pyplot()
    labels, paths = results["labels"], []
    rvqs = results["rvq"]

    fig, axes = plt.subplots(1, len(rvqs), figsize=(4 * len(rvqs), 3.4), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], rvqs, strict=True):
        for label in labels:
            ax.plot(range(1, r["layers"] + 1), r["cosine_by_emotion"][label], label=label)
        ax.set_title(f"K={r['codebook_size']}, L={r['layers']}")
        ax.set_xlabel("RVQ layers")
    axes[0][0].set_ylabel("cosine(original, quantized)")
    axes[0][-1].legend(fontsize=7)
    paths.append(_save(fig, out / "similarity_by_layer.png"))

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for r in rvqs:
        x = range(1, r["layers"] + 1)
        axes[0].plot(x, r["entropy"], label=f"K={r['codebook_size']}")
        axes[1].plot(x, r["utilisation"], label=f"K={r['codebook_size']}")
    axes[0].set_ylabel("normalised entropy H / log K")
    axes[1].set_ylabel("utilisation (used / K)")
    for ax in axes:
        ax.set_xlabel("RVQ layer")
        ax.legend(fontsize=7)
    paths.append(_save(fig, out / "code_usage.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in rvqs:
        rows = sorted(r["task"].values(), key=lambda t: t["kbps"])
        axes[1].plot([t["kbps"] for t in rows], [t["macro_f1"] for t in rows], marker="o",
                     label=f"K={r['codebook_size']}")
    best = max(rvqs, key=lambda r: r["codebook_size"])
    rows = sorted(best["task"].values(), key=lambda t: t["kbps"])
    for label in labels:
        axes[0].plot([t["kbps"] for t in rows], [t["recall"][label] for t in rows], marker="o", label=label)
    axes[0].set_title(f"per-emotion recall (K={best['codebook_size']})")
    axes[1].axhline(results["unquantized"]["macro_f1"], color="k", ls="--", label="unquantized")
    axes[1].set_title("macro-F1")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("kbit/s")
        ax.legend(fontsize=7)
    paths.append(_save(fig, out / "task_vs_bitrate.png"))

    aware = results["emotion_aware"]["by_layers"]
    layers = sorted(aware, key=int)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key in [k for k in aware[layers[0]] if k == "balanced" or k.startswith("emoq_")]:
        ax.plot([aware[m]["kbps"] for m in layers], [aware[m][key]["macro_f1"] for m in layers], marker="o",
                label=key, lw=2.5 if key == "balanced" else 1.2)
    ax.set_xlabel("kbit/s")
    ax.set_ylabel("macro-F1")
    ax.set_title("Emo-Q vs balanced codebook")
    ax.legend(fontsize=6)
    paths.append(_save(fig, out / "emoq_vs_balanced.png"))
    return paths


def write_report(results: dict[str, Any], out: Path, command: str) -> Path:
    """Markdown tables of the results (with the command that produced them)."""
    labels = results["labels"]
    lines = [f"# Emotion-aware quantization analysis: {results.get('feature', 'features')}", "",
             f"Command: `{command}`", "",
             f"Train utterances: {results['n_train']}, valid utterances: {results['n_valid']}, "
             f"feature dim: {results['feature_dim']}.", "",
             f"Unquantized probe on valid: UAR {fmt(results['unquantized']['uar'])}, macro-F1 "
             f"{fmt(results['unquantized']['macro_f1'])}.", ""]
    lines += ["## Task level: per-emotion recall and macro-F1 of the probe on quantized features", ""]
    lines += ["| K x layers | kbit/s | " + " | ".join(labels) + " | macro-F1 | to neutral |",
              "|---" * (len(labels) + 4) + "|"]
    ref = results["unquantized"]
    lines.append("| unquantized | - | " + " | ".join(fmt(ref["recall"][lab]) for lab in labels)
                 + f" | {fmt(ref['macro_f1'])} | {fmt(ref['to_neutral'])} |")
    for r in results["rvq"]:
        for m, t in sorted(r["task"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {r['codebook_size']} x {m} | {t['kbps']:.2f} | "
                         + " | ".join(fmt(t["recall"][lab]) for lab in labels)
                         + f" | {fmt(t['macro_f1'])} | {fmt(t['to_neutral'])} |")
    lines += ["", "## Representation level: cosine similarity at the last layer, code usage", "",
              "| K x L | " + " | ".join(labels) + " | entropy (layer 1) | utilisation (layer 1) |",
              "|---" * (len(labels) + 3) + "|"]
    for r in results["rvq"]:
        lines.append(f"| {r['codebook_size']} x {r['layers']} | "
                     + " | ".join(fmt(r["cosine_by_emotion"][lab][-1]) for lab in labels)
                     + f" | {fmt(r['entropy'][0])} | {fmt(r['utilisation'][0])} |")
    aware = results["emotion_aware"]
    lines += ["", f"## Emotion-aware codebooks and Emo-Q (K = {aware['codebook_size']}, matched budget "
              f"{aware['budget_frames']} frames per codebook set)", ""]
    keys = [k for k in next(iter(aware["by_layers"].values())) if k.startswith("emoq_")]
    lines += ["| layers | kbit/s | balanced macro-F1 | " + " | ".join(keys) + " |",
              "|---" * (len(keys) + 3) + "|"]
    for m, row in sorted(aware["by_layers"].items(), key=lambda kv: int(kv[0])):
        base = row["balanced"]["macro_f1"]
        cells = [f"{fmt(row[k]['macro_f1'])} ({row[k]['macro_f1'] - base:+.3f})" for k in keys]
        lines.append(f"| {m} | {row['kbps']:.2f} | {fmt(base)} | " + " | ".join(cells) + " |")
    lines += ["", "Emo-Q cells: macro-F1 (difference to the balanced codebook). Route accuracy (the "
              "chosen codebook's emotion as a prediction, over utterances routed to a specialised "
              "codebook):", ""]
    for m, row in sorted(aware["by_layers"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"- {m} layers: " + ", ".join(f"{k} {fmt(row[k]['route_accuracy'])} "
                                                    f"(routed {row[k]['routed_share']:.0%})" for k in keys))
    lines += ["", "Plots: `similarity_by_layer.png`, `code_usage.png`, `task_vs_bitrate.png`, "
              "`emoq_vs_balanced.png`.", ""]
    path = out / "report.md"
    with atomic_path(path, force=True) as tmp:
        tmp.write_text("\n".join(lines))
    return path
