import math

import pytest
import torch

from affectcodec.analysis import (
    EmoQ,
    FeatureRVQ,
    SERProbe,
    balanced_mix,
    biased_mix,
    code_usage,
    cosine_by_layer,
    draw_frames,
    specific_mix,
)

LABELS = ["anger", "neutral", "sadness"]


def synthetic(seed=0, utterances=12, frames=40, dim=8):
    """Each class lives near its own random subspace: separable, but not trivially by mean."""
    gen = torch.Generator().manual_seed(seed)
    bases = {label: torch.randn(3, dim, generator=torch.Generator().manual_seed(100 + i))
             for i, label in enumerate(LABELS)}
    data = []
    for label in LABELS:
        for _ in range(utterances):
            coeff = torch.randn(frames, 3, generator=gen)
            data.append((label, coeff @ bases[label] + 0.05 * torch.randn(frames, dim, generator=gen)))
    return data


def test_code_usage_known_answers():
    k = 8
    uniform = torch.arange(800).remainder(k)[:, None]
    h, u = code_usage(uniform, k)
    assert h.tolist() == pytest.approx([1.0]) and u.tolist() == [1.0]
    h, u = code_usage(torch.zeros(50, 1, dtype=torch.long), k)
    assert h.tolist() == [0.0] and u.tolist() == [1 / k]
    half = torch.arange(400).remainder(4)[:, None]
    h, u = code_usage(torch.cat([half, uniform[:400]], 1), k)
    assert h.tolist() == pytest.approx([math.log(4) / math.log(8), 1.0]) and u.tolist() == [0.5, 1.0]


def test_matched_budgets_and_shares():
    pools = {label: torch.full((500, 1), float(i)) for i, label in enumerate(LABELS)}
    for mix, anger in ((specific_mix("anger", LABELS), 300), (biased_mix("anger", LABELS, 0.95), 285),
                       (biased_mix("anger", LABELS, 0.99), 297), (balanced_mix(LABELS), 100)):
        frames = draw_frames(pools, mix, budget=300)
        assert frames.shape == (300, 1)  # every mix spends exactly the budget
        assert int((frames == 0).sum()) == anger
    counts = [int((draw_frames(pools, biased_mix("anger", LABELS, 0.95), 1000) == i).sum()) for i in range(3)]
    assert counts == [950, 25, 25]
    assert [int((draw_frames(pools, balanced_mix(LABELS), 301) == i).sum()) for i in range(3)] in (
        [101, 100, 100], [100, 101, 100], [100, 100, 101])
    with pytest.raises(ValueError, match="no frames"):
        draw_frames({"anger": pools["anger"]}, balanced_mix(LABELS), 30)


def test_rvq_layers_improve_reconstruction():
    data = synthetic()
    frames = torch.cat([x for _, x in data])
    rvq = FeatureRVQ(8, codebook_size=16, layers=4).fit(frames, epochs=3)
    q = rvq.quantize(data[0][1])
    assert q.cumulative.shape == (4, 40, 8) and q.indices.shape == (40, 4)
    cos = cosine_by_layer(data[0][1], q.cumulative)
    assert (cos.diff() > -1e-3).all() and cos[-1] > cos[0]
    assert rvq.kbps(50) == pytest.approx(4 * 4 * 50 / 1000)


def test_emoq_routes_to_the_codebook_of_the_input_class():
    train, test = synthetic(seed=0), synthetic(seed=1, utterances=6)
    budget = 1500
    by_label = {label: torch.cat([x for lab, x in train if lab == label]) for label in LABELS}
    specialised = {
        label: FeatureRVQ(8, 8, 2, seed=1).fit(draw_frames(by_label, specific_mix(label, LABELS), budget))
        for label in LABELS}
    balanced = FeatureRVQ(8, 8, 2, seed=1).fit(draw_frames(by_label, balanced_mix(LABELS), budget))
    for score in ("l2", "cosine"):
        router = EmoQ(specialised, balanced, score=score)
        hits = [router.route(x).choice == label for label, x in test]
        assert sum(hits) / len(hits) >= 0.9, score
    filtered = EmoQ(specialised, balanced, filtered=True)
    route = filtered.route(test[0][1], layers=1)
    assert route.choice in LABELS + ["balanced"] and route.reconstruction.shape == (40, 8)
    assert set(route.scores) == set(LABELS) | {"balanced"}
    with pytest.raises(ValueError, match="filtered"):
        EmoQ(specialised, None, filtered=True)


def test_batched_quantization_equals_per_utterance():
    data = synthetic()
    rvq = FeatureRVQ(8, codebook_size=16, layers=3).fit(torch.cat([x for _, x in data]), epochs=1)
    xs = [x[: 1 + 7 * i] for i, (_, x) in enumerate(data)] + [torch.randn(130, 8)]  # 1 to 130 frames
    for max_frames in (50, 16384):  # several batches (and one utterance longer than a batch), or one
        batched = rvq.quantize_many(xs, max_frames=max_frames)
        assert len(batched) == len(xs)
        for x, q in zip(xs, batched, strict=True):
            single = rvq.quantize(x)
            assert torch.equal(q.cumulative, single.cumulative) and torch.equal(q.indices, single.indices)


