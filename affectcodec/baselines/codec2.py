"""Codec2 (D. Rowe's low-rate speech codec) through ``c2enc`` / ``c2dec``, at 8 kHz.

Codec2 codes narrowband (8 kHz) speech: the 16 kHz input is resampled to 8 kHz, coded as raw
16-bit PCM, and the output resampled back. Modes: 1,600 bit/s for the 1.5 kbit/s row and
3,200 bit/s (its highest) for the 3 and 6 kbit/s rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from affectcodec import audio
from affectcodec.audio import MODEL_RATE
from affectcodec.baselines.external import ExternalCodec, from_pcm16, to_pcm16


class Codec2(ExternalCodec):
    """Codec2 at 1,600 / 3,200 / 3,200 bit/s for 1.5 / 3 / 6 kbit/s."""

    name = "codec2"
    programs = ("c2enc", "c2dec")
    debian_package = "codec2"
    modes = {1.5: 1600, 3.0: 3200, 6.0: 3200}

    def _encode_file(self, pcm: np.ndarray, mode: int, tmp: Path) -> bytes:
        narrow = audio.resample(torch.from_numpy(pcm)[None], MODEL_RATE, 8000)[0].numpy()
        (tmp / "in.raw").write_bytes(to_pcm16(narrow))
        self._run("c2enc", str(mode), str(tmp / "in.raw"), str(tmp / "out.bit"))
        return (tmp / "out.bit").read_bytes()

    def _decode_file(self, data: bytes, mode: int, tmp: Path) -> np.ndarray:
        (tmp / "in.bit").write_bytes(data)
        self._run("c2dec", str(mode), str(tmp / "in.bit"), str(tmp / "out.raw"))
        narrow = from_pcm16((tmp / "out.raw").read_bytes())
        return audio.resample(torch.from_numpy(narrow)[None], 8000, MODEL_RATE)[0].numpy()
