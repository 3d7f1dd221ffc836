"""Residual FSQ with block-diagonal (BD-RFSQ) or dense projections.

BD-RFSQ is the bottleneck of AffectCodec (Meng et al., "AffectCodec: Emotion-Preserving Neural
Speech Codec with Block-Diagonal Residual FSQ", arXiv 2605.23373). The latent ``u = [u_e ; u_a]``
(emotion channels first) goes through ``K`` residual stages. Stage ``k``:

1. input projection ``z = diag(P_in_e, P_in_a) r_{k-1}`` (emotion -> 3 dims, acoustic -> 6);
2. normalisation per dimension: running statistics, then the paper's learnable affine
   ``z~ = s * (z' - b)`` with ``s = exp(l)`` (its ``softplus(l) + 0.1`` alone locks; see
   :data:`SCALES`);
3. FSQ with levels ``(2, 2, 2 | 4, 4, 4, 4, 4, 4)``, straight-through;
4. inverse affine, output projection ``u_k = diag(P_out_e, P_out_a) z^``;
5. residual update ``r_k = r_{k-1} - u_k``.

In the block-diagonal variant the emotion and acoustic blocks are *separate parameters* (never a
masked dense matrix), including the affine parameters, so by induction the emotion residual
depends only on the emotion input: no gradient of a loss on the acoustic output can reach an
emotion parameter, and the reverse. Each stage emits one composite token (the 9 digits in mixed
radix, emotion digits least significant: ``token = e + 8 * a`` for the default layout).

``DenseRFSQ`` is identical except that its projections are dense; it exists for the ablation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.nn.layers import wn_conv1d
from affectcodec.quantization.base import Quantizer, QuantizerOutput, batch_moments
from affectcodec.quantization.fsq import FSQ

# softplus(_SOFTPLUS_INIT) + 0.1 == 1: stages start as an identity affine map.
_SOFTPLUS_INIT = math.log(math.expm1(0.9))

#: Normalisations of a stage's values before the grid. ``"running"`` (the default):
#: ``z~ = exp(l) * ((z - m) / sd - b)`` with ``m``, ``sd`` running (EMA) statistics of ``z``
#: that training updates on every batch and inference reads from the weights, and ``l``, ``b``
#: learnt (the paper's learnable affine, on top). ``"softplus"``: the paper's
#: ``z~ = (softplus(l) + 0.1) * (z - b)`` alone, kept to read model folders of format version 1.
#:
#: Why: the grid is fixed, so the values must stay at its scale while everything upstream
#: moves. With a learnt affine alone they do not: after a data-dependent initialisation the
#: softplus scale of a small latent is ~100 and AdamW's ~lr-sized steps move it by 1e-6
#: relatively (locked: every encoder update is amplified 100x; the first shipped model's decoder
#: ignored its acoustic tokens), and even with an exp-parametrised scale the encoder's coherent
#: updates drove 30-60 % of the acoustic values into saturation within 5 steps and the digit
#: entropy from 0.98 to 0.1-0.3 (measured, lr 1e-3 and 1e-4). Running statistics follow the
#: encoder within ~1 / momentum steps.
SCALES = ("running", "softplus")

#: EMA momentum of the running statistics (per training step).
MOMENTUM = 0.05

#: |z~| beyond which tanh is saturated (tanh(2) = 0.96: every level is reachable well inside it).
#: The straight-through gradient vanishes out there, so nothing would pull a saturated channel
#: back; ``vq/bound`` does.
SATURATION = 2.0


class _Affine(nn.Module):
    """Per-dimension normalisation of a stage's values (and its inverse); see :data:`SCALES`."""

    def __init__(self, dim: int, scale: str = "running"):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        self.parametrisation = scale
        init = 0.0 if scale == "running" else _SOFTPLUS_INIT
        self.log_scale = nn.Parameter(torch.full((1, dim, 1), init))
        self.bias = nn.Parameter(torch.zeros(1, dim, 1))
        if scale == "running":
            self.register_buffer("running_mean", torch.zeros(1, dim, 1))
            self.register_buffer("running_std", torch.ones(1, dim, 1))

    def scale(self) -> Tensor:
        if self.parametrisation == "running":
            return torch.exp(self.log_scale)
        return F.softplus(self.log_scale) + 0.1

    def forward(self, z: Tensor) -> Tensor:
        if self.parametrisation == "softplus":
            return self.scale() * (z - self.bias)
        if self.training:
            with torch.no_grad():
                mean, std = batch_moments(z)
                self.running_mean.lerp_(mean, MOMENTUM)
                self.running_std.lerp_(std, MOMENTUM)
        return self.scale() * ((z - self.running_mean) / self.running_std - self.bias)

    def inverse(self, z: Tensor) -> Tensor:
        if self.parametrisation == "softplus":
            return z / self.scale() + self.bias
        return (z / self.scale() + self.bias) * self.running_std + self.running_mean

    def standardise(self, z: Tensor) -> None:
        """Make ``z~`` of ``z`` [B, dim, T] mean 0 and standard deviation 1 per dimension (the
        softplus form cannot go below its floor of 0.1)."""
        mean, std = batch_moments(z)
        if self.parametrisation == "running":
            self.running_mean.copy_(mean)
            self.running_std.copy_(std)
            self.log_scale.zero_()
            self.bias.zero_()
            return
        self.bias.copy_(mean)
        target = (1 / std - 0.1).clamp_min(1e-3)
        self.log_scale.copy_(target + torch.log(-torch.expm1(-target)))  # softplus^-1, overflow-free


