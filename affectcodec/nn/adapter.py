"""Emotion adapter (teacher features -> codec emotion features) and emotion decoder."""

from __future__ import annotations

from torch import Tensor, nn

from affectcodec.nn.layers import CausalConv1d


class EmotionAdapter(nn.Module):
    """Small causal CNN mapping teacher features [B, D_t, T] to emotion features E [B, dim, T].

    The teacher already runs at the codec frame rate (50 Hz), so the adapter only re-embeds and
    smooths (kernel 3, two layers: 4 frames of left context).
    """

    def __init__(self, teacher_dim: int, dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            CausalConv1d(teacher_dim, dim, kernel_size=3), nn.GELU(),
            CausalConv1d(dim, dim, kernel_size=3),
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features)


class EmotionDecoder(nn.Module):
    """Quantized emotion partition [B, emotion_dim, T] -> teacher feature space [B, D_t, T].

    Trained with L_emo (L2 to the teacher's features), which forces the few emotion bits to carry
    what the teacher sees.
    """

    def __init__(self, emotion_dim: int, teacher_dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            CausalConv1d(emotion_dim, hidden, kernel_size=3), nn.GELU(),
            CausalConv1d(hidden, teacher_dim, kernel_size=3),
        )

    def forward(self, emotion: Tensor) -> Tensor:
        return self.net(emotion)
