"""The emotion-judge interface: independent classifiers that grade emotion preservation.

A judge is *not* the teacher the codec learned from: the bundled judges are of other model
families (a convolutional-recurrent network on a different front end, and a classical
functionals + logistic-regression model) and were trained separately.

Two ways to ask a judge (see :mod:`affectcodec.judges.adaptation`):

* speaker-independent: ``predict_proba(wav, lengths)``, one utterance at a time;
* speaker-adapted: ``predict_proba(wav, lengths, speaker=stats)`` with
  ``stats = judge.speaker_stats(utterances_of_that_speaker)`` (no labels needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import Tensor

from affectcodec.emotion.checkpoint import read_model_dir, resolve_model_dir
from affectcodec.judges.adaptation import SpeakerHead, SpeakerStats


def pad_batch(audio: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Utterances (each float [1, N] or [N]) -> (wav float [B, 1, N_max], lengths int64 [B])."""
    chunk = [a.reshape(-1).float() for a in audio]
    lengths = torch.tensor([c.numel() for c in chunk], dtype=torch.int64)
    wav = torch.zeros(len(chunk), 1, int(lengths.max()))
    for b, c in enumerate(chunk):
        wav[b, 0, : c.numel()] = c
    return wav, lengths


class SpeakerAdaptable:
    """Shared machinery of models with an utterance embedding and an optional speaker head."""

    speaker_head: SpeakerHead | None = None

    def embed(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Utterance embeddings float [B, E] of wav float [B, 1, N] at 16 kHz."""
        raise NotImplementedError(f"{type(self).__name__} has no utterance embedding")

    @torch.no_grad()
    def speaker_stats(self, audio: Sequence[Tensor], batch_size: int = 16) -> SpeakerStats:
        """Statistics of one speaker from several of their utterances (each float [1, N])."""
        parts = [self.embed(*pad_batch(audio[i:i + batch_size])) for i in range(0, len(audio), batch_size)]
        return SpeakerStats.from_embeddings(torch.cat(parts))

    def _adapted(self, wav: Tensor, lengths: Tensor | None, speaker: SpeakerStats) -> Tensor:
        if self.speaker_head is None:
            raise ValueError(f"{type(self).__name__} has no speaker head (no speaker_head/ folder)")
        return self.speaker_head.proba(self.embed(wav, lengths), speaker)


class EmotionJudge(SpeakerAdaptable):
    """Utterance-level emotion classifier used for evaluation.

    Attributes:
        name: short identifier used in reports (e.g. ``"crnn"``).
        labels: class names, in the column order of :meth:`predict_proba`.
    """

    name: str
    labels: tuple[str, ...]

    def _read_folder(self, path: str | os.PathLike, model_type: str) -> tuple[dict, dict[str, Tensor]]:
        """Read a released judge folder of ``model_type``: sets :attr:`labels` and the speaker
        head (if the folder has one); returns the constructor arguments and the tensors."""
        args, tensors, labels = read_model_dir(path, model_type)
        self.labels = labels.labels
        self.speaker_head = SpeakerHead.load(resolve_model_dir(path))
        return args, tensors

    def utterance_proba(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Speaker-independent probabilities float [B, C] (see :meth:`predict_proba`)."""
        raise NotImplementedError

    def proba_from_embedding(self, embeddings: Tensor) -> Tensor:
        """Speaker-independent probabilities float [B, C] from :meth:`embed`'s output [B, E].

        Lets a caller that needs both the embedding (for speaker-adapted judging) and the
        speaker-independent probabilities run the judge's front end once.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot classify from its embedding")

    def predict_proba(self, wav: Tensor, lengths: Tensor | None = None,
                      speaker: SpeakerStats | None = None) -> Tensor:
        """Class probabilities.

        Args:
            wav: float [B, 1, N] at 16 kHz (zero-padded after each length).
            lengths: valid samples per item [B]; None = all N.
            speaker: statistics of the speaker of every item (from :meth:`speaker_stats`), for
                the speaker-adapted head; None = speaker-independent.

        Returns:
            float [B, C], rows summing to 1, columns in the order of ``labels``.
        """
        if speaker is not None:
            return self._adapted(wav, lengths, speaker)
        return self.utterance_proba(wav, lengths)

    def proba_and_embedding(self, wav: Tensor, lengths: Tensor | None = None
                            ) -> tuple[Tensor, Tensor | None]:
        """Speaker-independent probabilities float [B, C] and, for a judge with a speaker head,
        the utterance embeddings float [B, E] (else None) for speaker-adapted judging later.

        The front end runs once when the judge can classify from its embedding.
        """
        if self.speaker_head is None:
            return self.predict_proba(wav, lengths), None
        emb = self.embed(wav, lengths)
        try:
            return self.proba_from_embedding(emb), emb
        except NotImplementedError:
            return self.predict_proba(wav, lengths), emb

    def predict(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Predicted class indices int64 [B] (speaker-independent)."""
        return self.predict_proba(wav, lengths).argmax(-1)
