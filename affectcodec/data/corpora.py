"""Manifest builders for the standard layouts and file names of emotional-speech corpora.

Each builder walks a corpus folder as distributed and returns a :class:`Manifest` whose paths are
relative to that folder, with the corpus' labels mapped to the canonical names of
:data:`~affectcodec.emotion.labels.CANONICAL_EMOTIONS`. Splits are by speaker (or the corpus' own
official split where it has one); ``valid_speakers`` overrides each builder's default.

========  ===========================================================  ========================
corpus    layout and names                                              default valid split
========  ===========================================================  ========================
nemo      ``manifest.tsv`` (this project's copy), or the original       the copy's own; else
          ``data.tsv`` + ``samples/SB0_anger_1.wav``                    speaker EB0
esd       ``0011/Angry/[train|evaluation|test/]0011_000351.wav``        ``evaluation`` folders;
          (+ ``0011/0011.txt`` transcripts)                              else speakers 0010, 0020
iemocap   ``Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000    Session 5
          .wav``, labels in ``Session1/dialog/EmoEvaluation/*.txt``
ravdess   ``Actor_01/03-01-05-01-02-01-01.wav``                         actors 23, 24
cremad    ``AudioWAV/1001_DFA_ANG_XX.wav``                              speakers 1082-1091
emodb     ``wav/03a01Fa.wav``                                           speakers 15, 16
folder    ``<emotion>/.../*.wav`` or ``<split>/<emotion>/.../*.wav``    the split folders
========  ===========================================================  ========================
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import soundfile as sf

from affectcodec.data.manifests import Manifest, ManifestEntry, ManifestError

AUDIO_SUFFIXES = (".wav", ".flac")


def _duration(path: Path) -> float:
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ManifestError(f"{path}: cannot read audio header ({exc})") from exc
    return info.frames / info.samplerate


def _audio_files(root: Path, under: str = "") -> list[Path]:
    base = root / under if under else root
    return sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def _finish(root: Path, entries: list[ManifestEntry], corpus: str) -> Manifest:
    if not entries:
        raise ManifestError(f"{root}: no {corpus} audio files found (is this the corpus folder?)")
    return Manifest(sorted(entries, key=lambda e: e.path), root.resolve(), f"<{corpus} {root}>")


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _split(speaker: str, valid: set[str]) -> str:
    return "valid" if speaker in valid else "train"


# ----------------------------------------------------------------------------------------- nEMO
NEMO_NAME = re.compile(r"^(?P<speaker>[A-Z]{2}\d)_(?P<emotion>[a-z]+)_(?P<n>\d+)$")
NEMO_EMOTIONS = {"anger", "fear", "happiness", "neutral", "sadness", "surprised"}


def build_nemo(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None) -> Manifest:
    """nEMO: this project's 16 kHz copy (``manifest.tsv``), the original release (``data.tsv``
    with ``file_id``, ``emotion``, ``raw_text``, ``speaker_id``, ``gender`` and audio under
    ``samples/``), or bare ``SPK_emotion_N.wav`` files. Valid speakers default to EB0 (the copy's
    own split is kept when ``valid_speakers`` is not given)."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {"EB0"}
    if (root / "manifest.tsv").is_file():
        m = Manifest.read(root / "manifest.tsv")
        entries = [ManifestEntry(e.path, e.speaker, e.emotion, e.split if valid_speakers is None
                                 else _split(e.speaker, valid), e.duration, e.text, e.gender) for e in m]
        return _finish(root, entries, "nemo")
    files = {p.stem: p for p in _audio_files(root)}
    meta: dict[str, dict[str, str]] = {}
    if (root / "data.tsv").is_file():
        with (root / "data.tsv").open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                meta[Path(row["file_id"]).stem] = row
    entries = []
    for stem, path in files.items():
        match = NEMO_NAME.match(stem)
        row = meta.get(stem, {})
        if not match and not row:
            continue
        speaker = row.get("speaker_id") or match.group("speaker")
        emotion = row.get("emotion") or match.group("emotion")
        if emotion not in NEMO_EMOTIONS:
            raise ManifestError(f"{path}: unknown nEMO emotion {emotion!r}")
        entries.append(ManifestEntry(_rel(root, path), speaker, emotion, _split(speaker, valid),
                                     _duration(path), row.get("raw_text", ""), row.get("gender", "")))
    return _finish(root, entries, "nemo")


# ------------------------------------------------------------------------------------------ ESD
ESD_EMOTIONS = {"angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness",
                "surprise": "surprised"}
ESD_SPLITS = {"train": "train", "evaluation": "valid", "test": "test"}


