"""AffectCodec: the emotion-preserving speech codec model (an ``nn.Module``; no Lightning here)."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec import audio
from affectcodec.codes import Codes
from affectcodec.emotion.registry import build_teacher
from affectcodec.interface import Codec
from affectcodec.model_config import check_codec_config
from affectcodec.model_dir import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ModelDirError,
    check_type,
    read_meta,
    read_tensors,
    read_weight_shapes,
    write_model_dir,
)
from affectcodec.nn import (
    Decoder,
    EmotionAdapter,
    EmotionDecoder,
    Encoder,
    FiLM,
    FrameDecoder,
    FrameEncoder,
    WindowedAttentionPooling,
)
from affectcodec.nn.determinism import Conv1d, deterministic
from affectcodec.quantization import BDRFSQ, RVQ, DenseRFSQ, Quantizer, QuantizerOutput

MODEL_TYPE = "affectcodec"
FORMAT_VERSION = 2
QUANTIZERS = ("bdrfsq", "dense_rfsq", "rvq")
#: ``"frame"``: the Vocos-style generator at the frame rate (STFT front end, causal ConvNeXt,
#: inverse-STFT head; the default, what trains and runs fast on a CPU). ``"dac"``: the paper's
#: DAC-style convolutional generator at the sample rate (for GPU training).
GENERATORS = ("frame", "dac")
#: Widths (encoder_dim, decoder_dim) when none are given.
_DEFAULT_DIMS = {"frame": (256, 256), "dac": (16, 256)}


class CheckpointError(ModelDirError):
    """A codec folder that cannot be loaded: missing files, wrong type or version, bad weights."""


@dataclass
class CodecOutput:
    """What :meth:`AffectCodec.forward` returns (training and analysis).

    Attributes:
        audio: float [B, 1, N], the reconstruction from ``n_stages`` stages.
        quantizer: the quantizer's output (codes [B, K, T], partial sums, losses, metrics).
        n_stages: stages used for ``audio``.
        partial_audio: reconstructions float [B, 1, N] from the first m stages, keyed by m, for
            every requested m below ``n_stages`` (the multi-rate loss); empty if none requested.
        teacher_features: float [B, D_t, T], the frozen teacher's features of the input, or None
            without an emotion path.
        emotion_prediction: float [B, D_t, T], the emotion decoder's reconstruction of those
            features from the quantized emotion partition (for L_emo), or None.
        lengths: int64 [B], valid samples per item.
    """

    audio: Tensor
    quantizer: QuantizerOutput
    n_stages: int
    partial_audio: dict[int, Tensor] = field(default_factory=dict)
    teacher_features: Tensor | None = None
    emotion_prediction: Tensor | None = None
    lengths: Tensor | None = None

    @property
    def codes(self) -> Tensor:
        """int64 [B, K, T]."""
        return self.quantizer.codes


class AffectCodec(Codec, nn.Module):
    """Emotion-preserving neural speech codec with a BD-RFSQ bottleneck.

    16 kHz mono audio -> causal DAC-style encoder (hop 320, 50 frames/s) -> acoustic latent A.
    In parallel, a frozen emotion teacher -> adapter -> frame emotion features E; E is pooled
    over a bounded window and modulates A by FiLM (CEM), and a projection of E is the emotion
    partition. ``U = [U_e ; A]`` goes through the residual quantizer; each stage emits one
    composite token per frame (15 bits: 3 emotion + 12 acoustic), so 2 / 4 / 8 stages are
    1.5 / 3 / 6 kbit/s.

    Args:
        sample_rate: model audio rate.
        generator: ``"frame"`` (default: :class:`~affectcodec.nn.FrameEncoder` and
            :class:`~affectcodec.nn.FrameDecoder`, ConvNeXt at 50 Hz with an STFT front end and
            an inverse-STFT head; 1 frame of decoder look-ahead) or ``"dac"`` (the paper's
            DAC-style generator at the sample rate, strictly causal).
        encoder_dim: ``"frame"``: ConvNeXt width of the encoder (default 256); ``"dac"``: width
            after the first conv, doubled per block (default 16).
        strides: downsampling factors; their product is the hop (``"dac"`` downsamples by them,
            ``"frame"`` uses their product only).
        decoder_dim: ``"frame"``: ConvNeXt width of the decoder (default 256); ``"dac"``: width
            after the first conv, halved per block (default 256).
        encoder_blocks, decoder_blocks: ConvNeXt blocks at 50 Hz (``"frame"`` only).
        decoder_upsample: sub-frames per frame before the inverse STFT (``"frame"`` only).
        decoder_post_blocks: ConvNeXt blocks at the sub-frame rate (``"frame"`` only).
        encoder_n_fft, decoder_n_fft: STFT sizes of the front end and of the head
            (``"frame"`` only).
        encoder_phase: the front end also sees the STFT's phase (``"frame"`` only; see
            :mod:`affectcodec.nn.frame_encoder`).
        emotion_dim: channels of the emotion partition U_e.
        acoustic_dim: channels of the acoustic partition (the encoder's latent).
        n_stages: residual stages K.
        emotion_levels: FSQ levels of the emotion digits of a stage.
        acoustic_levels: FSQ levels of the acoustic digits of a stage.
        quantizer: ``"bdrfsq"`` (default), ``"dense_rfsq"`` (ablation) or ``"rvq"`` (baseline).
        rvq_codebook_size: codebook entries per stage for ``"rvq"``.
        rvq_codebook_dim: factorised lookup dimension for ``"rvq"``.
        rate_stages: stage counts offered as bitrates (ascending, last = n_stages).
        fsq_scale: normalisation of the RFSQ stages' values, ``"running"`` (default: running
            statistics and a learnt affine) or ``"softplus"`` (the paper's learnt affine alone;
            model folders of format version 1). See :data:`affectcodec.quantization.rfsq.SCALES`.
        emotion_path: use the teacher/adapter emotion partition (required by the RFSQ variants).
        cem: utterance-level FiLM conditioning (needs the emotion path).
        cem_window: frames in the causal pooling window of CEM.
        adapter_dim: channels of the adapted emotion features E.
        teacher: emotion teacher spec ``{"name": ..., **args}`` (see
            :func:`affectcodec.emotion.build_teacher`).
    """

    def __init__(self, sample_rate: int = audio.MODEL_RATE, generator: str = "frame",
                 encoder_dim: int | None = None,
                 strides: Sequence[int] = (2, 4, 5, 8), decoder_dim: int | None = None,
                 encoder_blocks: int = 4, decoder_blocks: int = 6, decoder_upsample: int = 2,
                 decoder_post_blocks: int = 1, encoder_n_fft: int = 640, decoder_n_fft: int = 640,
                 encoder_phase: bool = False,
                 emotion_dim: int = 64, acoustic_dim: int = 256, n_stages: int = 8,
                 emotion_levels: Sequence[int] = (2, 2, 2),
                 acoustic_levels: Sequence[int] = (4, 4, 4, 4, 4, 4),
                 quantizer: str = "bdrfsq", rvq_codebook_size: int = 1024, rvq_codebook_dim: int = 8,
                 rate_stages: Sequence[int] = (2, 4, 8), fsq_scale: str = "running",
                 emotion_path: bool = True, cem: bool = True,
                 cem_window: int = 100, adapter_dim: int = 64,
                 teacher: dict[str, Any] | None = None):
        nn.Module.__init__(self)
        teacher = dict(teacher) if teacher is not None else {"name": "prosody"}
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
        default_dims = _DEFAULT_DIMS[generator]
        encoder_dim = default_dims[0] if encoder_dim is None else encoder_dim
        decoder_dim = default_dims[1] if decoder_dim is None else decoder_dim
        self.config: dict[str, Any] = {
            "sample_rate": int(sample_rate), "generator": generator,
            "encoder_dim": int(encoder_dim),
            "strides": [int(s) for s in strides], "decoder_dim": int(decoder_dim),
            "encoder_blocks": int(encoder_blocks), "decoder_blocks": int(decoder_blocks),
            "decoder_upsample": int(decoder_upsample),
            "decoder_post_blocks": int(decoder_post_blocks),
            "encoder_n_fft": int(encoder_n_fft), "decoder_n_fft": int(decoder_n_fft),
            "encoder_phase": bool(encoder_phase),
            "emotion_dim": int(emotion_dim), "acoustic_dim": int(acoustic_dim),
            "n_stages": int(n_stages), "emotion_levels": [int(x) for x in emotion_levels],
            "acoustic_levels": [int(x) for x in acoustic_levels], "quantizer": quantizer,
            "rvq_codebook_size": int(rvq_codebook_size), "rvq_codebook_dim": int(rvq_codebook_dim),
            "rate_stages": [int(m) for m in rate_stages], "fsq_scale": fsq_scale,
            "emotion_path": bool(emotion_path),
            "cem": bool(cem), "cem_window": int(cem_window), "adapter_dim": int(adapter_dim),
            "teacher": teacher,
        }
        if quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {quantizer!r}")
        if quantizer != "rvq" and not emotion_path:
            raise ValueError(f"quantizer {quantizer!r} needs emotion_path=True (it has an emotion partition)")
        if cem and not emotion_path:
            raise ValueError("cem=True needs emotion_path=True")
        rates = list(self.config["rate_stages"])
        if not rates or rates != sorted(set(rates)) or rates[0] < 1 or rates[-1] != n_stages:
            raise ValueError(f"rate_stages must be ascending, distinct, within 1..n_stages and end at "
                             f"n_stages={n_stages}; got {rates}")

        self._sample_rate = int(sample_rate)
        self._hop = math.prod(strides)
        self.emotion_path, self.use_cem = bool(emotion_path), bool(cem)
        self.emotion_dim = int(emotion_dim) if emotion_path else 0
        self.acoustic_dim = int(acoustic_dim)
        self.encoder: Encoder | FrameEncoder
        if generator == "frame":
            self.encoder = FrameEncoder(encoder_dim, encoder_blocks, acoustic_dim, self._hop,
                                        n_fft=encoder_n_fft, phase=encoder_phase)
        else:
            self.encoder = Encoder(encoder_dim, strides, acoustic_dim)
        latent_dim = self.emotion_dim + self.acoustic_dim
        self.quantizer: Quantizer
        if quantizer == "bdrfsq":
            self.quantizer = BDRFSQ(emotion_dim, acoustic_dim, n_stages, emotion_levels, acoustic_levels,
                                    fsq_scale)
        elif quantizer == "dense_rfsq":
            self.quantizer = DenseRFSQ(emotion_dim, acoustic_dim, n_stages, emotion_levels,
                                       acoustic_levels, fsq_scale)
        else:
            self.quantizer = RVQ(latent_dim, n_stages, rvq_codebook_size, rvq_codebook_dim)
        self.decoder: Decoder | FrameDecoder
        if generator == "frame":
            self.decoder = FrameDecoder(latent_dim, decoder_dim, decoder_blocks, self._hop,
                                        decoder_upsample, decoder_post_blocks, decoder_n_fft)
        else:
            self.decoder = Decoder(latent_dim, decoder_dim, tuple(reversed(strides)))
        receptive = self.encoder.receptive_field
        if emotion_path:
            self.teacher = build_teacher(teacher)
            # Store the architecture only: the teacher's weights travel in model.safetensors.
            self.config["teacher"] = self.teacher.config()
            if self.teacher.hop_length != self._hop or self.teacher.sample_rate != self._sample_rate:
                raise ValueError("the emotion teacher's frame rate must match the codec's")
            self.adapter = EmotionAdapter(self.teacher.feature_dim, adapter_dim)
            self.emotion_proj = Conv1d(adapter_dim, emotion_dim, 1)
            self.emotion_decoder = EmotionDecoder(emotion_dim, self.teacher.feature_dim)
            # Adapter: 4 frames of left context on top of the teacher's own field.
            receptive = max(receptive, self.teacher.receptive_field + 4 * self._hop)
            if cem:
                self.pooling = WindowedAttentionPooling(adapter_dim, cem_window)
                self.film = FiLM(adapter_dim, acoustic_dim)
                receptive += (cem_window - 1) * self._hop
        #: Samples of left context one frame's tokens depend on (all paths together).
        self.receptive_field = receptive

    # ----------------------------------------------------------------------------- interface
    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def hop_length(self) -> int:
        return self._hop

    @property
    def num_stages(self) -> int:
        return self.quantizer.num_stages

    @property
    def cardinality(self) -> int:
        return self.quantizer.cardinality

    @property
    def levels(self) -> tuple[int, ...] | None:
        return self.quantizer.levels

    @property
    def num_emotion_digits(self) -> int:
        return self.quantizer.num_emotion_digits

    @property
    def rate_stages(self) -> tuple[int, ...]:
        return tuple(self.config["rate_stages"])

    @property
    def supports_affc(self) -> bool:
        return True

    @property
    def config_hash(self) -> str:
        """Short SHA-256 of the canonical config: identifies the architecture in token files."""
        blob = json.dumps(self.config, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def decoder_lookahead_frames(self) -> int:
        """Token frames after a sample's own frame that the decoded sample depends on."""
        return self.decoder.lookahead_frames

    def frames_of(self, lengths: Tensor) -> Tensor:
        """Token frames int64 [B] that cover ``lengths`` int [B] samples (at least one)."""
        return (lengths.to(torch.int64) + self._hop - 1).div(self._hop, rounding_mode="floor").clamp_min(1)

    # ------------------------------------------------------------------------------- model
    def _pad(self, wav: Tensor) -> Tensor:
        n = wav.shape[-1]
        frames = max(1, -(-n // self._hop))
        return F.pad(wav, (0, frames * self._hop - n))

    def teacher_features(self, wav: Tensor) -> Tensor:
        """Frozen teacher features float [B, D_t, T] of wav float [B, 1, N] (N a multiple of hop)."""
        if not self.emotion_path:
            raise ValueError("this model has no emotion path")
        return self.teacher(wav)

    def latent(self, wav: Tensor, first_frame: int = 0) -> tuple[Tensor, Tensor | None]:
        """Pre-quantization latent ``U = [U_e ; A_f]`` float [B, D, T - first_frame] and teacher
        features float [B, D_t, T].

        Args:
            wav: float [B, 1, N] at the model rate, N a multiple of the hop (T = N / hop).
            first_frame: frames before it only serve as context: ``U`` starts there, equal bit
                for bit to ``latent(wav)[0][..., first_frame:]``, and the acoustic encoder only
                runs on the samples those frames depend on (its receptive field is shorter than
                the emotion path's, which windowed encoding sizes the context for).
        """
        start = max(0, first_frame - math.ceil(self.encoder.receptive_field / self._hop))
        a = self.encoder(wav[..., start * self._hop:])[..., first_frame - start:]
        if not self.emotion_path:
            return a, None
        features = self.teacher(wav)
        e = self.adapter(features)
        if self.use_cem:
            a = self.film(a, self.pooling(e)[..., first_frame:])
        return torch.cat([self.emotion_proj(e[..., first_frame:]), a], dim=1), features

    def forward(self, wav: Tensor, lengths: Tensor | None = None, n_stages: int | None = None,
                partial_stages: Sequence[int] = ()) -> CodecOutput:
        """Encode, quantize and decode a training batch.

        Args:
            wav: float [B, 1, N] at the model rate (no resampling here).
            lengths: int64 [B] valid samples (None: all N).
            n_stages: active stages (None: all).
            partial_stages: stage counts m < n_stages whose reconstructions are also decoded.

        Returns:
            :class:`CodecOutput`; ``audio`` has the input's length N.
        """
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"wav must be [B, 1, N], got {tuple(wav.shape)}")
        n = wav.shape[-1]
        n_stages = self.stages_for(n_stages=n_stages)
        x = self._pad(wav)
        u, features = self.latent(x)
        q = self.quantizer(u, n_stages)
        frames = None if lengths is None else self.frames_of(lengths)
        partial = {m: self.decoder(q.partial_sums[m - 1], frames)[..., :n]
                   for m in partial_stages if m < n_stages}
        emotion_prediction = None
        if self.emotion_path:
            emotion_prediction = self.emotion_decoder(q.quantized[:, : self.emotion_dim])
        if lengths is None:
            lengths = torch.full((wav.shape[0],), n, dtype=torch.int64, device=wav.device)
        return CodecOutput(audio=self.decoder(q.quantized, frames)[..., :n], quantizer=q, n_stages=n_stages,
                           partial_audio=partial, teacher_features=features,
                           emotion_prediction=emotion_prediction, lengths=lengths)

    # ------------------------------------------------------------------------- public API
    @torch.no_grad()
    def encode(self, wav: Tensor | np.ndarray, sample_rate: int | None = None,
               lengths: Tensor | None = None, kbps: float | None = None,
               n_stages: int | None = None) -> Codes:
        """Encode audio to tokens.

        Args:
            wav: float audio ``[N]``, ``[B, N]`` or ``[B, C, N]`` (channels are averaged, with a
                warning) in [-1, 1].
            sample_rate: rate of ``wav`` (default: the model's, 16 kHz); resampled if different.
            lengths: int [B] valid samples per item of a zero-padded batch (default: all).
            kbps: bitrate in kbit/s, one of :attr:`bitrates` (default: the highest).
            n_stages: explicit stage count instead of ``kbps``.

        Returns:
            :class:`Codes` with tokens int64 [B, K, T], ``T = ceil(N' / 320)`` at the model rate.
            Each item's valid frames are exactly the tokens it gets when encoded alone, with any
            number of CPU threads (:mod:`affectcodec.nn.determinism`).
        """
        n_stages = self.stages_for(kbps, n_stages)
        sample_rate = self._sample_rate if sample_rate is None else int(sample_rate)
        device = next(self.parameters()).device
        wav, lengths = audio.prepare(wav, sample_rate, self._sample_rate, lengths)
        with deterministic(device):
            u, _ = self.latent(self._pad(wav.to(device)))
            tokens = self.quantizer.encode(u, n_stages)
        return self.codes(tokens, lengths.to(device), source_sample_rate=sample_rate)

    @torch.no_grad()
    def encode_window(self, wav: Tensor, first_frame: int, n_stages: int) -> Tensor:
        """Tokens int64 [B, K, T - first_frame] of a window whose first ``first_frame`` frames
        are context: ``encode(wav, n_stages=n_stages).tokens[..., first_frame:]``, bit for bit,
        with the acoustic encoder and the quantizer run only where those tokens need them
        (:func:`affectcodec.windows.encode_windows`).

        Args:
            wav: float [B, 1, N] at the model rate, N a multiple of the hop (T = N / hop).
            first_frame: frames of context, 0 <= first_frame < T.
            n_stages: stages to keep.
        """
        if wav.dim() != 3 or wav.shape[1] != 1 or wav.shape[-1] % self._hop:
            raise ValueError(f"wav must be [B, 1, N] with N a multiple of {self._hop}, "
                             f"got {tuple(wav.shape)}")
        if not 0 <= first_frame < wav.shape[-1] // self._hop:
            raise ValueError(f"first_frame {first_frame} outside 0..{wav.shape[-1] // self._hop - 1}")
        device = next(self.parameters()).device
        with deterministic(device):
            u, _ = self.latent(wav.to(device), first_frame)
            return self.quantizer.encode(u, self.stages_for(n_stages=n_stages))

    @torch.no_grad()
    def decode(self, codes: Codes, sample_rate: int | None = None) -> Tensor:
        """Decode tokens to audio.

        Args:
            codes: :class:`Codes` with tokens int [B, K, T] of this model's layout (any K up to
                :attr:`num_stages`).
            sample_rate: output rate (default: the model's, 16 kHz).

        Returns:
            float32 [B, 1, N], N the longest item's length (at ``sample_rate``); samples past an
            item's own length are zero.
        """
        self._check_codes(codes)
        device = next(self.parameters()).device
        latent = self.quantizer.decode(codes.tokens.to(device))
        wav = self.decoder(latent, self.frames_of(codes.lengths.to(device)))
        return audio.finish_decode(wav, codes.lengths, self._sample_rate, sample_rate)

    def _check_codes(self, codes: Codes) -> None:
        if not isinstance(codes, Codes):
            raise TypeError(f"decode takes a Codes object, got {type(codes).__name__}")
        layout = (codes.cardinality, codes.levels, codes.hop_length, codes.sample_rate)
        mine = (self.cardinality, self.quantizer.levels, self._hop, self._sample_rate)
        if layout != mine:
            raise ValueError(f"codes layout (cardinality, levels, hop, rate) {layout} does not match "
                             f"this model's {mine}")

    # ------------------------------------------------------------------------- checkpoints
    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created if needed;
        the one released-folder format, :mod:`affectcodec.model_dir`).

        Files are written to temporary names and renamed, so an interrupted save never leaves a
        half-written model behind.
        """
        return write_model_dir(directory, MODEL_TYPE, FORMAT_VERSION, self.config, self.state_dict())

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str | torch.device = "cpu"
                        ) -> AffectCodec:
        """Rebuild a model from a folder written by :meth:`save`; weights are loaded strictly.

        Raises:
            CheckpointError: missing files, another model type, a newer format, or weights whose
                keys or shapes do not match the config.
        """
        directory = Path(directory)
        meta = read_config(directory)
        check_type(directory, meta, MODEL_TYPE, range(1, FORMAT_VERSION + 1), CheckpointError)
        config = dict(meta["config"])
        try:
            check_codec_config(config)  # bounds first: building allocates what the config asks
        except ValueError as exc:
            raise CheckpointError(f"{directory / CONFIG_FILE}: invalid config: {exc}") from None
        if meta["format_version"] == 1:
            # Version 1 predates the frame-rate generator and the exp-parametrised scales.
            config.setdefault("generator", "dac")
            config.setdefault("fsq_scale", "softplus")
        weights = directory / WEIGHTS_FILE
        shapes = read_weight_shapes(weights, CheckpointError)  # the header only: cheap
        try:
            model = cls(**config)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"{directory / CONFIG_FILE}: invalid config: "
                                  f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
                                  ) from None
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        missing = sorted(set(expected) - set(shapes))
        unexpected = sorted(set(shapes) - set(expected))
        if missing or unexpected:
            raise CheckpointError(f"{weights} does not match its config: missing keys {missing[:5]}"
                                  f"{' ...' if len(missing) > 5 else ''}, unexpected keys "
                                  f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        bad = [k for k in expected if expected[k] != shapes[k]]
        if bad:
            raise CheckpointError(f"{weights}: shape mismatch for {bad[:5]} "
                                  f"(e.g. {shapes[bad[0]]} vs {expected[bad[0]]})")
        # Only now are the tensors read, each of the size the model itself has.
        model.load_state_dict(read_tensors(weights, map_location, CheckpointError), strict=True)
        return model.eval()


def read_config(directory: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a codec folder (:func:`affectcodec.model_dir.read_meta`),
    with its format version checked against what this package reads."""
    meta = read_meta(directory, CheckpointError)
    version = meta["format_version"]
    if not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{directory / CONFIG_FILE}: format_version {version!r} is not supported "
                              f"(this package reads 1..{FORMAT_VERSION}; upgrade affectcodec)")
    return meta
