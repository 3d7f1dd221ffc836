"""Fit the speaker-adapted head of a trained emotion model (teacher or judge) from a manifest.

    affectcodec train-speaker-head checkpoints/judge-crnn \
        ../shared/data/nemo-16k/manifest.tsv --cache /tmp/crnn-embeddings.npz

Embeds every utterance with the frozen model, z-normalises the embeddings per speaker (statistics
of all of that speaker's utterances, no labels), and fits a standardiser + logistic regression on
the training split. C is chosen by leave-one-speaker-out cross-validation on the training split
(``--select loso``, default; the ``valid`` split is then only measured, with its speaker's own
statistics) or by the ``valid`` split's UAR (``--select valid``: for a neural model whose encoder
has seen every training speaker, leave-one-speaker-out figures are optimistic and uninformative;
the valid figure is then optimistic instead, and the model card must say so). Writes
the released folder ``speaker_head/`` into the model folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from affectcodec import audio
from affectcodec.data.manifests import Manifest
from affectcodec.emotion.checkpoint import resolve_model_dir
from affectcodec.judges.adaptation import SpeakerHead, SpeakerStats
from affectcodec.judges.judge import pad_batch
from affectcodec.model_dir import read_meta

PROG = "affectcodec train-speaker-head"

C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def _model(path: str):
    if read_meta(resolve_model_dir(path)).get("model_type") == "ser_teacher":
        from affectcodec.judges.teacher_head import TeacherHead

        return TeacherHead.load(path)
    from affectcodec.judges.loading import load_judges

    return load_judges([path])[0]


def embeddings(model, manifest: Manifest, cache: str | None = None, batch_size: int = 16) -> np.ndarray:
    """Utterance embeddings float [U, E] of every entry (cached in ``cache`` .npz)."""
    from affectcodec.judges.functionals import FunctionalsJudge

    if isinstance(model, FunctionalsJudge):
        from affectcodec.train.functionals_judge import manifest_features

        return manifest_features(manifest, cache).astype(np.float64)
    key = hashlib.sha256("\n".join(str(manifest.audio_path(i)) for i in range(len(manifest))).encode()
                         + repr(sorted((k, float(v.double().sum())) for k, v in
                                       model.net.state_dict().items())).encode()).hexdigest()
    if cache and Path(cache).is_file():
        data = np.load(cache)
        if str(data["key"]) == key:
            return data["x"]
    parts = []
    with torch.no_grad():
        for i in range(0, len(manifest), batch_size):
            clips = [audio.load(manifest.audio_path(j)) for j in range(i, min(i + batch_size, len(manifest)))]
            parts.append(model.embed(*pad_batch(clips)).double().numpy())
    x = np.concatenate(parts)
    if cache:
        np.savez(cache, x=x, key=key)
    return x


def speaker_normalised(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Each speaker's rows z-normalised with that speaker's own statistics."""
    out = np.empty_like(x)
    for s in np.unique(speakers):
        rows = speakers == s
        out[rows] = SpeakerStats.from_embeddings(x[rows]).normalise(torch.from_numpy(x[rows])).numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[1])
    parser.add_argument("model", help="model folder (ser-teacher, judge-crnn, judge-functionals)")
    parser.add_argument("manifest")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--valid-split", default="valid")
    parser.add_argument("--cache", default=None, help=".npz embedding cache (outside the repository)")
    parser.add_argument("--select", choices=("loso", "valid"), default="loso",
                        help="choose C by leave-one-speaker-out on train (default) or on valid")
    args = parser.parse_args(argv)
    start = time.time()
    model = _model(args.model)
    manifest = Manifest.read(args.manifest, list(model.labels))
    x = speaker_normalised(embeddings(model, manifest, args.cache),
                           np.array([e.speaker for e in manifest]))
    y = np.array([list(model.labels).index(e.emotion) for e in manifest])
    groups = np.array([e.speaker for e in manifest])
    splits = np.array([e.split for e in manifest])
    train, valid = splits == args.train_split, splits == args.valid_split

    def pipeline(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))

    if args.select == "valid" and not valid.any():
        parser.error(f"--select valid needs rows with split {args.valid_split!r}")
    cv = {}
    for c in C_GRID:
        if args.select == "loso":
            pred = cross_val_predict(pipeline(c), x[train], y[train], groups=groups[train],
                                     cv=LeaveOneGroupOut())
            cv[c] = float(balanced_accuracy_score(y[train], pred))
        else:
            pred = pipeline(c).fit(x[train], y[train]).predict(x[valid])
            cv[c] = float(balanced_accuracy_score(y[valid], pred))
        print(f"C={c:g}: {args.select} UAR {cv[c]:.3f}")
    best = max(cv, key=cv.get)
    fitted = pipeline(best).fit(x[train], y[train])
    scaler, lr = fitted.named_steps["standardscaler"], fitted.named_steps["logisticregression"]
    info = {"C": best, "selection_uar": {str(k): round(v, 4) for k, v in cv.items()},
            "train_items": int(train.sum()), "embedding_dim": int(x.shape[1]),
            "selection": ("C by leave-one-speaker-out UAR on the train split" if args.select == "loso"
                          else f"C by UAR on the {args.valid_split} split (optimistic figure)"),
            "wall_time_s": round(time.time() - start, 1)}
    if valid.any():
        info["valid_uar"] = round(float(balanced_accuracy_score(y[valid], fitted.predict(x[valid]))), 4)
    t = {k: torch.as_tensor(np.asarray(v, dtype=np.float64))
         for k, v in (("mean", scaler.mean_), ("scale", scaler.scale_), ("coef", lr.coef_),
                      ("intercept", lr.intercept_))}
    SpeakerHead(t["mean"], t["scale"], t["coef"], t["intercept"], info).save(args.model)
    print(json.dumps(info, indent=1))
    return 0

