"""Emotion swap: decode one utterance's acoustic digits with another's emotion digits.

This is the disentanglement test codec users ask for (FACodec's users found that swapping its
prosody codes changed nothing): if the emotion partition really carries emotion, moving it from
utterance B onto utterance A should move A's perceived emotion towards B's while A's words stay.

Alignment of different lengths: B's emotion sub-tokens are time-stretched to A's frame count by
nearest-neighbour resampling of the frame index, ``j(t) = floor((t + 0.5) * T_B / T_A)``. The
output keeps A's frame count and sample length, for every stage.
"""

from __future__ import annotations

import torch
from torch import Tensor

from affectcodec.codes import Codes


def align_frames(n_from: int, n_to: int) -> Tensor:
    """int64 [n_to]: for each target frame, the source frame it takes (nearest neighbour)."""
    if n_from < 1 or n_to < 1:
        raise ValueError(f"frame counts must be >= 1, got {n_from} and {n_to}")
    idx = torch.div((2 * torch.arange(n_to) + 1) * n_from, 2 * n_to, rounding_mode="floor")
    return idx.clamp_(max=n_from - 1)


def swap_emotion(content: Codes, emotion: Codes) -> Codes:
    """Codes with ``content``'s acoustic sub-tokens and ``emotion``'s emotion sub-tokens.

    Args:
        content: codes of utterance A, tokens [1, K, T_A].
        emotion: codes of utterance B, tokens [1, K', T_B] from the same model (K' >= K).

    Returns:
        Codes [1, K, T_A] with A's lengths.
    """
    if content.tokens.shape[0] != 1 or emotion.tokens.shape[0] != 1:
        raise ValueError("swap_emotion works on single utterances (batch size 1)")
    if (content.levels, content.num_emotion_digits) != (emotion.levels, emotion.num_emotion_digits):
        raise ValueError("content and emotion codes come from models with different token layouts")
    if emotion.num_stages < content.num_stages:
        raise ValueError(f"emotion codes carry {emotion.num_stages} stages, "
                         f"content needs {content.num_stages}")
    t_a, t_b = int(content.frame_lengths[0]), int(emotion.frame_lengths[0])
    _, acoustic = content.split_tokens()
    emo, _ = emotion.truncate(content.num_stages).split_tokens()
    emo = emo[..., align_frames(t_b, t_a)]
    return content.join_tokens(emo, acoustic[..., :t_a])
