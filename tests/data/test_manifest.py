"""Manifests: reading TSV / CSV / JSONL, validation errors that name the row, writing."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import soundfile as sf

from affectcodec.data.manifests import Manifest, ManifestEntry, ManifestError, Utterance
from affectcodec.emotion.labels import LabelMap

HEADER = "path\tspeaker\temotion\tsplit\tduration\ttext\n"


@pytest.fixture
def audio_dir(tmp_path):
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, np.zeros(1600, dtype=np.float32), 16000)
    return tmp_path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_tsv_csv_jsonl_read_the_same(audio_dir):
    tsv = write(audio_dir / "m.tsv", HEADER + "a.wav\tS1\tanger\ttrain\t0.1\thello\n"
                                               "b.wav\tS2\tfear\tvalid\t0.1\t\n")
    m = Manifest.read(tsv, labels=["anger", "fear"])
    assert [e.path for e in m] == ["a.wav", "b.wav"]
    assert m.counts("split") == {"train": 1, "valid": 1} and m[0].text == "hello"
    csv_path = m.write(audio_dir / "sub" / "m.csv")
    jsonl = m.write(audio_dir / "m.jsonl")
    for other in (csv_path, jsonl):
        back = Manifest.read(other)
        assert [(e.speaker, e.emotion, e.split, e.duration, e.text) for e in back] == \
               [(e.speaker, e.emotion, e.split, e.duration, e.text) for e in m]
        assert back.audio_path(0).resolve() == (audio_dir / "a.wav").resolve()
    assert Manifest.read(csv_path)[0].path == "../a.wav"  # rewritten relative to the new folder
    assert json.loads(jsonl.read_text().splitlines()[0])["emotion"] == "anger"
    assert len(m.filter("valid")) == 1 and m.filter(speakers=["S1"])[0].path == "a.wav"


def test_an_utterance_is_its_entry_with_the_audio_file_found(audio_dir):
    m = Manifest.read(write(audio_dir / "m.tsv", HEADER + "a.wav\tS1\tanger\ttrain\t0.1\thello\n"
                                                         "b.wav\tS2\tfear\tvalid\t0.2\t\n"))
    utts = m.utterances()
    assert [u.path for u in utts] == ["a.wav", "b.wav"]  # as written: the utterance's name
    assert [u.audio_path for u in utts] == [str(m.audio_path(0)), str(m.audio_path(1))]
    assert sf.info(utts[1].audio_path).frames == 1600
    assert isinstance(utts[0], ManifestEntry) and (utts[0].text, utts[0].duration) == ("hello", 0.1)
    assert m.filter("valid").utterances() == [utts[1]] == [m.utterance(1)]
    assert pickle.loads(pickle.dumps(utts[0])) == utts[0]  # worker processes receive them
    with pytest.raises(TypeError):
        Utterance("a.wav", "S1", "anger", "train", 0.1)  # the audio file is required


@pytest.mark.parametrize("body, message", [
    ("a.wav\tS1\tanger\ttrain\tfast\t\n", "row 1 (line 2): duration 'fast' is not a number"),
    ("a.wav\tS1\tanger\ttrain\t0.1\t\nb.wav\tS1\tanger\ttrain\t-1\t\n",
     "row 2 (line 3): duration must be a positive"),
    ("a.wav\t\tanger\ttrain\t0.1\t\n", "row 1 (line 2): empty 'speaker'"),
    ("a.wav\tS1\tanger\ttrain\n", "row 1 (line 2): 4 fields, the header has 6"),
])
def test_bad_rows_are_named(audio_dir, body, message):
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Manifest.read(write(audio_dir / "m.tsv", HEADER + body))


def test_missing_column_unknown_emotion_missing_file(audio_dir):
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['duration'\]"):
        Manifest.read(write(audio_dir / "m.tsv", "path\tspeaker\temotion\tsplit\na.wav\tS\tanger\ttrain\n"))
    good = "a.wav\tS1\tanger\ttrain\t0.1\t\n"
    with pytest.raises(ManifestError, match=r"row 2: unknown emotion 'angry'"):
        Manifest.read(write(audio_dir / "m.tsv", HEADER + good + "b.wav\tS1\tangry\ttrain\t0.1\t\n"),
                      labels=LabelMap(["anger", "fear"]))
    with pytest.raises(ManifestError, match=r"row 2: audio file 'c.wav' does not exist"):
        Manifest.read(write(audio_dir / "m.tsv", HEADER + good + "c.wav\tS1\tanger\ttrain\t0.1\t\n"))
    # check_files=False accepts the missing file
    assert len(Manifest.read(audio_dir / "m.tsv", check_files=False)) == 2
    with pytest.raises(ManifestError, match=r"row 1 \(line 1\): missing field\(s\) \['split'\]"):
        Manifest.read(write(audio_dir / "m.jsonl", json.dumps(
            {"path": "a.wav", "speaker": "S", "emotion": "anger", "duration": 1}) + "\n"))
    with pytest.raises(ManifestError, match="unknown manifest format '.txt'"):
        Manifest.read(write(audio_dir / "m.txt", HEADER))
    with pytest.raises(ManifestError, match="has no rows"):
        Manifest.read(write(audio_dir / "m.tsv", HEADER))


def test_label_map_round_trip(tmp_path):
    labels = LabelMap(["anger", "fear"])
    labels.save(tmp_path)
    assert LabelMap.load(tmp_path) == labels and labels.index("fear") == 1
    with pytest.raises(KeyError, match="unknown emotion 'joy'"):
        labels.index("joy")
    with pytest.raises(ValueError, match="duplicate"):
        LabelMap(["a", "a"])
