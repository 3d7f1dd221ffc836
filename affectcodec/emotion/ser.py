"""The learned emotion teacher: a causal dilated-CNN SER encoder with an attention-pooling head.

:class:`SERNet` is the trainable network (front end, encoder, classifier head);
:class:`SERTeacher` wraps a trained one behind the :class:`EmotionTeacher` contract (frozen,
causal, bounded receptive field) and exposes the head as :meth:`SERTeacher.predict_proba`.

Architecture (defaults)::

    wav [B, 1, N] -> CausalLogMel (64 bands, 40 ms window ending at the frame end, hop 320,
    2 s causal mean normalisation) -> 4 causal conv blocks (kernel 5/3/3/3, dilation 1/2/4/8,
    128 channels, per-frame LayerNorm, GELU, residual) -> features [B, 128, N // 320]
    -> attentive statistics pooling (classifier only) -> linear -> 6 emotion logits

Receptive field of a frame: the front end's ``640 + 99 * 320`` samples plus the encoder's
``(4 + 4 + 8 + 16) * 320`` = 42,240 samples (2.64 s); the optional causal 2-D stem
(``conv2d_channels``, used by the bundled teacher) adds 2 frames per layer (43,840 samples).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from affectcodec.emotion.checkpoint import read_model_dir, save_model_dir
from affectcodec.emotion.frontend import CausalLogMel
from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap
from affectcodec.emotion.teacher import EmotionTeacher
from affectcodec.emotion.utterance_pooling import AttentiveStatsPooling
from affectcodec.nn.determinism import Conv1d, Conv2d

MODEL_TYPE = "ser_teacher"


class _ChannelNorm(nn.LayerNorm):
    """LayerNorm over channels of [B, C, T], per frame (causal, unlike batch or group norm)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class _CausalBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = Conv1d(cin, cout, kernel, dilation=dilation)
        self.norm = _ChannelNorm(cout)
        self.drop = nn.Dropout(dropout)
        self.residual = cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.drop(F.gelu(self.norm(self.conv(F.pad(x, (self.pad, 0))))))
        return x + y if self.residual else y


class _MelMaxPool(nn.Module):
    """Max-pooling over pairs of mel bands, [B, C, M, T] -> [B, C, M // 2, T]: the same numbers
    as ``nn.MaxPool2d((2, 1))`` (exact), 40x faster on a CPU (0.13 against 5.5 ms for
    32 x 32 x 1,000)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.maximum(x[:, :, 0::2], x[:, :, 1::2])


class _CausalConv2dStem(nn.Module):
    """2-D convolutions over (mel, time), causal in time, each followed by max-pooling over mel
    by 2: [B, n_mels, T] -> [B, channels[-1] * n_mels / 2^len, T]. Frequency-local filters make
    the features less tied to one speaker's formant positions than a 1-D conv over all bands."""

    def __init__(self, n_mels: int, channels: Sequence[int]):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for cout in channels:
            layers += [nn.ConstantPad2d((2, 0, 1, 1), 0.0), Conv2d(cin, cout, 3),
                       nn.BatchNorm2d(cout), nn.GELU(), _MelMaxPool()]
            cin = cout
        self.net = nn.Sequential(*layers)
        self.out_dim = cin * (n_mels >> len(channels))
        self.context_frames = 2 * len(channels)

    def forward(self, x: Tensor) -> Tensor:
        h = self.net(x[:, None])
        return h.reshape(h.shape[0], -1, h.shape[-1])


