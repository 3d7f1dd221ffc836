"""Speech-LM tokenizer: flat token ids, layouts, vocabulary offsets and special tokens."""

from affectcodec.lm.layouts import LAYOUTS
from affectcodec.lm.tokenizer import TokenBatch, Tokenizer
from affectcodec.lm.vocab import Vocabulary

__all__ = ["LAYOUTS", "TokenBatch", "Tokenizer", "Vocabulary"]
