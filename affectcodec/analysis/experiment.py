"""The emotion-aware quantization experiment: RVQ analysis, emotion-aware codebooks, Emo-Q.

Inputs are utterances already turned into frame features (see :mod:`.features`) with their
emotion labels and split; :func:`run_analysis` fits everything on the ``train`` utterances and
measures on the ``valid`` ones, returning one JSON-ready dict (see :mod:`.report` for the
tables and plots made from it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from affectcodec.analysis.codebooks import balanced_mix, biased_mix, draw_frames, specific_mix
from affectcodec.analysis.emoq import BALANCED, EmoQ
from affectcodec.analysis.feature_metrics import code_usage, cosine_by_layer, per_emotion_mean
from affectcodec.analysis.feature_rvq import FeatureRVQ
from affectcodec.analysis.probe import SERProbe


@dataclass
class Utterance:
    """One utterance's frame features float [T, D], its emotion and its split."""

    features: Tensor
    emotion: str
    split: str


@dataclass
class AnalysisConfig:
    """What to measure.

    Attributes:
        configs: RVQ configurations as ``[codebook_size, layers]`` pairs.
        eval_layers: cumulative layer counts at which quantized features are scored.
        fit_frames: frames drawn from the train split to fit each RVQ (a budget, for speed).
        epochs: passes over those frames (EMA updates).
        aware_codebook_size, aware_layers: configuration of the emotion-aware codebooks.
        aware_budget: frames each emotion-aware codebook set is trained on (matched budget).
        biased_shares: dominant-emotion shares of the emotion-biased codebooks.
        score: Emo-Q's fit score, ``"l2"`` or ``"cosine"``.
        frame_rate: feature frames per second (for bitrates).
        seed: seed of every draw and fit.
    """

    configs: list[list[int]] = field(default_factory=lambda: [[2, 24], [16, 24], [128, 24], [1024, 24]])
    eval_layers: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 24])
    fit_frames: int = 40000
    epochs: int = 2
    aware_codebook_size: int = 64
    aware_layers: int = 8
    aware_budget: int = 20000
    biased_shares: list[float] = field(default_factory=lambda: [0.95, 0.99])
    score: str = "l2"
    frame_rate: float = 50.0
    seed: int = 0


def _split(utterances: Sequence[Utterance], split: str) -> list[Utterance]:
    out = [u for u in utterances if u.split == split]
    if not out:
        raise ValueError(f"no utterances in split {split!r}")
    return out


def _probe_dict(scores) -> dict[str, Any]:
    return {"uar": scores.uar, "macro_f1": scores.macro_f1, "to_neutral": scores.to_neutral,
            "recall": dict(zip(scores.labels, scores.recall, strict=True)), "confusion": scores.confusion}


