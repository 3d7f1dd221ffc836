"""Neural building blocks of the codec: the frame-rate (Vocos-style) and DAC-style generators,
the emotion adapter, windowed pooling and FiLM."""

from affectcodec.nn.adapter import EmotionAdapter, EmotionDecoder
from affectcodec.nn.decoder import Decoder
from affectcodec.nn.encoder import Encoder
from affectcodec.nn.film import FiLM
from affectcodec.nn.frame_decoder import FrameDecoder
from affectcodec.nn.frame_encoder import FrameEncoder
from affectcodec.nn.pooling import WindowedAttentionPooling

__all__ = ["Decoder", "EmotionAdapter", "EmotionDecoder", "Encoder", "FiLM",
           "FrameDecoder", "FrameEncoder", "WindowedAttentionPooling"]