def test_routing_from_cached_reconstructions_equals_routing():
    train, test = synthetic(seed=0), synthetic(seed=1, utterances=4)
    by_label = {label: torch.cat([x for lab, x in train if lab == label]) for label in LABELS}
    specialised = {label: FeatureRVQ(8, 8, 3, seed=1).fit(draw_frames(by_label, specific_mix(label, LABELS),
                                                                      900)) for label in LABELS}
    balanced = FeatureRVQ(8, 8, 3, seed=1).fit(draw_frames(by_label, balanced_mix(LABELS), 900))
    xs = [x for _, x in test]
    cache = {name: rvq.quantize_many(xs) for name, rvq in {**specialised, "balanced": balanced}.items()}
    choices = set()
    for score in ("l2", "cosine"):
        for filtered in (False, True):
            router = EmoQ(specialised, balanced, score=score, filtered=filtered)
            for m in (1, 3):
                for i, x in enumerate(xs):
                    direct = router.route(x, layers=m)
                    cached = router.route_from(x, {name: q[i].cumulative[m - 1] for name, q in cache.items()})
                    assert cached.choice == direct.choice and cached.scores == direct.scores
                    assert torch.equal(cached.reconstruction, direct.reconstruction)
                    choices.add(direct.choice)
    assert len(choices) > 1
    # The plain variant routes among the specialised codebooks only; the filtered one falls back to
    # the balanced codebook exactly when that fits at least as well as the best specialised one.
    plain, filtered = EmoQ(specialised, balanced), EmoQ(specialised, balanced, filtered=True)
    for x in xs:
        p, f = plain.route(x, layers=1), filtered.route(x, layers=1)
        assert p.choice in LABELS and p.scores == f.scores
        assert f.choice == ("balanced" if f.scores["balanced"] >= p.scores[p.choice] else p.choice)
    with pytest.raises(ValueError, match="no reconstruction"):
        EmoQ(specialised, balanced).route_from(xs[0], {"anger": xs[0]})


def test_cached_emoq_evaluation_equals_routing_each_utterance():
    import json

    from affectcodec.analysis.experiment import AnalysisConfig, _probe_dict, evaluate_emoq

    train, test = synthetic(seed=0), synthetic(seed=4, utterances=4)
    by_label = {label: torch.cat([x for lab, x in train if lab == label]) for label in LABELS}

    def fit(mix):
        return FeatureRVQ(8, 8, 3, seed=1).fit(draw_frames(by_label, mix, 900))

    balanced = fit(balanced_mix(LABELS))
    sets = {"specific": {label: fit(specific_mix(label, LABELS)) for label in LABELS},
            "biased_0.95": {label: fit(biased_mix(label, LABELS, 0.95)) for label in LABELS}}
    probe = SERProbe(LABELS).fit([x for _, x in train], [lab for lab, _ in train])
    xs, ys = [x for _, x in test], [lab for lab, _ in test]
    rows = evaluate_emoq(balanced, sets, probe, xs, ys, [1, 3], AnalysisConfig())
    for m in (1, 3):  # the uncached path: every router quantizes every utterance itself
        row = rows[str(m)]
        plain = probe.score([balanced.quantize(x).cumulative[m - 1] for x in xs], ys)
        assert json.dumps(row["balanced"]) == json.dumps(_probe_dict(plain))
        for name, specialised in sets.items():
            for filtered in (False, True):
                routes = [EmoQ(specialised, balanced, filtered=filtered).route(x, layers=m) for x in xs]
                got = row[f"emoq_{name}{'_filtered' if filtered else ''}"]
                expected = _probe_dict(probe.score([r.reconstruction for r in routes], ys))
                assert json.dumps({k: got[k] for k in expected}) == json.dumps(expected)
                assert got["route_counts"] == {c: [r.choice for r in routes].count(c)
                                               for c in {r.choice for r in routes}}


def test_probe_scores_and_neutral_drift():
    train, test = synthetic(seed=0), synthetic(seed=2, utterances=5)
    probe = SERProbe(LABELS).fit([x for _, x in train], [lab for lab, _ in train])
    scores = probe.score([x for _, x in test], [lab for lab, _ in test])
    assert scores.uar > 0.9 and scores.macro_f1 > 0.9 and scores.to_neutral < 0.1
    assert sum(map(sum, scores.confusion)) == len(test)
    # Features collapsed onto the neutral class drift every utterance to neutral.
    neutral = [x for lab, x in test if lab == "neutral"]
    drifted = probe.score([neutral[i % len(neutral)] for i in range(len(test))], [lab for lab, _ in test])
    assert drifted.to_neutral > 0.9


