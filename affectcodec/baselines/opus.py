"""Opus (RFC 6716) through opus-tools' ``opusenc`` / ``opusdec``, at its lowest rate, 6 kbit/s.

``--hard-cbr`` keeps the rate at the target. The coded file is an Ogg Opus stream, so on short
utterances the Ogg framing and headers add 2-3 kbit/s to the 6 kbit/s of the packets; reports
show that actual file rate. Opus has no mode below 6 kbit/s: the 1.5 and 3 kbit/s rows are the
6 kbit/s stream too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from affectcodec.audio import MODEL_RATE
from affectcodec.baselines.external import ExternalCodec


class Opus(ExternalCodec):
    """Opus at 6 kbit/s (wideband, hard CBR) for every nominal rate."""

    name = "opus"
    programs = ("opusenc", "opusdec")
    debian_package = "opus-tools"
    modes = {1.5: 6, 3.0: 6, 6.0: 6}

    def _encode_file(self, pcm: np.ndarray, mode: int, tmp: Path) -> bytes:
        sf.write(tmp / "in.wav", pcm, MODEL_RATE, subtype="PCM_16")
        self._run("opusenc", "--quiet", "--hard-cbr", "--bitrate", str(mode), str(tmp / "in.wav"),
                  str(tmp / "out.opus"))
        return (tmp / "out.opus").read_bytes()

    def _decode_file(self, data: bytes, mode: int, tmp: Path) -> np.ndarray:
        (tmp / "in.opus").write_bytes(data)
        self._run("opusdec", "--quiet", "--rate", str(MODEL_RATE), str(tmp / "in.opus"), str(tmp / "out.wav"))
        pcm, _ = sf.read(tmp / "out.wav", dtype="float32", always_2d=True)
        return pcm.mean(axis=1)