class _BlockDiagonal(nn.Module):
    """``diag(A, B)`` as two independent weight-normalised 1x1 convs: no cross terms can exist."""

    def __init__(self, in_dims: tuple[int, int], out_dims: tuple[int, int]):
        super().__init__()
        self.split = in_dims[0]
        self.emotion = wn_conv1d(in_dims[0], out_dims[0], 1)
        self.acoustic = wn_conv1d(in_dims[1], out_dims[1], 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.emotion(x[:, : self.split]), self.acoustic(x[:, self.split:])], 1)

    def pairs(self, other: _BlockDiagonal) -> list[tuple[nn.Conv1d, nn.Conv1d]]:
        """Matching blocks of this projection and ``other`` (emotion with emotion, ...)."""
        return [(self.emotion, other.emotion), (self.acoustic, other.acoustic)]


class _Dense(nn.Module):
    def __init__(self, in_dims: tuple[int, int], out_dims: tuple[int, int]):
        super().__init__()
        self.proj = wn_conv1d(sum(in_dims), sum(out_dims), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)

    def pairs(self, other: _Dense) -> list[tuple[nn.Conv1d, nn.Conv1d]]:
        return [(self.proj, other.proj)]


def _pseudo_inverse(conv_in: nn.Conv1d, conv_out: nn.Conv1d) -> None:
    """Set the weight-normalised 1x1 ``conv_out`` to undo ``conv_in``: ``W_out = pinv(W_in)``,
    ``b_out = -W_out b_in``."""
    v, g = conv_in.weight_v[..., 0], conv_in.weight_g[..., 0]
    w_in = g * v / v.norm(dim=1, keepdim=True)
    w_out = torch.linalg.pinv(w_in)
    conv_out.weight_v.copy_(w_out[..., None])
    conv_out.weight_g.copy_(w_out.norm(dim=1, keepdim=True)[..., None])
    conv_out.bias.copy_(-w_out @ conv_in.bias)


