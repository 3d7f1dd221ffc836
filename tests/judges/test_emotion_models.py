"""The bundled emotion teacher and judges: offline loading in < 2 s, deterministic outputs,
padding-invariant predictions, and better-than-chance recognition of the held-out nEMO speaker."""

from __future__ import annotations

import time

import pytest
import torch

from affectcodec import AffectCodec
from affectcodec.emotion import NEMO_EMOTIONS, EmotionCheckpointError, SERTeacher, load_teacher
from affectcodec.judges import CRNNJudge, FunctionalsJudge, TeacherHead, load_judges
from affectcodec.model_dir import checkpoints_dir


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def models():
    teacher, t_teacher = timed(load_teacher)
    crnn, t_crnn = timed(lambda: load_judges(["judge-crnn"])[0])
    func, t_func = timed(lambda: load_judges(["judge-functionals"])[0])
    return {"teacher": (teacher, t_teacher), "crnn": (crnn, t_crnn), "functionals": (func, t_func)}


def test_bundled_models_load_fast_with_labels(models):
    for name, (model, seconds) in models.items():
        assert seconds < 2.0, f"{name} took {seconds:.2f} s to load"
        assert tuple(model.labels) == NEMO_EMOTIONS
        assert (checkpoints_dir() / {"teacher": "ser-teacher", "crnn": "judge-crnn",
                                     "functionals": "judge-functionals"}[name] / "MODEL_CARD.md").is_file()
    assert isinstance(models["teacher"][0], SERTeacher)
    assert isinstance(models["crnn"][0], CRNNJudge) and isinstance(models["functionals"][0], FunctionalsJudge)
    assert [j.name for j in load_judges()] == ["crnn", "functionals"]


def test_outputs_are_deterministic_and_padding_invariant(models):
    g = torch.Generator().manual_seed(0)
    t = torch.arange(24000) / 16000
    a = (0.3 * torch.sin(2 * torch.pi * 180 * t) * torch.sin(2 * torch.pi * 3 * t))[None]
    b = 0.05 * torch.randn(1, 12800, generator=g)
    batch = torch.zeros(2, 1, 24000)
    batch[0, :, :24000], batch[1, :, :12800] = a, b
    lengths = torch.tensor([24000, 12800])
    for name, (model, _) in models.items():
        p = model.predict_proba(batch, lengths)
        assert p.shape == (2, 6) and torch.allclose(p.sum(-1), torch.ones(2), atol=1e-5)
        assert torch.equal(p, model.predict_proba(batch, lengths)), name
        alone = model.predict_proba(b[None], torch.tensor([12800]))
        assert torch.allclose(p[1], alone[0], atol=1e-5), name
    teacher = models["teacher"][0]
    f = teacher.features(batch)
    assert f.shape == (2, 128, 75) and torch.equal(f, teacher.features(batch))


def test_judges_classify_from_their_embedding_as_from_audio(models):
    wav = 0.1 * torch.randn(2, 1, 9600, generator=torch.Generator().manual_seed(1))
    for name in ("crnn", "functionals"):
        judge = models[name][0]
        p = judge.proba_from_embedding(judge.embed(wav))
        assert p.shape == (2, 6) and torch.allclose(p, judge.predict_proba(wav), atol=1e-6), name


def test_held_out_speaker_is_recognised(models, nemo):
    """Six utterances per emotion of the never-trained-on speaker EB0: every model does better
    than chance (1/6) alone, and much better speaker-adapted (statistics of these 36 unlabelled
    utterances). The full-split figures are in the model cards."""
    from affectcodec.audio import load as load_audio
    from affectcodec.eval.emotion import judge_predictions

    files = [(e, f"EB0_{e}_{i}.flac") for e in NEMO_EMOTIONS for i in (2, 5, 9, 14, 21, 30)]
    audio = [load_audio(nemo / "audio" / f) for _, f in files]
    target = torch.tensor([NEMO_EMOTIONS.index(e) for e, _ in files])
    for name, (model, _) in models.items():
        judge = TeacherHead.load("ser-teacher") if name == "teacher" else model
        acc = (judge_predictions(judge, audio, batch_size=12) == target).float().mean().item()
        stats = judge.speaker_stats(audio, batch_size=12)
        adapted = (judge_predictions(judge, audio, 12, stats) == target).float().mean().item()
        assert acc >= 0.25 and adapted >= 0.45, f"{name}: accuracy {acc:.2f} / adapted {adapted:.2f}"


def test_codec_uses_the_bundled_teacher():
    from tests.conftest import TINY

    codec = AffectCodec(**TINY, teacher={"name": "ser", "pretrained": "ser-teacher"})
    assert "pretrained" not in codec.config["teacher"] and codec.teacher.feature_dim == 128
    assert codec.receptive_field >= 42240


def test_wrong_folders_are_refused(tmp_path):
    with pytest.raises(EmotionCheckpointError, match="no model folder"):
        load_judges(["no-such-judge"])
    with pytest.raises(EmotionCheckpointError, match="is not a judge"):
        load_judges(["ser-teacher"])
    with pytest.raises(EmotionCheckpointError, match="expected 'ser_teacher'"):
        load_teacher("judge-crnn")


def test_emotion_eval_command_on_identical_reconstructions(nemo, tmp_path, capsys):
    """End to end: a manifest of 6 EB0 files and 'reconstructions' that are copies: every judge
    gives EDR 0 in both modes, prosody correlation 1, teacher cosine 1."""
    import json
    import shutil

    from affectcodec.cli import main
    from affectcodec.data.manifests import Manifest

    manifest = Manifest.read(nemo / "manifest.tsv").filter(speakers=["EB0"])
    manifest.entries = [e for e in manifest.entries if e.path.endswith("_3.flac")][:6]
    rec = tmp_path / "rec"
    for root in (tmp_path, rec):  # originals and identical "reconstructions", same relative paths
        (root / "audio").mkdir(parents=True)
        for e in manifest:
            shutil.copy(nemo / e.path, root / e.path)
    manifest.root = tmp_path
    path = manifest.write(tmp_path / "m.tsv")
    out = tmp_path / "report.json"
    assert main(["emotion-eval", str(path), "--reconstructed", str(rec), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for mode in ("independent", "adapted"):
        assert report[mode]["judges"]["medr"] == 0.0 and report[mode]["judges"]["wedr"] == 0.0
        assert [j["judge"] for j in report[mode]["judges"]["judges"]] == ["crnn", "functionals"]
    assert report["prosody"]["f0_corr"] == pytest.approx(1.0) and report["prosody"]["vde"] == 0.0
    assert report["teacher_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert "MEDR 0.00" in capsys.readouterr().out
