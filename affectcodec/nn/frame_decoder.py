"""Frame-rate decoder in the Vocos style: causal ConvNeXt blocks and an inverse-STFT head.

Vocos (Siuzdak, ICLR 2024) and, as codec decoders, WavTokenizer and X-Codec2 keep every layer
at the frame rate and let an inverse FFT produce the samples: the head predicts a log-magnitude
and a phase per STFT bin and frame, and overlap-add turns the frames into a waveform. This is
what makes the generator cheap on a CPU: nothing runs at 16 kHz but the FFT.

Layout: latent [B, D, T] -> 1x1 conv -> causal ConvNeXt blocks at 50 Hz -> each frame split
into ``upsample`` sub-frames by a 1x1 conv (a frame's sub-frames depend on that frame and its
past only) -> causal ConvNeXt blocks at ``upsample * 50`` Hz -> iSTFT head (``n_fft``, hop
``hop // upsample``) -> float [B, 1, T * hop].

Look-ahead: overlap-add needs the frames on both sides of a sample, so the synthesis window of
sub-frame ``j`` is centred on its own block of samples and the output at a sample also depends
on the next :attr:`FrameDecoder.lookahead_frames` codec frames (1 frame, 20 ms, by default).
The encoder stays strictly causal, so tokens never depend on it; windowed decoding adds that
right context (:func:`affectcodec.windows.decode_windows`). Items of a padded batch decode
exactly as alone when the valid frame counts are passed: frames past an item's end are
removed from its overlap-add, window envelope included.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.nn.convnext import ConvNeXtStack
from affectcodec.nn.determinism import Conv1d


class ISTFTHead(nn.Module):
    """Frames float [B, dim, J] -> waveform float [B, 1, J * hop] by inverse STFT.

    Args:
        dim: input channels.
        n_fft: FFT size of the synthesis (at least ``2 * hop``, ``n_fft - hop`` even).
        hop: samples per frame.

    The head predicts ``log|S|`` and ``arg S`` per bin (Vocos: the magnitude is clipped at 100).
    Sub-frame ``j``'s window covers the samples ``[j * hop + (hop - n_fft) / 2, ...)``, i.e. it is
    centred on the frame's own ``hop`` samples.
    """

    def __init__(self, dim: int, n_fft: int, hop: int):
        super().__init__()
        if n_fft < 2 * hop or (n_fft - hop) % 2:
            # n_fft >= 2 hop: every sample lies in the middle half of some window (see forward)
            raise ValueError(f"n_fft ({n_fft}) must be >= 2 x hop ({hop}) with n_fft - hop even")
        self.n_fft, self.hop = int(n_fft), int(hop)
        self.offset = (self.n_fft - self.hop) // 2
        self.out = Conv1d(dim, n_fft + 2, 1)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)

    def forward(self, x: Tensor, valid: Tensor | None = None) -> Tensor:
        """``valid``: bool [B, J], frames that exist (None: all)."""
        # Frames run along dim 1 from here ([B, J, bins]): the inverse FFT then writes each
        # frame's samples contiguously and the overlap-add below needs no transposes.
        log_mag, phase = self.out(x).float().transpose(1, 2).chunk(2, dim=-1)
        magnitude = torch.exp(log_mag).clamp(max=1e2)
        frames = torch.fft.irfft(torch.polar(magnitude, phase), n=self.n_fft, dim=-1)
        frames = frames * self.window  # [B, J, n_fft]
        weights = self.window.square().expand(1, x.shape[-1], -1)
        if valid is not None:
            mask = valid[:, :, None].to(frames.dtype)
            frames, weights = frames * mask, weights * mask
        audio, envelope = self._overlap_add(frames), self._overlap_add(weights)
        start, stop = self.offset, self.offset + x.shape[-1] * self.hop
        # Inside [start, stop) every sample is covered by at least one window at >= 0.5 of its
        # peak (the centred layout); the clamp only guards samples of removed (invalid) frames.
        return (audio[..., start:stop] / envelope[..., start:stop].clamp_min(1e-3))[:, None]

    def _overlap_add(self, frames: Tensor) -> Tensor:
        """Frames float [B, J, n_fft] at hop ``hop`` -> float [B, (J - 1) * hop + n_fft].

        When the window is a whole number R of hops (the default, 640 = 4 x 160) frame j's
        r-th block of ``hop`` samples lands on output block j + r, so the overlap-add is R
        shifted additions of [B, J, hop] (several times faster than ``F.fold``'s col2im);
        otherwise ``F.fold``.
        """
        b, j, n = frames.shape
        if n % self.hop:
            size = (1, (j - 1) * self.hop + n)
            return F.fold(frames.transpose(1, 2), output_size=size, kernel_size=(1, n),
                          stride=(1, self.hop))[:, 0, 0]
        r = n // self.hop
        blocks = frames.reshape(b, j, r, self.hop)
        out = blocks.new_zeros(b, j + r - 1, self.hop)
        for i in range(r):
            out[:, i: i + j] += blocks[:, :, i]
        return out.reshape(b, -1)


class FrameDecoder(nn.Module):
    """Latent float [B, input_dim, T] -> waveform float [B, 1, T * hop].

    Args:
        input_dim: channels of the quantized latent.
        dim: channels of the ConvNeXt blocks at the frame rate.
        n_blocks: causal ConvNeXt blocks at the frame rate.
        hop: samples per frame.
        upsample: sub-frames per frame before the head (the head's hop is ``hop // upsample``).
        post_blocks: causal ConvNeXt blocks at the sub-frame rate.
        n_fft: FFT size of the head.
    """

    def __init__(self, input_dim: int, dim: int = 256, n_blocks: int = 6, hop: int = 320,
                 upsample: int = 2, post_blocks: int = 1, n_fft: int = 640):
        super().__init__()
        if hop % upsample:
            raise ValueError(f"hop {hop} must be a multiple of upsample {upsample}")
        self.hop_length, self.upsample = int(hop), int(upsample)
        self.embed = Conv1d(input_dim, dim, 1)
        self.backbone = ConvNeXtStack(dim, n_blocks)
        self.split = Conv1d(dim, dim * upsample, 1)
        self.post = ConvNeXtStack(dim, post_blocks)
        self.head = ISTFTHead(dim, n_fft, hop // upsample)
        #: Codec frames after a sample's own frame that its value depends on.
        self.lookahead_frames = math.ceil(self.head.offset / hop)
        #: Codec frames before a sample's own frame that its value depends on (an upper bound).
        self.context_frames = (self.backbone.context + math.ceil(self.post.context / upsample)
                               + math.ceil((n_fft - self.head.offset) / hop) + 1)

    def forward(self, latent: Tensor, frames: Tensor | None = None) -> Tensor:
        """``frames``: int [B], valid frames per item (None: all ``T``)."""
        b, _, t = latent.shape
        x = self.backbone(self.embed(latent))
        c = x.shape[1]
        # [B, C * r, T] -> [B, C, T * r]: sub-frame (t, i) is channel block i of frame t.
        x = self.split(x).reshape(b, self.upsample, c, t).permute(0, 2, 3, 1).reshape(b, c, t * self.upsample)
        x = self.post(x)
        valid = None
        if frames is not None:
            sub = torch.arange(t * self.upsample, device=latent.device)
            valid = sub[None, :] < (frames.to(latent.device)[:, None] * self.upsample)
        return self.head(x, valid)
