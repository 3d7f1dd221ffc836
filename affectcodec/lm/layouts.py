"""Layouts: how a ``[S, F]`` grid of stream tokens becomes one flat sequence, and back.

* ``interleave`` (frame-major): ``s0 f0, s1 f0, ..., s{S-1} f0, s0 f1, ...``; ``S * F`` ids.
* ``delay`` (MusicGen's delay pattern, Copet et al. 2023): stream ``s`` is shifted right by
  ``s`` frames, positions outside the shifted stream are PAD, then frame-major;
  ``S * (F + S - 1)`` ids.
* ``stage_major``: all frames of stream 0, then stream 1, ...; ``S * F`` ids, each block
  preceded by its stage marker when the vocabulary has markers.

The functions here work on offset-free grids ``[S, F]`` of ids already shifted by the stream
offsets; validation of values is the tokenizer's job.
"""

from __future__ import annotations

import torch
from torch import Tensor

from affectcodec.lm.vocab import Vocabulary

LAYOUTS = ("interleave", "delay", "stage_major")


def flatten(grid: Tensor, layout: str, vocab: Vocabulary) -> Tensor:
    """``[S, F]`` ids -> 1-D sequence (no BOS/EOS)."""
    s, f = grid.shape
    if layout == "interleave":
        return grid.t().reshape(-1)
    if layout == "stage_major":
        if vocab.stage_markers:
            markers = torch.tensor([vocab.marker_id(k) for k in range(s)], dtype=grid.dtype)
            return torch.cat([markers[:, None], grid], dim=1).reshape(-1)
        return grid.reshape(-1)
    if layout == "delay":
        out = torch.full((s, f + s - 1), vocab.pad_id, dtype=grid.dtype)
        for k in range(s):
            out[k, k : k + f] = grid[k]
        return out.t().reshape(-1)
    raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")


def unflatten(seq: Tensor, layout: str, vocab: Vocabulary) -> Tensor:
    """1-D sequence (no BOS/EOS) -> ``[S, F]`` ids; raises ValueError on a malformed sequence."""
    s, n = vocab.num_streams, seq.numel()
    if layout == "stage_major" and vocab.stage_markers:
        if n % s or n // s < 2:
            raise ValueError(f"a stage-major sequence with markers needs a multiple of {s} ids "
                             f"and at least one frame, got {n}")
        blocks = seq.reshape(s, -1)
        expected = torch.tensor([vocab.marker_id(k) for k in range(s)], dtype=seq.dtype)
        if not torch.equal(blocks[:, 0], expected):
            raise ValueError("stage markers are missing or out of order")
        return blocks[:, 1:]
    if n % s or n == 0:
        raise ValueError(f"a {layout} sequence needs a positive multiple of {s} ids, got {n}")
    if layout == "interleave":
        return seq.reshape(-1, s).t()
    if layout == "stage_major":
        return seq.reshape(s, -1)
    if layout == "delay":
        width = n // s
        f = width - s + 1
        if f < 1:
            raise ValueError(f"a delay sequence of {n} ids holds no complete frame")
        shifted = seq.reshape(width, s).t()
        grid = torch.stack([shifted[k, k : k + f] for k in range(s)])
        pads = torch.ones_like(shifted, dtype=torch.bool)
        for k in range(s):
            pads[k, k : k + f] = False
        if not (shifted[pads] == vocab.pad_id).all():
            raise ValueError("delay-pattern padding positions hold non-PAD ids")
        return grid
    raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
