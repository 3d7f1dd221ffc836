"""A codec run through its command-line encoder and decoder, as a :class:`~affectcodec.Codec`.

The reference codecs (Opus, Codec2) are programs, not models. To stand beside AffectCodec in
every report they are wrapped so that :meth:`encode` returns :class:`~affectcodec.Codes` whose
tokens are the bytes of the coded file (``[1, 1, n_bytes]``, cardinality 256): the payload
bitrate an evaluation reports for them is then exactly their file's bitrate, container
framing included. They offer the project's nominal rates (1.5 / 3 / 6 kbit/s), each mapped to
the codec's nearest mode (:attr:`ExternalCodec.modes`); reports show the actual rate.

One item at a time (``B = 1``): a padded batch of byte streams has no meaning here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from abc import abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from affectcodec import audio
from affectcodec.audio import MODEL_RATE
from affectcodec.codes import Codes
from affectcodec.errors import AffectCodecError
from affectcodec.interface import Codec

#: Nominal rates offered, kbit/s (the project's rate points).
NOMINAL_RATES = (1.5, 3.0, 6.0)


class ExternalCodecError(AffectCodecError, RuntimeError):
    """The codec's programs are missing or failed."""


class ExternalCodec(Codec):
    """Base of the command-line reference codecs.

    Subclasses set :attr:`name`, :attr:`programs` and :attr:`modes` (nominal kbit/s -> the
    codec's own mode) and implement :meth:`_encode_file` / :meth:`_decode_file`.
    """

    name: str = ""
    #: Executables that must be on PATH.
    programs: tuple[str, ...] = ()
    #: Nominal rate (kbit/s) -> the codec's mode (its own bitrate setting).
    modes: dict[float, int] = {}
    #: The Debian package that provides :attr:`programs` (named in the skip message).
    debian_package: str = ""

    @classmethod
    def available(cls) -> bool:
        """Whether every program the codec needs is on PATH."""
        return all(shutil.which(p) for p in cls.programs)

    @classmethod
    def missing_message(cls) -> str:
        return (f"{cls.name}: skipped, {' / '.join(cls.programs)} not found (Debian: apt-get install "
                f"{cls.debian_package})")

    @property
    def sample_rate(self) -> int:
        return MODEL_RATE

    @property
    def hop_length(self) -> int:
        return 1  # tokens are bytes, not frames

    @property
    def num_stages(self) -> int:
        return len(NOMINAL_RATES)

    @property
    def cardinality(self) -> int:
        return 256

    @property
    def rate_stages(self) -> tuple[int, ...]:
        return tuple(range(1, len(NOMINAL_RATES) + 1))

    @property
    def bitrates(self) -> list[float]:
        return list(NOMINAL_RATES)

    def encode(self, wav: Tensor | np.ndarray, sample_rate: int | None = None,
               lengths: Tensor | None = None, kbps: float | None = None,
               n_stages: int | None = None) -> Codes:
        """Audio ``[N]``, ``[1, N]`` or ``[1, C, N]`` -> Codes with tokens int64 [1, 1, n_bytes]
        (the coded file, its first byte the index of the mode in :attr:`NOMINAL_RATES`)."""
        stage = self.stages_for(kbps, n_stages)
        sample_rate = MODEL_RATE if sample_rate is None else int(sample_rate)
        x, lengths = audio.prepare(wav, sample_rate, MODEL_RATE, lengths)
        if x.shape[0] != 1:
            raise ValueError(f"{self.name} codes one item at a time, got a batch of {x.shape[0]}")
        pcm = x[0, 0, : int(lengths[0])].cpu().numpy()
        mode = self.modes[NOMINAL_RATES[stage - 1]]
        with tempfile.TemporaryDirectory(prefix=f"affectcodec-{self.name}-") as tmp:
            payload = self._encode_file(pcm, mode, Path(tmp))
        data = np.frombuffer(bytes([stage - 1]) + payload, dtype=np.uint8).astype(np.int64)
        return self.codes(torch.from_numpy(data).reshape(1, 1, -1), lengths.cpu(),
                          source_sample_rate=sample_rate)

    def decode(self, codes: Codes, sample_rate: int | None = None) -> Tensor:
        """Codes from :meth:`encode` -> float32 [1, 1, N] (N = the encoded length)."""
        if codes.tokens.shape[:2] != (1, 1):
            raise ValueError(f"{self.name} decodes tokens [1, 1, n_bytes], got {tuple(codes.tokens.shape)}")
        data = bytes(codes.tokens.reshape(-1).to(torch.uint8).tolist())
        if not data or data[0] >= len(NOMINAL_RATES):
            raise ValueError(f"{self.name}: not a stream this wrapper wrote")
        mode, n = self.modes[NOMINAL_RATES[data[0]]], int(codes.lengths[0])
        with tempfile.TemporaryDirectory(prefix=f"affectcodec-{self.name}-") as tmp:
            pcm = self._decode_file(data[1:], mode, Path(tmp))
        out = np.zeros(n, dtype=np.float32)
        out[: min(n, pcm.size)] = pcm[:n]
        return audio.finish_decode(torch.from_numpy(out).reshape(1, 1, -1), codes.lengths,
                                   MODEL_RATE, sample_rate)

    def _run(self, *args: str) -> None:
        try:
            subprocess.run(args, check=True, capture_output=True, timeout=600)
        except FileNotFoundError as exc:
            raise ExternalCodecError(self.missing_message()) from exc
        except subprocess.CalledProcessError as exc:
            reason = exc.stderr.decode(errors="replace").strip()
            raise ExternalCodecError(f"{args[0]} failed: {reason}") from exc

    @abstractmethod
    def _encode_file(self, pcm: np.ndarray, mode: int, tmp: Path) -> bytes:
        """float32 [n] at 16 kHz -> the coded file's bytes."""

    @abstractmethod
    def _decode_file(self, data: bytes, mode: int, tmp: Path) -> np.ndarray:
        """The coded file's bytes -> float32 [n'] at 16 kHz."""


def to_pcm16(x: np.ndarray) -> bytes:
    """float [-1, 1] -> little-endian signed 16-bit PCM bytes."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
