"""Neural building blocks of the codec (causal, DAC-style)."""

from affectcodec.nn.adapter import EmotionAdapter, EmotionDecoder
from affectcodec.nn.decoder import Decoder
from affectcodec.nn.encoder import Encoder
from affectcodec.nn.film import FiLM
from affectcodec.nn.pooling import WindowedAttentionPooling

__all__ = ["Decoder", "EmotionAdapter", "EmotionDecoder", "Encoder", "FiLM",
           "WindowedAttentionPooling"]
