"""Manifests: one row per utterance (path, speaker, emotion, split, duration, optional text).

A row is a :class:`ManifestEntry`; an :class:`Utterance` is an entry with its audio file found
(:meth:`Manifest.utterances`), the one record that evaluation, the swap experiment and corpus
tokenization hand to their workers.

A manifest is read from TSV, CSV (header on the first line) or JSONL (one object per line),
chosen by the file suffix. Relative paths are relative to the manifest's own folder. Everything
is validated on load, and every problem names its row::

    manifest.tsv, row 12 (line 13): unknown emotion 'angry'; labels: ['anger', 'fear', ...]
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from affectcodec.emotion.labels import LabelMap
from affectcodec.errors import AffectCodecError

#: Columns every manifest must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("path", "speaker", "emotion", "split", "duration")
#: Columns a manifest may have; any others are ignored.
OPTIONAL_COLUMNS: tuple[str, ...] = ("text", "gender")
FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl"}


class ManifestError(AffectCodecError, ValueError):
    """A manifest that cannot be used: its message names the file and, when it applies, the row."""


@dataclass(frozen=True)
class ManifestEntry:
    """One utterance.

    Attributes:
        path: audio file, absolute or relative to the manifest's folder (as written in the file).
        speaker: speaker id (splits are by speaker).
        emotion: emotion label.
        split: ``train``, ``valid``, ``test`` or any other name.
        duration: seconds (> 0).
        text: transcript, "" when unknown.
        gender: speaker gender, "" when unknown.
    """

    path: str
    speaker: str
    emotion: str
    split: str
    duration: float
    text: str = ""
    gender: str = ""


@dataclass(frozen=True, kw_only=True)
class Utterance(ManifestEntry):
    """A manifest entry with its audio file found.

    ``path`` stays as written in the manifest and names the utterance (cache files, result rows,
    shard metadata); ``audio_path`` is the file to read.

    Attributes:
        audio_path: the audio file: ``path`` joined to the manifest's folder.
    """

    audio_path: str


@dataclass
class Manifest:
    """A list of :class:`ManifestEntry` and the folder their relative paths start from.

    Args:
        entries: the utterances.
        root: folder that relative paths are relative to.
        source: where it was read from (for messages).
    """

    entries: list[ManifestEntry]
    root: Path = field(default_factory=Path)
    source: str = "<manifest>"

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries)

    def __getitem__(self, i: int) -> ManifestEntry:
        return self.entries[i]

    def audio_path(self, i: int) -> Path:
        """Absolute-or-root-relative path of entry ``i``'s audio file."""
        return self.root / self.entries[i].path

    def utterance(self, i: int) -> Utterance:
        """Entry ``i`` with its audio file (:meth:`audio_path`)."""
        entry = self.entries[i]
        return Utterance(**{f.name: getattr(entry, f.name) for f in fields(ManifestEntry)},
                         audio_path=str(self.audio_path(i)))

    def utterances(self) -> list[Utterance]:
        """Every entry with its audio file, in order (``manifest.filter(split=...)`` first to
        take one split)."""
        return [self.utterance(i) for i in range(len(self.entries))]

    @property
    def emotions(self) -> list[str]:
        """Sorted distinct emotions."""
        return sorted({e.emotion for e in self.entries})

    @property
    def speakers(self) -> list[str]:
        """Sorted distinct speakers."""
        return sorted({e.speaker for e in self.entries})

    def counts(self, key: str = "emotion") -> dict[str, int]:
        """Number of entries per value of a column, e.g. ``counts("split")``."""
        return dict(sorted(Counter(getattr(e, key) for e in self.entries).items()))

    def filter(self, split: str | Sequence[str] | None = None,
               speakers: Iterable[str] | None = None,
               emotions: Iterable[str] | None = None) -> Manifest:
        """A manifest with the entries of the given split(s), speakers and emotions."""
        splits = {split} if isinstance(split, str) else set(split) if split is not None else None
        spk = set(speakers) if speakers is not None else None
        emo = set(emotions) if emotions is not None else None
        kept = [e for e in self.entries
                if (splits is None or e.split in splits) and (spk is None or e.speaker in spk)
                and (emo is None or e.emotion in emo)]
        return Manifest(kept, self.root, self.source)

    def validate(self, labels: LabelMap | Sequence[str] | None = None, check_files: bool = True) -> None:
        """Raise :class:`ManifestError` naming the first bad row.

        Args:
            labels: if given, every emotion must be one of them.
            check_files: check that every audio file exists.
        """
        if not self.entries:
            raise ManifestError(f"{self.source}: the manifest has no rows")
        if labels is not None and not isinstance(labels, LabelMap):
            labels = LabelMap(labels)
        for i, e in enumerate(self.entries):
            where = _where(self.source, i)
            for name in ("path", "speaker", "emotion", "split"):
                if not getattr(e, name):
                    raise ManifestError(f"{where}: empty {name!r}")
            if not (math.isfinite(e.duration) and e.duration > 0):
                raise ManifestError(f"{where}: duration must be a positive number of seconds, "
                                    f"got {e.duration!r}")
            if labels is not None and e.emotion not in labels:
                raise ManifestError(f"{where}: unknown emotion {e.emotion!r}; labels: {list(labels)}")
            if check_files and not (self.root / e.path).is_file():
                raise ManifestError(f"{where}: audio file {e.path!r} does not exist "
                                    f"(looked for {self.root / e.path})")

    @classmethod
    def read(cls, path: str | os.PathLike, labels: LabelMap | Sequence[str] | None = None,
             check_files: bool = True) -> Manifest:
        """Read and validate a TSV, CSV or JSONL manifest.

        Args:
            path: the manifest file (suffix ``.tsv``, ``.csv`` or ``.jsonl``).
            labels: if given, every emotion must be one of them.
            check_files: check that every audio file exists.

        Raises:
            ManifestError: unreadable file, unknown format, missing columns or a bad row.
        """
        path = Path(path)
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ManifestError(f"{path}: unknown manifest format {path.suffix!r}; "
                                f"use one of {sorted(FORMATS)}")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ManifestError(f"{path}: cannot read the manifest ({exc.strerror})") from exc
        rows = _parse_jsonl(text, str(path)) if fmt == "jsonl" else _parse_table(text, fmt, str(path))
        entries = [_entry(row, str(path), i) for i, row in enumerate(rows)]
        manifest = cls(entries, path.resolve().parent, str(path))
        manifest.validate(labels, check_files)
        return manifest

    def write(self, path: str | os.PathLike) -> Path:
        """Write as TSV, CSV or JSONL (by suffix). Relative paths are rewritten relative to the
        new file's folder, so the written manifest finds the same audio."""
        path = Path(path)
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ManifestError(f"{path}: unknown manifest format {path.suffix!r}; "
                                f"use one of {sorted(FORMATS)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        target = path.resolve().parent
        rows = []
        for e in self.entries:
            audio = Path(e.path) if os.path.isabs(e.path) else (self.root / e.path).resolve()
            rows.append(asdict(replace(e, path=Path(os.path.relpath(audio, target)).as_posix())))
        columns = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
        with path.open("w", encoding="utf-8", newline="") as f:
            if fmt == "jsonl":
                for row in rows:
                    f.write(json.dumps({k: row[k] for k in columns}, ensure_ascii=False) + "\n")
            else:
                writer = csv.DictWriter(f, columns, delimiter="\t" if fmt == "tsv" else ",",
                                        lineterminator="\n", extrasaction="ignore")
                writer.writeheader()
                for row in rows:
                    writer.writerow({**row, "duration": f"{row['duration']:.3f}"})
        return path


def _where(source: str, i: int, line: int | None = None) -> str:
    return f"{source}, row {i + 1}" + (f" (line {line})" if line is not None else "")


def _parse_table(text: str, fmt: str, source: str) -> list[tuple[int, dict]]:
    reader = csv.reader(text.splitlines(), delimiter="\t" if fmt == "tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise ManifestError(f"{source}: empty file (a header line is required)") from None
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{source}: missing column(s) {missing} in the header {header}")
    rows = []
    for values in reader:
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise ManifestError(f"{_where(source, len(rows), line)}: {len(values)} fields, "
                                f"the header has {len(header)}")
        rows.append((line, dict(zip(header, values, strict=True))))
    return rows


def _parse_jsonl(text: str, source: str) -> list[tuple[int, dict]]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{_where(source, len(rows), line_no)}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ManifestError(f"{_where(source, len(rows), line_no)}: not a JSON object")
        missing = [c for c in REQUIRED_COLUMNS if c not in obj]
        if missing:
            raise ManifestError(f"{_where(source, len(rows), line_no)}: missing field(s) {missing}")
        rows.append((line_no, obj))
    return rows


def _entry(item: tuple[int, dict], source: str, i: int) -> ManifestEntry:
    line, row = item
    try:
        duration = float(row["duration"])
    except (TypeError, ValueError):
        raise ManifestError(f"{_where(source, i, line)}: duration {row['duration']!r} is not a "
                            f"number") from None
    values = {k: str(row.get(k) if row.get(k) is not None else "").strip()
              for k in ("path", "speaker", "emotion", "split", *OPTIONAL_COLUMNS)}
    entry = ManifestEntry(duration=duration, **values)
    try:
        Manifest([entry], source=source).validate(check_files=False)
    except ManifestError as exc:  # re-raise with the real row and line number
        raise ManifestError(str(exc).replace(_where(source, 0), _where(source, i, line))) from None
    return entry
