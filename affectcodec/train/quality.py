"""Objective quality of reconstructions during validation: PESQ (wide band) and STOI.

Thin wrappers over the reference implementations (``pesq`` by Wang et al., ITU-T P.862.2, and
``pystoi``) that skip items those implementations cannot score (for instance PESQ raises on
clips without detectable speech) instead of failing a validation run.
"""

from __future__ import annotations

import math

import numpy as np

from affectcodec.audio import MODEL_RATE


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, sample_rate: int = MODEL_RATE) -> float:
    """PESQ-wb (MOS-LQO, about 1.0-4.6) of 1-D float arrays at 16 kHz; NaN if unscorable."""
    from pesq import PesqError, pesq

    if sample_rate != MODEL_RATE:
        raise ValueError(f"PESQ-wb needs 16 kHz audio, got {sample_rate} Hz")
    try:
        return float(pesq(sample_rate, reference.astype(np.float32),
                          degraded.astype(np.float32), "wb"))
    except PesqError:
        return math.nan


def stoi(reference: np.ndarray, degraded: np.ndarray, sample_rate: int = MODEL_RATE) -> float:
    """STOI (0-1) of 1-D float arrays; NaN for clips shorter than its 30-frame analysis."""
    from pystoi import stoi as _stoi

    value = float(_stoi(reference, degraded, sample_rate, extended=False))
    return value if math.isfinite(value) else math.nan
