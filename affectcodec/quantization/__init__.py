"""Quantizers: FSQ, residual FSQ (block-diagonal and dense) and the RVQ baseline."""

from affectcodec.quantization.base import Quantizer, QuantizerOutput
from affectcodec.quantization.fsq import FSQ
from affectcodec.quantization.rfsq import BDRFSQ, DenseRFSQ, ResidualFSQ
from affectcodec.quantization.rvq import RVQ

__all__ = ["BDRFSQ", "FSQ", "RVQ", "DenseRFSQ", "Quantizer", "QuantizerOutput", "ResidualFSQ"]
