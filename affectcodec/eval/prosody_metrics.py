"""Prosody preservation between original and reconstructed speech (50 Hz prosody frames).

F0 and voicing come from Praat (:func:`affectcodec.praat.pitch_track`, the field's tracker; the
project's own :class:`~affectcodec.emotion.ProsodyAnalyzer` with ``tracker="analyzer"``), frame
energy from the analyzer, on the same 50 Hz frames of both signals:

* F0 correlation: Pearson correlation of F0 (Hz) over frames voiced in both, per utterance;
* F0 RMSE in cents: ``sqrt(mean((1200 log2(f0_rec / f0_orig))^2))`` over frames voiced in both,
  pooled over all utterances;
* gross pitch error (GPE): share of frames voiced in both where F0 differs by more than 20 %
  (octave and tracking errors), with the F0 RMSE in cents of the other frames ("fine" RMSE) and
  the median signed F0 difference in cents (a systematic pitch shift shows up there);
* voicing decision error (VDE): share of frames whose voiced/unvoiced decisions differ;
* energy correlation: Pearson correlation of frame energy (dB, floored at -80 dB), per utterance;
* voice quality: mean absolute difference, over utterances, of Praat's local jitter (%), local
  shimmer (%) and harmonics-to-noise ratio (dB) (:func:`affectcodec.praat.voice_quality`).

Per-utterance correlations are averaged over utterances where they are defined (at least 3
frames and non-constant contours).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec import praat
from affectcodec.emotion.prosody import ProsodyAnalyzer

TRACKERS = ("praat", "analyzer")

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
    jitter_diff: float
    shimmer_diff: float
    hnr_diff_db: float
    voiced_frames: int
    frames: int
    utterances: int
    tracker: str

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
        analyzer: the prosody analyzer (default: :class:`ProsodyAnalyzer` at 16 kHz / 50 Hz):
            frame energy, and F0 with ``tracker="analyzer"``.
        tracker: where F0 and voicing come from: ``"praat"`` (default) or ``"analyzer"``.
    """

    def __init__(self, analyzer: ProsodyAnalyzer | None = None, tracker: str = "praat"):
        if tracker not in TRACKERS:
            raise ValueError(f"tracker must be one of {TRACKERS}, got {tracker!r}")
        self.analyzer = analyzer or ProsodyAnalyzer()
        self.tracker = tracker
        self._cents: list[Tensor] = []
        self._voiced = self._frames = self._mismatch = 0
        self._f0_corr: list[float] = []
        self._energy_corr: list[float] = []
        self._quality: list[list[float]] = []  # per utterance: |d jitter|, |d shimmer|, |d HNR|

    def _praat_frames(self, wav: Tensor, frames: int, lengths: Tensor) -> tuple[Tensor, Tensor]:
        f0, voiced = torch.zeros(wav.shape[0], frames), torch.zeros(wav.shape[0], frames)
        for b in range(wav.shape[0]):  # each item's own samples: Praat's path search is global
            y = wav[b, 0, : int(lengths[b])].double().cpu().numpy()
            f, v = praat.pitch_track(y, self.analyzer.sample_rate)
            k = min(len(f), frames)
            f0[b, :k], voiced[b, :k] = torch.from_numpy(f[:k]), torch.from_numpy(v[:k] * 1.0)
        return f0, voiced

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
        if self.tracker == "praat":
            (f0o, vo_all), (f0r, vr_all) = (self._praat_frames(x, t, lengths)
                                            for x in (original, reconstructed))
        else:
            f0o, vo_all, f0r, vr_all = po.f0_hz, po.voiced, pr.f0_hz, pr.voiced
        for b in range(original.shape[0]):
            n = int(frames[b])
            vo, vr = vo_all[b, :n] > 0, vr_all[b, :n] > 0
            both = vo & vr
            self._frames += n
            self._mismatch += int((vo != vr).sum())
            self._voiced += int(both.sum())
            fo, fr = f0o[b, :n][both], f0r[b, :n][both]
            self._cents.append(1200 * torch.log2(fr.double() / fo.double()))
            self._f0_corr.append(_pearson(fo, fr))
            eo = po.energy_db[b, :n].clamp(min=ENERGY_FLOOR_DB)
            er = pr.energy_db[b, :n].clamp(min=ENERGY_FLOOR_DB)
            self._energy_corr.append(_pearson(eo, er))
            end = int(lengths[b])
            qo, qr = (praat.voice_quality(x[b, 0, :end].double().cpu().numpy(), self.analyzer.sample_rate)
                      for x in (original, reconstructed))
            self._quality.append([abs(qr.jitter_percent - qo.jitter_percent),
                                  abs(qr.shimmer_percent - qo.shimmer_percent),
                                  abs(qr.hnr_db - qo.hnr_db)])

    def state(self) -> dict:
        """What has been accumulated, as JSON-ready values (to cache per utterance)."""
        return {"cents": [float(c) for t in self._cents for c in t.tolist()], "voiced": self._voiced,
                "frames": self._frames, "mismatch": self._mismatch, "f0_corr": self._f0_corr,
                "energy_corr": self._energy_corr, "quality": self._quality, "tracker": self.tracker}

    def merge_state(self, state: dict) -> None:
        """Add a :meth:`state` of another accumulator (e.g. one utterance scored elsewhere)."""
        if state.get("tracker", "analyzer") != self.tracker:
            raise ValueError(f"a state of the {state.get('tracker', 'analyzer')!r} tracker cannot "
                             f"join one of {self.tracker!r}")
        self._cents.append(torch.tensor(state["cents"], dtype=torch.float64))
        self._voiced += int(state["voiced"])
        self._frames += int(state["frames"])
        self._mismatch += int(state["mismatch"])
        self._f0_corr += [float(x) for x in state["f0_corr"]]
        self._energy_corr += [float(x) for x in state["energy_corr"]]
        self._quality += [[float(v) for v in q] for q in state.get("quality", [])]

    def compute(self) -> ProsodyScores:
        """The scores over everything added so far."""
        def mean(values: list[float]) -> float:
            ok = [v for v in values if not math.isnan(v)]
            return sum(ok) / len(ok) if ok else math.nan

        cents = torch.cat(self._cents) if self._cents else torch.zeros(0, dtype=torch.float64)
        gross = (2 ** (cents / 1200) - 1).abs() > GROSS_ERROR
        fine = cents[~gross]
        quality = np.array(self._quality, dtype=np.float64).reshape(-1, 3)

        def column(i: int) -> float:
            ok = quality[np.isfinite(quality[:, i]), i]
            return float(ok.mean()) if ok.size else math.nan

        return ProsodyScores(
            f0_corr=mean(self._f0_corr),
            f0_rmse_cents=float(cents.square().mean().sqrt()) if cents.numel() else math.nan,
            f0_rmse_cents_fine=float(fine.square().mean().sqrt()) if fine.numel() else math.nan,
            f0_median_cents=float(cents.median()) if cents.numel() else math.nan,
            gpe=float(gross.double().mean()) if cents.numel() else math.nan,
            vde=self._mismatch / self._frames if self._frames else math.nan,
            energy_corr=mean(self._energy_corr), jitter_diff=column(0), shimmer_diff=column(1),
            hnr_diff_db=column(2), voiced_frames=self._voiced, frames=self._frames,
            utterances=len(self._f0_corr), tracker=self.tracker)


def prosody_preservation(original: Tensor, reconstructed: Tensor,
                         lengths: Tensor | None = None, tracker: str = "praat") -> ProsodyScores:
    """Prosody preservation of one batch: float [B, 1, N] each at 16 kHz, lengths [B] samples."""
    acc = ProsodyPreservation(tracker=tracker)
    acc.update(original, reconstructed, lengths)
    return acc.compute()
