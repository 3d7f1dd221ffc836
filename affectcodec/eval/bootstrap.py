"""Bootstrap confidence intervals over utterances: metric means and emotion degradation rates.

Every interval here is a 95 % percentile interval: the 2.5th and 97.5th percentiles of the
statistic over ``n_boot`` resamples of the utterances, drawn with replacement. A metric's mean
(:func:`mean_ci`) resamples all utterances alike. The EDRs (:func:`edr_ci`) resample *within each
true emotion* (a stratified bootstrap): every resample keeps the split's class composition, as
UAR weighs classes equally whatever their counts, and no class drops out of a resample (with a
single utterance of an emotion that emotion adds no spread: read intervals of tiny runs
accordingly). Originals and reconstructions are resampled together (paired: one resample draws
the same utterances for both, and for every judge), and with a fixed seed the same draws serve
every model and rate of a run. Vectorised: a resample is a row of multiplicities
``W [n_boot, U]``, and each statistic is a weighted sum over utterances.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

import numpy as np

#: Resamples and seed of ``affectcodec eval``'s intervals (recorded in its results).
N_BOOT = 1000
SEED = 0


def resample_weights(strata: Sequence[Hashable], n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """Multiplicities of a stratified bootstrap: float [n_boot, U], row ``b`` giving how often
    each of the ``U`` items is drawn in resample ``b``; each stratum (items of one value of
    ``strata``) draws as many items as it has, with replacement, from its own items."""
    strata = list(strata)
    u = len(strata)
    rng = np.random.default_rng(seed)
    weights = np.zeros(n_boot * u)
    rows = np.arange(n_boot)[:, None] * u
    for value in sorted(set(strata), key=str):
        members = np.array([i for i, s in enumerate(strata) if s == value])
        pick = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
        weights += np.bincount((rows + pick).ravel(), minlength=n_boot * u)
    return weights.reshape(n_boot, u)


def _percentiles(stat: np.ndarray) -> list[float] | None:
    stat = stat[np.isfinite(stat)]
    if stat.size == 0:
        return None
    return [float(np.percentile(stat, 2.5)), float(np.percentile(stat, 97.5))]


def mean_ci(values: Sequence[float | None], strata: Sequence[Hashable] | None = None,
            n_boot: int = N_BOOT, seed: int = SEED) -> list[float] | None:
    """95 % bootstrap interval ``[low, high]`` of the mean of ``values`` (one per utterance).

    Args:
        values: per-utterance scores; None and NaN (a clip the metric cannot score) are left
            out, as they are of the mean itself.
        strata: the true emotion of each utterance (None: one stratum).
        n_boot, seed: resamples and the generator's seed.

    Returns:
        None when fewer than 2 values are defined.
    """
    strata = [0] * len(values) if strata is None else list(strata)
    if len(strata) != len(values):
        raise ValueError("values and strata must have one entry per utterance")
    ok = [(float(v), s) for v, s in zip(values, strata, strict=True)
          if v is not None and math.isfinite(float(v))]
    if len(ok) < 2:
        return None
    x = np.array([v for v, _ in ok])
    w = resample_weights([s for _, s in ok], n_boot, seed)
    return _percentiles(w @ x / w.sum(1))


def _recalls(weights: np.ndarray, target: np.ndarray, correct: np.ndarray,
             num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """UAR and WA [n_boot] of each resample (classes without items left out of UAR, as in
    :func:`~affectcodec.eval.emotion.classification_metrics`)."""
    onehot = np.eye(num_classes)[target]  # [U, C]
    support = weights @ onehot  # [n_boot, C]
    hits = weights @ (onehot * correct[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
    uar = np.nanmean(recall, axis=1)
    wa = (weights @ correct) / weights.sum(1)
    return uar, wa


def _rate(original: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(original > 0, 100.0 * (original - reconstructed) / original, np.nan)


def edr_ci(target: Sequence[Sequence[int]], original: Sequence[Sequence[int]],
           reconstructed: Sequence[Sequence[int]], num_classes: Sequence[int],
           strata: Sequence[Hashable], n_boot: int = N_BOOT, seed: int = SEED) -> dict[str, list]:
    """95 % bootstrap intervals of each judge's EDR_macro / EDR_weighted and of MEDR / WEDR.

    Args:
        target: per judge, the true class index of each utterance (``[J][U]``, in the judge's
            label order).
        original, reconstructed: per judge, its predicted class indices on the originals and on
            the reconstructions of the same utterances ``[J][U]``.
        num_classes: per judge, its number of classes ``[J]``.
        strata: the true emotion of each utterance ``[U]`` (the resampling strata).
        n_boot, seed: resamples and the generator's seed.

    Returns:
        ``{"edr_macro": [J] intervals, "edr_weighted": [J] intervals, "medr": interval,
        "wedr": interval}``, each interval ``[low, high]`` in percent, or None when undefined
        (a judge that recognises none of the originals in every resample, or under 2
        utterances). MEDR / WEDR of a resample are the means over the judges whose EDR is
        defined in it, as for the point figures.
    """
    n = len(strata)
    if n < 2 or not target:
        return {"edr_macro": [None] * len(target), "edr_weighted": [None] * len(target),
                "medr": None, "wedr": None}
    w = resample_weights(strata, n_boot, seed)
    macro, weighted = [], []
    for t, o, r, c in zip(target, original, reconstructed, num_classes, strict=True):
        t, o, r = (np.asarray(a, dtype=np.int64) for a in (t, o, r))
        if not (len(t) == len(o) == len(r) == n):
            raise ValueError("every judge needs one target and two predictions per utterance")
        uar_o, wa_o = _recalls(w, t, (o == t).astype(float), c)
        uar_r, wa_r = _recalls(w, t, (r == t).astype(float), c)
        macro.append(_rate(uar_o, uar_r))
        weighted.append(_rate(wa_o, wa_r))
    macro_a, weighted_a = np.stack(macro), np.stack(weighted)  # [J, n_boot]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no judge's EDR is defined
        medr, wedr = np.nanmean(macro_a, axis=0), np.nanmean(weighted_a, axis=0)
    return {"edr_macro": [_percentiles(m) for m in macro_a],
            "edr_weighted": [_percentiles(m) for m in weighted_a],
            "medr": _percentiles(medr), "wedr": _percentiles(wedr)}


def bootstrap_difference(sentences: Sequence[str], x: Sequence[bool], y: Sequence[bool],
                         n_boot: int = 2000, seed: int = 0) -> list[float] | None:
    """95 % percentile interval of ``mean(x) - mean(y)`` over paired outcomes, resampling sentences
    (a cluster bootstrap: the pairs of a sentence are not independent).

    Args:
        sentences: the sentence of each pair (the resampling unit).
        x, y: paired outcomes (e.g. swap and control "moved to B"), one per pair.
    """
    names = sorted(set(sentences))
    if len(names) < 2:
        return None
    index = {s: i for i, s in enumerate(names)}
    g = np.array([index[s] for s in sentences])
    n = np.bincount(g, minlength=len(names)).astype(float)
    d = np.bincount(g, weights=np.asarray(x, float) - np.asarray(y, float), minlength=len(names))
    pick = np.random.default_rng(seed).integers(0, len(names), size=(n_boot, len(names)))
    diffs = d[pick].sum(1) / n[pick].sum(1)
    return [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))]
