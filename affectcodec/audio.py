"""Audio at the model boundary: shapes, channels, sample rates and lengths; files (read in blocks,
write, streaming resampling) for the command line and long recordings."""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio
import torchaudio.functional as AF
from torch import Tensor


def as_batch(wav: Tensor | np.ndarray) -> Tensor:
    """float32 [B, C, N] from ``[N]`` (one mono signal), ``[B, N]`` (mono batch) or ``[B, C, N]``."""
    if isinstance(wav, np.ndarray):
        wav = torch.from_numpy(np.ascontiguousarray(wav))
    if not isinstance(wav, Tensor):
        raise TypeError(f"audio must be a torch.Tensor or numpy array, got {type(wav).__name__}")
    if wav.dim() == 1:
        wav = wav[None, None]
    elif wav.dim() == 2:
        wav = wav[:, None]
    elif wav.dim() != 3:
        raise ValueError(f"audio must be [N], [B, N] or [B, C, N], got shape {tuple(wav.shape)}")
    if wav.shape[-1] == 0:
        raise ValueError("audio has zero samples")
    if not wav.dtype.is_floating_point:
        raise TypeError(f"audio must be floating point in [-1, 1], got {wav.dtype}")
    wav = wav.float()
    if not torch.isfinite(wav).all():
        raise ValueError("audio contains NaN or Inf samples")
    return wav


def downmix(wav: Tensor) -> Tensor:
    """[B, C, N] -> [B, 1, N] by averaging channels (with a warning when C > 1)."""
    if wav.shape[1] > 1:
        warnings.warn(f"downmixing {wav.shape[1]} channels to mono", stacklevel=3)
        wav = wav.mean(dim=1, keepdim=True)
    return wav


