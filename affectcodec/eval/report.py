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


#: Metric keys of a results row -> (short name, decimals, "higher" / "lower" is better); a key
#: not listed is shown by its own name with 3 decimals.
_METRIC_NAMES = {
    "pesq": ("PESQ-wb", 2, "higher"), "stoi": ("STOI", 3, "higher"), "visqol": ("ViSQOL", 2, "higher"),
    "speaker_similarity": ("speaker sim", 3, "higher"), "mel_distance": ("mel dist", 3, "lower"),
    "si_sdr": ("SI-SDR dB", 1, "higher"), "dnsmos_sig": ("DNSMOS SIG", 2, "higher"),
    "dnsmos_bak": ("DNSMOS BAK", 2, "higher"), "dnsmos_ovrl": ("DNSMOS OVRL", 2, "higher"),
    "wer": ("WER vs orig. ASR", 3, "lower"), "cer": ("CER vs orig. ASR", 3, "lower"),
    "wer_text": ("WER vs text", 3, "lower"), "cer_text": ("CER vs text", 3, "lower"),
    "teacher_cosine": ("teacher cos", 3, "higher"),
    "medr": ("MEDR %", 1, "lower"), "medr_adapted": ("MEDR % (spk-adapted)", 1, "lower"),
    "f0_corr": ("F0 corr", 3, "higher"), "f0_rmse_cents": ("F0 RMSE cents", 0, "lower"),
    "vde": ("VDE", 3, "lower"),
}
#: The signal metrics first in the interval table and the plots, in this order.
_FIRST = ("pesq", "stoi", "visqol", "speaker_similarity")
_PROSODY = ("f0_corr", "f0_rmse_cents", "vde")


def _name(key: str) -> tuple[str, int, str]:
    return _METRIC_NAMES.get(key, (key, 3, ""))


def _rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(model["rates"].values(), key=lambda r: r["kbps_nominal"])


def _interval_keys(results: dict[str, Any]) -> list[str]:
    """The metric keys with intervals in the rows, the main signal metrics first."""
    keys = list(dict.fromkeys(k for m in results["models"].values() for r in m["rates"].values()
                              for k in r.get("ci95", {})))
    return [k for k in _FIRST if k in keys] + [k for k in keys if k not in _FIRST]


def _value(row: dict[str, Any], key: str) -> tuple[float, list[float] | None]:
    """A row's figure and its 95 % interval (None where it has none)."""
    if key in _PROSODY:
        return row["prosody"][key], None
    ci = row.get("ci95", {}).get(key) if key in row.get("ci95", {}) else row.get(f"{key}_ci95")
    value = row.get(key)
    return (math.nan if value is None else value), ci


