"""``report.md`` and PNG plots of an ``affectcodec eval`` run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from affectcodec.eval.plotting import pyplot as _plt
from affectcodec.eval.plotting import save_figure as _save
from affectcodec.eval.plotting import spectrogram_figure
from affectcodec.fsutil import atomic_path


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a markdown table: ``digits`` decimals, ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def plot_metrics(results: dict[str, Any], out: Path) -> Path:
    """Each metric against bitrate, one line per model."""
    plt = _plt()
    panels = [("pesq", "PESQ-wb (higher better)"), ("stoi", "STOI (higher better)"),
              ("mel_distance", "mel distance (lower better)"), ("si_sdr", "SI-SDR dB (higher better)"),
              ("medr", "MEDR % (lower better)"),  ("f0_rmse_cents", "F0 RMSE cents (lower better)")]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (key, title) in zip(axes.flat, panels, strict=True):
        for name, model in results["models"].items():
            rates = sorted(model["rates"].values(), key=lambda r: r["kbps_nominal"])
            ys = [r["prosody"][key] if key == "f0_rmse_cents" else r.get(key, math.nan) for r in rates]
            ax.plot([r["kbps_nominal"] for r in rates], ys, marker="o", label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("kbit/s")
    axes.flat[0].legend(fontsize=8)
    return _save(fig, out / "metrics_vs_bitrate.png")


def plot_recall(results: dict[str, Any], out: Path) -> Path:
    """Per-class recall of each judge: originals vs each model at its lowest bitrate."""
    plt = _plt()
    judges = list(results["originals"])
    fig, axes = plt.subplots(1, len(judges), figsize=(6 * len(judges), 3.8), squeeze=False)
    for ax, judge in zip(axes[0], judges, strict=True):
        labels = results["originals"][judge]["labels"]
        series = [("original", results["originals"][judge]["recall"])]
        for name, model in results["models"].items():
            low = min(model["rates"].values(), key=lambda r: r["kbps_nominal"])
            series.append((f"{name} @ {low['kbps_nominal']:g}", low["judges"][judge]["recall"]))
        width = 0.8 / len(series)
        for i, (label, recall) in enumerate(series):
            ax.bar(np.arange(len(labels)) + i * width, np.nan_to_num(recall), width, label=label)
        ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, rotation=30, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"per-class recall, judge {judge}")
        ax.legend(fontsize=7)
    return _save(fig, out / "recall_per_class.png")


def plot_confusions(results: dict[str, Any], out: Path) -> list[Path]:
    """Row-normalised confusion matrices per judge: original and each model at its lowest bitrate."""
    plt = _plt()
    paths = []
    for judge, orig in results["originals"].items():
        labels = orig["labels"]
        panels = [("original", orig["confusion"])]
        for name, model in results["models"].items():
            low = min(model["rates"].values(), key=lambda r: r["kbps_nominal"])
            panels.append((f"{name} @ {low['kbps_nominal']:g} kbit/s", low["judges"][judge]["confusion"]))
        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
        for ax, (title, cm) in zip(axes[0], panels, strict=True):
            cm = np.asarray(cm, dtype=float)
            cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
            ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
            for (i, j), v in np.ndenumerate(cm):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if v > 0.5 else "black")
            ax.set_xticks(range(len(labels)), [lab[:4] for lab in labels], fontsize=7)
            ax.set_yticks(range(len(labels)), [lab[:4] for lab in labels], fontsize=7)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("predicted", fontsize=8)
        axes[0][0].set_ylabel("true", fontsize=8)
        paths.append(_save(fig, out / f"confusion_{judge}.png"))
    return paths


def spectrogram_panels(signals: dict[str, np.ndarray], path: Path, title: str | None = None) -> Path:
    """Write :func:`~affectcodec.eval.plotting.spectrogram_figure` of ``signals`` to ``path``."""
    return _save(spectrogram_figure(signals, title), path)


def plot_spectrograms(example: dict[str, Any], out: Path) -> Path:
    """Log-mel spectrograms of one utterance: original and each reconstruction."""
    return spectrogram_panels(example["audio"], out / "spectrogram.png",
                              f"{example['key']} ({example['emotion']})")


#: The columns of the field-metrics table: record key, header, decimals.
_FIELD_COLUMNS = (("visqol", "ViSQOL (MOS-LQO)", 2), ("speaker_similarity", "speaker sim", 3),
                  ("dnsmos_sig", "DNSMOS SIG", 2), ("dnsmos_bak", "DNSMOS BAK", 2),
                  ("dnsmos_ovrl", "DNSMOS OVRL", 2))


def _field_metrics_table(results: dict[str, Any]) -> list[str]:
    """ViSQOL, speaker similarity and DNSMOS, for the metrics that were run (DNSMOS with the
    originals' row: it needs no reference)."""
    rows = [r for m in results["models"].values() for r in m["rates"].values()]
    cols = [c for c in _FIELD_COLUMNS if any(c[0] in r for r in rows)]
    if not cols:
        return []
    lines = ["", "## ViSQOL, speaker similarity, DNSMOS", "",
             "| model | kbit/s | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    originals = results.get("originals_metrics", {})
    if originals:
        lines.append("| original | | " + " | ".join(
            fmt(originals.get(key), digits) if key in originals else "" for key, _, digits in cols) + " |")
    for name, model in results["models"].items():
        for r in sorted(model["rates"].values(), key=lambda r: r["kbps_nominal"]):
            lines.append(f"| {name} | {r['kbps_nominal']:g} | " + " | ".join(
                fmt(r.get(key), digits) for key, _, digits in cols) + " |")
    return lines


def write_report(results: dict[str, Any], out: Path) -> Path:
    """Markdown tables of everything in ``results``."""
    lines = ["# AffectCodec evaluation", "", f"Command: `{results['command']}`", "",
             f"Manifest: `{results['manifest']}`, split `{results['split']}`, "
             f"{results['n_utterances']} utterances. Package {results['versions']['affectcodec']}, "
             f"torch {results['versions']['torch']}.", "",
             "## Quality and emotion preservation", "",
             "| model | kbit/s | file kbit/s | PESQ-wb | STOI | mel dist | SI-SDR | MEDR % | WEDR % | "
             "MEDR % (spk-adapted) | F0 corr | F0 RMSE (cents) | VDE | energy corr | teacher cos | "
             "leakage R2 emo / ac |",
             "|---" * 16 + "|"]
    for name, model in results["models"].items():
        for r in sorted(model["rates"].values(), key=lambda r: r["kbps_nominal"]):
            p = r["prosody"]
            leak = r.get("leakage")
            leak_s = f"{fmt(leak['emotion'])} / {fmt(leak['acoustic'])}" if leak else "n/a"
            lines.append(
                f"| {name} | {r['kbps_nominal']:g} | {fmt(r['kbps_file'], 2)} | {fmt(r.get('pesq'), 2)} | "
                f"{fmt(r.get('stoi'))} | {fmt(r.get('mel_distance'))} | {fmt(r.get('si_sdr'), 1)} | "
                f"{fmt(r['medr'], 1)} | {fmt(r['wedr'], 1)} | {fmt(r.get('medr_adapted'), 1)} | "
                f"{fmt(p['f0_corr'])} | "
                f"{fmt(p['f0_rmse_cents'], 0)} | {fmt(p['vde'])} | "
                f"{fmt(p['energy_corr'])} | {fmt(r['teacher_cosine'])} | {leak_s} |")
    lines += _field_metrics_table(results)
    lines += ["", "## Judges (UAR / WA)", "", "| judge | original | " + " | ".join(
        f"{name} @ {r['kbps_nominal']:g}" for name, m in results["models"].items()
        for r in sorted(m["rates"].values(), key=lambda r: r["kbps_nominal"])) + " |"]
    cols = sum(len(m["rates"]) for m in results["models"].values())
    lines.append("|---" * (cols + 2) + "|")
    for judge, orig in results["originals"].items():
        cells = [f"{fmt(orig['uar'])} / {fmt(orig['wa'])}"]
        for m in results["models"].values():
            for r in sorted(m["rates"].values(), key=lambda r: r["kbps_nominal"]):
                j = r["judges"][judge]
                cells.append(f"{fmt(j['uar'])} / {fmt(j['wa'])}")
        lines.append(f"| {judge} | " + " | ".join(cells) + " |")
    lines += ["", "Plots: " + ", ".join(f"`{p}`" for p in results.get("plots", [])), "",
              "Metric definitions: docs/evaluation.md.", ""]
    path = out / "report.md"
    with atomic_path(path, force=True) as tmp:
        tmp.write_text("\n".join(lines))
    return path
