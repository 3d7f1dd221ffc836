"""Corpus manifest builders, each on a tiny fake tree that mirrors the corpus' real naming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from affectcodec.cli import main
from affectcodec.data.corpora import build_manifest
from affectcodec.data.manifests import Manifest, ManifestError


def touch(root: Path, rel: str, seconds: float = 0.25, rate: int = 16000) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * rate), dtype=np.float32), rate)


def rows(m: Manifest) -> dict[str, tuple[str, str, str]]:
    return {Path(e.path).name: (e.speaker, e.emotion, e.split) for e in m}


def test_nemo_original_release_and_project_copy(tmp_path):
    root = tmp_path / "nEMO"
    touch(root, "samples/SB0_anger_1.wav", 0.5)
    touch(root, "samples/EB0_surprised_12.wav")
    (root / "data.tsv").write_text(
        "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n"
        "SB0_anger_1.wav\tanger\tLubię czytać.\tlubię czytać\tSB0\tmale\t24\n", encoding="utf-8")
    m = build_manifest("nemo", root)
    assert rows(m) == {"SB0_anger_1.wav": ("SB0", "anger", "train"),
                       "EB0_surprised_12.wav": ("EB0", "surprised", "valid")}
    assert m[[Path(e.path).name for e in m].index("SB0_anger_1.wav")].text == "Lubię czytać."
    assert {round(e.duration, 3) for e in m} == {0.5, 0.25}
    m.write(root / "manifest.tsv")  # the project's copy keeps its own split column
    assert rows(build_manifest("nemo", root)) == rows(m)
    assert build_manifest("nemo", root, valid_speakers=["SB0"]).counts("split") == {"train": 1, "valid": 1}


def test_esd_official_split_folders_and_speaker_split(tmp_path):
    touch(tmp_path, "0011/Angry/train/0011_000351.wav")
    touch(tmp_path, "0011/Surprise/evaluation/0011_001401.wav")
    touch(tmp_path, "0011/Neutral/test/0011_000001.wav")
    (tmp_path / "0011" / "0011.txt").write_text("0011_000351\tThe nine the eggs.\tAngry\n")
    m = build_manifest("esd", tmp_path)
    assert rows(m) == {"0011_000351.wav": ("0011", "anger", "train"),
                       "0011_001401.wav": ("0011", "surprised", "valid"),
                       "0011_000001.wav": ("0011", "neutral", "test")}
    assert {e.text for e in m} == {"The nine the eggs.", ""}
    flat = tmp_path / "flat"
    touch(flat, "0001/Happy/0001_000701.wav")
    touch(flat, "0020/Sad/0020_001051.wav")
    assert rows(build_manifest("esd", flat)) == {"0001_000701.wav": ("0001", "happiness", "train"),
                                                 "0020_001051.wav": ("0020", "sadness", "valid")}


def _iemocap(root: Path) -> None:
    for sess, dialog, utts in (("Session1", "Ses01F_impro01", [("Ses01F_impro01_F000", "neu"),
                                                               ("Ses01F_impro01_M001", "exc"),
                                                               ("Ses01F_impro01_F002", "fru"),
                                                               ("Ses01F_impro01_M003", "xxx")]),
                               ("Session5", "Ses05M_script01_1", [("Ses05M_script01_1_F000", "ang")])):
        lines, text = [], []
        for i, (utt, lab) in enumerate(utts):
            touch(root, f"{sess}/sentences/wav/{dialog}/{utt}.wav")
            lines.append(f"[{i}.0000 - {i}.5000]\t{utt}\t{lab}\t[2.5000, 2.5000, 2.5000]")
            text.append(f"{utt} [00{i}.0000-00{i}.5000]: Line {i}.")
        (root / sess / "dialog" / "EmoEvaluation").mkdir(parents=True)
        (root / sess / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text(
            "% header\n\n" + "\n\n".join(lines) + "\nC-E1:\tNeutral;\t()\n")
        (root / sess / "dialog" / "transcriptions").mkdir(parents=True)
        (root / sess / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("\n".join(text) + "\n")


def test_iemocap_merge_excited_and_sessions(tmp_path):
    _iemocap(tmp_path)
    m = build_manifest("iemocap", tmp_path)
    assert rows(m) == {"Ses01F_impro01_F000.wav": ("Ses01F", "neutral", "train"),
                       "Ses01F_impro01_M001.wav": ("Ses01M", "happiness", "train"),
                       "Ses05M_script01_1_F000.wav": ("Ses05F", "anger", "valid")}
    assert {e.text for e in m} == {"Line 0.", "Line 1."}
    unmerged = build_manifest("iemocap", tmp_path, merge_excited=False, emotions=None)
    assert {e.emotion for e in unmerged} == {"neutral", "excited", "frustration", "anger"}  # xxx dropped


def test_ravdess_cremad_emodb(tmp_path):
    touch(tmp_path / "rav", "Actor_01/03-01-05-01-02-01-01.wav")
    touch(tmp_path / "rav", "Actor_24/03-01-02-02-01-02-24.wav")
    touch(tmp_path / "rav", "Actor_24/03-02-03-01-01-01-24.wav")  # song: left out by default
    touch(tmp_path / "rav", "Actor_01/01-01-05-01-02-01-01.wav")  # video: always left out
    m = build_manifest("ravdess", tmp_path / "rav")
    assert rows(m) == {"03-01-05-01-02-01-01.wav": ("01", "anger", "train"),
                       "03-01-02-02-01-02-24.wav": ("24", "calm", "valid")}
    assert {e.gender for e in m} == {"male", "female"}
    merged = build_manifest("ravdess", tmp_path / "rav", merge_calm=True)
    assert {e.emotion for e in merged} == {"anger", "neutral"}

    touch(tmp_path / "crema", "AudioWAV/1001_DFA_ANG_XX.wav")
    touch(tmp_path / "crema", "AudioWAV/1091_IEO_HAP_HI.wav")
    assert rows(build_manifest("cremad", tmp_path / "crema")) == {
        "1001_DFA_ANG_XX.wav": ("1001", "anger", "train"),
        "1091_IEO_HAP_HI.wav": ("1091", "happiness", "valid")}

    touch(tmp_path / "emodb", "wav/03a01Wa.wav")
    touch(tmp_path / "emodb", "wav/16b10Lb.wav")
    touch(tmp_path / "emodb", "wav/08a02Nc.wav")
    assert rows(build_manifest("emodb", tmp_path / "emodb")) == {
        "03a01Wa.wav": ("03", "anger", "train"), "16b10Lb.wav": ("16", "boredom", "valid"),
        "08a02Nc.wav": ("08", "neutral", "train")}


def test_folder_layouts(tmp_path):
    touch(tmp_path / "a", "Angry/spk1_001.wav")
    touch(tmp_path / "a", "neutral/sub/spk2-002.flac")
    assert rows(build_manifest("folder", tmp_path / "a")) == {
        "spk1_001.wav": ("spk1", "angry", "train"), "spk2-002.flac": ("spk2", "neutral", "train")}
    touch(tmp_path / "b", "train/happy/x_1.wav")
    touch(tmp_path / "b", "dev/sad/y_1.wav")
    touch(tmp_path / "b", "test/sad/z_1.wav")
    assert {e.split for e in build_manifest("folder", tmp_path / "b")} == {"train", "valid", "test"}


def test_builder_errors(tmp_path):
    with pytest.raises(ManifestError, match="no cremad audio files found"):
        build_manifest("cremad", tmp_path)
    with pytest.raises(ManifestError, match="unknown corpus 'timit'"):
        build_manifest("timit", tmp_path)
    touch(tmp_path / "e", "0011/Bored/0011_000001.wav")
    with pytest.raises(ManifestError, match="unknown ESD emotion folder 'Bored'"):
        build_manifest("esd", tmp_path / "e")


def test_manifest_command(tmp_path, capsys):
    touch(tmp_path / "emodb", "wav/03a01Wa.wav")
    out = tmp_path / "out" / "m.jsonl"
    assert main(["manifest", "emodb", str(tmp_path / "emodb"), "-o", str(out)]) == 0
    assert "1 utterances" in capsys.readouterr().out
    assert Manifest.read(out)[0].emotion == "anger"
    with pytest.raises(SystemExit) as exc:
        main(["manifest", "emodb", str(tmp_path / "emodb"), "-o", str(out)])
    assert exc.value.code == 1 and "exists (use -f" in capsys.readouterr().err
    assert main(["manifest", "emodb", str(tmp_path / "emodb"), "-o", str(out), "-f"]) == 0
