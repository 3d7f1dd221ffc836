"""Aggregation of the per-utterance cache of ``affectcodec eval`` into the results dict."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from affectcodec import audio
from affectcodec.baselines import REFERENCE_CODECS
from affectcodec.data.manifests import Utterance
from affectcodec.eval import bootstrap
from affectcodec.eval.runner import DEFAULT_METRICS, ModelSpec, build_codec, cache_path, record_keys


def _nanmean(values: Sequence[float | None]) -> float:
    ok = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(ok)) if ok else math.nan


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def aggregate(models: Sequence[ModelSpec], items: Sequence[Utterance], rates: Sequence[float], out: Path,
              judges: Sequence[Any], leakage_utterances: int = 200,
              metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, Any]:
    """Means of the signal metrics, judge metrics with EDR/MEDR/WEDR, per-class recall change,
    prosody, leakage probe; 95 % bootstrap intervals (:mod:`.bootstrap`) of the metric means and
    of the EDRs.

    Args:
        models, items, rates: what was run.
        out: the eval folder (its ``cache/`` holds one JSON per task).
        judges: the judges (for their label orders).
        leakage_utterances: utterances used by the leakage probe (the first ones, in order).
        metrics: the signal metrics that were run (names of
            :data:`~affectcodec.eval.runner.METRICS`); each row has the mean of each of their keys,
            and ``originals_metrics`` the means of the no-reference ones over the originals.
            ``ci95`` of a row holds the 95 % interval of each of those means (and of the
            teacher cosine), ``medr_ci95`` / ``wedr_ci95`` (``_adapted`` too) those of MEDR /
            WEDR, and each judge's entry ``edr_macro_ci95`` / ``edr_weighted_ci95`` and
            ``recall_change`` (per class, reconstruction minus original, in label order).
    """
    from affectcodec.eval.emotion import classification_metrics, degradation_rate, recall_change
    from affectcodec.eval.leakage import leakage_probe
    from affectcodec.eval.prosody_metrics import ProsodyPreservation
    from affectcodec.judges.adaptation import SpeakerStats

    originals = [_read(cache_path(out, None, None, it)) for it in items]
    strata = [it.emotion for it in items]
    results: dict[str, Any] = {
        "n_utterances": len(items), "metrics": list(metrics),
        "bootstrap": {"resamples": bootstrap.N_BOOT, "seed": bootstrap.SEED, "interval": "percentile 95 %",
                      "unit": "utterance", "edr_strata": "true emotion"},
        "originals_metrics": {k: _nanmean([o[k] for o in originals])
                              for k in record_keys(metrics, original=True)},
        "originals": {}, "originals_adapted": {}, "models": {}}
    targets, stats = {}, {}
    orig_preds: dict[tuple[str, str], list[int]] = {}  # (mode, judge) -> predictions on the originals
    speakers = sorted({it.speaker for it in items})
    for judge in judges:
        index = {name: i for i, name in enumerate(judge.labels)}
        targets[judge.name] = [index[it.emotion] for it in items]
        pred = [int(np.argmax(o["judges"][judge.name]["proba"])) for o in originals]
        orig_preds["independent", judge.name] = pred
        results["originals"][judge.name] = classification_metrics(
            targets[judge.name], pred, len(index)).to_dict() | {"labels": list(judge.labels)}
        if judge.speaker_head is not None:
            # Speaker statistics from each speaker's *original* utterances (no labels); the same
            # statistics serve originals and reconstructions.
            try:
                stats[judge.name] = {spk: SpeakerStats.from_embeddings(np.array(
                    [o["judges"][judge.name]["embedding"] for o, it in zip(originals, items, strict=True)
                     if it.speaker == spk])) for spk in speakers}
            except ValueError:
                continue  # too few utterances of a speaker: adapted judging is not defined
            pred = _adapted_preds(judge, originals, items, stats[judge.name])
            orig_preds["adapted", judge.name] = pred
            results["originals_adapted"][judge.name] = classification_metrics(
                targets[judge.name], pred, len(index)).to_dict() | {"labels": list(judge.labels)}
    for model in models:
        per_rate = {}
        codec = None
        for kbps in rates:
            recs = [_read(cache_path(out, model.cache_name, kbps, it)) for it in items]
            seconds = sum(r["seconds"] for r in recs)
            file_bytes = [r.get("file_bytes") for r in recs]
            row: dict[str, Any] = {
                "kbps_nominal": kbps,
                "kbps_payload": sum(r["payload_bits"] for r in recs) / seconds / 1000,
                "kbps_file": (sum(file_bytes) * 8 / seconds / 1000) if None not in file_bytes else None,
                **{k: _nanmean([r[k] for r in recs]) for k in (*record_keys(metrics), "teacher_cosine")},
                "ci95": {k: bootstrap.mean_ci([r[k] for r in recs])
                         for k in (*record_keys(metrics), "teacher_cosine")},
            }
            for mode, key in (("independent", "originals"), ("adapted", "originals_adapted")):
                judge_rows, edr_m, edr_w, preds = {}, [], [], {}
                for judge in judges:
                    if judge.name not in results[key]:
                        continue
                    if mode == "independent":
                        pred = [int(np.argmax(r["judges"][judge.name]["proba"])) for r in recs]
                    else:
                        pred = _adapted_preds(judge, recs, items, stats[judge.name])
                    rec = classification_metrics(targets[judge.name], pred, len(judge.labels))
                    orig = results[key][judge.name]
                    em, ew = degradation_rate(orig["uar"], rec.uar), degradation_rate(orig["wa"], rec.wa)
                    judge_rows[judge.name] = rec.to_dict() | {
                        "edr_macro": em, "edr_weighted": ew,
                        "recall_change": recall_change(orig["confusion"], rec.confusion)}
                    edr_m.append(em)
                    edr_w.append(ew)
                    preds[judge.name] = pred
                suffix = "" if mode == "independent" else "_adapted"
                row[f"judges{suffix}"] = judge_rows
                row[f"medr{suffix}"], row[f"wedr{suffix}"] = _nanmean(edr_m), _nanmean(edr_w)
                names = list(preds)
                ci = bootstrap.edr_ci([targets[n] for n in names], [orig_preds[mode, n] for n in names],
                                      [preds[n] for n in names],
                                      [len(judge_rows[n]["recall"]) for n in names], strata)
                for n, macro, weighted in zip(names, ci["edr_macro"], ci["edr_weighted"], strict=True):
                    judge_rows[n] |= {"edr_macro_ci95": macro, "edr_weighted_ci95": weighted}
                row[f"medr{suffix}_ci95"], row[f"wedr{suffix}_ci95"] = ci["medr"], ci["wedr"]
            prosody = ProsodyPreservation()
            for r in recs:
                prosody.merge_state(r["prosody"])
            row["prosody"] = prosody.compute().to_dict()
            code_files = [cache_path(out, model.cache_name, kbps, it).with_suffix(".codes.npy")
                          for it in items]
            if all(p.is_file() for p in code_files[:leakage_utterances]) and len(items) >= 2:
                codec = codec or build_codec(model)
                row["leakage"] = _leakage(codec, items[:leakage_utterances], code_files, leakage_probe)
            per_rate[f"{kbps:g}"] = row
        results["models"][model.name] = {"path": model.path, "reference": model.path in REFERENCE_CODECS,
                                         "rates": per_rate}
    return results


def _adapted_preds(judge, records, items, stats) -> list[int]:
    """Speaker-adapted predictions from cached embeddings, each item with its speaker's statistics."""
    preds = []
    for r, it in zip(records, items, strict=True):
        emb = torch.tensor([r["judges"][judge.name]["embedding"]])
        preds.append(int(judge.speaker_head.proba(emb, stats[it.speaker]).argmax(-1)[0]))
    return preds


def _leakage(codec, items, code_files, probe) -> dict[str, float]:
    codes, wavs = [], []
    for item, file in zip(items, code_files, strict=False):
        tokens = torch.from_numpy(np.load(file).astype(np.int64))[None]
        wav = audio.load(item.audio_path)[0]
        codes.append(codec.codes(tokens, torch.tensor([wav.numel()])))
        wavs.append(wav)
    return {part: probe(codes, wavs, part).r2 for part in ("emotion", "acoustic")}
