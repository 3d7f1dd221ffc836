"""The emotion-swap experiment (``affectcodec swap-eval``): pairs, outputs, figures, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from affectcodec.affc_io import encode_audio
from affectcodec.cli import main
from affectcodec.data.manifests import Utterance
from affectcodec.emotion.labels import NEMO_EMOTIONS
from affectcodec.eval import swap
from affectcodec.swap import swap_emotion
from tests.conftest import data_initialised, tiny_codec

EMOTIONS = ("anger", "neutral", "sadness")
TEXTS = ("Ala ma kota.", "Kot ma Ale.")


def utt(key, speaker="S1", text="t", emotion="anger") -> Utterance:
    return Utterance(key, speaker, emotion, "valid", 1.0, text, audio_path=key)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """2 sentences x 3 emotions by S1 (different lengths), plus utterances that give no pair:
    S2 saying sentence 0 once, and one in the train split."""
    root = tmp_path_factory.mktemp("corpus")
    rows = ["path\tspeaker\tgender\temotion\tsplit\tduration\ttext"]
    rng = np.random.default_rng(0)
    plan = [("S1", t, e, "valid") for t in TEXTS for e in EMOTIONS]
    plan += [("S2", TEXTS[0], "anger", "valid"), ("S1", TEXTS[0], "anger", "train")]
    for i, (spk, text, emo, split) in enumerate(plan):
        n = 16000 + 1130 * i
        t = np.arange(n) / 16000
        wav = 0.3 * np.sin(2 * np.pi * (120 + 40 * i) * t) + 0.01 * rng.standard_normal(n)
        name = f"{spk}_{emo}_{i}.wav"
        sf.write(root / name, wav.astype(np.float32), 16000)
        rows.append(f"{name}\t{spk}\tfemale\t{emo}\t{split}\t{n / 16000:.3f}\t{text}")
    (root / "manifest.tsv").write_text("\n".join(rows) + "\n")
    models = tmp_path_factory.mktemp("models")
    return {"manifest": root / "manifest.tsv", "root": root, "model": tiny_codec().save(models / "tiny"),
            "rvq": tiny_codec(quantizer="rvq", emotion_path=False, cem=False).save(models / "rvq")}


def test_pairs_come_from_one_speaker_and_sentence_in_different_emotions():
    items = [utt(f"{s}{t}{e}{k}", s, t, e) for s in "AB" for t in "xy" for e in EMOTIONS for k in "1"]
    items += [utt("Ax-anger-2", "A", "x", "anger"), utt("C", "C", "x", "anger"), utt("D", "D", "", "neutral"),
              utt("D2", "D", "", "anger")]
    groups = swap.sentence_groups(items)
    # speakers A and B x sentences x and y; C (one emotion) and D (no text) give no group
    assert [(g[0].speaker, g[0].text, len(g)) for g in groups] == [
        ("A", "x", 4), ("A", "y", 3), ("B", "x", 3), ("B", "y", 3)]
    for g in groups:
        pairs = swap.ordered_pairs(g)
        assert len({(u.speaker, u.text) for u in g}) == 1
        assert all(g[a].emotion != g[b].emotion for a, b in pairs)
        assert len(set(pairs)) == len(pairs)
    # 3 emotions: 3 x 2 ordered pairs; with two anger takes: 2 x 2 (from anger) + 3 + 3
    assert [len(swap.ordered_pairs(g)) for g in groups] == [10, 6, 6, 6]
    assert swap.pick_groups(groups, 2) == [groups[0], groups[2]]
    assert swap.pick_groups(groups, 9) == groups


def test_summary_of_a_perfect_swap_and_a_faithful_control():
    emotions = ["anger", "neutral", "sadness"]
    rows, originals = [], {}
    for sent in ("s1", "s2"):
        keys = {e: f"{sent}/{e}" for e in emotions}
        for e in emotions:
            originals[keys[e]] = {"j": {"independent": e, "adapted": "neutral"}}
        for a in emotions:
            for b in emotions:
                if a != b:
                    for kind, pred in (("swap", b), ("control", a)):
                        rows.append({"kbps": 1.5, "kind": kind, "sentence": sent, "a": keys[a], "b": keys[b],
                                     "a_emotion": a, "b_emotion": b, "stoi": 0.5,
                                     "pred": {"j": {"independent": pred, "adapted": None}}})
    out = swap.summarise(rows, originals, ["j"], emotions)["rates"]["1.5"]
    assert out["n_pairs"] == 12 and out["stoi"] == {"swap": 0.5, "control": 0.5}
    r = out["judges"]["j"]["independent"]
    assert r["swap"] == {"moved_to_b": 1.0, "stayed_a": 0.0, "matches_b": 1.0}
    assert r["control"] == {"moved_to_b": 0.0, "stayed_a": 1.0, "matches_b": 0.0}
    assert r["original"] == r["control"]
    assert r["effect"] == {"moved_to_b": 1.0, "ci95": [1.0, 1.0]}
    assert r["matrix"]["swap"] == [[None, 1.0, 1.0], [1.0, None, 1.0], [1.0, 1.0, None]]
    assert out["judges"]["j"]["adapted"] is None  # no adapted predictions on the outputs


def test_swaps_keep_the_length_of_a_and_the_control_is_the_plain_reconstruction(corpus):
    a, b, c = (corpus["root"] / f"S1_{e}_{i}.wav" for i, e in enumerate(EMOTIONS))
    clips = [torch.from_numpy(sf.read(str(p), dtype="float32")[0]) for p in (a, b, c)]
    n = min(len(x) for x in clips)
    codec = data_initialised(tiny_codec(), torch.stack([x[:n] for x in clips])[:, None])
    full = {p: encode_audio(codec, p)[0] for p in (a, b, c)}
    content = full[a].truncate(2)  # 1.5 kbit/s cut from the 6 kbit/s encoding
    wav = swap.decode_swaps(codec, content, [full[b], full[c]])
    assert wav.shape == (3, 1, sf.info(str(a)).frames)
    plain = codec.decode(encode_audio(codec, a, kbps=1.5)[0])
    assert torch.allclose(wav[0], plain[0], atol=1e-5)
    alone = codec.decode(swap_emotion(content, full[c]))
    assert torch.allclose(wav[2], alone[0], atol=1e-5)
    assert not torch.allclose(wav[1], wav[2], atol=1e-3)  # B's emotion digits change the output


def test_swap_eval_command_writes_figures_in_range(corpus, tmp_path, capsys):
    out = tmp_path / "swap"
    args = ["swap-eval", str(corpus["manifest"]), "--model", str(corpus["model"]), "--kbps", "1.5", "6",
            "--judges", "judge-crnn", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert (results["n_sentences"], results["n_utterances"], results["n_pairs"]) == (2, 6, 12)
    assert results["emotions"] == list(EMOTIONS) and set(results["rates"]) == {"1.5", "6"}
    assert results["adapted_missing"] == {"crnn": []}  # 6 utterances of S1: enough for statistics
    for entry in results["rates"].values():
        assert entry["n_pairs"] == 12
        assert all(-1 <= v <= 1 for v in entry["stoi"].values())  # STOI is a correlation
        for mode in swap.MODES:
            r = entry["judges"]["crnn"][mode]
            for kind in swap.KINDS:
                assert set(r[kind]) == {"moved_to_b", "stayed_a", "matches_b"}
                assert all(0 <= v <= 1 for v in r[kind].values()), (mode, kind)
            assert -1 <= r["effect"]["moved_to_b"] <= 1 and len(r["effect"]["ci95"]) == 2
            assert [r["matrix"]["swap"][i][i] for i in range(3)] == [None] * 3
    lines = (out / "pairs.tsv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 2 * 12  # header + (swap, control) x rates x pairs
    rows = [dict(zip(lines[0].split("\t"), line.split("\t"), strict=True)) for line in lines[1:]]
    assert all(r["a_emotion"] != r["b_emotion"] for r in rows)
    assert {r["crnn/adapted"] for r in rows} <= set(NEMO_EMOTIONS)
    assert "# Emotion swap" in (out / "report.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit):  # results exist: -f needed
        main(args)
    assert "exists; use -f" in capsys.readouterr().err


def test_models_without_an_emotion_partition_are_refused(corpus, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["swap-eval", str(corpus["manifest"]), "--model", str(corpus["rvq"]), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "no emotion partition" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