def plot_metrics(results: dict[str, Any], out: Path) -> Path:
    """Each metric present against the actual bitrate (payload kbit/s; a reference codec's file
    bitrate), one line per model (reference codecs dashed), with 95 % bootstrap intervals as
    error bars where the figure has one."""
    plt = _plt()
    panels = _interval_keys(results) + ["medr"]
    if any(not math.isnan(r.get("medr_adapted", math.nan)) for m in results["models"].values()
           for r in m["rates"].values()):
        panels.append("medr_adapted")
    panels += list(_PROSODY)
    cols = 4
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.9 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, panels, strict=False):
        for name, model in results["models"].items():
            rows = _rows(model)
            x = np.array([r["kbps_payload"] for r in rows])
            values = [_value(r, key) for r in rows]
            y = np.array([v for v, _ in values], dtype=float)
            low = np.array([y[i] - ci[0] if ci else 0.0 for i, (_, ci) in enumerate(values)])
            high = np.array([ci[1] - y[i] if ci else 0.0 for i, (_, ci) in enumerate(values)])
            ax.errorbar(x, y, yerr=np.nan_to_num(np.stack([low, high])), marker="o", markersize=4,
                        capsize=3, linestyle="--" if model.get("reference") else "-", label=name)
        label, _, better = _name(key)
        ax.set_title(f"{label} ({better} better)" if better else label, fontsize=9)
        ax.set_xlabel("kbit/s (payload)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
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


def plot_recall_change(results: dict[str, Any], out: Path) -> Path:
    """Per-emotion recall change vs the originals (percentage points; below 0: the codec loses
    that emotion), one panel per judge (rows, speaker-independent) and nominal rate (columns),
    one bar per model."""
    plt = _plt()
    judges = list(results["originals"])
    rates = sorted({r["kbps_nominal"] for m in results["models"].values() for r in m["rates"].values()})
    fig, axes = plt.subplots(len(judges), len(rates), figsize=(4.6 * len(rates), 3.2 * len(judges)),
                             squeeze=False, sharey=True)
    for i, judge in enumerate(judges):
        labels = results["originals"][judge]["labels"]
        for j, rate in enumerate(rates):
            ax = axes[i][j]
            series = [(name, r["judges"][judge]["recall_change"]) for name, m in results["models"].items()
                      for r in m["rates"].values() if r["kbps_nominal"] == rate and judge in r["judges"]]
            width = 0.8 / max(len(series), 1)
            for k, (name, change) in enumerate(series):
                ax.bar(np.arange(len(labels)) + k * width, 100 * np.nan_to_num(change), width, label=name)
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, rotation=30, fontsize=7)
            ax.set_title(f"judge {judge} @ {rate:g} kbit/s", fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
        axes[i][0].set_ylabel("recall change (pp)", fontsize=8)
    axes[0][0].legend(fontsize=7)
    return _save(fig, out / "recall_change.png")


def plot_f0_contours(contours: list[dict[str, Any]], out: Path, hop_seconds: float = 0.02) -> Path:
    """F0 contours of a few utterances: the original against each model's decoded audio, one row
    per utterance and one column per rate.

    Args:
        contours: per utterance ``{"key", "emotion", "original": F0 [T], "rates": {kbps: {model:
            F0 [T]}}}``, F0 in Hz on frames of ``hop_seconds``, 0 where unvoiced.
        out: the folder of ``f0_contours.png``.
    """
    plt = _plt()
    rates = sorted({rate for c in contours for rate in c["rates"]})
    fig, axes = plt.subplots(len(contours), len(rates), figsize=(4.6 * len(rates), 2.6 * len(contours)),
                             squeeze=False)

    def draw(ax, f0, **style) -> None:
        f0 = np.asarray(f0, dtype=float)
        ax.plot(np.arange(len(f0)) * hop_seconds, np.where(f0 > 0, f0, np.nan), **style)

    for i, c in enumerate(contours):
        for j, rate in enumerate(rates):
            ax = axes[i][j]
            draw(ax, c["original"], color="black", linewidth=2.2, label="original")
            for name, f0 in c["rates"].get(rate, {}).items():
                draw(ax, f0, linewidth=1.0, label=name)
            ax.set_title(f"{Path(c['key']).stem} ({c['emotion']}) @ {rate:g} kbit/s", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[i][0].set_ylabel("F0 Hz (Praat)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("seconds", fontsize=8)
    axes[0][0].legend(fontsize=6)
    return _save(fig, out / "f0_contours.png")


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
                  ("dnsmos_ovrl", "DNSMOS OVRL", 2),
                  ("wer", "WER vs orig. ASR", 3), ("wer_text", "WER vs text", 3),
                  ("cer", "CER vs orig. ASR", 3), ("cer_text", "CER vs text", 3))


def _field_metrics_table(results: dict[str, Any]) -> list[str]:
    """ViSQOL, speaker similarity, DNSMOS and WER / CER, for the metrics that were run, with the
    originals' row for those that apply to it (DNSMOS: it needs no reference; WER / CER vs the
    text: the ASR's own error), and the run's notes (a metric left out)."""
    rows = [r for m in results["models"].values() for r in m["rates"].values()]
    cols = [c for c in _FIELD_COLUMNS if any(c[0] in r for r in rows)]
    notes = [f"Note: {n}" for n in results.get("notes", [])]
    if not cols:
        return ["", *notes] if notes else []
    lines = ["", "## ViSQOL, speaker similarity, DNSMOS, WER / CER", "",
             "| model | kbit/s | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    originals = results.get("originals_metrics", {})
    if originals:
        lines.append("| original | | " + " | ".join(
            fmt(originals.get(key), digits) if key in originals else "" for key, _, digits in cols) + " |")
    for name, model in results["models"].items():
        for r in sorted(model["rates"].values(), key=lambda r: r["kbps_nominal"]):
            lines.append(f"| {name} | {r['kbps_nominal']:g} | " + " | ".join(
                fmt(r.get(key), digits) for key, _, digits in cols) + " |")
    if any(c[0].startswith(("wer", "cer")) for c in cols):
        lines += ["", f"WER / CER: Whisper-base, language {results.get('asr_language', 'n/a')}; "
                  "mean over utterances, normalised text (docs/evaluation.md)."]
    return lines + (["", *notes] if notes else [])


def _ci(value: Any, ci: list[float] | None, digits: int) -> str:
    if ci is None:
        return fmt(value, digits)
    return f"{fmt(value, digits)} [{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def _interval_tables(results: dict[str, Any]) -> list[str]:
    """MEDR and the metric means with their 95 % intervals; each judge's EDR with its interval."""
    boot = results.get("bootstrap")
    if not boot:
        return []
    keys = ["medr"]
    if any(r.get("medr_adapted_ci95") for m in results["models"].values() for r in m["rates"].values()):
        keys.append("medr_adapted")
    keys += _interval_keys(results)
    lines = ["", "## 95 % confidence intervals", "",
             f"Figure [95 % interval]: percentile bootstrap over utterances, {boot['resamples']} resamples "
             f"(seed {boot['seed']}); the EDRs resample within each true emotion, originals and "
             "reconstructions together. See docs/evaluation.md.", "",
             "| model | kbit/s | " + " | ".join(_name(k)[0] for k in keys) + " |",
             "|---" * (len(keys) + 2) + "|"]
    for name, model in results["models"].items():
        for r in _rows(model):
            lines.append(f"| {name} | {r['kbps_nominal']:g} | " + " | ".join(
                _ci(*_value(r, k), _name(k)[1]) for k in keys) + " |")
    judges = list(results["originals"])
    lines += ["", "### EDR per judge, speaker-independent (%, 95 % interval)", "",
              "| model | kbit/s | " + " | ".join(judges) + " |", "|---" * (len(judges) + 2) + "|"]
    for name, model in results["models"].items():
        for r in _rows(model):
            cells = [_ci(r["judges"][j]["edr_macro"], r["judges"][j].get("edr_macro_ci95"), 1)
                     if j in r["judges"] else "n/a" for j in judges]
            lines.append(f"| {name} | {r['kbps_nominal']:g} | " + " | ".join(cells) + " |")
    return lines


def _recall_change_tables(results: dict[str, Any]) -> list[str]:
    """Per judge: the originals' per-emotion recall, then each model's change in percentage points."""
    lines = []
    for judge, orig in results["originals"].items():
        labels = orig["labels"]
        lines += ["", f"## Per-emotion recall change, judge {judge} (speaker-independent)", "",
                  "The originals' recall, then reconstruction minus original in percentage points "
                  "(negative: the codec loses that emotion).", "",
                  "| model | kbit/s | " + " | ".join(labels) + " | UAR |", "|---" * (len(labels) + 3) + "|",
                  "| original | | " + " | ".join(fmt(x, 2) for x in orig["recall"])
                  + f" | {fmt(orig['uar'], 2)} |"]
        for name, model in results["models"].items():
            for r in _rows(model):
                j = r["judges"].get(judge)
                if j is None or "recall_change" not in j:
                    continue
                cells = [fmt(100 * x, 1) for x in j["recall_change"]]
                lines.append(f"| {name} | {r['kbps_nominal']:g} | " + " | ".join(cells)
                             + f" | {fmt(100 * (j['uar'] - orig['uar']), 1)} |")
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
    lines += _interval_tables(results)
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
    lines += _recall_change_tables(results)
    lines += ["", "Plots: " + ", ".join(f"`{p}`" for p in results.get("plots", [])), "",
              "Metric definitions: docs/evaluation.md.", ""]
    path = out / "report.md"
    with atomic_path(path, force=True) as tmp:
        tmp.write_text("\n".join(lines))
    return path
