"""Prosody preservation between original and reconstructed speech (50 Hz prosody frames).

With :class:`~affectcodec.emotion.ProsodyAnalyzer` frames of both signals:

* F0 correlation: Pearson correlation of F0 (Hz) over frames voiced in both, per utterance;
* F0 RMSE in cents: ``sqrt(mean((1200 log2(f0_rec / f0_orig))^2))`` over frames voiced in both,
  pooled over all utterances;
* gross pitch error (GPE): share of frames voiced in both where F0 differs by more than 20 %
  (octave and tracking errors), with the F0 RMSE in cents of the other frames ("fine" RMSE) and
  the median signed F0 difference in cents (a systematic pitch shift shows up there);
* voicing decision error (VDE): share of frames whose voiced/unvoiced decisions differ;
* energy correlation: Pearson correlation of frame energy (dB, floored at -80 dB), per utterance.

Per-utterance correlations are averaged over utterances where they are defined (at least 3
frames and non-constant contours).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec.emotion.prosody import ProsodyAnalyzer

ENERGY_FLOOR_DB = -80.0
GROSS_ERROR = 0.2  # relative F0 deviation above which a frame is a gross pitch error


@dataclass
class ProsodyScores:
    """Aggregated prosody preservation (see the module docstring); NaN where undefined."""

    f0_corr: float
    f0_rmse_cents: float
    f0_rmse_cents_fine: float
    f0_median_cents: float
    gpe: float
    vde: float
    energy_corr: float
    voiced_frames: int
    frames: int
    utterances: int

    def to_dict(self) -> dict:
        return asdict(self)


def _pearson(x: Tensor, y: Tensor) -> float:
    if x.numel() < 3:
        return math.nan
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    den = (x.square().sum() * y.square().sum()).sqrt()
    return float((x * y).sum() / den) if den > 0 else math.nan


class ProsodyPreservation:
    """Accumulates prosody preservation over batches; :meth:`compute` gives the scores.

    Args:
        analyzer: the prosody analyzer (default: :class:`ProsodyAnalyzer` at 16 kHz / 50 Hz).
    """

    def __init__(self, analyzer: ProsodyAnalyzer | None = None):
        self.analyzer = analyzer or ProsodyAnalyzer()
        self._cents: list[Tensor] = []
        self._voiced = self._frames = self._mismatch = 0
        self._f0_corr: list[float] = []
        self._energy_corr: list[float] = []

    @torch.no_grad()
    def update(self, original: Tensor, reconstructed: Tensor, lengths: Tensor | None = None) -> None:
        """Add a batch: original, reconstructed float [B, 1, N] at 16 kHz; lengths [B] samples."""
        if original.shape != reconstructed.shape:
            raise ValueError(f"original {tuple(original.shape)} and reconstructed "
                             f"{tuple(reconstructed.shape)} must have the same shape")
        hop = self.analyzer.hop_length
        pad = -original.shape[-1] % hop
        po = self.analyzer(F.pad(original, (0, pad)))
        pr = self.analyzer(F.pad(reconstructed, (0, pad)))
        t = po.f0_hz.shape[1]
        if lengths is None:
            lengths = torch.full((original.shape[0],), original.shape[-1], dtype=torch.int64)
        frames = torch.div(lengths + hop - 1, hop, rounding_mode="floor").clamp(1, t)
        for b in range(original.shape[0]):
            n = int(frames[b])
            vo, vr = po.voiced[b, :n] > 0, pr.voiced[b, :n] > 0
            both = vo & vr
            self._frames += n
            self._mismatch += int((vo != vr).sum())
            self._voiced += int(both.sum())
            fo, fr = po.f0_hz[b, :n][both], pr.f0_hz[b, :n][both]
            self._cents.append(1200 * torch.log2(fr.double() / fo.double()))
            self._f0_corr.append(_pearson(fo, fr))
            eo = po.energy_db[b, :n].clamp(min=ENERGY_FLOOR_DB)
            er = pr.energy_db[b, :n].clamp(min=ENERGY_FLOOR_DB)
            self._energy_corr.append(_pearson(eo, er))

    def state(self) -> dict:
        """What has been accumulated, as JSON-ready values (to cache per utterance)."""
        return {"cents": [float(c) for t in self._cents for c in t.tolist()], "voiced": self._voiced,
                "frames": self._frames, "mismatch": self._mismatch, "f0_corr": self._f0_corr,
                "energy_corr": self._energy_corr}

    def merge_state(self, state: dict) -> None:
        """Add a :meth:`state` of another accumulator (e.g. one utterance scored elsewhere)."""
        self._cents.append(torch.tensor(state["cents"], dtype=torch.float64))
        self._voiced += int(state["voiced"])
        self._frames += int(state["frames"])
        self._mismatch += int(state["mismatch"])
        self._f0_corr += [float(x) for x in state["f0_corr"]]
        self._energy_corr += [float(x) for x in state["energy_corr"]]

    def compute(self) -> ProsodyScores:
        """The scores over everything added so far."""
        def mean(values: list[float]) -> float:
            ok = [v for v in values if not math.isnan(v)]
            return sum(ok) / len(ok) if ok else math.nan

        cents = torch.cat(self._cents) if self._cents else torch.zeros(0, dtype=torch.float64)
        gross = (2 ** (cents / 1200) - 1).abs() > GROSS_ERROR
        fine = cents[~gross]
        return ProsodyScores(
            f0_corr=mean(self._f0_corr),
            f0_rmse_cents=float(cents.square().mean().sqrt()) if cents.numel() else math.nan,
            f0_rmse_cents_fine=float(fine.square().mean().sqrt()) if fine.numel() else math.nan,
            f0_median_cents=float(cents.median()) if cents.numel() else math.nan,
            gpe=float(gross.double().mean()) if cents.numel() else math.nan,
            vde=self._mismatch / self._frames if self._frames else math.nan,
            energy_corr=mean(self._energy_corr), voiced_frames=self._voiced, frames=self._frames,
            utterances=len(self._f0_corr))


def prosody_preservation(original: Tensor, reconstructed: Tensor,
                         lengths: Tensor | None = None) -> ProsodyScores:
    """Prosody preservation of one batch: float [B, 1, N] each at 16 kHz, lengths [B] samples."""
    acc = ProsodyPreservation()
    acc.update(original, reconstructed, lengths)
    return acc.compute()