def test_user_feature_files_are_validated(tmp_path):
    import numpy as np
    from safetensors.torch import save_file

    from affectcodec.analysis.features import load_feature_file

    np.save(tmp_path / "ok.npy", np.ones((5, 4), np.float32))
    assert load_feature_file(tmp_path / "ok.npy").shape == (5, 4)
    save_file({"features": torch.ones(3, 4), "other": torch.ones(1)}, str(tmp_path / "ok.safetensors"))
    assert load_feature_file(tmp_path / "ok.safetensors", dim=4).shape == (3, 4)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "nan.npy", np.full((2, 4), np.nan, np.float32))
    np.save(tmp_path / "flat.npy", np.ones(4, np.float32))
    save_file({"a": torch.ones(2, 2), "b": torch.ones(2, 2)}, str(tmp_path / "two.safetensors"))
    (tmp_path / "x.pt").write_bytes(b"")
    for name, match in (("obj.npy", "cannot read"), ("nan.npy", "finite"), ("flat.npy", r"\[T, D\]"),
                        ("two.safetensors", "expected one tensor"), ("x.pt", "must be .npy")):
        with pytest.raises(ValueError, match=match):
            load_feature_file(tmp_path / name)
    with pytest.raises(ValueError, match="differs"):
        load_feature_file(tmp_path / "ok.npy", dim=8)


def test_builtin_feature_sources_give_50hz_frames():
    from affectcodec.analysis.features import CodecLatentSource, LogMelSource, TeacherSource
    from affectcodec.emotion import ProsodyTeacher
    from tests.conftest import tiny_codec

    wav = torch.randn(16000) * 0.1
    assert LogMelSource()(wav).shape == (50, 80)
    assert TeacherSource(ProsodyTeacher())(wav).shape == (50, 12)
    codec = tiny_codec()
    assert CodecLatentSource(codec)(wav).shape == (50, codec.emotion_dim + codec.acoustic_dim)


def test_full_analysis_on_synthetic_features_writes_report_and_plots(tmp_path):
    from affectcodec.analysis.analysis_report import write_plots, write_report
    from affectcodec.analysis.experiment import AnalysisConfig, Utterance, run_analysis

    utts = [Utterance(x, lab, "train") for lab, x in synthetic(seed=0, utterances=6)]
    utts += [Utterance(x, lab, "valid") for lab, x in synthetic(seed=3, utterances=3)]
    config = AnalysisConfig(configs=[[4, 3], [16, 3]], eval_layers=[1, 3], fit_frames=500, epochs=1,
                            aware_codebook_size=4, aware_layers=2, aware_budget=400, biased_shares=[0.95])
    results = run_analysis(utts, config)
    assert results["labels"] == LABELS and results["n_valid"] == 9
    r = results["rvq"][1]
    assert set(r["task"]) == {"1", "3"} and len(r["cosine_by_emotion"]["anger"]) == 3
    assert set(results["emotion_aware"]["by_layers"]) == {"1"}  # eval layers within the 2 aware layers
    row = results["emotion_aware"]["by_layers"]["1"]
    assert {"balanced", "emoq_specific", "emoq_specific_filtered", "emoq_biased_0.95"} <= set(row)
    report = write_report(results, tmp_path, "affectcodec analyze --config test.yaml")
    assert "Emo-Q" in report.read_text()
    for path in write_plots(results, tmp_path):
        assert path.stat().st_size > 1000


def test_feature_file_manifests_are_read_and_validated(tmp_path):
    import numpy as np

    from affectcodec.analysis.pipeline import FileSource, load_utterances

    rows = ["path\tspeaker\temotion\tsplit\tduration"]
    for i, (emotion, split) in enumerate([("anger", "train"), ("neutral", "train"), ("anger", "valid")]):
        feats = np.random.default_rng(i).standard_normal((7 + i, 5)).astype(np.float32)
        np.save(tmp_path / f"u{i}.npy", feats)
        rows.append(f"u{i}.npy\ts{i}\t{emotion}\t{split}\t1.0")
    (tmp_path / "m.tsv").write_text("\n".join(rows) + "\n")
    utts = load_utterances(tmp_path / "m.tsv", FileSource())
    assert [(u.emotion, u.split, tuple(u.features.shape)) for u in utts] == [
        ("anger", "train", (7, 5)), ("neutral", "train", (8, 5)), ("anger", "valid", (9, 5))]
    np.save(tmp_path / "u2.npy", np.ones((4, 6), np.float32))  # another dimension
    with pytest.raises(ValueError, match="differs"):
        load_utterances(tmp_path / "m.tsv", FileSource())
    (tmp_path / "m.tsv").write_text("\n".join(rows[:3] + ["missing.npy\ts\tanger\tvalid\t1.0"]) + "\n")
    with pytest.raises(ValueError, match="missing.npy"):
        load_utterances(tmp_path / "m.tsv", FileSource())
