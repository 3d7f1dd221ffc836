"""Emotion label maps: the ordered class names a classifier was trained with.

Every trained emotion model stores its label map as ``labels.json`` next to its weights, so that
class index ``i`` of its outputs always means the same emotion, whatever manifest it meets later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from affectcodec.fsutil import atomic_path

LABELS_FILE = "labels.json"

#: The six emotions of nEMO, in the order the bundled teacher and judges use.
NEMO_EMOTIONS: tuple[str, ...] = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")

#: Canonical names that the corpus builders map each corpus' own labels to.
CANONICAL_EMOTIONS: tuple[str, ...] = (
    "anger", "boredom", "calm", "disgust", "excited", "fear", "frustration", "happiness",
    "neutral", "other", "sadness", "surprised")


class LabelMap:
    """An ordered, duplicate-free tuple of emotion names; index ``i`` is class ``i``.

    Args:
        labels: the class names in class order.
    """

    def __init__(self, labels: Iterable[str]):
        labels = tuple(str(x) for x in labels)
        if not labels:
            raise ValueError("a label map needs at least one label")
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate labels in {list(labels)}")
        if any(not x or x != x.strip() for x in labels):
            raise ValueError(f"labels must be non-empty and without surrounding spaces: {list(labels)}")
        self.labels = labels
        self._index = {name: i for i, name in enumerate(labels)}

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        return iter(self.labels)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelMap) and other.labels == self.labels

    def __repr__(self) -> str:
        return f"LabelMap({list(self.labels)})"

    def index(self, name: str) -> int:
        """Class index of ``name``; KeyError naming the known labels when it is not one."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown emotion {name!r}; labels: {list(self.labels)}") from None

    def indices(self, names: Sequence[str]) -> list[int]:
        """Class indices of several names."""
        return [self.index(n) for n in names]

    def write(self, path: str | os.PathLike) -> None:
        """Write the map as JSON (``{"labels": [...]}``) to the file ``path``."""
        Path(path).write_text(json.dumps({"labels": list(self.labels)}, indent=1) + "\n")

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``labels.json`` into ``directory`` (atomically); returns its path."""
        path = Path(directory) / LABELS_FILE
        with atomic_path(path, force=True) as tmp:
            self.write(tmp)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> LabelMap:
        """Read ``labels.json`` from a model folder (or the file itself)."""
        path = Path(directory)
        if path.is_dir():
            path = path / LABELS_FILE
        try:
            data = json.loads(path.read_text())
            return cls(data["labels"])
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no label map (labels.json) next to the model") from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a label map ({exc})") from exc
