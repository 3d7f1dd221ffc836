"""Long files: encode and decode in fixed windows with left context, in bounded memory.

The model is causal with a bounded receptive field, so the tokens of frames ``[a, b)`` are a
function of the samples ``[(a + 1) * hop - receptive_field, b * hop)`` only. A window of frames
``[a, b)`` is therefore encoded from the samples starting ``context_frames`` frames earlier
(``context_frames * hop >= receptive_field``), and the context's own tokens are discarded: the
result equals encoding the whole file bit for bit, whatever the window size (the inference
arithmetic does not depend on a frame's position or the tensor's length:
:mod:`affectcodec.nn.determinism`). Decoding is the mirror image with
the decoder's own (much shorter) context, :func:`decoder_context_frames`, and, for a decoder
with look-ahead (the frame-rate generator's inverse STFT), that many frames of right context.

Both directions speak :class:`~affectcodec.Codes` (tokens [1, K, T], one item):
:func:`encode_windows` turns a signal given in blocks into codes, :func:`decode_windows` turns
codes back into blocks of samples. The window layout is recorded in the ``.affc`` header
(:class:`~affectcodec.bitstream.WindowParams`) so that a file states exactly how its tokens were
computed.

Decoded windows equal the whole decode up to float rounding (measured: at most 2.4e-7 on 18 s of
speech): decoding runs torch's fastest kernels, which round by tensor length.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec.bitstream import WindowParams
from affectcodec.codec import AffectCodec
from affectcodec.codes import Codes
from affectcodec.limits import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS

#: Default window: 10 s of audio (500 frames at 50 Hz). Peak memory grows with it (about 27 MB
#: per second of window for the default model, on top of ~0.7 GB for torch and the model; 20 s
#: windows peaked at 1.8 GB), the context overhead (2.3 s for the default model) shrinks with it.
DEFAULT_WINDOW_SECONDS = 10.0


def decoder_context_frames(codec: AffectCodec) -> int:
    """Token frames of left context the decoder's output at a frame depends on (an upper bound,
    computed by each decoder from its own layers: ``codec.decoder.context_frames``)."""
    return codec.decoder.context_frames


def window_layout(codec: AffectCodec, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> WindowParams:
    """The window layout for ``codec``: ``window_seconds`` per window, contexts from the model.

    Raises:
        TypeError: a codec that cannot be run in windows (:attr:`~affectcodec.Codec.supports_affc`).
        ValueError: a window outside :data:`~affectcodec.limits.MIN_WINDOW_SECONDS` ..
            :data:`~affectcodec.limits.MAX_WINDOW_SECONDS`.
    """
    if not codec.supports_affc:
        raise TypeError(f"{type(codec).__name__} cannot be encoded in windows or written to .affc files")
    if not MIN_WINDOW_SECONDS <= window_seconds <= MAX_WINDOW_SECONDS:  # also refuses NaN
        raise ValueError(f"window must be {MIN_WINDOW_SECONDS:g}..{MAX_WINDOW_SECONDS:g} s, "
                         f"got {window_seconds:g} s")
    frames = int(round(window_seconds * codec.frame_rate))
    return WindowParams(frames=frames, context_frames=math.ceil(codec.receptive_field / codec.hop_length),
                        decoder_context_frames=decoder_context_frames(codec))


def check_layout(codec: AffectCodec, layout: WindowParams) -> None:
    """Raise ValueError unless a layout (e.g. from a file's header) is one ``codec`` writes.

    The window must be within the window bounds and its contexts exactly the model's: a header
    sizes the decode's work, so a 1-frame window or a huge context would make it quadratic.
    """
    need = window_layout(codec, layout.frames / codec.frame_rate)  # refuses a window out of bounds
    if (layout.context_frames, layout.decoder_context_frames) != \
            (need.context_frames, need.decoder_context_frames):
        raise ValueError(f"window contexts ({layout.context_frames}, {layout.decoder_context_frames})"
                         f" frames are not this model's ({need.context_frames}, "
                         f"{need.decoder_context_frames})")


class WindowedEncoder:
    """Encode a 16 kHz signal given in blocks, one window at a time.

    Args:
        codec: the model (eval mode).
        n_stages: stages to keep (the bitrate).
        layout: window layout (:func:`window_layout`).

    Feed float [n] blocks at the model rate to :meth:`push`; each call returns the token frames
    int64 [1, K, t] completed so far; :meth:`flush` returns the rest. Their concatenation along
    T is the whole signal's tokens [1, K, max(1, ceil(N / hop))], N = :attr:`num_samples`.
    Memory holds one window plus its context. :func:`encode_windows` wraps this into
    :class:`~affectcodec.Codes`.
    """

    def __init__(self, codec: AffectCodec, n_stages: int, layout: WindowParams):
        check_layout(codec, layout)
        self.codec, self.n_stages, self.layout = codec, int(n_stages), layout
        self.hop = codec.hop_length
        self._buf = torch.zeros(0)
        self._buf_start = 0  # absolute sample index of _buf[0]
        self._total = 0
        self._next = 0  # first frame of the next window

    def _encode(self, end_frame: int, end_sample: int) -> Tensor:
        start = max(0, self._next - self.layout.context_frames) * self.hop
        segment = self._buf[start - self._buf_start: end_sample - self._buf_start]
        # Zero-padded to whole frames, as encode() pads a file's last frame.
        segment = F.pad(segment, (0, (end_frame * self.hop - start) - segment.numel()))
        skip = self._next - start // self.hop
        # The context frames' own tokens are never computed (only what the kept ones need).
        out = self.codec.encode_window(segment[None, None], skip, self.n_stages).cpu()
        self._next = end_frame
        keep = max(0, self._next - self.layout.context_frames) * self.hop
        self._buf = self._buf[keep - self._buf_start:]
        self._buf_start = keep
        return out

    @property
    def num_samples(self) -> int:
        """Samples pushed so far."""
        return self._total

    def push(self, block: Tensor) -> Tensor:
        """Feed float [n] samples; returns int64 [1, K, t] tokens of the windows completed."""
        block = block.reshape(-1).float()
        self._buf = torch.cat([self._buf, block])
        self._total += block.numel()
        outs = [torch.zeros(1, self.n_stages, 0, dtype=torch.int64)]
        while self._total >= (self._next + self.layout.frames) * self.hop:
            end = self._next + self.layout.frames
            outs.append(self._encode(end, end * self.hop))
        return torch.cat(outs, dim=-1)

    def flush(self) -> Tensor:
        """The last (partial) window's tokens int64 [1, K, t]; the final frame is zero-padded."""
        frames = max(1, -(-self._total // self.hop))
        if self._next >= frames:
            return torch.zeros(1, self.n_stages, 0, dtype=torch.int64)
        return self._encode(frames, self._total)


def encode_windows(codec: AffectCodec, blocks: Iterable[Tensor], n_stages: int, layout: WindowParams,
                   source_sample_rate: int | None = None) -> Codes:
    """Encode a signal given in blocks, window by window (:class:`WindowedEncoder`).

    Args:
        codec: the model (eval mode).
        blocks: float [n] blocks of one signal at the model rate, consumed one at a time.
        n_stages: stages to keep (the bitrate).
        layout: window layout (:func:`window_layout`).
        source_sample_rate: rate of the audio before resampling, recorded in the codes.

    Returns:
        Codes with tokens int64 [1, K, T], ``T = max(1, ceil(N / hop))`` for the N samples given,
        and lengths [N]: the tokens of ``codec.encode`` on the whole signal, whatever the window.
    """
    encoder = WindowedEncoder(codec, n_stages, layout)
    pieces = [encoder.push(block) for block in blocks]
    pieces.append(encoder.flush())
    return codec.codes(torch.cat(pieces, dim=-1), torch.tensor([encoder.num_samples]),
                       source_sample_rate=source_sample_rate)


def decode_windows(codec: AffectCodec, codes: Codes, layout: WindowParams) -> Iterator[Tensor]:
    """Decode one item's tokens window by window.

    Args:
        codec: the model.
        codes: one item (tokens [1, K, T], lengths [1]) of this model's layout.
        layout: window layout (its ``frames`` and ``decoder_context_frames`` are used; a context
            shorter than the model needs is raised to what it needs).

    Yields:
        float32 [n] blocks at the model rate; together ``codes.lengths[0]`` samples, equal to
        ``codec.decode(codes)`` up to float rounding.
    """
    if codes.tokens.shape[0] != 1:
        raise ValueError("decode_windows takes one item (tokens [1, K, T])")
    hop, total = codec.hop_length, int(codes.lengths[0])
    frames = codes.tokens.shape[-1]
    check_layout(codec, layout)  # so the layout's context is the model's own
    context = layout.decoder_context_frames
    # The decoder's look-ahead is a property of the model, not of the file: each window is
    # decoded with that many frames of right context, whose own samples are dropped.
    ahead = codec.decoder_lookahead_frames
    for a in range(0, frames, layout.frames):
        b = min(frames, a + layout.frames)
        start, stop = max(0, a - context), min(frames, b + ahead)
        n = min(total, stop * hop) - start * hop
        piece = dataclasses.replace(codes, tokens=codes.tokens[:, :, start:stop],
                                    lengths=torch.tensor([n]), source_sample_rate=None)
        wav = codec.decode(piece)[0, 0].cpu()
        yield wav[(a - start) * hop: (min(total, b * hop) - start * hop)]
