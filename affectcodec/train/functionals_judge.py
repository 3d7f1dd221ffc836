"""Train the classical judge (functionals + logistic regression) from a manifest.

    affectcodec train-functionals ../shared/data/nemo-16k/manifest.tsv \
        -o checkpoints/judge-functionals --cache /tmp/affectcodec-functionals.npz

The regularisation strength C is chosen by leave-one-speaker-out cross-validation on the
training split (UAR); the ``valid`` split is only measured, never used for a choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from affectcodec import audio
from affectcodec.data.manifests import Manifest
from affectcodec.emotion.labels import NEMO_EMOTIONS, LabelMap
from affectcodec.judges.utterance_functionals import feature_names, utterance_functionals

PROG = "affectcodec train-functionals"

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def manifest_features(manifest: Manifest, cache: str | None = None) -> np.ndarray:
    """Functionals float [U, F] of every entry (cached in ``cache`` .npz, keyed by the paths)."""
    key = hashlib.sha256("\n".join(str(manifest.audio_path(i)) for i in range(len(manifest)))
                         .encode() + "\n".join(feature_names()).encode()).hexdigest()
    if cache and Path(cache).is_file():
        data = np.load(cache)
        if str(data["key"]) == key:
            return data["x"]
    x = np.stack([utterance_functionals(audio.load(manifest.audio_path(i))[0].numpy())
                  for i in range(len(manifest))])
    if cache:
        np.savez(cache, x=x, key=key)
    return x


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from affectcodec.judges.functionals import save_functionals_judge

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[1])
    parser.add_argument("manifest")
    parser.add_argument("-o", "--output", required=True, help="model folder to write")
    parser.add_argument("--labels", nargs="+", default=list(NEMO_EMOTIONS))
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--valid-split", default="valid")
    parser.add_argument("--cache", default=None, help=".npz feature cache (outside the repository)")
    args = parser.parse_args(argv)
    start = time.time()
    labels = LabelMap(args.labels)
    manifest = Manifest.read(args.manifest, labels)
    x_all = manifest_features(manifest, args.cache)
    splits = np.array([e.split for e in manifest])
    y_all = np.array(labels.indices([e.emotion for e in manifest]))
    groups = np.array([e.speaker for e in manifest])
    train = splits == args.train_split

    def model(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))

    cv = {}
    for c in C_GRID:
        pred = cross_val_predict(model(c), x_all[train], y_all[train], groups=groups[train],
                                 cv=LeaveOneGroupOut())
        cv[c] = balanced_accuracy_score(y_all[train], pred)
        print(f"C={c:g}: leave-one-speaker-out UAR {cv[c]:.3f}")
    best = max(cv, key=cv.get)
    fitted = model(best).fit(x_all[train], y_all[train])
    scaler, lr = fitted.named_steps["standardscaler"], fitted.named_steps["logisticregression"]
    extra = {"C": best, "cv_uar": {str(k): round(v, 4) for k, v in cv.items()},
             "train_items": int(train.sum()), "wall_time_s": round(time.time() - start, 1),
             "selection": "C by leave-one-speaker-out UAR on the train split"}
    valid = splits == args.valid_split
    if valid.any():
        uar = balanced_accuracy_score(y_all[valid], fitted.predict(x_all[valid]))
        extra["valid_uar"] = round(float(uar), 4)
    save_functionals_judge(args.output, labels, scaler.mean_, scaler.scale_, lr.coef_, lr.intercept_, extra)
    print(json.dumps(extra, indent=1))
    return 0

