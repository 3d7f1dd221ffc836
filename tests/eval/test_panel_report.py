"""The reference panel's tables and plots in an eval report, from a hand-made results dict."""

from __future__ import annotations

import numpy as np

from affectcodec.eval.report import (
    _interval_tables,
    _recall_change_tables,
    plot_f0_contours,
    plot_metrics,
    plot_recall_change,
)

LABELS = ["anger", "joy", "sadness"]


def _row(kbps: float, medr: float, change: list[float]) -> dict:
    judge = {"uar": 0.5 + change[0] / 3, "wa": 0.5, "recall": [0.5, 0.5, 0.5], "edr_macro": medr,
             "edr_macro_ci95": [medr - 5, medr + 5], "recall_change": change}
    return {"kbps_nominal": kbps, "kbps_payload": kbps * 1.01, "kbps_file": None, "stoi": 0.8,
            "pesq": 1.5, "teacher_cosine": 0.9,
            "ci95": {"pesq": [1.4, 1.6], "stoi": [0.78, 0.82], "teacher_cosine": [0.88, 0.92]},
            "medr": medr, "medr_ci95": [medr - 5, medr + 5], "medr_adapted": float("nan"),
            "judges": {"crnn": judge},
            "prosody": {"f0_corr": 0.9, "f0_rmse_cents": 100.0, "vde": 0.1}}


def _results() -> dict:
    return {
        "bootstrap": {"resamples": 1000, "seed": 0},
        "originals": {"crnn": {"labels": LABELS, "recall": [0.9, 0.6, 0.3], "uar": 0.6}},
        "models": {
            "codec": {"reference": False, "rates": {"1.5": _row(1.5, 20.0, [-0.25, 0.0, 0.1]),
                                                    "6": _row(6.0, 5.0, [0.0, 0.0, 0.0])}},
            "opus": {"reference": True, "rates": {"6": _row(6.0, 2.0, [0.1, -0.5, 0.0])}}},
    }


def test_interval_table_shows_means_with_their_intervals():
    text = "\n".join(_interval_tables(_results()))
    assert "| model | kbit/s | MEDR % | PESQ-wb | STOI | teacher cos |" in text  # main metrics first
    assert "| codec | 1.5 | 20.0 [15.0, 25.0] | 1.50 [1.40, 1.60] | 0.800 [0.780, 0.820] |" in text
    assert "1000 resamples" in text and "seed 0" in text
    assert "| opus | 6 | 2.0 [-3.0, 7.0] |" in text  # EDR per judge


def test_recall_change_table_names_the_emotion_a_codec_loses():
    text = "\n".join(_recall_change_tables(_results()))
    assert "| model | kbit/s | anger | joy | sadness | UAR |" in text
    assert "| original | | 0.90 | 0.60 | 0.30 | 0.60 |" in text
    assert "| codec | 1.5 | -25.0 | 0.0 | 10.0 |" in text
    assert "| opus | 6 | 10.0 | -50.0 | 0.0 |" in text


def test_panel_plots_are_written(tmp_path):
    results = _results()
    f0 = np.where(np.arange(100) % 10 < 7, 120 + np.arange(100), 0.0)
    contours = [{"key": "a/EB0_anger_1.wav", "emotion": "anger", "original": f0,
                 "rates": {1.5: {"codec": f0 * 1.05}, 6.0: {"codec": f0, "opus": f0 * 0.98}}}]
    for path in (plot_metrics(results, tmp_path), plot_recall_change(results, tmp_path),
                 plot_f0_contours(contours, tmp_path)):
        assert path.stat().st_size > 5000 and path.read_bytes()[:4] == b"\x89PNG"
