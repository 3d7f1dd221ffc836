"""Token streams, vocabulary offsets and special tokens of the speech-LM tokenizer.

A codec frame carries K stage tokens. The tokenizer sees them as S *streams*: the K stages, or,
in the factorised view, 2K streams (the emotion and the acoustic sub-token of every stage). Each
stream has a cardinality and an id offset; special tokens come after all code ids.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    """Id layout of one tokenizer configuration.

    Attributes:
        cardinalities: values per stream (S entries), e.g. ``(32768,) * 4`` or
            ``(8, 4096) * 4`` in the factorised view.
        offsets: first id of each stream.
        code_vocab: ids used by code tokens (``max(offset + cardinality)``).
        stage_markers: whether one marker id per stream exists.
    """

    cardinalities: tuple[int, ...]
    offsets: tuple[int, ...]
    code_vocab: int
    stage_markers: bool = False

    @classmethod
    def build(cls, cardinalities: tuple[int, ...], kinds: tuple[int, ...], shared: bool,
              stage_markers: bool = False) -> Vocabulary:
        """Per-stream offsets (``shared=False``) or one range per stream kind (``shared=True``).

        ``kinds[s]`` groups streams that share a range when ``shared`` (all stages are one kind;
        in the factorised view emotion and acoustic sub-tokens are two kinds).
        """
        offsets, next_id, kind_offset = [], 0, {}
        for card, kind in zip(cardinalities, kinds, strict=True):
            if shared and kind in kind_offset:
                offsets.append(kind_offset[kind])
                continue
            offsets.append(next_id)
            kind_offset[kind] = next_id
            next_id += card
        return cls(tuple(cardinalities), tuple(offsets), next_id, stage_markers)

    @property
    def num_streams(self) -> int:
        return len(self.cardinalities)

    @property
    def pad_id(self) -> int:
        return self.code_vocab

    @property
    def bos_id(self) -> int:
        return self.code_vocab + 1

    @property
    def eos_id(self) -> int:
        return self.code_vocab + 2

    def marker_id(self, stream: int) -> int:
        """Id of the marker that precedes ``stream``'s block (stage-major layout)."""
        if not self.stage_markers:
            raise ValueError("this vocabulary has no stage markers")
        return self.code_vocab + 3 + stream

    @property
    def size(self) -> int:
        """Total vocabulary: code ids, PAD, BOS, EOS and the stage markers if any."""
        return self.code_vocab + 3 + (self.num_streams if self.stage_markers else 0)

    def specials(self) -> dict[str, int]:
        """Every special token's name and id."""
        names = {"PAD": self.pad_id, "BOS": self.bos_id, "EOS": self.eos_id}
        if self.stage_markers:
            names.update({f"STAGE_{s}": self.marker_id(s) for s in range(self.num_streams)})
        return names