class _Stage(nn.Module):
    def __init__(self, dims: tuple[int, int], code_dims: tuple[int, int], block_diagonal: bool,
                 scale: str):
        super().__init__()
        projection = _BlockDiagonal if block_diagonal else _Dense
        self.n_emotion = code_dims[0]
        self.project_in = projection(dims, code_dims)
        self.project_out = projection(code_dims, dims)
        # Separate affine parameters per partition keep the emotion block's parameters disjoint.
        self.affine_emotion = _Affine(code_dims[0], scale)
        self.affine_acoustic = _Affine(code_dims[1], scale)

    def normalise(self, z: Tensor) -> Tensor:
        n = self.n_emotion
        return torch.cat([self.affine_emotion(z[:, :n]), self.affine_acoustic(z[:, n:])], 1)

    def standardise(self, residual: Tensor) -> None:
        """Data-dependent initialisation on this stage's input: both normalisations standardise
        their values, and the output projection becomes the pseudo-inverse of the input
        projection, so that from the first step a stage's output is its input's projection onto
        the coded subspace (``u_k = P+ P r``: never farther from the residual than zero is)."""
        z = self.project_in(residual)
        self.affine_emotion.standardise(z[:, : self.n_emotion])
        self.affine_acoustic.standardise(z[:, self.n_emotion:])
        for conv_in, conv_out in self.project_in.pairs(self.project_out):
            _pseudo_inverse(conv_in, conv_out)

    def output(self, values: Tensor) -> Tensor:
        n = self.n_emotion
        z = torch.cat([self.affine_emotion.inverse(values[:, :n]),
                       self.affine_acoustic.inverse(values[:, n:])], 1)
        return self.project_out(z)


