import json
import subprocess

import pytest

from tests.conftest import tiny_codec
from tests.test_package import console_script


def test_eval_end_to_end_on_three_utterances(tmp_path, nemo):
    model = tiny_codec().save(tmp_path / "tiny")
    rows = (nemo / "manifest.tsv").read_text().splitlines()
    header = rows[0]
    valid = [r for r in rows[1:] if "\tvalid\t" in r]
    picked = [valid[0], valid[100], valid[300]]
    manifest = tmp_path / "m.tsv"
    manifest.write_text("\n".join([header] + [f"{nemo}/{r}" for r in picked]) + "\n")
    out = tmp_path / "eval"
    cmd = console_script() + ["eval", "--model", str(model), "--manifest", str(manifest),
                              "--kbps", "1.5", "6", "--out", str(out), "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["n_utterances"] == 3 and results["command"].startswith("affectcodec eval")
    rates = results["models"]["tiny"]["rates"]
    assert set(rates) == {"1.5", "6"}
    for kbps, row in rates.items():
        for key in ("pesq", "stoi", "mel_distance", "si_sdr", "visqol", "speaker_similarity", "medr", "wedr",
                    "teacher_cosine", "prosody", "judges", "leakage"):
            assert key in row, key
        assert "dnsmos_ovrl" not in row  # not a default metric
        # The real .affc file: payload within 1 % of nominal plus a header of a few hundred bytes.
        assert row["kbps_file"] > float(kbps)
        assert set(row["judges"]) == {"crnn", "functionals"}
        assert 0 <= row["stoi"] <= 1
        # the panel: 95 % intervals around the means and MEDR, per-emotion recall change
        for key in ("pesq", "stoi", "visqol", "speaker_similarity", "teacher_cosine"):
            if key in ("pesq", "stoi", "teacher_cosine") or row["ci95"][key] is not None:
                low, high = row["ci95"][key]  # the tiny model's noise has no speaker to compare
                assert low <= row[key] <= high, key
        low, high = row["medr_ci95"]
        assert low - 1e-9 <= row["medr"] <= high + 1e-9  # one utterance per emotion: zero width
        crnn = row["judges"]["crnn"]
        assert len(crnn["recall_change"]) == len(results["originals"]["crnn"]["labels"])
        assert crnn["edr_macro_ci95"] is None or len(crnn["edr_macro_ci95"]) == 2
    assert results["bootstrap"]["resamples"] == 1000
    for name in ("report.md", "metrics_vs_bitrate.png", "recall_per_class.png", "spectrogram.png",
                 "confusion_crnn.png", "recall_change.png", "f0_contours.png"):
        assert (out / name).stat().st_size > 500, name
    assert {"recall_change.png", "f0_contours.png"} <= set(results["plots"])
    assert results["metrics"] == ["pesq", "stoi", "mel_distance", "si_sdr", "visqol", "speaker_similarity"]
    report = (out / "report.md").read_text()
    assert "| ViSQOL (MOS-LQO) | speaker sim |" in report
    assert "## 95 % confidence intervals" in report and "| model | kbit/s | MEDR % |" in report
    assert "## Per-emotion recall change, judge crnn (speaker-independent)" in report
    assert "### EDR per judge, speaker-independent" in report
    # Re-running into the same folder scores nothing again, nor does asking for fewer metrics.
    again = subprocess.run(cmd + ["--metrics", "visqol", "pesq"], capture_output=True, text=True)
    assert again.returncode == 0 and "(0 new tasks)" in again.stdout, again.stderr[-2000:]
    rerun = json.loads((out / "results.json").read_text())
    assert rerun["metrics"] == ["visqol", "pesq"] and "stoi" not in rerun["models"]["tiny"]["rates"]["6"]


def test_eval_parses_repeated_and_bare_reference():
    from affectcodec.cli import build_parser
    from affectcodec.commands.eval import _references

    def parse(*extra):
        return build_parser("eval").parse_args(["eval", "--out", "o", *extra]).reference

    assert _references(parse("--reference", "opus", "--reference", "codec2")) == ["opus", "codec2"]
    assert _references(parse("--reference", "codec2")) == ["codec2"]
    assert _references(parse("--reference")) is True  # the bare flag: both, as before
    assert _references(parse()) is False
    with pytest.raises(SystemExit):
        parse("--reference", "mp3")


def test_eval_rejects_an_unknown_reference_codec(tmp_path):
    from affectcodec.errors import EvaluationError
    from affectcodec.eval.codec_evaluation import evaluate_codecs

    with pytest.raises(EvaluationError, match="unknown reference codec 'mp3'"):
        evaluate_codecs(tmp_path, ["opus"], reference=["mp3"])


def test_eval_rejects_an_unsupported_rate(tmp_path):
    model = tiny_codec().save(tmp_path / "tiny")
    proc = subprocess.run(console_script() + ["eval", "--model", str(model), "--kbps", "2", "--out",
                                              str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 1 and "supports 1.5, 3, 6 kbit/s" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_a_retrained_model_under_the_same_name_gets_a_fresh_cache(tmp_path):
    # the cache was keyed by the model's name alone: new weights in the same folder reused the
    # old model's scores
    from affectcodec.eval.runner import ModelSpec
    from tests.conftest import tiny_codec

    tiny_codec(0).save(tmp_path / "m")
    first = ModelSpec("m", str(tmp_path / "m")).cache_name
    tiny_codec(1).save(tmp_path / "m")
    second = ModelSpec("m", str(tmp_path / "m")).cache_name
    assert first != second and first.startswith("m-") and second.startswith("m-")
    assert ModelSpec("opus", "opus").cache_name == "opus"


def test_eval_reports_wer_and_notes_a_missing_asr_extra(tmp_path, nemo, monkeypatch):
    # Whisper is faked (the real one is tested in tests/test_field_metrics.py): this checks the
    # plumbing, in-process (workers=1) so that the fake is what the tasks call.
    from affectcodec import metrics
    from affectcodec.eval import codec_evaluation
    from affectcodec.eval.codec_evaluation import evaluate_codecs

    heard = []

    def fake(wav, language=None):
        heard.append(language)
        return metrics.Transcript("Lubię czytać przed snem.", language or "xx")

    monkeypatch.setattr(metrics, "transcribe", fake)
    monkeypatch.setattr(codec_evaluation, "asr_available", lambda: True)
    monkeypatch.setattr(codec_evaluation, "_plots", lambda *args: [])  # tested above; 15 s here
    model = tiny_codec().save(tmp_path / "tiny")
    rows = (nemo / "manifest.tsv").read_text().splitlines()
    manifest = tmp_path / "m.tsv"
    valid = [f"{nemo}/{r}" for r in rows[1:] if "\tvalid\t" in r]
    manifest.write_text("\n".join([rows[0], *valid[:2]]) + "\n")
    run = evaluate_codecs(tmp_path / "eval", [str(model)], manifest=manifest, kbps=[6.0], workers=1,
                          metrics=["si_sdr", "wer", "cer"], asr_language="pl")
    row = run.results["models"]["tiny"]["rates"]["6"]
    assert heard == ["pl"] * 4  # 2 originals, then their 2 reconstructions
    assert row["wer"] == 0.0 and row["cer"] == 0.0  # the fake hears the same words in both
    assert 0 < row["wer_text"] <= 1 and run.results["originals_metrics"]["wer_text"] == row["wer_text"]
    assert run.results["asr_language"] == "pl" and run.results["notes"] == []
    assert "| SI-SDR |" in run.report.read_text() and "WER vs text" in run.report.read_text()

    monkeypatch.setattr(codec_evaluation, "asr_available", lambda: False)
    lines = []
    run = evaluate_codecs(tmp_path / "eval", [str(model)], manifest=manifest, kbps=[6.0], workers=1,
                          metrics=["si_sdr", "wer"], log=lines.append)  # SI-SDR is cached: no task
    assert lines == [metrics.ASR_MISSING] and run.results["notes"] == [metrics.ASR_MISSING]
    assert run.results["metrics"] == ["si_sdr"] and "wer" not in run.results["models"]["tiny"]["rates"]["6"]
    assert f"Note: {metrics.ASR_MISSING}" in run.report.read_text()