def build_esd(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None) -> Manifest:
    """ESD: ``SPK/Emotion/[train|evaluation|test/]SPK_NNNNNN.wav`` (speakers 0001-0020).
    The official ``evaluation``/``test`` folders give the split when present; otherwise speakers
    0010 and 0020 (one Mandarin, one English) are ``valid``. Transcripts from ``SPK/SPK.txt``."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {"0010", "0020"}
    texts: dict[str, str] = {}
    for txt in root.glob("*/*.txt"):
        for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                texts[parts[0].strip()] = parts[1].strip()
    entries = []
    for path in _audio_files(root):
        rel = path.relative_to(root).parts
        if len(rel) < 3 or not re.fullmatch(r"\d{4}", rel[0]) or not re.fullmatch(r"\d{4}_\d{6}", path.stem):
            continue
        emotion = ESD_EMOTIONS.get(rel[1].lower())
        if emotion is None:
            raise ManifestError(f"{path}: unknown ESD emotion folder {rel[1]!r}")
        official = ESD_SPLITS.get(rel[2].lower()) if len(rel) == 4 else None
        split = official or _split(rel[0], valid)
        entries.append(ManifestEntry(_rel(root, path), rel[0], emotion, split, _duration(path),
                                     texts.get(path.stem, "")))
    return _finish(root, entries, "esd")


# -------------------------------------------------------------------------------------- IEMOCAP
IEMOCAP_EMOTIONS = {"neu": "neutral", "hap": "happiness", "exc": "excited", "ang": "anger",
                    "sad": "sadness", "fru": "frustration", "sur": "surprised", "fea": "fear",
                    "dis": "disgust", "oth": "other"}
IEMOCAP_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\s+(?P<utt>Ses\d{2}[FM]_\S+)\s+(?P<label>\w+)\s+\[")
IEMOCAP_TEXT = re.compile(r"^(?P<utt>Ses\d{2}[FM]_\S+) \[[\d.\-]+\]: (?P<text>.*)$")
IEMOCAP_FOUR = ("anger", "happiness", "neutral", "sadness")


def build_iemocap(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None,
                  merge_excited: bool = True, emotions: Iterable[str] | None = IEMOCAP_FOUR) -> Manifest:
    """IEMOCAP: ``SessionN/sentences/wav/<dialog>/<utt>.wav`` with categorical labels from
    ``SessionN/dialog/EmoEvaluation/<dialog>.txt``. Speaker = session + the utterance's own
    gender letter (``Ses01F_impro01_M000`` -> ``Ses01M``). ``merge_excited`` maps ``exc`` to
    happiness (the usual 4-class setting); ``emotions`` keeps only those classes (None = all
    labelled ones; ``xxx`` — no majority — is always dropped). Valid speakers default to
    session 5 (``Ses05F``, ``Ses05M``)."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {"Ses05F", "Ses05M"}
    keep = set(emotions) if emotions is not None else None
    labels: dict[str, str] = {}
    texts: dict[str, str] = {}
    for session in sorted(root.glob("Session*")):
        for txt in (session / "dialog" / "EmoEvaluation").glob("*.txt"):
            for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
                m = IEMOCAP_LINE.match(line)
                if m:
                    labels[m.group("utt")] = m.group("label")
        for txt in (session / "dialog" / "transcriptions").glob("*.txt"):
            for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
                m = IEMOCAP_TEXT.match(line.strip())
                if m:
                    texts[m.group("utt")] = m.group("text")
    entries = []
    for session in sorted(root.glob("Session*")):
        for path in _audio_files(session / "sentences" / "wav"):
            code = labels.get(path.stem)
            if code is None or code == "xxx":
                continue
            if code not in IEMOCAP_EMOTIONS:
                raise ManifestError(f"{path}: unknown IEMOCAP label {code!r}")
            emotion = IEMOCAP_EMOTIONS[code]
            if merge_excited and emotion == "excited":
                emotion = "happiness"
            if keep is not None and emotion not in keep:
                continue
            speaker = path.stem[:5] + path.stem.rsplit("_", 1)[-1][0]
            entries.append(ManifestEntry(_rel(root, path), speaker, emotion, _split(speaker, valid),
                                         _duration(path), texts.get(path.stem, ""),
                                         "female" if speaker.endswith("F") else "male"))
    return _finish(root, entries, "iemocap")


# -------------------------------------------------------------------------------------- RAVDESS
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happiness", "04": "sadness", "05": "anger",
                    "06": "fear", "07": "disgust", "08": "surprised"}
RAVDESS_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
RAVDESS_TEXT = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}


