"""AffectCodec: an emotion-preserving neural speech codec (16 kHz, 1.5 / 3 / 6 kbit/s).

Public API::

    import affectcodec
    codec = affectcodec.AffectCodec()            # default small architecture, random weights
    codes = codec.encode(wav, sample_rate=16000, kbps=1.5)   # Codes, tokens int64 [B, K, T]
    wav_hat = codec.decode(codes)                 # float32 [B, 1, N]
    codec.save("out/mymodel"); codec = affectcodec.load("out/mymodel")
"""

from affectcodec.codec import AffectCodec, CheckpointError, CodecOutput
from affectcodec.codes import Codes
from affectcodec.interface import Codec
from affectcodec.pretrained import DEFAULT_MODEL, load
from affectcodec.version import __version__

__all__ = ["DEFAULT_MODEL", "AffectCodec", "CheckpointError", "Codec", "CodecOutput", "Codes",
           "__version__", "load"]
