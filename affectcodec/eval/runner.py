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


def _init_worker(models: Sequence[ModelSpec], judge_names: Sequence[str] | None, teacher: str | None,
                 asr_language: str | None = None) -> None:
    torch.set_num_threads(1)
    # numba (librosa's features, ViSQOL's kernels) sizes its pool at import, before the metrics
    # module could: one thread like torch's, or torch slows down beside numba's idle threads.
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from affectcodec.emotion.registry import load_teacher
    from affectcodec.judges.loading import load_judges

    _WORKER["codecs"] = {m.name: build_codec(m) for m in models}
    _WORKER["judges"] = load_judges(judge_names)
    _WORKER["teacher"] = load_teacher(teacher)
    _WORKER["asr_language"] = asr_language


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
#: ``wer`` / ``cer``: of the reconstruction's Whisper transcript against the original's
#: transcript (``wer``) and against the manifest's text (``wer_text``, NaN where a row has none).
METRICS: dict[str, tuple[str, ...]] = {
    "pesq": ("pesq",), "stoi": ("stoi",), "mel_distance": ("mel_distance",), "si_sdr": ("si_sdr",),
    "visqol": ("visqol",), "speaker_similarity": ("speaker_similarity",),
    "dnsmos": ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"),
    "wer": ("wer", "wer_text"), "cer": ("cer", "cer_text"),
}
#: The metrics that need the optional ``[asr]`` extra (Whisper).
ASR_METRICS: tuple[str, ...] = ("wer", "cer")
#: Everything but DNSMOS and WER/CER. DNSMOS costs about 0.5 s of one core per 9-second window
#: and scores 6-7 windows of a 2-4 s clip (speechmos loops it to 9 s and hops by 1 s): about
#: 1.5 h of one core for nEMO's valid split at 3 rates x 2 models, against minutes for the
#: others. Whisper encodes a 30-second window whatever the clip's length: 1-2 s of one core per
#: clip, over 1 h of one core for the same run (docs/evaluation.md).
DEFAULT_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m not in ("dnsmos", *ASR_METRICS))
#: The keys a metric writes into an original's record: the no-reference DNSMOS, and the WER / CER
#: of the original's transcript against the manifest's text (the ASR's own error, the floor a
#: codec's ``wer_text`` is read against).
_ORIGINAL_KEYS: dict[str, tuple[str, ...]] = {
    "dnsmos": METRICS["dnsmos"], "wer": ("wer_text",), "cer": ("cer_text",)}


def record_keys(names: Sequence[str], original: bool = False) -> tuple[str, ...]:
    """The keys the metrics ``names`` write into a reconstruction's record (``original``: into an
    original's record: DNSMOS, and the WER / CER against the manifest's text)."""
    if original:
        return tuple(k for n in names for k in _ORIGINAL_KEYS.get(n, ()))
    return tuple(k for n in names for k in METRICS[n])


def score(names: Sequence[str], ref: np.ndarray | None, deg: np.ndarray) -> dict[str, float]:
    """The record entries of the audio metrics ``names`` of ``deg`` (float [N] at 16 kHz) against
    ``ref``; with ``ref=None`` (an original) only the no-reference metrics among ``names``.
    WER / CER, which compare transcripts, are :func:`asr_entries`'."""
    from affectcodec import metrics

    pair = {"pesq": metrics.pesq_wb, "stoi": metrics.stoi, "mel_distance": metrics.mel_distance,
            "si_sdr": metrics.si_sdr, "visqol": metrics.visqol,
            "speaker_similarity": metrics.speaker_similarity}
    out: dict[str, float] = {}
    for name in names:
        if name == "dnsmos":
            d = metrics.dnsmos(deg)
            out.update(dnsmos_sig=d.sig, dnsmos_bak=d.bak, dnsmos_ovrl=d.ovrl)
        elif ref is not None and name in pair:
            out[name] = pair[name](ref, deg)
    return out