class ResidualFSQ(Quantizer):
    """Residual FSQ over an emotion / acoustic split latent (shared code of both variants).

    Args:
        emotion_dim: channels of the emotion partition (the first channels of the latent).
        acoustic_dim: channels of the acoustic partition.
        n_stages: residual stages K.
        emotion_levels: FSQ levels of the emotion digits of each stage.
        acoustic_levels: FSQ levels of the acoustic digits of each stage.
        block_diagonal: separate emotion/acoustic projections (BD-RFSQ) or dense ones.
        scale: parametrisation of the affine scales (:data:`SCALES`).
    """

    def __init__(self, emotion_dim: int, acoustic_dim: int, n_stages: int = 8,
                 emotion_levels: Sequence[int] = (2, 2, 2),
                 acoustic_levels: Sequence[int] = (4, 4, 4, 4, 4, 4),
                 block_diagonal: bool = True, scale: str = "running"):
        super().__init__()
        if emotion_dim < 1 or acoustic_dim < 1 or n_stages < 1:
            raise ValueError("emotion_dim, acoustic_dim and n_stages must be >= 1")
        self.emotion_dim, self.acoustic_dim = int(emotion_dim), int(acoustic_dim)
        self.input_dim = self.emotion_dim + self.acoustic_dim
        self.num_stages = int(n_stages)
        self.emotion_levels = tuple(int(x) for x in emotion_levels)
        self.acoustic_levels = tuple(int(x) for x in acoustic_levels)
        self.block_diagonal = block_diagonal
        self.fsq = FSQ(self.emotion_levels + self.acoustic_levels)
        dims = (self.emotion_dim, self.acoustic_dim)
        code_dims = (len(self.emotion_levels), len(self.acoustic_levels))
        self.stages = nn.ModuleList(_Stage(dims, code_dims, block_diagonal, scale)
                                    for _ in range(n_stages))

    @property
    def cardinality(self) -> int:
        return self.fsq.cardinality

    @property
    def levels(self) -> tuple[int, ...]:
        return self.fsq.levels

    @property
    def num_emotion_digits(self) -> int:
        return len(self.emotion_levels)

    def forward(self, u: Tensor, n_stages: int | None = None) -> QuantizerOutput:
        """Quantize ``u`` float [B, D, T] (emotion channels first) with ``n_stages`` stages.

        Returns:
            :class:`QuantizerOutput` with codes int64 [B, n_stages, T] and one partial sum per
            stage; ``losses["vq/commit"]`` is the mean squared distance between the bounded
            continuous values and their grid points (in grid units), ``losses["vq/bound"]`` the
            mean squared excess of ``|z~|`` over :data:`SATURATION` (0 while nothing saturates),
            ``losses["vq/latent"]`` the relative error of the partial sums against ``u``
            (:meth:`_latent_loss`).
        """
        if u.dim() != 3 or u.shape[1] != self.input_dim:
            raise ValueError(f"expected u of shape [B, {self.input_dim}, T], got {tuple(u.shape)}")
        n_stages = self._check_stages(n_stages)
        self._maybe_data_init(u)
        residual, quantized = u, torch.zeros_like(u)
        codes, partial_sums, commit, bound, saturated = [], [], [], [], []
        for stage in self.stages[:n_stages]:
            z = stage.normalise(stage.project_in(residual))
            values, digits = self.fsq(z)
            commit.append(F.mse_loss(torch.tanh(z.float()), values.detach()))
            bound.append(F.relu(z.float().abs() - SATURATION).square().mean())
            saturated.append((z[:, stage.n_emotion:].detach().abs() > SATURATION).float().mean())
            u_k = stage.output(values)
            quantized = quantized + u_k
            residual = residual - u_k
            codes.append(self.fsq.digits_to_index(digits))
            partial_sums.append(quantized)
        codes_t = torch.stack(codes, dim=1)
        return QuantizerOutput(
            quantized=quantized,
            codes=codes_t,
            partial_sums=partial_sums,
            losses={"vq/commit": torch.stack(commit).mean(), "vq/bound": torch.stack(bound).mean(),
                    "vq/latent": self._latent_loss(u, partial_sums)},
            metrics=self._code_metrics(codes_t, saturated),
        )

    def encode(self, u: Tensor, n_stages: int | None = None) -> Tensor:
        """Tokens of ``u`` float [B, D, T]: int64 [B, K, T], K = ``n_stages``.

        The arithmetic of :meth:`forward` (so the same tokens, bit for bit) without what only
        training needs: losses, code statistics, partial sums and the last stage's output.
        """
        if self.training:
            return self.forward(u, n_stages).codes
        if u.dim() != 3 or u.shape[1] != self.input_dim:
            raise ValueError(f"expected u of shape [B, {self.input_dim}, T], got {tuple(u.shape)}")
        n_stages = self._check_stages(n_stages)
        residual, codes = u, []
        for k, stage in enumerate(self.stages[:n_stages]):
            values, digits = self.fsq(stage.normalise(stage.project_in(residual)))
            codes.append(self.fsq.digits_to_index(digits))
            if k + 1 < n_stages:
                residual = residual - stage.output(values)
        return torch.stack(codes, dim=1)

    def _latent_loss(self, u: Tensor, partial_sums: list[Tensor]) -> Tensor:
        """Mean over the active stage counts m of the relative squared error of the m-stage
        latent against ``u`` (detached), per partition, the two partitions averaged.

        Why: a stage's projections are learnt, so nothing but this makes ``u_k`` approximate the
        residual it quantizes. Trained through the decoder alone, the first run's 1- and 2-stage
        latents were 2.0 and 2.7 times farther from ``u`` than zero is, the residual passed on
        was noise, and stages 3-8 changed the output by nothing measurable (STOI 0.77 at 1.5, 3
        and 6 kbit/s). Per partition, so no gradient crosses the blocks."""
        target = u.detach().float()
        e = self.emotion_dim
        energy = [target[:, :e].square().mean().clamp_min(1e-8),
                  target[:, e:].square().mean().clamp_min(1e-8)]
        terms = []
        for q in partial_sums:
            q = q.float()
            terms.append(((q[:, :e] - target[:, :e]).square().mean() / energy[0]
                          + (q[:, e:] - target[:, e:]).square().mean() / energy[1]) / 2)
        return torch.stack(terms).mean()

    @torch.no_grad()
    def _code_metrics(self, codes: Tensor, saturated: list[Tensor]) -> dict[str, Tensor]:
        """Per stage: distinct tokens in the batch, normalised entropy of the acoustic digits
        (1 = every level equally used), share of saturated acoustic values; and their means."""
        digits = self.fsq.index_to_digits(codes.flatten(0, 1))[:, self.num_emotion_digits:]
        digits = digits.unflatten(0, codes.shape[:2])  # [B, K, d_a, T]
        metrics: dict[str, Tensor] = {}
        for k in range(codes.shape[1]):
            metrics[f"vq/stage{k + 1}/unique"] = torch.tensor(float(torch.unique(codes[:, k]).numel()))
            entropies = []
            for i, level in enumerate(self.acoustic_levels):
                p = torch.bincount(digits[:, k, i].reshape(-1), minlength=level).float()
                p = p / p.sum().clamp_min(1)
                entropies.append(-(p * p.clamp_min(1e-12).log()).sum() / math.log(level))
            metrics[f"vq/stage{k + 1}/entropy"] = torch.stack(entropies).mean()
            metrics[f"vq/stage{k + 1}/saturation"] = saturated[k]
        # The means keep the RVQ baseline's name for distinct tokens, so both log the same key.
        for name, key in (("unique", "vq/unique_tokens"), ("entropy", "vq/entropy"),
                          ("saturation", "vq/saturation")):
            values = [metrics[f"vq/stage{k + 1}/{name}"] for k in range(codes.shape[1])]
            metrics[key] = torch.stack(values).mean()
        return metrics

    def data_init(self, u: Tensor) -> None:
        residual = u
        for stage in self.stages:
            stage.standardise(residual)
            values, _ = self.fsq(stage.normalise(stage.project_in(residual)))
            residual = residual - stage.output(values)

    def decode(self, codes: Tensor) -> Tensor:
        """Quantized latent float [B, D, T] from tokens int [B, K, T]; needs nothing else."""
        self._check_codes(codes)
        quantized = None
        for k in range(codes.shape[1]):
            values = self.fsq.digits_to_values(self.fsq.index_to_digits(codes[:, k]))
            u_k = self.stages[k].output(values)
            quantized = u_k if quantized is None else quantized + u_k
        return quantized


