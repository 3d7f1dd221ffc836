"""Audio files <-> ``.affc`` files, streamed in windows (bounded memory, time linear in duration).

This is what the ``encode`` / ``decode`` / ``reconstruct`` commands run; it is usable from Python::

    from affectcodec import affc_io, load
    codec = load("path/to/model")
    affc_io.encode_file(codec, "speech.flac", "speech.affc", kbps=1.5)
    affc_io.decode_file(codec, "speech.affc", "speech.wav")            # at the source rate

Pipeline: :class:`~affectcodec.audio.AudioReader` (blocks, mono) ->
:class:`~affectcodec.audio.StreamingResampler` (to 16 kHz) ->
:func:`~affectcodec.windows.encode_windows` -> :class:`~affectcodec.Codes` [1, K, T] and a
:class:`~affectcodec.bitstream.Header` -> :mod:`affectcodec.bitstream`; and back through
:func:`~affectcodec.windows.decode_windows`, a resampler and
:class:`~affectcodec.audio.AudioWriter`. Outputs are written to a temporary file in the target
folder and renamed into place, so an interrupted or failed run leaves no partial file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from affectcodec import audio, bitstream
from affectcodec.bitstream import Header, WindowParams
from affectcodec.codec import AffectCodec
from affectcodec.codes import Codes
from affectcodec.fsutil import atomic_path
from affectcodec.version import __version__
from affectcodec.windows import (
    DEFAULT_WINDOW_SECONDS,
    decode_windows,
    encode_windows,
    window_layout,
)

#: Called with the seconds of audio processed since the previous call.
Progress = Callable[[float], None]


@dataclass(frozen=True)
class ModelIdentity:
    """What a ``.affc`` header says about the model: folder name, architecture and weights."""

    name: str
    config_hash: str
    weights_hash: str

    @classmethod
    def of(cls, codec: AffectCodec, name: str = "") -> ModelIdentity:
        return cls(name, codec.config_hash, bitstream.weights_hash(codec))

    def check(self, header: Header) -> None:
        """Raise ValueError if ``header`` was written by another model (architecture or weights)."""
        if (header.config_hash, header.weights_hash) != (self.config_hash, self.weights_hash):
            raise ValueError(
                f"encoded with model {header.model_name or '?'!r} (config {header.config_hash}, "
                f"weights {header.weights_hash}) but the model given is {self.name or '?'!r} "
                f"(config {self.config_hash}, weights {self.weights_hash}); pass --model with the "
                f"model that encoded it")


@dataclass
class EncodeStats:
    """Input facts gathered while encoding (for the clipping warning)."""

    clipped: int = 0
    peak: float = 0.0


# ------------------------------------------------------------------------------- encoding
def encode_audio(codec: AffectCodec, path: str | os.PathLike, *, kbps: float | None = None,
                 n_stages: int | None = None, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 model: ModelIdentity | None = None, progress: Progress | None = None,
                 stats: EncodeStats | None = None) -> tuple[Codes, Header]:
    """Encode an audio file (any rate, channels, length) to codes and the header of its file.

    Args:
        codec: the model (eval mode, on the device to use).
        path: any file soundfile reads.
        kbps / n_stages: the bitrate (default: the highest).
        window_seconds: window length; the tokens do not depend on it.
        model: identity written to the header (default: computed from ``codec``, no name).
        progress: called with seconds of input processed.
        stats: filled with the input's clipping statistics.

    Returns:
        ``(codes, header)``: codes with tokens int64 [1, K, T], T = ceil(N / 320) for the N
        samples at 16 kHz, lengths [N] and the source rate; what :func:`bitstream.read
        <affectcodec.bitstream.read>` returns for the file :func:`encode_file` writes.

    Raises:
        AudioFileError: the input is unusable (see :class:`~affectcodec.audio.AudioReader`).
        ValueError: an unsupported bitrate.
    """
    n_stages = codec.stages_for(kbps, n_stages)
    model = model or ModelIdentity.of(codec)
    layout = window_layout(codec, window_seconds)
    reader = audio.AudioReader(path)
    info = reader.info
    resampler = audio.StreamingResampler(info.sample_rate, codec.sample_rate)

    def blocks() -> Iterator[Tensor]:
        for block in reader:
            yield resampler.push(block)
            if progress:
                progress(block.numel() / info.sample_rate)
        yield resampler.flush()

    with torch.inference_mode():
        codes = encode_windows(codec, blocks(), n_stages, layout, source_sample_rate=info.sample_rate)
    if stats is not None:
        stats.clipped, stats.peak = reader.clipped, reader.peak
    header = Header(
        model_name=model.name, config_hash=model.config_hash, weights_hash=model.weights_hash,
        source_sample_rate=info.sample_rate, source_channels=info.channels,
        source_num_samples=info.num_samples, window=layout, encoder=f"affectcodec {__version__}")
    return codes, header


def encode_file(codec: AffectCodec, src: str | os.PathLike, dst: str | os.PathLike, *,
                force: bool = False, **kwargs) -> tuple[Codes, Header]:
    """Encode ``src`` to the ``.affc`` file ``dst`` (atomically); kwargs as :func:`encode_audio`,
    whose ``(codes, header)`` it returns."""
    codes, header = encode_audio(codec, src, **kwargs)
    data = bitstream.to_bytes(codes, header)
    with atomic_path(dst, force) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:  # name the file: a full disk's error carries no name
            raise OSError(exc.errno, exc.strerror, str(tmp)) from exc
    return codes, header


# ------------------------------------------------------------------------------- decoding
def output_rate(header: Header, sample_rate: int | str | None) -> int:
    """The rate to decode to: ``"source"`` (or None) = the encoded file's rate, else an integer."""
    if sample_rate is None or sample_rate == "source":
        return header.source_sample_rate
    rate = int(sample_rate)
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    return rate


