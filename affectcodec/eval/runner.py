"""``affectcodec eval``: reconstruct a manifest's utterances with codecs and score them.

Work is split into independent per-utterance tasks (original judged once; each model x bitrate
x utterance reconstructed and scored) that run in worker processes, one torch thread each, so
both cores are used. Every finished task is written to ``OUT/cache/...`` at once (temporary
file + rename), so an interrupted run resumes where it stopped and a re-run skips what is
scored. Aggregation (means, judge metrics, EDR, prosody, leakage probe) reads the cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from affectcodec import audio
from affectcodec.audio import MODEL_RATE
from affectcodec.baselines import REFERENCE_CODECS
from affectcodec.eval.workers import WorkerPool

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class ModelSpec:
    """A codec to evaluate: ``path`` is a model folder or bundled name, ``"dac16k"``, or a
    reference codec's name (``"opus"``, ``"codec2"``)."""

    name: str
    path: str

    @functools.cached_property
    def cache_name(self) -> str:
        """The cache folder of this model's results: its name, plus a digest of its folder's
        files for a trained model, so that retraining a model under the same name never
        reuses the old model's scores."""
        if self.path in REFERENCE_CODECS or self.path == "dac16k":
            return self.name
        from affectcodec.pretrained import resolve

        digest = hashlib.sha256()
        folder = resolve(self.path)
        for file in ("config.json", "model.safetensors"):
            with open(folder / file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return f"{self.name}-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class Item:
    """One utterance: cache key, audio file and labels."""

    key: str
    path: str
    emotion: str
    speaker: str


def build_codec(spec: ModelSpec):
    if spec.path in REFERENCE_CODECS:
        return REFERENCE_CODECS[spec.path]()
    if spec.path == "dac16k":
        from affectcodec.eval.dac import DACCodec

        return DACCodec.architecture_16k()
    from affectcodec import load

    return load(spec.path)


def _init_worker(models: Sequence[ModelSpec], judge_names: Sequence[str] | None, teacher: str | None) -> None:
    torch.set_num_threads(1)
    from affectcodec.emotion.registry import load_teacher
    from affectcodec.judges.loading import load_judges

    _WORKER["codecs"] = {m.name: build_codec(m) for m in models}
    _WORKER["judges"] = load_judges(judge_names)
    _WORKER["teacher"] = load_teacher(teacher)


def _write_json(path: Path, record: dict[str, Any]) -> None:
    from affectcodec.fsutil import atomic_path

    with atomic_path(path, force=True) as tmp:  # unique temporary name per writer process
        tmp.write_text(json.dumps(record))


def _judge(wav: torch.Tensor) -> dict[str, dict[str, list[float]]]:
    """Per judge: speaker-independent probabilities and, for speaker-adapted judging later, the
    utterance embedding (the adapted head needs the speaker's statistics over many utterances)."""
    x, lengths = wav.reshape(1, 1, -1), torch.tensor([wav.shape[-1]])
    out = {}
    for j in _WORKER["judges"]:
        proba, emb = j.proba_and_embedding(x, lengths)
        out[j.name] = {"proba": proba[0].tolist()}
        if emb is not None:
            out[j.name]["embedding"] = emb[0].tolist()
    return out


def _task(task: tuple[str, str, float | None, Item, str]) -> str:
    """Score one (model, rate, utterance) or judge one original; returns the cache path."""
    from affectcodec import metrics
    from affectcodec.eval.emotion import teacher_cosine
    from affectcodec.eval.prosody_metrics import ProsodyPreservation

    kind, model, kbps, item, cache = task
    target = Path(cache)
    wav = audio.load(item.path)  # [1, N] at 16 kHz
    if kind == "original":
        _write_json(target, {"judges": _judge(wav), "seconds": wav.shape[-1] / MODEL_RATE})
        return cache
    codec = _WORKER["codecs"][model]
    file_bytes = None
    if codec.supports_affc:
        # The CLI's own path: the .affc file's bytes give the actual bitrate.
        from affectcodec import bitstream
        from affectcodec.affc_io import encode_audio

        codes, header = encode_audio(codec, item.path, kbps=kbps)
        file_bytes = len(bitstream.to_bytes(codes, header))
    else:
        codes = codec.encode(wav, sample_rate=MODEL_RATE, kbps=kbps)
    rec = codec.decode(codes)[0]  # [1, N]
    ref, deg = wav[0].numpy(), rec[0].numpy()
    acc = ProsodyPreservation()
    acc.update(wav[None], rec[None])
    record = {
        "seconds": wav.shape[-1] / MODEL_RATE, "file_bytes": file_bytes,
        "payload_bits": int(codes.tokens[0].numel()) * math.ceil(codes.bits_per_token),
        "pesq": metrics.pesq_wb(ref, deg), "stoi": metrics.stoi(ref, deg),
        "mel_distance": metrics.mel_distance(ref, deg), "si_sdr": metrics.si_sdr(ref, deg),
        "teacher_cosine": float(teacher_cosine(_WORKER["teacher"], wav[None], rec[None])[0]),
        "prosody": acc.state(), "judges": _judge(rec),
    }
    if codes.levels is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target.with_suffix(".codes.npy"), codes.tokens[0].numpy().astype(np.int32))
    _write_json(target, record)
    return cache


#: Version of what a cache record holds; a change of metrics (v2: Praat's F0 and voice quality)
#: starts a new cache beside the old one instead of mixing scores of two definitions.
CACHE_VERSION = "v2"


def cache_path(out: Path, model: str | None, kbps: float | None, item: Item) -> Path:
    safe = item.key.replace(os.sep, "__")
    root = out / "cache" / CACHE_VERSION
    if model is None:
        return root / "original" / f"{safe}.json"
    return root / model / f"{kbps:g}kbps" / f"{safe}.json"


def run_tasks(models: Sequence[ModelSpec], items: Sequence[Item], rates: Sequence[float], out: Path,
              judges: Sequence[str] | None = None, teacher: str | None = None, workers: int = 2,
              progress: Callable[[int, int], None] = lambda done, total: None) -> int:
    """Run every task whose cache file is missing; returns how many ran."""
    tasks = []
    for item in items:
        path = cache_path(out, None, None, item)
        if not path.is_file():
            tasks.append(("original", "", None, item, str(path)))
        for model in models:
            for kbps in rates:
                path = cache_path(out, model.cache_name, kbps, item)
                if not path.is_file():
                    tasks.append(("codec", model.name, kbps, item, str(path)))
    if not tasks:
        return 0
    with WorkerPool(workers, _init_worker, (list(models), judges, teacher)) as pool:
        pool.map(_task, tasks, progress, ordered=False)  # each task writes its own cache file
    return len(tasks)