def run_analysis(utterances: Sequence[Utterance], config: AnalysisConfig,
                 progress: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    """Fit on ``train``, measure on ``valid``; returns the results dict."""
    train, valid = _split(utterances, "train"), _split(utterances, "valid")
    labels = sorted({u.emotion for u in train})
    dim = train[0].features.shape[1]
    valid_x = [u.features for u in valid]
    valid_y = [u.emotion for u in valid]
    gen_seed = config.seed
    by_label = {label: torch.cat([u.features for u in train if u.emotion == label]) for label in labels}
    all_train = torch.cat([u.features for u in train])

    progress("probe on unquantized features")
    probe = SERProbe(labels, seed=config.seed).fit([u.features for u in train], [u.emotion for u in train])
    results: dict[str, Any] = {
        "config": asdict(config), "labels": labels, "feature_dim": dim,
        "n_train": len(train), "n_valid": len(valid),
        "unquantized": _probe_dict(probe.score(valid_x, valid_y)),
        "rvq": [], "emotion_aware": {},
    }

    for codebook_size, layers in config.configs:
        progress(f"RVQ {codebook_size} x {layers}")
        rvq = FeatureRVQ(dim, codebook_size, layers, seed=config.seed)
        rvq.fit(draw_frames({"all": all_train}, {"all": 1.0}, min(config.fit_frames, len(all_train)),
                            seed=gen_seed), epochs=config.epochs)
        quantized = rvq.quantize_many(valid_x)
        eval_layers = [m for m in config.eval_layers if m <= layers]
        pairs = zip(valid_x, valid_y, quantized, strict=True)
        per_emotion = per_emotion_mean((y, cosine_by_layer(x, q.cumulative)) for x, y, q in pairs)
        indices = torch.cat([q.indices for q in quantized])
        entropy, utilisation = code_usage(indices, codebook_size)
        usage_by_emotion = {}
        for label in labels:
            idx = torch.cat([q.indices for q, y in zip(quantized, valid_y, strict=True) if y == label])
            h, u = code_usage(idx, codebook_size)
            usage_by_emotion[label] = {"entropy": h.tolist(), "utilisation": u.tolist()}
        task = {}
        for m in eval_layers:
            scores = probe.score([q.cumulative[m - 1] for q in quantized], valid_y)
            task[str(m)] = {"kbps": rvq.kbps(config.frame_rate, m), **_probe_dict(scores)}
        results["rvq"].append({
            "codebook_size": codebook_size, "layers": layers,
            "cosine_by_emotion": {k: v.tolist() for k, v in per_emotion.items()},
            "entropy": entropy.tolist(), "utilisation": utilisation.tolist(),
            "usage_by_emotion": usage_by_emotion, "task": task,
        })

    progress("emotion-aware codebooks")
    k, layers, budget = config.aware_codebook_size, config.aware_layers, config.aware_budget

    def fit(mix: dict[str, float], seed_offset: int) -> FeatureRVQ:
        frames = draw_frames(by_label, mix, budget, seed=config.seed + seed_offset)
        return FeatureRVQ(dim, k, layers, seed=config.seed).fit(frames, epochs=config.epochs)

    balanced = fit(balanced_mix(labels), 0)
    sets = {"specific": {label: fit(specific_mix(label, labels), 1 + i) for i, label in enumerate(labels)}}
    for share in config.biased_shares:
        sets[f"biased_{share:g}"] = {label: fit(biased_mix(label, labels, share), 100 + i)
                                     for i, label in enumerate(labels)}
    aware: dict[str, Any] = {"codebook_size": k, "layers": layers, "budget_frames": budget}
    aware["by_layers"] = evaluate_emoq(balanced, sets, probe, valid_x, valid_y,
                                       [m for m in config.eval_layers if m <= layers], config, progress)
    results["emotion_aware"] = aware
    return results


def evaluate_emoq(balanced: FeatureRVQ, sets: dict[str, dict[str, FeatureRVQ]], probe: SERProbe,
                  valid_x: Sequence[Tensor], valid_y: Sequence[str], eval_layers: Sequence[int],
                  config: AnalysisConfig, progress: Callable[[str], None] = lambda msg: None
                  ) -> dict[str, dict[str, Any]]:
    """The probe's scores on the balanced codebook's and on every Emo-Q router's reconstructions.

    Every valid utterance is quantized once per distinct codebook (the balanced one is shared by
    all sets, all routers and all depths); the routers choose among these cached reconstructions
    with :meth:`EmoQ.route_from`, which is exactly what :meth:`EmoQ.route` computes, without
    re-quantizing per depth and per router.

    Returns:
        ``{str(m): row}`` per depth ``m``: ``kbps``, ``balanced`` and ``emoq_<set>[_filtered]``.
    """
    progress("emotion-aware codebooks: quantizing the valid split")
    codebooks = {(BALANCED, BALANCED): balanced}
    codebooks.update({(name, label): rvq for name, specialised in sets.items()
                      for label, rvq in specialised.items()})
    recon: dict[tuple[str, str], dict[int, list[Tensor]]] = {}
    for key, rvq in codebooks.items():
        quantized = rvq.quantize_many(valid_x)
        # Clones keep only the evaluated depths, not every layer of every batch.
        recon[key] = {m: [q.cumulative[m - 1].clone() for q in quantized] for m in eval_layers}
        del quantized
    progress("emotion-aware codebooks: Emo-Q routing")
    by_layers: dict[str, dict[str, Any]] = {}
    for m in eval_layers:
        row: dict[str, Any] = {"kbps": balanced.kbps(config.frame_rate, m)}
        row["balanced"] = _probe_dict(probe.score(recon[BALANCED, BALANCED][m], valid_y))
        for name, specialised in sets.items():
            candidates = {label: recon[name, label][m] for label in specialised}
            candidates[BALANCED] = recon[BALANCED, BALANCED][m]
            for filtered in (False, True):
                router = EmoQ(specialised, balanced, score=config.score, filtered=filtered)
                routes = [router.route_from(x, {c: r[i] for c, r in candidates.items()})
                          for i, x in enumerate(valid_x)]
                scores = probe.score([r.reconstruction for r in routes], valid_y)
                chosen = [r.choice for r in routes]
                routed = [c != BALANCED for c in chosen]
                hits = [c == y for c, y in zip(chosen, valid_y, strict=True) if c != BALANCED]
                key = f"emoq_{name}{'_filtered' if filtered else ''}"
                row[key] = {**_probe_dict(scores),
                            "routed_share": sum(routed) / len(routed),
                            "route_accuracy": (sum(hits) / len(hits)) if hits else math.nan,
                            "route_counts": {c: chosen.count(c) for c in sorted(set(chosen))}}
        by_layers[str(m)] = row
    return by_layers
