"""Audio at the model boundary: shapes, channels, sample rates and lengths; files (read in blocks,
write, streaming resampling) for the command line and long recordings."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from torch import Tensor

from affectcodec.errors import AffectCodecError
from affectcodec.limits import MAX_SAMPLE_RATE

#: The rate every model of the package runs at (Hz); audio at other rates is resampled to it.
MODEL_RATE = 16000


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


#: libsoxr's quality preset: "HQ" is its default (20-bit precision, 95 % pass band).
SOXR_QUALITY = "HQ"


def check_rate(rate: int, what: str = "sample rate") -> int:
    """``rate`` as an int if it is in 1..:data:`MAX_SAMPLE_RATE` Hz, else a one-line ValueError."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) \
            or not 1 <= int(rate) <= MAX_SAMPLE_RATE:
        raise ValueError(f"{what} must be an integer in 1..{MAX_SAMPLE_RATE} Hz, got {rate!r}")
    return int(rate)


def resample(wav: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """Band-limited resampling along the last axis: float [..., N] -> [..., resampled_length(N)].

    libsoxr's polyphase resampler (``soxr``), whose memory and time are bounded for any pair
    of rates: a windowed-sinc kernel over the gcd-reduced ratio (torchaudio's) grows with the
    ratio's terms, to gigabytes for 8,001 Hz -> 16 kHz. Rows are independent, so a zero-padded
    batch resamples like each item alone; :class:`StreamingResampler` gives the same samples
    from blocks. Not differentiable (a data-side operation; CPU, returned on ``wav``'s device).
    """
    orig_rate, new_rate = check_rate(orig_rate), check_rate(new_rate)
    if orig_rate == new_rate:
        return wav
    n = wav.shape[-1]
    rows = wav.detach().reshape(-1, n).to("cpu", torch.float32).numpy()
    m = int(resampled_length(n, orig_rate, new_rate))
    out = np.zeros((rows.shape[0], m), dtype=np.float32)
    for i, row in enumerate(rows):  # one channel per call: soxr's cost is linear either way
        y = soxr.resample(row, orig_rate, new_rate, quality=SOXR_QUALITY)
        out[i, : min(m, y.shape[0])] = y[:m]
    return torch.from_numpy(out).reshape(*wav.shape[:-1], m).to(wav.device)


def resampled_length(length: Tensor | int, orig_rate: int, new_rate: int) -> Tensor:
    """Samples after resampling ``length`` samples: ``ceil(length * new / orig)``.

    libsoxr rounds to nearest instead; :func:`resample` pads its output with zeros to this
    count (at most one sample), which keeps a 1-sample file from resampling to nothing."""
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
    check_rate(sample_rate)
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

class AudioFileError(AffectCodecError, ValueError):
    """An audio file that cannot be used: missing, empty, not audio, truncated, no samples,
    NaN/Inf samples. The message is one line; it names the problem alone when raised by
    :func:`audio_info` or :class:`AudioReader` (the command line adds the path), and starts with
    the path when raised by :func:`load`, which batch jobs call on many files."""


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


@contextlib.contextmanager
def _quiet_c_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (libmpg123 prints its parser's warnings there, bypassing
    Python) while libsndfile opens a file; the failure, if any, is reported as one line."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _open(path: Path) -> sf.SoundFile:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioFileError("no such file") from None
    if stat.S_ISDIR(mode):
        raise AudioFileError("is a folder, not an audio file")
    if not stat.S_ISREG(mode):  # a FIFO or a device would be read forever
        raise AudioFileError("not a regular file (a pipe, device or socket)")
    if path.stat().st_size == 0:
        raise AudioFileError("empty file (0 bytes)")
    try:
        # bytes: libsndfile takes the OS's name as is; soundfile would encode a str strictly
        # and fail on names that are not valid UTF-8
        with _quiet_c_stderr():
            return sf.SoundFile(os.fsencode(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = str(exc).split(":")[-1].strip().rstrip(".") or "unknown format"
        if "does not exist" in reason:  # libsndfile's words for data no decoder accepts
            reason = "unrecognised or corrupt data"
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

    A ``soxr.ResampleStream`` (libsoxr keeps its own bounded filter state, so memory does not
    grow with the duration), whose concatenated output is the one-shot output; :meth:`flush`
    adds the zero samples that :func:`resampled_length`'s rule asks for.

    Args:
        orig_rate, new_rate: rates in Hz (1..:data:`MAX_SAMPLE_RATE`).

    Example::

        rs = StreamingResampler(44100, 16000)
        out = torch.cat([rs.push(b) for b in blocks] + [rs.flush()])   # == resample(cat(blocks))
    """

    def __init__(self, orig_rate: int, new_rate: int):
        self.orig_rate = check_rate(orig_rate, "input sample rate")
        self.new_rate = check_rate(new_rate, "output sample rate")
        self._stream = None if self.orig_rate == self.new_rate else soxr.ResampleStream(
            self.orig_rate, self.new_rate, 1, dtype="float32", quality=SOXR_QUALITY)
        self._total = 0  # input samples pushed
        self._emitted = 0  # output samples returned
        self._done = False

    def push(self, block: Tensor) -> Tensor:
        """Feed float [n] input samples; returns the float [m] outputs now computable."""
        if self._done:
            raise RuntimeError("push after flush")
        block = block.reshape(-1).float()
        self._total += block.numel()
        if self._stream is None:
            return block
        out = torch.from_numpy(self._stream.resample_chunk(block.numpy()).copy())
        self._emitted += out.numel()
        return out

    def flush(self) -> Tensor:
        """The remaining outputs; the total equals ``resampled_length(total input)``."""
        if self._done:
            raise RuntimeError("flush called twice")
        self._done = True
        if self._stream is None:
            return torch.zeros(0)
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        want = int(resampled_length(self._total, self.orig_rate, self.new_rate)) - self._emitted
        out = np.zeros(max(want, 0), dtype=np.float32)
        out[: min(want, tail.shape[0])] = tail[: max(want, 0)]
        return torch.from_numpy(out)


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
        self.path = Path(path)
        with self._os_errors():
            self._file = sf.SoundFile(os.fsencode(path), mode="w", samplerate=int(sample_rate),
                                      channels=1, format=format, subtype=subtype)

    @contextlib.contextmanager
    def _os_errors(self) -> Iterator[None]:
        """libsndfile reports a full disk or a refused write as "System error."; say which."""
        try:
            yield
        except sf.LibsndfileError as exc:
            free = shutil.disk_usage(self.path.parent).free if self.path.parent.is_dir() else None
            if free is not None and free < 1 << 20:
                raise OSError(errno.ENOSPC, "no space left on the device", str(self.path)) from exc
            if not os.access(self.path.parent, os.W_OK):
                raise OSError(errno.EACCES, "no permission to write there", str(self.path)) from exc
            raise OSError(errno.EIO, f"cannot write the audio file ({exc})", str(self.path)) from exc

    def write(self, block: Tensor) -> None:
        data = block.detach().reshape(-1).float().cpu().numpy()
        if data.size:
            magnitude = np.abs(data)
            self.peak = max(self.peak, float(magnitude.max()))
            self.clipped += int((magnitude > 1.0).sum())
            with self._os_errors():
                self._file.write(np.clip(data, -1.0, 1.0))
            self.written += data.size

    def close(self) -> None:
        with self._os_errors():
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


def load(path: str | os.PathLike, sample_rate: int = MODEL_RATE) -> Tensor:
    """Read a whole audio file as float32 mono ``[1, N]`` at ``sample_rate`` (channels averaged).

    The one whole-file reader of the package: the checks of :class:`AudioReader` (regular,
    non-empty, readable, not truncated, finite samples), then :func:`resample`.

    Raises:
        AudioFileError: the file cannot be used; the message starts with its path.
    """
    try:
        reader = AudioReader(path)
        wav = torch.cat(list(reader))[None]
    except AudioFileError as exc:
        raise AudioFileError(f"{path}: {exc}") from None
    return resample(wav, reader.info.sample_rate, sample_rate)