class SERNet(nn.Module):
    """Trainable SER network (front end + causal encoder + attention-pooling head).

    Args:
        labels: class names in output order.
        n_mels: mel bands of the front end.
        channels: width of the encoder (= feature_dim).
        kernels, dilations: per causal conv block.
        norm_frames: causal mean-normalisation window of the front end (frames).
        dropout: dropout inside the encoder and before the classifier.
        conv2d_channels: channels of an optional causal 2-D convolution stem before the 1-D
            blocks (empty = none).
    """

    hop_length: ClassVar[int] = 320

    def __init__(self, labels: Sequence[str] = NEMO_EMOTIONS, n_mels: int = 64, channels: int = 128,
                 kernels: Sequence[int] = (5, 3, 3, 3), dilations: Sequence[int] = (1, 2, 4, 8),
                 norm_frames: int = 100, dropout: float = 0.1, conv2d_channels: Sequence[int] = ()):
        super().__init__()
        if len(kernels) != len(dilations):
            raise ValueError("kernels and dilations must have the same length")
        if n_mels % (1 << len(conv2d_channels)):
            raise ValueError("n_mels must be divisible by 2 ** len(conv2d_channels)")
        self.labels = LabelMap(labels)
        self.args: dict[str, Any] = {"labels": list(labels), "n_mels": n_mels, "channels": channels,
                                     "kernels": list(kernels), "dilations": list(dilations),
                                     "norm_frames": norm_frames, "dropout": dropout,
                                     "conv2d_channels": list(conv2d_channels)}
        self.frontend = CausalLogMel(hop_length=self.hop_length, n_mels=n_mels, norm_frames=norm_frames)
        self.stem = _CausalConv2dStem(n_mels, conv2d_channels) if conv2d_channels else nn.Identity()
        stem_dim = self.stem.out_dim if conv2d_channels else n_mels
        widths = [stem_dim] + [channels] * len(kernels)
        self.encoder = nn.Sequential(*[_CausalBlock(widths[i], widths[i + 1], k, d, dropout)
                                       for i, (k, d) in enumerate(zip(kernels, dilations, strict=True))])
        self.pool = AttentiveStatsPooling(channels)
        self.drop = nn.Dropout(dropout * 3)
        self.classifier = nn.Linear(self.pool.out_dim, len(self.labels))
        self.feature_dim = channels
        encoder_frames = sum((k - 1) * d for k, d in zip(kernels, dilations, strict=True))
        encoder_frames += 2 * len(conv2d_channels)
        #: Samples of left context one feature frame depends on.
        self.receptive_field = self.frontend.receptive_field + encoder_frames * self.hop_length

    def frame_lengths(self, lengths: Tensor) -> Tensor:
        """Feature frames covering ``lengths`` samples (ceil)."""
        return torch.div(lengths + self.hop_length - 1, self.hop_length, rounding_mode="floor")

    def frontend_features(self, wav: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """wav float [B, 1, N], lengths [B] -> (log-mel float [B, n_mels, T], frame lengths [B]).
        ``wav`` is zero-padded to a multiple of 320 samples."""
        n = wav.shape[-1]
        x = self.frontend(F.pad(wav, (0, -n % self.hop_length)))
        flen = self.frame_lengths(lengths.to(wav.device)).clamp(min=1)
        # Frames after the end are zeroed: causal layers never let them reach a valid frame, and
        # zeros (the normalised mean) keep batch-norm statistics of padded batches sane.
        valid = torch.arange(x.shape[-1], device=x.device)[None] < flen[:, None]
        return x * valid[:, None], flen

    def encode(self, x: Tensor) -> Tensor:
        """Front-end output float [B, n_mels, T] -> features float [B, channels, T]."""
        return self.encoder(self.stem(x))

    def logits_from_frontend(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """Front-end output float [B, n_mels, T], frame lengths [B] -> logits float [B, C]."""
        return self.classifier(self.drop(self.pooled_from_frontend(x, frame_lengths)))

    def pooled_from_frontend(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """Front-end output -> utterance embedding (attentive mean ; std) float [B, 2 * channels]."""
        return self.pool(self.encode(x), frame_lengths)

    def forward(self, wav: Tensor, lengths: Tensor) -> Tensor:
        """wav float [B, 1, N] at 16 kHz, lengths [B] -> logits float [B, C]."""
        return self.logits_from_frontend(*self.frontend_features(wav, lengths))

    def save_pretrained(self, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
        """Write a released model folder (config.json, model.safetensors, labels.json)."""
        save_model_dir(directory, MODEL_TYPE, self.args, self.state_dict(), self.labels, extra)


class SERTeacher(EmotionTeacher):
    """Frozen learned emotion teacher: frame features of a trained :class:`SERNet`.

    ``features(wav)`` gives the encoder output (before pooling), float [B, 128, N // 320];
    causal: frame ``t`` depends only on samples ``[(t + 1) * 320 - receptive_field, (t + 1) *
    320)`` (receptive_field = 42,240 samples by default). :meth:`predict_proba` runs the pooled
    classifier head on whole utterances (the speaker-adapted head, for measuring the teacher, is
    :class:`~affectcodec.judges.teacher_head.TeacherHead`).

    Args:
        pretrained: a model folder, or the name of a bundled one (``"ser-teacher"``), to load
            weights from; None builds random weights (a codec checkpoint then supplies them).
            Not part of :meth:`config`.
        **arch: :class:`SERNet` architecture arguments (labels, n_mels, channels, kernels,
            dilations, norm_frames, dropout); when ``pretrained`` is given they come from its
            config and any passed here must agree.
    """

    name: ClassVar[str] = "ser"

    def __init__(self, pretrained: str | os.PathLike | None = None, **arch: Any):
        super().__init__()
        tensors = None
        if pretrained is not None:
            stored, tensors, _ = read_model_dir(pretrained, MODEL_TYPE)
            clash = {k: v for k, v in arch.items() if k in stored and _norm(stored[k]) != _norm(v)}
            if clash:
                raise ValueError(f"{pretrained}: architecture arguments {sorted(clash)} differ from "
                                 f"the checkpoint's")
            arch = {**stored, **arch}
        self.net = SERNet(**arch)
        if tensors is not None:
            self.net.load_state_dict(tensors, strict=True)
        self.labels = self.net.labels.labels
        self.feature_dim = self.net.feature_dim
        self.receptive_field = self.net.receptive_field
        self._freeze()

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **self.net.args}

    def features(self, wav: Tensor) -> Tensor:
        """float [B, 1, N] at 16 kHz (N a multiple of 320) -> float [B, feature_dim, N // 320]."""
        return self.net.encode(self.net.frontend(wav))

    @torch.no_grad()
    def embed(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The head's logits float [B, C] of wav float [B, 1, N]: the utterance embedding that
        speaker statistics are taken over (low-dimensional, so the speaker head cannot overfit
        the training speakers the encoder has already seen)."""
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[-1], dtype=torch.int64)
        return self.net.classifier(self.net.pooled_from_frontend(*self.net.frontend_features(wav, lengths)))

    @torch.no_grad()
    def predict_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Class probabilities of the teacher's own head: wav float [B, 1, N] at 16 kHz,
        lengths [B] (None = all N) -> float [B, C] in the order of ``labels`` (speaker-adapted:
        :class:`~affectcodec.judges.teacher_head.TeacherHead`)."""
        return torch.softmax(self.embed(wav, lengths), dim=-1)


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value
