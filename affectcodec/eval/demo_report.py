"""``make demo``: the main job on the bundled default model, end to end through the file path.

1. Makes a demo utterance on this machine: English speech from espeak-ng when it is installed
   (``make demo`` installs it from Debian when it can), else a built-in source-filter voice. No
   third-party recording ships with the project.
2. Encodes it to ``.affc`` at every bitrate of the model and decodes it back (the CLI's path).
3. Prints, per bitrate, the file's actual bitrate, wide-band PESQ, STOI, the mel distance and
   whether each emotion judge gives the decoded audio the label it gives the original.
4. Writes the audio, the ``.affc`` files and a spectrogram comparison PNG to ``demo_out/``.

    affectcodec demo [--out demo_out] [--model NAME_OR_DIR] [--text "..."]
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from affectcodec import affc_io, audio, fsutil
from affectcodec.audio import MODEL_RATE
from affectcodec.eval.report import spectrogram_panels
from affectcodec.judges.loading import load_judges
from affectcodec.metrics import mel_distance, pesq_wb, stoi
from affectcodec.pretrained import load, resolve

DEFAULT_TEXT = ("I can't believe you did that! We waited for hours, and nobody told us anything. "
                "Next time, please call me first.")


def espeak(text: str) -> tuple[np.ndarray, str] | None:
    """Speech for ``text`` from espeak-ng at 16 kHz (float32 [N]), or None if it is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "espeak.wav"
        subprocess.run([exe, "-v", "en-us", "-s", "160", "-p", "55", "-w", str(wav), text],
                       check=True, capture_output=True)
        data, rate = sf.read(wav, dtype="float32", always_2d=True)
    speech = audio.resample(torch.from_numpy(data.T.copy()).mean(0, keepdim=True), rate, MODEL_RATE)
    return speech[0].numpy(), "espeak-ng"


def builtin_voice(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A deterministic vowel sequence from a glottal pulse train through three formant resonators.

    The fallback when espeak-ng is missing: speech-like (voiced, formant-structured, a falling
    then rising F0 contour with jitter) but no words.
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * MODEL_RATE)
    t = np.arange(n) / MODEL_RATE
    f0 = 150 + 40 * np.sin(2 * np.pi * 0.7 * t) + 3 * rng.standard_normal(n).cumsum() / math.sqrt(n)
    phase = np.cumsum(f0 / MODEL_RATE)
    source = np.diff(np.floor(phase), prepend=0.0)            # one impulse per glottal period
    source = lfilter([1.0], [1.0, -0.97], source)              # glottal roll-off
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
    segment = n // len(vowels)
    out = np.zeros(n)
    for i, formants in enumerate(vowels):
        lo, hi = i * segment, n if i == len(vowels) - 1 else (i + 1) * segment
        y = source[lo:hi]
        for f, bw in zip(formants, (80, 90, 120), strict=True):
            r = math.exp(-math.pi * bw / MODEL_RATE)
            y = lfilter([1 - r], [1.0, -2 * r * math.cos(2 * math.pi * f / MODEL_RATE), r * r], y)
        out[lo:hi] = y * np.hanning(hi - lo) ** 0.25
    out += 0.002 * rng.standard_normal(n)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def demo_utterance(text: str) -> tuple[np.ndarray, str]:
    """The demo audio float32 [N] at 16 kHz, peak-normalised to -3 dBFS, and where it came from."""
    made = espeak(text)
    speech, source = made if made is not None else (builtin_voice(), "built-in formant voice "
                                                                     "(espeak-ng not installed)")
    return (speech * (0.7 / max(float(np.abs(speech).max()), 1e-6))).astype(np.float32), source


def run(out: Path, model: str | None = None, text: str | None = None) -> int:
    """Write the demo into ``out`` and print its table (module docstring); returns 0.

    Args:
        out: output folder.
        model: model folder or bundled name; None = the bundled default.
        text: what espeak-ng says; None = :data:`DEFAULT_TEXT`.
    """
    text = DEFAULT_TEXT if text is None else text
    folder = resolve(model)
    codec = load(folder)
    identity = affc_io.ModelIdentity.of(codec, folder.name)
    out.mkdir(parents=True, exist_ok=True)
    speech, source = demo_utterance(text)
    original = out / "original.wav"
    with fsutil.atomic_path(original, force=True) as tmp:
        sf.write(tmp, speech, MODEL_RATE, format="WAV", subtype="PCM_16")
    reference = sf.read(original, dtype="float32")[0]  # what the codec reads: the 16-bit file
    duration = reference.size / MODEL_RATE
    judges = load_judges()

    def labels(x: np.ndarray) -> list[str]:
        wav = torch.from_numpy(x).reshape(1, 1, -1)
        with torch.inference_mode():
            return [j.labels[int(j.predict(wav)[0])] for j in judges]

    print(f"model {folder.name} ({sum(p.numel() for p in codec.parameters()) / 1e6:.2f} M parameters); "
          f"demo utterance: {duration:.2f} s from {source}")
    heard = labels(reference)
    print("judges on the original: "
          + ", ".join(f"{j.name}={lab}" for j, lab in zip(judges, heard, strict=True)))
    print(f"{'kbit/s':>6} {'file kbit/s':>11} {'PESQ-wb':>7} {'STOI':>5} {'mel dist':>8}  judges' agreement")
    signals = {f"original ({source.split(' (')[0]})": reference}
    for kbps in codec.bitrates:
        affc, decoded = out / f"demo_{kbps:g}kbps.affc", out / f"decoded_{kbps:g}kbps.wav"
        _, header = affc_io.encode_file(codec, original, affc, kbps=kbps, model=identity, force=True)
        affc_io.decode_file(codec, affc, decoded, model=identity, force=True)
        y = sf.read(decoded, dtype="float32")[0]
        file_kbps = affc.stat().st_size * 8 / duration / 1000
        got = labels(y)
        agree = sum(a == b for a, b in zip(heard, got, strict=True))
        detail = ", ".join(f"{j.name}={lab}" for j, lab in zip(judges, got, strict=True))
        print(f"{kbps:>6g} {file_kbps:>11.2f} {pesq_wb(reference, y):>7.2f} {stoi(reference, y):>5.3f} "
              f"{mel_distance(reference, y):>8.3f}  {agree}/{len(judges)} ({detail})")
        signals[f"decoded at {kbps:g} kbit/s ({file_kbps:.2f} kbit/s file)"] = y
    png = spectrogram_panels(signals, out / "spectrograms.png")
    print(f"wrote {original}, {len(codec.bitrates)} .affc files (header {header.model_name}), the decoded "
          f"audio and {png}")
    return 0
