"""Inference whose numbers do not depend on the thread count, the batch or its padding.

A token is a rounded number, so a difference of one unit in the last place of the latent flips
one now and then; "the same audio gives the same tokens, batched or alone, on any number of
threads" therefore needs bit-identical latents. What breaks that on a CPU (all measured here,
torch 2.11 with MKL and oneDNN on an AVX2 machine):

* oneDNN's convolutions choose their blocking, hence their summation order, by thread count and
  shape (with 2 threads a 1x1 convolution differs from 1 thread by ~3e-7);
* torch's native convolution of a batch of 16 differs from the same items one at a time;
* MKL's GEMM rounds a column differently when the matrix has fewer than 16 columns or fewer
  than 16 rows (other kernels): the shipped model's quantizer projections have 3 and 6 rows;
* torch's vectorised ``pow``, ``sigmoid``, ``softplus`` and tanh-GELU differ in the last bit
  from their scalar remainder loop, which the last few elements of a tensor go through; ``exp``,
  ``log``, ``erf``-GELU, ``tanh`` and ``sqrt`` agree (the frame-rate model's inference path uses
  only these; the DAC-style generator's Snake uses ``pow``).

So inside :func:`deterministic` (which :meth:`AffectCodec.encode` opens), in eval mode on a CPU,
:class:`Conv1d` and :class:`Conv2d` compute through
:func:`invariant_mm`: one plain GEMM per item, its weight padded to at least 16 rows and its input
to at least 16 columns, where MKL's result for a column depends on that column alone (tested over
the model's shapes, 1 to 1,500 columns, every position, 1 and 2 threads). Depthwise convolutions
run as ``kernel_size`` whole-tensor multiplications and additions (:func:`depthwise_conv1d`):
the same IEEE operations for every element, and ten times faster than torch's native grouped
convolution. Training and decoding keep torch's own (fastest) convolutions: decoded audio may
differ in the last bit between thread counts, tokens never do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: How many :func:`deterministic` contexts are open (the invariant kernels run while > 0).
_open_contexts = 0


@contextlib.contextmanager
def deterministic(device: torch.device | str) -> Iterator[None]:
    """Run the enclosed CPU inference with thread- and batch-invariant kernels: oneDNN off, and
    :class:`Conv1d` / :class:`Conv2d` in eval mode through :func:`invariant_mm`.

    :meth:`AffectCodec.encode` runs in it (tokens); decoding does not need it and runs torch's
    fastest kernels. The switch is process-wide and restored on exit; nested uses are fine,
    concurrent uses from several Python threads are not.
    """
    global _open_contexts
    if torch.device(device).type != "cpu":
        yield
        return
    # Not torch.backends.mkldnn.flags(): it also resets the TF32 setting and warns about it.
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    _open_contexts += 1
    try:
        yield
    finally:
        _open_contexts -= 1
        torch.backends.mkldnn.enabled = before


def _invariant(module: nn.Module, x: Tensor) -> bool:
    """Whether a convolution takes the invariant path (module notes)."""
    return _open_contexts > 0 and not module.training and x.device.type == "cpu"


def depthwise_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Depthwise convolution (``groups == channels``, stride 1, no padding) without a GEMM:
    every output element is the same sequence of IEEE operations wherever it sits.

    Args:
        x: float [B, C, N].
        weight: float [C, 1, K] (an ``nn.Conv1d(C, C, K, groups=C)``'s weight).
        bias: float [C] or None.

    Returns:
        float [B, C, N - K + 1], equal to ``F.conv1d(x, weight, bias, groups=C)`` up to the
        summation order, which here is fixed: tap 0, 1, ..., K - 1, then the bias.
    """
    k = weight.shape[-1]
    n = x.shape[-1] - k + 1
    w = weight[:, 0, :, None]  # [C, K, 1]
    y = x[..., :n] * w[:, 0]
    for i in range(1, k):
        y = y + x[..., i: i + n] * w[:, i]
    return y if bias is None else y + bias[:, None]


#: Below these sizes MKL's GEMM picks other kernels, which round differently (module notes).
MIN_GEMM_ROWS, MIN_GEMM_COLUMNS = 16, 16


def invariant_mm(weight: Tensor, x: Tensor) -> Tensor:
    """``weight @ x`` whose every column depends on that column of ``x`` alone, bit for bit.

    Args:
        weight: float [M, K].
        x: float [K, N].

    Returns:
        float [M, N].
    """
    m, n = weight.shape[0], x.shape[1]
    if m < MIN_GEMM_ROWS:
        weight = F.pad(weight, (0, 0, 0, MIN_GEMM_ROWS - m))
    if n < MIN_GEMM_COLUMNS:
        x = F.pad(x, (0, MIN_GEMM_COLUMNS - n))
    return (weight @ x)[:m, :n]


def _invariant_conv(cols: list[Tensor], weight: Tensor, bias: Tensor | None) -> Tensor:
    """Per item: weight [C', C * taps] @ im2col columns [C * taps, L] (+ bias) -> [B, C', L]."""
    w = weight.reshape(weight.shape[0], -1)
    # One item (every file the CLI encodes): no stacking copy of the output.
    y = invariant_mm(w, cols[0])[None] if len(cols) == 1 else torch.stack([invariant_mm(w, c) for c in cols])
    return y if bias is None else y + bias[:, None]


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` (same parameters and state dict) that infers through :func:`invariant_mm`.

    Inside :func:`deterministic`, in eval mode on a CPU, with stride 1 and no built-in padding
    (the causal layers pad themselves), the output of an item does not depend on the batch, on
    its padding or on the thread count; otherwise this is ``nn.Conv1d``.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not _invariant(self, x) or self.stride != (1,) or self.padding != (0,) or \
                self.padding_mode != "zeros":
            return super().forward(x)
        if self.groups == self.in_channels == self.out_channels and self.groups > 1 and \
                self.dilation == (1,):
            return depthwise_conv1d(x, self.weight, self.bias)
        if self.groups != 1:
            return super().forward(x)
        k, d = self.kernel_size[0], self.dilation[0]
        n = x.shape[-1] - (k - 1) * d
        # im2col in the weight's (channel, tap) order: [C, K, L] -> [C * K, L]
        cols = [torch.stack([item[:, i * d: i * d + n] for i in range(k)], dim=1).reshape(-1, n)
                if k > 1 else item for item in x]
        return _invariant_conv(cols, self.weight, self.bias)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` counterpart of :class:`Conv1d`."""

    def forward(self, x: Tensor) -> Tensor:
        if not _invariant(self, x) or self.stride != (1, 1) or self.padding != (0, 0) or \
                self.groups != 1 or self.padding_mode != "zeros":
            return super().forward(x)
        (kh, kw), (dh, dw) = self.kernel_size, self.dilation
        h, w = x.shape[-2] - dh * (kh - 1), x.shape[-1] - dw * (kw - 1)
        # im2col in the weight's (channel, row, column) order; stacking slices is 5x faster
        # than F.unfold here
        cols = [torch.stack([item[:, i * dh: i * dh + h, j * dw: j * dw + w]
                             for i in range(kh) for j in range(kw)], dim=1).reshape(-1, h * w)
                for item in x]
        return _invariant_conv(cols, self.weight, self.bias).reshape(x.shape[0], -1, h, w)