class BDRFSQ(ResidualFSQ):
    """Block-Diagonal Residual FSQ: emotion and acoustic projections are separate parameters."""

    def __init__(self, emotion_dim: int, acoustic_dim: int, n_stages: int = 8,
                 emotion_levels: Sequence[int] = (2, 2, 2),
                 acoustic_levels: Sequence[int] = (4, 4, 4, 4, 4, 4), scale: str = "running"):
        super().__init__(emotion_dim, acoustic_dim, n_stages, emotion_levels, acoustic_levels,
                         block_diagonal=True, scale=scale)

    @property
    def emotion_parameters(self) -> list[nn.Parameter]:
        """Every parameter of the emotion blocks (for the structural-guarantee checks)."""
        params = []
        for stage in self.stages:
            for block in (stage.project_in.emotion, stage.project_out.emotion, stage.affine_emotion):
                params.extend(block.parameters())
        return params

    @property
    def acoustic_parameters(self) -> list[nn.Parameter]:
        """Every parameter of the acoustic blocks."""
        params = []
        for stage in self.stages:
            for block in (stage.project_in.acoustic, stage.project_out.acoustic,
                          stage.affine_acoustic):
                params.extend(block.parameters())
        return params


class DenseRFSQ(ResidualFSQ):
    """Residual FSQ with dense (full) projections: the "factorized" ablation baseline.

    Same arguments, token layout and interface as :class:`BDRFSQ`; the first digits are still
    called the emotion digits, but nothing keeps acoustic information out of them.
    """

    def __init__(self, emotion_dim: int, acoustic_dim: int, n_stages: int = 8,
                 emotion_levels: Sequence[int] = (2, 2, 2),
                 acoustic_levels: Sequence[int] = (4, 4, 4, 4, 4, 4), scale: str = "running"):
        super().__init__(emotion_dim, acoustic_dim, n_stages, emotion_levels, acoustic_levels,
                         block_diagonal=False, scale=scale)