def build_ravdess(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None,
                  include_song: bool = False, merge_calm: bool = False) -> Manifest:
    """RAVDESS: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` (modality, vocal channel, emotion,
    intensity, statement, repetition, actor; odd actors male). Audio-only speech (modality 03,
    channel 01) by default; ``include_song`` adds sung files; ``merge_calm`` maps calm to
    neutral. Valid actors default to 23 and 24."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {"23", "24"}
    entries = []
    for path in _audio_files(root):
        m = RAVDESS_NAME.match(path.stem)
        if not m:
            continue
        modality, channel, emo, _, statement, _, actor = m.groups()
        if modality != "03" or (channel != "01" and not (include_song and channel == "02")):
            continue
        if emo not in RAVDESS_EMOTIONS:
            raise ManifestError(f"{path}: unknown RAVDESS emotion code {emo!r}")
        emotion = RAVDESS_EMOTIONS[emo]
        if merge_calm and emotion == "calm":
            emotion = "neutral"
        entries.append(ManifestEntry(_rel(root, path), actor, emotion, _split(actor, valid),
                                     _duration(path), RAVDESS_TEXT.get(statement, ""),
                                     "male" if int(actor) % 2 else "female"))
    return _finish(root, entries, "ravdess")


# -------------------------------------------------------------------------------------- CREMA-D
CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness",
                   "NEU": "neutral", "SAD": "sadness"}
CREMAD_NAME = re.compile(
    r"^(?P<speaker>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})$")


def build_cremad(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None) -> Manifest:
    """CREMA-D: ``AudioWAV/SPK_SEN_EMO_LVL.wav`` (speakers 1001-1091; emotions ANG, DIS, FEA,
    HAP, NEU, SAD). Valid speakers default to 1082-1091."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {str(s) for s in range(1082, 1092)}
    entries = []
    for path in _audio_files(root):
        m = CREMAD_NAME.match(path.stem)
        if not m:
            continue
        if m.group("emotion") not in CREMAD_EMOTIONS:
            raise ManifestError(f"{path}: unknown CREMA-D emotion code {m.group('emotion')!r}")
        speaker = m.group("speaker")
        entries.append(ManifestEntry(_rel(root, path), speaker, CREMAD_EMOTIONS[m.group("emotion")],
                                     _split(speaker, valid), _duration(path)))
    return _finish(root, entries, "cremad")


# --------------------------------------------------------------------------------------- EmoDB
EMODB_EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
                  "T": "sadness", "N": "neutral"}
EMODB_NAME = re.compile(r"^(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<emotion>[A-Z])(?P<version>[a-z])$")
EMODB_MALE = {"03", "10", "11", "12", "15"}


def build_emodb(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None) -> Manifest:
    """EmoDB (Berlin): ``wav/SSTTTEV.wav`` (speaker, text code, German emotion letter W L E A F T
    N, version). Valid speakers default to 15 (male) and 16 (female)."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else {"15", "16"}
    entries = []
    for path in _audio_files(root):
        m = EMODB_NAME.match(path.stem)
        if not m:
            continue
        if m.group("emotion") not in EMODB_EMOTIONS:
            raise ManifestError(f"{path}: unknown EmoDB emotion letter {m.group('emotion')!r}")
        speaker = m.group("speaker")
        entries.append(ManifestEntry(_rel(root, path), speaker, EMODB_EMOTIONS[m.group("emotion")],
                                     _split(speaker, valid), _duration(path), "",
                                     "male" if speaker in EMODB_MALE else "female"))
    return _finish(root, entries, "emodb")


# -------------------------------------------------------------------------------------- folder
SPLIT_FOLDERS = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid",
                 "test": "test"}


def build_folder(root: str | os.PathLike, valid_speakers: Iterable[str] | None = None) -> Manifest:
    """Generic layout: ``<emotion>/.../*.wav``, or ``<split>/<emotion>/.../*.wav`` when the
    top-level folders are split names (train, valid/validation/dev, test). The emotion is the
    folder name, lower-cased. The speaker is the file name's part before its first ``_`` or
    ``-`` (the whole stem when there is none); ``valid_speakers`` moves speakers to ``valid``."""
    root = Path(root)
    valid = set(valid_speakers) if valid_speakers is not None else set()
    entries = []
    for path in _audio_files(root):
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            continue
        split = SPLIT_FOLDERS.get(parts[0].lower())
        if split is not None:
            if len(parts) < 3:
                continue
            emotion = parts[1].lower()
        else:
            emotion, split = parts[0].lower(), "train"
        speaker = re.split(r"[_\-]", path.stem, maxsplit=1)[0]
        if speaker in valid:
            split = "valid"
        entries.append(ManifestEntry(_rel(root, path), speaker, emotion, split, _duration(path)))
    return _finish(root, entries, "folder")


#: Builders by corpus name (the ``affectcodec manifest CORPUS`` choices).
BUILDERS: dict[str, Callable[..., Manifest]] = {
    "nemo": build_nemo, "esd": build_esd, "iemocap": build_iemocap, "ravdess": build_ravdess,
    "cremad": build_cremad, "emodb": build_emodb, "folder": build_folder}


def build_manifest(corpus: str, root: str | os.PathLike, **options) -> Manifest:
    """Build the manifest of ``corpus`` (a key of :data:`BUILDERS`) from its folder ``root``."""
    if corpus not in BUILDERS:
        raise ManifestError(f"unknown corpus {corpus!r}; known: {sorted(BUILDERS)}")
    if not Path(root).is_dir():
        raise ManifestError(f"{root}: not a folder")
    return BUILDERS[corpus](root, **options)
