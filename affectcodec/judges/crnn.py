"""The neural judge: a convolutional-recurrent network (2-D CNN + bidirectional GRU).

Deliberately unlike the teacher (:mod:`affectcodec.emotion.ser`): a different front end
(centred 25 ms / 10 ms log-mel with per-utterance mean/variance normalisation), 2-D convolutions
over time and frequency, a bidirectional recurrent layer that sees the whole utterance, and
mean + max pooling::

    wav -> UtteranceLogMel [B, 64, T100] -> 3 x (Conv2d 3x3, BatchNorm, ReLU, MaxPool)
    -> [B, 64 * 8, T100 / 4] -> Linear 128 -> BiGRU(2 x 96) -> masked mean ; max -> Linear C
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torchaudio
from torch import Tensor, nn

from affectcodec.audio import MODEL_RATE
from affectcodec.emotion.checkpoint import save_model_dir
from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap
from affectcodec.emotion.utterance_pooling import frame_mask
from affectcodec.judges.judge import EmotionJudge

MODEL_TYPE = "crnn_judge"


class UtteranceLogMel(nn.Module):
    """Centred log-mel at ``hop_length`` with mean/variance normalisation over each utterance.

    Args:
        sample_rate: input rate.
        n_fft, hop_length: STFT size and step (400 / 160 = 25 ms / 10 ms).
        n_mels: mel bands.
    """

    def __init__(self, sample_rate: int = MODEL_RATE, n_fft: int = 400, hop_length: int = 160,
                 n_mels: int = 64):
        super().__init__()
        self.hop_length = hop_length
        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop_length,
                                                        n_mels=n_mels, f_min=50.0, f_max=8000.0,
                                                        power=2.0, norm="slaney", mel_scale="slaney")

    def frame_lengths(self, lengths: Tensor) -> Tensor:
        """Valid frames per item for valid sample counts ``lengths`` [B]."""
        return torch.div(lengths, self.hop_length, rounding_mode="floor") + 1

    def forward(self, wav: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """wav float [B, 1, N], lengths [B] -> (features float [B, n_mels, T], frame lengths [B]).

        Frames past an item's length are set to 0 after normalisation."""
        x = torch.log(self.mel(wav[:, 0].float()) + 1e-6)  # [B, M, T]
        flen = self.frame_lengths(lengths.to(x.device)).clamp(max=x.shape[-1])
        mask = frame_mask(flen, x.shape[-1]).to(x.dtype)[:, None]
        count = mask.sum(-1, keepdim=True)
        mean = (x * mask).sum(-1, keepdim=True) / count
        var = ((x - mean).pow(2) * mask).sum(-1, keepdim=True) / count
        return (x - mean) / (var + 1e-5).sqrt() * mask, flen


def masked_mean_max(h: Tensor, frame_lengths: Tensor) -> Tensor:
    """h float [B, D, T], frame_lengths [B] -> [mean ; max] over valid frames, float [B, 2 D]."""
    mask = frame_mask(frame_lengths, h.shape[-1])[:, None]
    mean = (h * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    peak = h.masked_fill(~mask, float("-inf")).amax(-1)
    return torch.cat([mean, peak], dim=-1)


class CRNNNet(nn.Module):
    """Trainable CRNN classifier.

    Args:
        labels: class names in output order.
        n_mels: mel bands (must be divisible by 8).
        conv_channels: channels of the three conv blocks.
        hidden: GRU width per direction.
        dropout: dropout before the GRU and before the classifier.
    """

    def __init__(self, labels: Sequence[str] = NEMO_EMOTIONS, n_mels: int = 64,
                 conv_channels: Sequence[int] = (16, 32, 64), hidden: int = 96, dropout: float = 0.3):
        super().__init__()
        if n_mels % 8 or len(conv_channels) != 3:
            raise ValueError("n_mels must be divisible by 8 and conv_channels have 3 entries")
        self.labels = LabelMap(labels)
        self.args: dict[str, Any] = {"labels": list(labels), "n_mels": n_mels,
                                     "conv_channels": list(conv_channels), "hidden": hidden,
                                     "dropout": dropout}
        self.frontend = UtteranceLogMel(n_mels=n_mels)
        layers: list[nn.Module] = []
        cin = 1
        # Pool time by 2 in the first two blocks only: 100 Hz -> 25 Hz.
        for cout, pool in zip(conv_channels, ((2, 2), (2, 2), (2, 1)), strict=True):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                       nn.MaxPool2d(pool, ceil_mode=True)]
            cin = cout
        self.cnn = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Dropout(dropout), nn.Linear(cin * (n_mels // 8), 128), nn.ReLU())
        self.gru = nn.GRU(128, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * hidden, len(self.labels))

    def frontend_features(self, wav: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """wav float [B, 1, N], lengths [B] -> (log-mel float [B, n_mels, T], frame lengths [B])."""
        return self.frontend(wav, lengths)

    def logits_from_frontend(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """Front-end output float [B, n_mels, T], frame lengths [B] -> logits float [B, C]."""
        return self.classifier(self.drop(self.pooled_from_frontend(x, frame_lengths)))

    def pooled_from_frontend(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """Front-end output -> utterance embedding (GRU mean ; max) float [B, 4 * hidden]."""
        h = self.cnn(x[:, None])  # [B, C, M/8, T/4]
        b, c, m, t = h.shape
        h = self.proj(h.reshape(b, c * m, t).transpose(1, 2))  # [B, T/4, 128]
        flen = torch.div(frame_lengths + 3, 4, rounding_mode="floor").clamp(1, t)
        packed = nn.utils.rnn.pack_padded_sequence(h, flen.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)
        return masked_mean_max(out.transpose(1, 2), flen)

    def forward(self, wav: Tensor, lengths: Tensor) -> Tensor:
        """wav float [B, 1, N] at 16 kHz, lengths [B] -> logits float [B, C]."""
        return self.logits_from_frontend(*self.frontend_features(wav, lengths))

    def save_pretrained(self, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
        """Write a released model folder (config.json, model.safetensors, labels.json)."""
        save_model_dir(directory, MODEL_TYPE, self.args, self.state_dict(), self.labels, extra)


class CRNNJudge(EmotionJudge):
    """A trained :class:`CRNNNet` as an evaluation judge (eval mode, no gradients).

    Args:
        path: a model folder or the name of a bundled one (``"judge-crnn"``).
    """

    name = "crnn"

    def __init__(self, path: str | os.PathLike = "judge-crnn"):
        args, tensors = self._read_folder(path, MODEL_TYPE)
        self.net = CRNNNet(**args)
        self.net.load_state_dict(tensors, strict=True)
        self.net.eval()

    @torch.no_grad()
    def embed(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """GRU mean ; max pooled embedding float [B, 4 * hidden] of wav float [B, 1, N]."""
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[-1], dtype=torch.int64)
        # One item at a time, cut to its length: the centred STFT then sees exactly what it would
        # see for the file alone, so a prediction never depends on the batch's padding.
        return torch.cat([self.net.pooled_from_frontend(*self.net.frontend_features(
            wav[b:b + 1, :, : int(lengths[b])], lengths[b:b + 1])) for b in range(wav.shape[0])])

    @torch.no_grad()
    def proba_from_embedding(self, embeddings: Tensor) -> Tensor:
        return torch.softmax(self.net.classifier(embeddings), dim=-1)

    def utterance_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.proba_from_embedding(self.embed(wav, lengths))
