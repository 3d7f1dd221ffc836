"""``affectcodec eval``: reconstruct a manifest's utterances with codecs and score them.

Work is split into independent per-utterance tasks (original judged once; each model x bitrate
x utterance reconstructed and scored) that run in worker processes, one torch thread each, so
both cores are used. Every finished task is written to ``OUT/cache/...`` at once (temporary
file + rename), so an interrupted run resumes where it stopped and a re-run skips what is
scored (a record that lacks a requested metric gets just that metric added). Aggregation
(means, judge metrics, EDR, prosody, leakage probe) reads the cache.
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
from affectcodec.data.manifests import Utterance
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
    # numba (librosa's features, ViSQOL's kernels) sizes its pool at import, before the metrics
    # module could: one thread like torch's, or torch slows down beside numba's idle threads.
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
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


#: The signal metrics of ``affectcodec eval --metrics``: name -> the record keys it writes.
#: DNSMOS needs no reference, so it scores the originals too.
METRICS: dict[str, tuple[str, ...]] = {
    "pesq": ("pesq",), "stoi": ("stoi",), "mel_distance": ("mel_distance",), "si_sdr": ("si_sdr",),
    "visqol": ("visqol",), "speaker_similarity": ("speaker_similarity",),
    "dnsmos": ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"),
}
#: Everything but DNSMOS, which costs about 0.5 s of one core per 9-second window and scores
#: 6-7 windows of a 2-4 s clip (speechmos loops it to 9 s and hops by 1 s): about 1.5 h of one
#: core for nEMO's valid split at 3 rates x 2 models, against minutes for all the others.
DEFAULT_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m != "dnsmos")
_NO_REFERENCE = ("dnsmos",)


def record_keys(names: Sequence[str], original: bool = False) -> tuple[str, ...]:
    """The keys the metrics ``names`` write into a reconstruction's record (``original``: into an
    original's record, where only the no-reference metrics apply)."""
    return tuple(k for n in names if not original or n in _NO_REFERENCE for k in METRICS[n])


def score(names: Sequence[str], ref: np.ndarray | None, deg: np.ndarray) -> dict[str, float]:
    """The record entries of the metrics ``names`` of ``deg`` (float [N] at 16 kHz) against
    ``ref``; with ``ref=None`` (an original) only the no-reference metrics among ``names``."""
    from affectcodec import metrics

    pair = {"pesq": metrics.pesq_wb, "stoi": metrics.stoi, "mel_distance": metrics.mel_distance,
            "si_sdr": metrics.si_sdr, "visqol": metrics.visqol,
            "speaker_similarity": metrics.speaker_similarity}
    out: dict[str, float] = {}
    for name in names:
        if name == "dnsmos":
            d = metrics.dnsmos(deg)
            out.update(dnsmos_sig=d.sig, dnsmos_bak=d.bak, dnsmos_ovrl=d.ovrl)
        elif ref is not None:
            out[name] = pair[name](ref, deg)
    return out


def _task(task: tuple[str, str, float | None, Utterance, str, tuple[str, ...]]) -> str:
    """Score one (model, rate, utterance) or judge one original; returns the cache path. A task
    whose record exists but lacks some metrics computes only those and keeps the rest."""
    from affectcodec.eval.emotion import teacher_cosine
    from affectcodec.eval.prosody_metrics import ProsodyPreservation

    kind, model, kbps, item, cache, names = task
    target = Path(cache)
    old = json.loads(target.read_text()) if target.is_file() else None
    wav = audio.load(item.audio_path)  # [1, N] at 16 kHz
    if kind == "original":
        record = old or {"judges": _judge(wav), "seconds": wav.shape[-1] / MODEL_RATE}
        _write_json(target, record | score(names, None, wav[0].numpy()))
        return cache
    codec = _WORKER["codecs"][model]
    file_bytes = None
    if codec.supports_affc:
        # The CLI's own path: the .affc file's bytes give the actual bitrate.
        from affectcodec import bitstream
        from affectcodec.affc_io import encode_audio

        codes, header = encode_audio(codec, item.audio_path, kbps=kbps)
        file_bytes = len(bitstream.to_bytes(codes, header))
    else:
        codes = codec.encode(wav, sample_rate=MODEL_RATE, kbps=kbps)
    rec = codec.decode(codes)[0]  # [1, N]
    ref, deg = wav[0].numpy(), rec[0].numpy()
    if old is None:
        acc = ProsodyPreservation()
        acc.update(wav[None], rec[None])
        old = {
            "seconds": wav.shape[-1] / MODEL_RATE, "file_bytes": file_bytes,
            "payload_bits": int(codes.tokens[0].numel()) * math.ceil(codes.bits_per_token),
            "teacher_cosine": float(teacher_cosine(_WORKER["teacher"], wav[None], rec[None])[0]),
            "prosody": acc.state(), "judges": _judge(rec),
        }
        if codes.levels is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target.with_suffix(".codes.npy"), codes.tokens[0].numpy().astype(np.int32))
    _write_json(target, old | score(names, ref, deg))
    return cache


#: Version of what a cache record holds; a change of a metric's definition (v2: Praat's F0 and
#: voice quality) starts a new cache beside the old one instead of mixing scores of two
#: definitions. A new metric does not: records that lack it get it added (``run_tasks``).
CACHE_VERSION = "v2"


def cache_path(out: Path, model: str | None, kbps: float | None, item: Utterance) -> Path:
    safe = item.path.replace(os.sep, "__")
    root = out / "cache" / CACHE_VERSION
    if model is None:
        return root / "original" / f"{safe}.json"
    return root / model / f"{kbps:g}kbps" / f"{safe}.json"


def _missing(path: Path, names: Sequence[str], original: bool) -> tuple[str, ...] | None:
    """The metrics among ``names`` that the record at ``path`` lacks (all of them if there is no
    record); None if it has them all."""
    if not path.is_file():
        return tuple(names)
    record = json.loads(path.read_text())
    lacking = tuple(n for n in names if any(k not in record for k in record_keys([n], original)))
    return lacking or None


def pending_tasks(models: Sequence[ModelSpec], items: Sequence[Utterance], rates: Sequence[float], out: Path,
                  metrics: Sequence[str] = DEFAULT_METRICS) -> list[tuple]:
    """The tasks still to run: ``(kind, model name, kbps, item, cache path, metrics to compute)``
    for every record that is missing or lacks one of ``metrics``."""
    tasks = []
    for item in items:
        path = cache_path(out, None, None, item)
        if (todo := _missing(path, metrics, original=True)) is not None:
            tasks.append(("original", "", None, item, str(path), todo))
        for model in models:
            for kbps in rates:
                path = cache_path(out, model.cache_name, kbps, item)
                if (todo := _missing(path, metrics, original=False)) is not None:
                    tasks.append(("codec", model.name, kbps, item, str(path), todo))
    return tasks


def run_tasks(models: Sequence[ModelSpec], items: Sequence[Utterance], rates: Sequence[float], out: Path,
              judges: Sequence[str] | None = None, teacher: str | None = None, workers: int = 2,
              progress: Callable[[int, int], None] = lambda done, total: None,
              metrics: Sequence[str] = DEFAULT_METRICS) -> int:
    """Run every task whose cache record is missing or lacks one of ``metrics`` (names of
    :data:`METRICS`); returns how many ran."""
    tasks = pending_tasks(models, items, rates, out, metrics)
    if not tasks:
        return 0
    with WorkerPool(workers, _init_worker, (list(models), judges, teacher)) as pool:
        pool.map(_task, tasks, progress, ordered=False)  # each task writes its own cache file
    return len(tasks)
