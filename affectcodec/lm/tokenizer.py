"""Speech-LM tokenizer: audio batches <-> flat token ids over any :class:`~affectcodec.Codec`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from affectcodec.codes import Codes
from affectcodec.interface import Codec
from affectcodec.lm.layouts import LAYOUTS, flatten, unflatten
from affectcodec.lm.vocab import Vocabulary


@dataclass
class TokenBatch:
    """Token ids of a batch, right-padded with PAD.

    Attributes:
        ids: int64 [B, L]: ``BOS, body..., EOS, PAD...``.
        attention_mask: int64 [B, L]: 1 on BOS, body and EOS, 0 on padding.
        frames: int64 [B]: codec frames per item.
    """

    ids: Tensor
    attention_mask: Tensor
    frames: Tensor


class Tokenizer:
    """Flat token ids for speech language models, over any codec.

    Args:
        codec: a :class:`~affectcodec.Codec` (AffectCodec, the RVQ baseline, wrapped DAC).
        layout: ``"interleave"`` (frame-major), ``"delay"`` (MusicGen delay pattern) or
            ``"stage_major"``; see :mod:`affectcodec.lm.layouts`.
        kbps: bitrate, one of ``codec.bitrates`` (default: the lowest); fixes K.
        shared_vocab: one id range shared by all stages (default: a range per stage, so an id
            says which stage it belongs to).
        stage_markers: a marker id before each stage's block (``stage_major`` only).
        factorized: split each composite token into its emotion and acoustic sub-tokens (two
            streams per stage, e.g. 8 and 4,096 values) for models that want small vocabularies;
            needs a codec with an emotion partition.

    Ids: code ids first (stream ``s`` token ``v`` -> ``offsets[s] + v``), then PAD, BOS, EOS, then
    the stage markers. :attr:`vocab` and :meth:`special_tokens` document the numbers.
    """

    def __init__(self, codec: Codec, layout: str = "interleave", kbps: float | None = None,
                 shared_vocab: bool = False, stage_markers: bool = False, factorized: bool = False):
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
        if stage_markers and layout != "stage_major":
            raise ValueError("stage markers are only defined for the stage_major layout")
        self.codec, self.layout, self.factorized = codec, layout, factorized
        self.kbps = min(codec.bitrates) if kbps is None else float(kbps)
        self.num_stages = codec.stages_for(self.kbps)
        k = self.num_stages
        if factorized:
            n_emotion, levels = codec.num_emotion_digits, codec.levels
            if not n_emotion or levels is None:
                raise ValueError("the factorised view needs a codec with an emotion partition (FSQ levels)")
            e_card = int(np.prod(levels[:n_emotion]))
            cards, kinds = (e_card, codec.cardinality // e_card) * k, (0, 1) * k
        else:
            cards, kinds = (codec.cardinality,) * k, (0,) * k
        self.vocab = Vocabulary.build(cards, kinds, shared_vocab, stage_markers)
        self._offsets = torch.tensor(self.vocab.offsets, dtype=torch.int64)
        self._cards = torch.tensor(self.vocab.cardinalities, dtype=torch.int64)

    # ----------------------------------------------------------------------------- facts
    @property
    def vocab_size(self) -> int:
        """Number of distinct ids (codes + PAD, BOS, EOS + markers)."""
        return self.vocab.size

    @property
    def tokens_per_second(self) -> float:
        """Body ids per second of audio (ignoring BOS/EOS, the delay tail and markers)."""
        return self.vocab.num_streams * self.codec.frame_rate

    def special_tokens(self) -> dict[str, int]:
        """Names and ids of the special tokens."""
        return self.vocab.specials()

    # -------------------------------------------------------------------------- encoding
    def codes_to_ids(self, codes: Codes) -> TokenBatch:
        """Codes [B, K, T] (K >= this tokenizer's stages) -> :class:`TokenBatch`."""
        if codes.num_stages < self.num_stages:
            raise ValueError(f"codes carry {codes.num_stages} stages; this tokenizer needs {self.num_stages}")
        codes = codes.truncate(self.num_stages)
        if self.factorized:
            emotion, acoustic = codes.split_tokens()
            streams = torch.stack([emotion, acoustic], dim=2).flatten(1, 2)  # [B, 2K, T]
        else:
            streams = codes.tokens
        streams = streams.cpu().long() + self._offsets[None, :, None]
        frames = codes.frame_lengths.cpu()
        bos, eos = torch.tensor([self.vocab.bos_id]), torch.tensor([self.vocab.eos_id])
        seqs = []
        for b in range(streams.shape[0]):
            body = flatten(streams[b, :, : int(frames[b])], self.layout, self.vocab)
            seqs.append(torch.cat([bos, body, eos]))
        length = max(s.numel() for s in seqs)
        ids = torch.full((len(seqs), length), self.vocab.pad_id, dtype=torch.int64)
        mask = torch.zeros_like(ids)
        for b, seq in enumerate(seqs):
            ids[b, : seq.numel()] = seq
            mask[b, : seq.numel()] = 1
        return TokenBatch(ids, mask, frames.long())

    def encode_batch(self, audio: Sequence[Tensor | np.ndarray] | Tensor, sample_rate: int | None = None,
                     lengths: Tensor | None = None) -> TokenBatch:
        """Audio -> ids.

        Args:
            audio: a list of 1-D signals (any lengths), or a zero-padded tensor ``[B, N]`` /
                ``[B, C, N]`` with ``lengths``.
            sample_rate: rate of the audio (default: the codec's).
            lengths: valid samples per item of a padded tensor.

        Returns:
            :class:`TokenBatch`; each item's ids equal the ids of that item tokenized alone.
        """
        if isinstance(audio, (list, tuple)):
            if not audio:
                raise ValueError("empty audio list")
            signals = [torch.as_tensor(np.asarray(a, dtype=np.float32)).reshape(-1) for a in audio]
            lengths = torch.tensor([s.numel() for s in signals])
            padded = torch.zeros(len(signals), int(lengths.max()))
            for b, s in enumerate(signals):
                padded[b, : s.numel()] = s
            audio = padded
        codes = self.codec.encode(audio, sample_rate=sample_rate, lengths=lengths, kbps=self.kbps)
        return self.codes_to_ids(codes)

    # -------------------------------------------------------------------------- decoding
    def ids_to_codes(self, ids: Tensor | Sequence[Sequence[int]]) -> Codes:
        """ids [B, L] (``BOS body EOS PAD...``) -> Codes [B, K, T_max] with per-item lengths.

        Raises:
            ValueError: ids out of range, a missing BOS/EOS, a special id inside the body, a
                body whose length does not fit the layout, or an id of the wrong stream.
        """
        rows = [torch.as_tensor(r, dtype=torch.int64).reshape(-1) for r in
                (ids if not isinstance(ids, Tensor) or ids.dim() == 2 else [ids])]
        grids = [self._parse(row, b) for b, row in enumerate(rows)]
        frames = torch.tensor([g.shape[1] for g in grids])
        tokens = torch.zeros(len(grids), self.num_stages, int(frames.max()), dtype=torch.int64)
        for b, g in enumerate(grids):
            if self.factorized:
                g = g[0::2] + (self._cards[0]) * g[1::2]  # emotion + e_card * acoustic
            tokens[b, :, : g.shape[1]] = g
        return self.codec.codes(tokens, frames * self.codec.hop_length)

    def _parse(self, row: Tensor, b: int) -> Tensor:
        if row.numel() and (row.min() < 0 or row.max() >= self.vocab_size):
            raise ValueError(f"item {b}: ids must be in [0, {self.vocab_size}), got "
                             f"[{int(row.min())}, {int(row.max())}]")
        v = self.vocab
        end = int((row != v.pad_id).nonzero().max()) + 1 if (row != v.pad_id).any() else 0
        if end < 2 or row[0] != v.bos_id or row[end - 1] != v.eos_id:
            raise ValueError(f"item {b}: a sequence must be BOS ... EOS followed only by PAD")
        body = row[1 : end - 1]
        specials = (body == v.bos_id) | (body == v.eos_id)
        if self.layout != "delay":
            specials |= body == v.pad_id
        if specials.any():
            raise ValueError(f"item {b}: special id {int(body[specials][0])} inside the body "
                             f"at position {int(specials.nonzero()[0]) + 1}")
        grid = unflatten(body, self.layout, v) - self._offsets[:, None]
        bad = (grid < 0) | (grid >= self._cards[:, None])
        if bad.any():
            s, t = (int(x) for x in bad.nonzero()[0])
            lo, hi = v.offsets[s], v.offsets[s] + v.cardinalities[s]
            raise ValueError(f"item {b}: frame {t} of stream {s} holds id {int(grid[s, t]) + lo}, "
                             f"outside that stream's range [{lo}, {hi})")
        return grid

    def decode_batch(self, ids: Tensor | Sequence[Sequence[int]]) -> list[Tensor]:
        """ids [B, L] -> one float32 waveform [1, N_b] per item (``N_b = frames * hop``)."""
        codes = self.ids_to_codes(ids)
        wav = self.codec.decode(codes)
        return [wav[b, :, : int(codes.lengths[b])] for b in range(wav.shape[0])]

    # ------------------------------------------------------------------ datasets helper
    def datasets_map_fn(self, audio_column: str = "audio") -> Callable[[dict[str, Any]], dict[str, Any]]:
        """A function for ``datasets.Dataset.map(fn, batched=True)``.

        It reads ``batch[audio_column]`` (Hugging Face ``Audio`` dicts with ``array`` and
        ``sampling_rate``) and returns ``input_ids`` and ``attention_mask`` lists (unpadded).
        """
        def fn(batch: dict[str, Any]) -> dict[str, Any]:
            items = batch[audio_column]
            rates = {int(item["sampling_rate"]) for item in items}
            if len(rates) != 1:
                raise ValueError(f"a batch must have one sampling rate, got {sorted(rates)}")
            out = self.encode_batch([item["array"] for item in items], sample_rate=rates.pop())
            n = out.attention_mask.sum(1).tolist()
            return {"input_ids": [out.ids[b, : n[b]].tolist() for b in range(len(n))],
                    "attention_mask": [[1] * n[b] for b in range(len(n))]}
        return fn
