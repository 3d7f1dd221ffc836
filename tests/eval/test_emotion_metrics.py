"""Emotion-preservation metrics with known answers: classification metrics, EDR, prosody, cosine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from affectcodec.emotion import ProsodyTeacher
from affectcodec.eval.emotion import classification_metrics, degradation_rate, evaluate_judges, teacher_cosine
from affectcodec.eval.prosody_metrics import prosody_preservation
from affectcodec.judges import EmotionJudge

SR = 16000


def test_classification_metrics_known_answer():
    target = [0, 0, 0, 0, 1, 1, 2, 2]
    pred = [0, 0, 0, 1, 1, 0, 2, 1]
    m = classification_metrics(target, pred, 4)  # class 3 never occurs: left out of UAR / F1
    assert m.wa == pytest.approx(5 / 8)
    assert m.recall[:3] == pytest.approx([0.75, 0.5, 0.5]) and math.isnan(m.recall[3])
    assert m.uar == pytest.approx((0.75 + 0.5 + 0.5) / 3)
    # F1: class 0 p=3/4 r=3/4; class 1 p=1/3 r=1/2; class 2 p=1 r=1/2
    f1 = [0.75, 2 * (1 / 3) * 0.5 / (1 / 3 + 0.5), 2 * 0.5 / 1.5]
    assert m.macro_f1 == pytest.approx(sum(f1) / 3)
    assert m.confusion[0] == [3, 1, 0, 0] and m.confusion[1] == [1, 1, 0, 0] and m.n == 8
    from sklearn.metrics import balanced_accuracy_score, f1_score
    assert m.uar == pytest.approx(balanced_accuracy_score(target, pred))
    assert m.macro_f1 == pytest.approx(f1_score(target, pred, average="macro", labels=[0, 1, 2]))
    with pytest.raises(ValueError, match="class indices"):
        classification_metrics([0, 5], [0, 1], 3)


class AmplitudeJudge(EmotionJudge):
    """Knows the emotion from the peak amplitude (0.1 -> class 0, 0.2 -> 1, 0.3 -> 2), or gives
    the wrong answer on purpose when ``wrong`` is set."""

    name, labels = "amplitude", ("anger", "fear", "sadness")

    def __init__(self, wrong: bool = False):
        self.wrong = wrong

    def predict_proba(self, wav, lengths=None):
        cls = (wav.abs().amax(dim=(1, 2)) * 10).round().long() - 1
        if self.wrong:
            cls = (cls + 1) % 3
        return torch.nn.functional.one_hot(cls, 3).float()


def _utterances():
    emotions = ["anger", "fear", "sadness", "fear", "anger", "sadness"]
    amp = {"anger": 0.1, "fear": 0.2, "sadness": 0.3}
    wavs = [amp[e] * torch.sin(torch.linspace(0, 200, 4000 + 800 * i))[None] for i, e in enumerate(emotions)]
    return emotions, wavs


def test_edr_identical_is_zero_and_always_wrong_is_100():
    emotions, wavs = _utterances()
    same = evaluate_judges([AmplitudeJudge()], emotions, wavs, [w.clone() for w in wavs], batch_size=4)
    r = same.judges[0]
    assert r.original.uar == 1.0 and r.edr_macro == 0.0 and r.edr_weighted == 0.0 and same.medr == 0.0

    class WrongOnReconstruction(AmplitudeJudge):
        def predict_proba(self, wav, lengths=None):
            # reconstructions are marked by a negative first sample
            p = super().predict_proba(wav, lengths)
            return torch.where(wav[:, 0, 1:2] < 0, p.roll(1, dims=1), p)

    rec = [-w for w in wavs]  # same amplitudes, flipped sign
    report = evaluate_judges([WrongOnReconstruction(), AmplitudeJudge()], emotions, wavs, rec)
    wrong, right = report.judges
    assert wrong.reconstructed.uar == 0.0 and wrong.edr_macro == 100.0 and wrong.edr_weighted == 100.0
    assert right.edr_macro == 0.0
    assert report.medr == 50.0 and report.wedr == 50.0
    assert degradation_rate(0.8, 0.6) == pytest.approx(25.0) and math.isnan(degradation_rate(0.0, 0.1))
    with pytest.raises(ValueError, match="has no class for \\['joy'\\]"):
        evaluate_judges([AmplitudeJudge()], ["joy"], wavs[:1])


def harmonic(f0_hz: np.ndarray, seconds: float = 1.6, seed: int = 0) -> torch.Tensor:
    """A voiced-speech-like harmonic complex following ``f0_hz`` (per sample), with a gap."""
    n = int(seconds * SR)
    phase = 2 * np.pi * np.cumsum(f0_hz[:n]) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.ones(n)
    env[int(0.7 * SR):int(0.8 * SR)] = 0  # 100 ms pause: unvoiced frames
    rng = np.random.default_rng(seed)
    x = 0.2 * x * env + 1e-4 * rng.standard_normal(n)
    return torch.tensor(x, dtype=torch.float32)[None, None]


@pytest.mark.parametrize("tracker", ["praat", "analyzer"])
def test_prosody_identical_and_known_pitch_shift(tracker):
    n = int(1.6 * SR)
    f0 = np.linspace(120, 220, n)
    orig = harmonic(f0)
    same = prosody_preservation(orig, orig.clone(), tracker=tracker)
    assert same.f0_corr == pytest.approx(1.0) and same.energy_corr == pytest.approx(1.0)
    assert same.f0_rmse_cents == 0.0 and same.vde == 0.0 and same.gpe == 0.0 and same.voiced_frames > 50
    assert same.jitter_diff == 0.0 and same.shimmer_diff == 0.0 and same.hnr_diff_db == 0.0
    assert same.tracker == tracker
    for cents in (100.0, -300.0):
        shifted = harmonic(f0 * 2 ** (cents / 1200))
        s = prosody_preservation(orig, shifted, tracker=tracker)
        assert s.f0_rmse_cents == pytest.approx(abs(cents), abs=8.0), s
        assert s.f0_median_cents == pytest.approx(cents, abs=8.0) and s.gpe == 0.0
        assert s.f0_corr > 0.99 and s.vde < 0.05
    flat = prosody_preservation(orig, harmonic(np.full(n, 170.0)), tracker=tracker)
    assert flat.f0_rmse_cents > 150 and math.isnan(flat.f0_corr) or flat.f0_corr < 0.5


@pytest.mark.parametrize("tracker", ["praat", "analyzer"])
def test_prosody_on_real_speech_pitch_shifted(nemo, tracker):
    import librosa

    from affectcodec.audio import load as load_audio

    wav = load_audio(nemo / "audio" / "EB0_anger_1.flac")
    shifted = librosa.effects.pitch_shift(wav[0].numpy(), sr=SR, n_steps=2.0)  # +200 cents
    s = prosody_preservation(wav[None], torch.from_numpy(shifted)[None, None], tracker=tracker)
    # The analyzer makes octave errors on real speech: they go into the plain RMSE and the GPE;
    # the median and the RMSE of the other frames recover the known shift.
    assert s.f0_median_cents == pytest.approx(200.0, abs=25.0), s
    assert s.f0_rmse_cents_fine == pytest.approx(200.0, abs=50.0), s
    assert s.f0_rmse_cents >= s.f0_rmse_cents_fine and s.gpe < 0.25 and s.energy_corr > 0.9


def test_teacher_cosine_identical_is_one():
    teacher = ProsodyTeacher()
    wav = harmonic(np.linspace(120, 220, int(1.6 * SR)))
    other = harmonic(np.full(int(1.6 * SR), 300.0), seed=1)
    both = torch.cat([wav, wav])
    lengths = torch.tensor([wav.shape[-1], 16000])
    cos = teacher_cosine(teacher, both, both.clone(), lengths)
    assert cos.shape == (2,) and torch.allclose(cos, torch.ones(2), atol=1e-5)
    assert float(teacher_cosine(teacher, wav, other)[0]) < 0.99


def test_speaker_adapted_judging_uses_the_originals_statistics():
    from affectcodec.judges.adaptation import SpeakerHead

    class LevelJudge(EmotionJudge):
        """Loud = anger, quiet = sadness, relative to the speaker (adapted) or absolutely."""

        name, labels = "level", ("anger", "sadness")
        speaker_head = SpeakerHead(torch.zeros(1), torch.ones(1), torch.tensor([[50.0], [-50.0]]),
                                   torch.zeros(2))

        def embed(self, wav, lengths=None):
            return wav.abs().amax(dim=(1, 2))[:, None].double()

        def utterance_proba(self, wav, lengths=None):
            loud = self.embed(wav)[:, 0] > 0.5
            return torch.stack([loud, ~loud], dim=1).float()

    tone = torch.sin(torch.linspace(0, 300, 3200))[None]
    emotions = ["anger", "sadness"] * 6
    speakers = ["quiet"] * 6 + ["loud"] * 6  # a quiet speaker's anger is softer than 0.5
    level = {("quiet", "anger"): 0.4, ("quiet", "sadness"): 0.1, ("loud", "anger"): 0.9,
             ("loud", "sadness"): 0.6}
    wavs = [level[s, e] * tone for s, e in zip(speakers, emotions, strict=True)]
    alone = evaluate_judges([LevelJudge()], emotions, wavs, wavs)
    adapted = evaluate_judges([LevelJudge()], emotions, wavs, wavs, speakers=speakers)
    assert alone.judges[0].original.uar == 0.5 and adapted.judges[0].original.uar == 1.0
    assert adapted.medr == 0.0
    # A codec that halves the level: judged against the originals' statistics, it is caught.
    quieter = evaluate_judges([LevelJudge()], emotions, wavs, [0.5 * w for w in wavs], speakers=speakers)
    assert quieter.judges[0].reconstructed.uar < 1.0 and quieter.medr > 0