def resample(wav: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """Band-limited resampling along the last axis (torchaudio's windowed sinc)."""
    if int(orig_rate) == int(new_rate):
        return wav
    return AF.resample(wav, int(orig_rate), int(new_rate))


def resampled_length(length: Tensor | int, orig_rate: int, new_rate: int) -> Tensor:
    """Samples after resampling ``length`` samples (torchaudio's rule: ceil)."""
    length = torch.as_tensor(length, dtype=torch.int64)
    return torch.div(length * int(new_rate) + int(orig_rate) - 1, int(orig_rate), rounding_mode="floor")


def zero_beyond(wav: Tensor, lengths: Tensor) -> Tensor:
    """Zero every sample of item b at or after ``lengths[b]`` (wav [B, C, N])."""
    idx = torch.arange(wav.shape[-1], device=wav.device)
    mask = idx[None, :] < lengths.to(wav.device)[:, None]
    return wav * mask[:, None, :]


def finish_decode(wav: Tensor, lengths: Tensor, model_rate: int, sample_rate: int | None = None) -> Tensor:
    """Decoder output [B, 1, T * hop] -> [B, 1, N]: trimmed to the longest item, silent past each
    item's length, resampled to ``sample_rate`` if given (lengths at ``model_rate``)."""
    lengths = lengths.to(wav.device)
    wav = zero_beyond(wav[..., : int(lengths.max())], lengths)
    if sample_rate is not None and int(sample_rate) != int(model_rate):
        out_lengths = resampled_length(lengths, model_rate, sample_rate)
        wav = resample(wav, model_rate, sample_rate)[..., : int(out_lengths.max())]
        wav = zero_beyond(wav, out_lengths)
    return wav


def prepare(wav: Tensor | np.ndarray, sample_rate: int, model_rate: int,
            lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Bring user audio to the model: float32 [B, 1, N'] at ``model_rate`` and lengths [B].

    Args:
        wav: ``[N]``, ``[B, N]`` or ``[B, C, N]`` float audio at ``sample_rate``.
        sample_rate: rate of ``wav`` in Hz.
        model_rate: the codec's rate.
        lengths: valid samples per item of a padded batch (at ``sample_rate``); None = all.

    Samples past each item's length are zeroed before resampling, so a padded batch is
    resampled exactly like each item alone.
    """
    if int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    wav = downmix(as_batch(wav))
    n = wav.shape[-1]
    if lengths is None:
        lengths = torch.full((wav.shape[0],), n, dtype=torch.int64)
    else:
        lengths = torch.as_tensor(lengths, dtype=torch.int64).reshape(-1).cpu()
        if lengths.shape[0] != wav.shape[0]:
            raise ValueError(f"lengths has {lengths.shape[0]} entries for a batch of {wav.shape[0]}")
        if (lengths < 1).any() or (lengths > n).any():
            raise ValueError(f"lengths must be in 1..{n}, got {lengths.tolist()}")
        wav = zero_beyond(wav, lengths)
    wav = resample(wav, sample_rate, model_rate)
    return wav, resampled_length(lengths, sample_rate, model_rate)


# ----------------------------------------------------------------------------------- files
# Reading and writing go through soundfile (libsndfile): every format it reads is accepted. Long
# files are streamed in blocks, and resampling is streamed too (StreamingResampler), so memory
# does not grow with duration.

class AudioFileError(ValueError):
    """An audio file that cannot be used: missing, empty, not audio, truncated, no samples,
    NaN/Inf samples. The message is one line and names the problem (not the path)."""


#: Extensions (lowercase, no dot) of the formats soundfile reads; folders are searched for these.
AUDIO_EXTENSIONS = frozenset(
    {fmt.lower() for fmt in sf.available_formats() if fmt != "RAW"}
    | {"aif", "aifc", "oga", "opus", "wave"})

_TRUNCATED = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file holds.

    Attributes:
        sample_rate: Hz.
        channels: channels per sample frame.
        num_samples: samples per channel.
        format: soundfile format name (``"WAV"``, ``"FLAC"``, ...).
        subtype: soundfile subtype (``"PCM_16"``, ``"FLOAT"``, ...).
    """

    sample_rate: int
    channels: int
    num_samples: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.num_samples / self.sample_rate


def _open(path: Path) -> sf.SoundFile:
    if not path.exists():
        raise AudioFileError("no such file")
    if path.is_dir():
        raise AudioFileError("is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError("empty file (0 bytes)")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = str(exc).split(":")[-1].strip().rstrip(".") or "unknown format"
        raise AudioFileError(f"not a readable audio file ({reason})") from exc


def _info(f: sf.SoundFile) -> AudioInfo:
    info = AudioInfo(int(f.samplerate), int(f.channels), int(f.frames), f.format, f.subtype)
    if info.num_samples <= 0:
        raise AudioFileError("contains no audio samples")
    match = _TRUNCATED.search(f.extra_info or "")
    if match and int(match.group(2)) > int(match.group(3)):
        raise AudioFileError(f"truncated file: its {match.group(1)} chunk declares "
                             f"{match.group(2)} bytes but only {match.group(3)} are present")
    return info


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Open an audio file, check it is usable (exists, non-empty, readable, has samples, is not
    truncated) and describe it.

    Raises:
        AudioFileError: the file cannot be used.
    """
    with _open(Path(path)) as f:
        return _info(f)


class AudioReader:
    """Stream an audio file as mono float32 blocks ``[n]`` at its own rate.

    Channels are averaged. While reading, every block is checked for NaN/Inf, the total sample
    count is checked against the header (truncated compressed files), and the samples at or
    beyond full scale are counted (:attr:`clipped`, :attr:`peak`) for the clipping warning.

    Args:
        path: any file soundfile reads.
        block_seconds: seconds per block (memory per block, not a format parameter).

    Raises:
        AudioFileError: on opening (see :func:`audio_info`) or while reading.
    """

    #: |x| at or above this counts as full scale (int16's largest positive value is 0.99997).
    FULL_SCALE = 0.9999

    def __init__(self, path: str | os.PathLike, block_seconds: float = 10.0):
        self.path = Path(path)
        with _open(self.path) as f:
            self.info = _info(f)
        self.block = max(1, int(block_seconds * self.info.sample_rate))
        self.clipped = 0
        self.peak = 0.0

    def __iter__(self) -> Iterator[Tensor]:
        read = 0
        with _open(self.path) as f:
            while True:
                try:
                    data = f.read(self.block, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioFileError(f"cannot decode audio after {read / self.info.sample_rate:.2f}"
                                         f" s ({str(exc).strip()}): the file is corrupt or "
                                         f"truncated") from exc
                if data.shape[0] == 0:
                    break
                if not np.isfinite(data).all():
                    bad = read + int(np.argmax(~np.isfinite(data).all(axis=1)))
                    raise AudioFileError(f"contains NaN or Inf samples (first at "
                                         f"{bad / self.info.sample_rate:.3f} s)")
                mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
                magnitude = np.abs(data)
                self.clipped += int((magnitude >= self.FULL_SCALE).sum())
                self.peak = max(self.peak, float(magnitude.max()))
                read += data.shape[0]
                yield torch.from_numpy(np.ascontiguousarray(mono))
        if read != self.info.num_samples:
            raise AudioFileError(f"truncated file: the header declares {self.info.num_samples} "
                                 f"samples but only {read} could be read")


class StreamingResampler:
    """Resample a signal given in consecutive blocks exactly as :func:`resample` does the whole.

    torchaudio's windowed-sinc resampler reduces the rates by their gcd to ``orig : new`` and
    computes output ``j = i * new + p`` from input samples ``[i * orig - width,
    i * orig + width + orig)`` (zeros outside the signal). So a segment that starts at a multiple
    of ``orig``, at least ``width`` samples before the first output it is used for, and extends
    ``width`` samples past the last, reproduces those outputs (up to float rounding). This class
    keeps exactly that much history; memory is bounded by the block size, not the duration.

    Args:
        orig_rate, new_rate: rates in Hz.
        min_block: input samples to gather before computing a segment (fewer, larger convs).

    Example::

        rs = StreamingResampler(44100, 16000)
        out = torch.cat([rs.push(b) for b in blocks] + [rs.flush()])   # == resample(cat(blocks))
    """

    def __init__(self, orig_rate: int, new_rate: int, min_block: int = 1 << 16):
        self.orig_rate, self.new_rate = int(orig_rate), int(new_rate)
        if self.orig_rate <= 0 or self.new_rate <= 0:
            raise ValueError(f"rates must be positive, got {orig_rate} -> {new_rate}")
        gcd = math.gcd(self.orig_rate, self.new_rate)
        self.orig, self.new = self.orig_rate // gcd, self.new_rate // gcd
        # torchaudio's kernel half-width (lowpass_filter_width 6, rolloff 0.99): see
        # torchaudio.functional.functional._get_sinc_resample_kernel.
        self.width = math.ceil(6 * self.orig / (min(self.orig, self.new) * 0.99))
        self.context = -(-self.width // self.orig) * self.orig  # >= width, a multiple of orig
        self.min_block = max(int(min_block), self.orig)
        self._transform = None if self.orig_rate == self.new_rate else \
            torchaudio.transforms.Resample(self.orig_rate, self.new_rate)
        self._buf = torch.zeros(0)
        self._buf_start = 0  # absolute input index of _buf[0] (a multiple of orig)
        self._total = 0  # input samples pushed
        self._step = 0  # next conv step i to output
        self._fresh = 0  # samples pushed since the last segment
        self._done = False

    def _segment(self, end_step: int, seg_end: int) -> Tensor:
        """Outputs of steps [_step, end_step) from input [_buf_start.. seg_end)."""
        seg = self._buf[: seg_end - self._buf_start]
        out = self._transform(seg[None])[0]
        first = self._buf_start // self.orig
        lo, hi = (self._step - first) * self.new, (end_step - first) * self.new
        return out[lo:hi]

    def _trim(self) -> None:
        keep = max(0, self._step * self.orig - self.context)
        if keep > self._buf_start:
            self._buf = self._buf[keep - self._buf_start:]
            self._buf_start = keep

    def push(self, block: Tensor) -> Tensor:
        """Feed float [n] input samples; returns the float [m] outputs now computable."""
        if self._done:
            raise RuntimeError("push after flush")
        block = block.reshape(-1).float()
        self._total += block.numel()
        if self._transform is None:
            return block
        self._buf = torch.cat([self._buf, block])
        self._fresh += block.numel()
        if self._fresh < self.min_block:
            return torch.zeros(0)
        end_step = (self._total - self.width - self.orig) // self.orig + 1
        if end_step <= self._step:
            return torch.zeros(0)
        out = self._segment(end_step, end_step * self.orig + self.width)
        self._step, self._fresh = end_step, 0
        self._trim()
        return out

    def flush(self) -> Tensor:
        """The remaining outputs; the total equals ``resampled_length(total input)``."""
        self._done = True
        if self._transform is None:
            return torch.zeros(0)
        total_out = -(-self._total * self.new // self.orig)
        end_step = -(-total_out // self.new)
        if end_step <= self._step:
            return torch.zeros(0)
        out = self._segment(end_step, self._total)
        first_out = self._step * self.new
        self._step = end_step
        return out[: total_out - first_out]


class AudioWriter:
    """Write mono float blocks ``[n]`` to an audio file, counting clipped samples.

    Args:
        path: destination (written as is; callers handle temporary names).
        sample_rate: Hz.
        format: soundfile format (``"WAV"``, ``"FLAC"``, ...).
        subtype: soundfile subtype (default ``"PCM_16"``).

    Samples beyond [-1, 1] are clipped to it and counted in :attr:`clipped`.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, format: str = "WAV",
                 subtype: str = "PCM_16"):
        self.clipped = 0
        self.peak = 0.0
        self.written = 0
        self._file = sf.SoundFile(str(path), mode="w", samplerate=int(sample_rate), channels=1,
                                  format=format, subtype=subtype)

    def write(self, block: Tensor) -> None:
        data = block.detach().reshape(-1).float().cpu().numpy()
        if data.size:
            magnitude = np.abs(data)
            self.peak = max(self.peak, float(magnitude.max()))
            self.clipped += int((magnitude > 1.0).sum())
            self._file.write(np.clip(data, -1.0, 1.0))
            self.written += data.size

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def output_format(path: str | os.PathLike) -> str:
    """soundfile format name for a file name's extension (e.g. ``".flac"`` -> ``"FLAC"``).

    Raises:
        AudioFileError: soundfile cannot write that extension.
    """
    ext = Path(path).suffix.lower().lstrip(".")
    fmt = {"wave": "WAV", "aif": "AIFF", "aifc": "AIFF", "oga": "OGG", "opus": "OGG"}.get(ext, ext.upper())
    if fmt not in sf.available_formats() or fmt == "RAW":
        raise AudioFileError(f"cannot write audio files with extension {Path(path).suffix!r}")
    return fmt
