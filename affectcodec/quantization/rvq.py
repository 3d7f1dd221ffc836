"""Residual vector quantization baseline, built on descript-audio-codec's RVQ.

The parameters and codebook lookup are DAC's ``ResidualVectorQuantize`` (factorised, L2-normalised
codes; Kumar et al., "High-Fidelity Audio Compression with Improved RVQGAN", NeurIPS 2023). The
stage loop is written here rather than calling its ``forward`` because that method (a) draws
quantizer dropout from the global RNG and ignores ``n_quantizers`` in training, which the
multi-rate training must control and synchronise across ranks, (b) returns no per-stage partial
sums, and (c) applies its straight-through estimator as ``z_e + (z_q - z_e).detach()``, which is
not bit-identical to decoding the codes.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

from affectcodec.quantization.base import Quantizer, QuantizerOutput, batch_moments


class RVQ(Quantizer):
    """RVQ over a ``[B, D, T]`` latent with ``n_stages`` codebooks of ``codebook_size`` entries.

    Args:
        input_dim: latent channels D.
        n_stages: residual stages (codebooks) K.
        codebook_size: entries per codebook (the token cardinality).
        codebook_dim: dimension of the factorised lookup space (DAC uses 8).
    """

    def __init__(self, input_dim: int, n_stages: int = 12, codebook_size: int = 1024,
                 codebook_dim: int = 8):
        super().__init__()
        from dac.nn.quantize import ResidualVectorQuantize

        self.input_dim = int(input_dim)
        self.num_stages = int(n_stages)
        self.codebook_size = int(codebook_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # legacy weight_norm inside DAC
            self.rvq = ResidualVectorQuantize(input_dim, n_stages, codebook_size, codebook_dim,
                                              quantizer_dropout=0.0)

    @property
    def cardinality(self) -> int:
        return self.codebook_size

    def forward(self, u: Tensor, n_stages: int | None = None) -> QuantizerOutput:
        """Quantize ``u`` float [B, D, T]; codes int64 [B, n_stages, T].

        Losses: ``vq/commit`` (encoder towards codes) and ``vq/codebook`` (codes towards
        encoder), both DAC's, summed over stages.
        """
        if u.dim() != 3 or u.shape[1] != self.input_dim:
            raise ValueError(f"expected u of shape [B, {self.input_dim}, T], got {tuple(u.shape)}")
        n_stages = self._check_stages(n_stages)
        self._maybe_data_init(u)
        residual, quantized = u, torch.zeros_like(u)
        codes, partial_sums = [], []
        commit = codebook = u.new_zeros(())
        for vq in self.rvq.quantizers[:n_stages]:
            z_e = vq.in_proj(residual)
            z_q, indices = vq.decode_latents(z_e)
            commit = commit + F.mse_loss(z_e, z_q.detach())
            codebook = codebook + F.mse_loss(z_q, z_e.detach())
            # Straight-through with a forward value exactly equal to z_q.
            u_k = vq.out_proj(z_q + (z_e - z_e.detach()))
            quantized = quantized + u_k
            residual = residual - u_k
            codes.append(indices)
            partial_sums.append(quantized)
        codes_t = torch.stack(codes, dim=1).long()
        with torch.no_grad():
            used = [torch.unique(codes_t[:, k]).numel() for k in range(n_stages)]
        return QuantizerOutput(
            quantized=quantized,
            codes=codes_t,
            partial_sums=partial_sums,
            losses={"vq/commit": commit, "vq/codebook": codebook},
            metrics={"vq/unique_tokens": torch.tensor(sum(used) / len(used), dtype=torch.float32)},
        )

    def data_init(self, u: Tensor) -> None:
        # Each stage's in_proj (DAC's weight-normalised conv) is rescaled and shifted so that its
        # output is standardised: the L2-normalised lookup then sees frames spread over the sphere
        # instead of one dominant offset direction.
        residual = u
        for vq in self.rvq.quantizers:
            mean, std = batch_moments(vq.in_proj(residual))
            vq.in_proj.weight_g.div_(std.reshape(-1, 1, 1))
            vq.in_proj.bias.sub_(mean.reshape(-1)).div_(std.reshape(-1))
            z_q, _ = vq.decode_latents(vq.in_proj(residual))
            residual = residual - vq.out_proj(z_q)

    def decode(self, codes: Tensor) -> Tensor:
        """Quantized latent float [B, D, T] from tokens int [B, K, T]."""
        self._check_codes(codes)
        quantized = None
        for k in range(codes.shape[1]):
            vq = self.rvq.quantizers[k]
            u_k = vq.out_proj(vq.decode_code(codes[:, k]))
            quantized = u_k if quantized is None else quantized + u_k
        return quantized