def asr_entries(names: Sequence[str], wav: np.ndarray, text: str, original: dict[str, Any] | None = None,
                language: str | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record entries of the WER / CER metrics among ``names``: Whisper's transcript of ``wav``
    (float [N] at 16 kHz; ``asr_text``, ``asr_language``) and its error rates against the manifest's
    ``text`` (``wer_text``, ``cer_text``; NaN if it is empty) and, for a reconstruction, against
    the ``original`` record's transcript (``wer``, ``cer``).

    The language is ``language``, else the original's (so that a reconstruction is decoded in
    the language of its original), else Whisper's detection. An ``old`` record's transcript in
    that language is reused rather than transcribed again.
    """
    from affectcodec import metrics

    wanted = [n for n in names if n in ASR_METRICS]
    if not wanted:
        return {}
    if original is not None and "asr_text" not in original:
        raise RuntimeError("the original's record has no transcript: originals are transcribed first")
    language = language or (original or {}).get("asr_language")
    old = old or {}
    if "asr_text" in old and (language is None or old.get("asr_language") == language):
        out: dict[str, Any] = {"asr_text": old["asr_text"], "asr_language": old["asr_language"]}
    else:
        t = metrics.transcribe(wav, language)
        out = {"asr_text": t.text, "asr_language": t.language}
    rate = {"wer": metrics.wer, "cer": metrics.cer}
    for name in wanted:
        out[f"{name}_text"] = rate[name](text, out["asr_text"]) if text else math.nan
        if original is not None:
            out[name] = rate[name](original["asr_text"], out["asr_text"])
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
    language = _WORKER.get("asr_language")
    if kind == "original":
        record = old or {"judges": _judge(wav), "seconds": wav.shape[-1] / MODEL_RATE}
        x = wav[0].numpy()
        _write_json(target, record | score(names, None, x) | asr_entries(names, x, item.text, None,
                                                                          language, record))
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
    original = None
    if any(n in ASR_METRICS for n in names):
        original = json.loads(_original_path(target).read_text())
    _write_json(target, old | score(names, ref, deg)
                | asr_entries(names, deg, item.text, original, language, old))
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


def _original_path(path: Path) -> Path:
    """The original's record beside a reconstruction's (``root/model/rate/x.json`` ->
    ``root/original/x.json``, :func:`cache_path`)."""
    return path.parents[2] / "original" / path.name


def _missing(path: Path, names: Sequence[str], original: bool,
             asr_language: str | None = None) -> tuple[str, ...] | None:
    """The metrics among ``names`` that the record at ``path`` lacks (all of them if there is no
    record), WER / CER also when transcribed in another language than ``asr_language``; None if
    it has them all."""
    if not path.is_file():
        return tuple(names)
    record = json.loads(path.read_text())
    stale = asr_language is not None and record.get("asr_language", asr_language) != asr_language
    lacking = tuple(n for n in names if any(k not in record for k in record_keys([n], original))
                    or (stale and n in ASR_METRICS))
    return lacking or None


def pending_tasks(models: Sequence[ModelSpec], items: Sequence[Utterance], rates: Sequence[float], out: Path,
                  metrics: Sequence[str] = DEFAULT_METRICS, asr_language: str | None = None) -> list[tuple]:
    """The tasks still to run: ``(kind, model name, kbps, item, cache path, metrics to compute)``
    for every record that is missing or lacks one of ``metrics`` (or has WER / CER of another
    language than ``asr_language``)."""
    tasks = []
    for item in items:
        path = cache_path(out, None, None, item)
        if (todo := _missing(path, metrics, True, asr_language)) is not None:
            tasks.append(("original", "", None, item, str(path), todo))
        for model in models:
            for kbps in rates:
                path = cache_path(out, model.cache_name, kbps, item)
                if (todo := _missing(path, metrics, False, asr_language)) is not None:
                    tasks.append(("codec", model.name, kbps, item, str(path), todo))
    return tasks


def run_tasks(models: Sequence[ModelSpec], items: Sequence[Utterance], rates: Sequence[float], out: Path,
              judges: Sequence[str] | None = None, teacher: str | None = None, workers: int = 2,
              progress: Callable[[int, int], None] = lambda done, total: None,
              metrics: Sequence[str] = DEFAULT_METRICS, asr_language: str | None = None) -> int:
    """Run every task whose cache record is missing or lacks one of ``metrics`` (names of
    :data:`METRICS`); returns how many ran. ``asr_language``: the language of the WER / CER
    transcripts (ISO 639-1; None: detected on each original, and its reconstructions decoded in
    the same language)."""
    tasks = pending_tasks(models, items, rates, out, metrics, asr_language)
    if not tasks:
        return 0
    phases = [tasks]
    if any(n in ASR_METRICS for t in tasks if t[0] == "codec" for n in t[-1]):
        # a reconstruction's WER is against its original's transcript: transcribe originals first
        phases = [[t for t in tasks if t[0] == "original"], [t for t in tasks if t[0] != "original"]]
    with WorkerPool(workers, _init_worker, (list(models), judges, teacher, asr_language)) as pool:
        done = 0
        for phase in phases:  # each task writes its own cache file
            pool.map(_task, phase, lambda n, _, start=done: progress(start + n, len(tasks)), ordered=False)
            done += len(phase)
    return len(tasks)