def output_length(codes: Codes, header: Header, rate: int) -> int:
    """Samples of the decoded file at ``rate``: the source's exact count at the source rate."""
    if rate == header.source_sample_rate:
        return header.source_num_samples
    return int(audio.resampled_length(codes.lengths[0], codes.sample_rate, rate))


def decode_to(codec: AffectCodec, codes: Codes, header: Header, dst: str | os.PathLike, *,
              sample_rate: int | str | None = None, layout: WindowParams | None = None,
              model: ModelIdentity | None = None, progress: Progress | None = None,
              format: str | None = None, subtype: str = "PCM_16") -> audio.AudioWriter:
    """Decode one item's codes (tokens [1, K, T]) with its file's ``header`` to the audio file
    ``dst`` (written as is).

    Args:
        codes: the codes, tokens [1, K, T] of ``codec``'s layout (e.g. from
            :func:`bitstream.read <affectcodec.bitstream.read>` or :func:`encode_audio`).
        header: the file's header: the model it names, the source rate and length, the windows.
        sample_rate: ``"source"``/None (the encoded file's rate), or Hz.
        layout: window layout (default: the header's).
        model: checked against the header (default: computed from ``codec``).
        progress: called with seconds of audio decoded.
        format: soundfile format (default: from ``dst``'s extension).
        subtype: soundfile subtype of the output.

    Returns:
        The closed writer (``clipped``, ``peak``, ``written``).

    Raises:
        ValueError: the header names another model, or the layouts disagree.
    """
    (model or ModelIdentity.of(codec)).check(header)
    layout = layout or header.window
    rate = output_rate(header, sample_rate)
    total = output_length(codes, header, rate)
    resampler = audio.StreamingResampler(codes.sample_rate, rate)
    written = 0
    with audio.AudioWriter(dst, rate, format or audio.output_format(dst), subtype) as writer, \
            torch.inference_mode():

        def emit(block: Tensor) -> None:
            nonlocal written
            block = block[: max(0, total - written)]
            writer.write(block)
            written += block.numel()

        for block in decode_windows(codec, codes, layout):
            emit(resampler.push(block))
            if progress:
                progress(block.numel() / codes.sample_rate)
        emit(resampler.flush())
        if written < total:  # rounding of the source length: pad the last few samples
            emit(torch.zeros(total - written))
    return writer


def decode_file(codec: AffectCodec, src: str | os.PathLike, dst: str | os.PathLike, *,
                force: bool = False, **kwargs) -> audio.AudioWriter:
    """Decode the ``.affc`` file ``src`` to the audio file ``dst`` (atomically; format from its
    extension); kwargs as :func:`decode_to`."""
    codes, header = bitstream.read(src)
    kwargs.setdefault("format", audio.output_format(dst))
    with atomic_path(dst, force) as tmp:
        return decode_to(codec, codes, header, tmp, **kwargs)
