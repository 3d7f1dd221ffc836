"""A prepared GPU run: train the CPU recipes for a few minutes on a lent GPU, bring the models back.

This project's GPU machines are lent by chance, for 15 minutes in all and 10 minutes a command,
and what travels to them is the working tree plus 64 MiB in all (the tracked tree, with its
released models, is about 48 MiB of it). Their image has torch, torchaudio, Lightning, numpy and
scipy but not the rest of the package's dependencies, and no network. So the run has three parts:

    # 1. here (CPU): a carry folder with a data subset and the missing wheels (about 16 MiB)
    python recipes/tools/gpu_session.py bundle --out gpu_carry
    # 2. there, in one device command (carry: gpu_carry), both models side by side:
    python3 recipes/tools/gpu_session.py train --carry gpu_carry --out $OUT --minutes 7
    # 3. here: rebuild released folders from what came back, then evaluate them as usual
    python recipes/tools/gpu_session.py unpack FILES_AT RUNS/gpu_export

``train`` starts AffectCodec and the same-budget RVQ baseline from the bundled releases
(``--model.init_from``), in bf16 mixed precision, with the recipes' losses and a larger batch,
for ``--minutes`` of wall time each, both at once on the one GPU; it writes per model the
released weights in shards of at most 15 MiB (the device returns files of at most 16 MiB) and
Lightning's ``metrics.csv`` (the curve). ``train --dry-run`` runs the same path on the CPU for a
few steps (the test of this script: tests/train/test_gpu_session.py).

The training audio travels as Ogg Opus at about 30 kbit/s (near-transparent wide-band speech;
FLAC would fit only about six minutes of audio in the budget); the validation clips travel as
FLAC, so the curve compares against the originals. The released models are evaluated here, on
the full data, with ``affectcodec eval``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MODELS = {"ac": ("affectcodec_16k_small.yaml", "affectcodec-16k-small"),
          "rvq": ("rvq_baseline_16k_small.yaml", "rvq-baseline-16k-small")}
SHARD_BYTES = 15 * 2**20
# Distributions the device image lacks (checked against its package list, 2026-11-17), which
# training imports: the project's dependencies and theirs. Versions are the ones installed here.
# Not pesq: its registry has no wheel for the device's Python 3.12, so the device's validation
# logs losses only (``--model.metric_items 0``); PESQ and STOI are measured here afterwards.
WHEELS = ["descript-audio-codec", "descript-audiotools", "argbind", "docstring-parser", "ffmpy",
          "flatten-dict", "importlib-resources", "julius", "jsonargparse", "typeshed-client",
          "librosa", "audioread", "pooch", "decorator", "soundfile", "cffi", "pycparser", "soxr",
          "randomname", "fire", "termcolor"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]


def bundle(args: argparse.Namespace) -> None:
    import soundfile as sf

    from affectcodec.data.datamodule import read_manifest

    out, data = Path(args.out), Path(args.data)
    recipe = yaml.safe_load((REPO / "recipes" / MODELS["ac"][0]).read_text())
    held_out = set(recipe["data"]["valid_speakers"])
    if out.exists():
        shutil.rmtree(out)
    (out / "data" / "audio").mkdir(parents=True)
    rng = random.Random(args.seed)
    train, valid = [], []
    for corpus in ("nemo-16k", "speech-16k"):
        # the recipe's own split rule: held-out speakers count as valid whatever their split says
        manifest = data / corpus / "manifest.tsv"
        train += read_manifest(manifest, "train", held_out, allow_empty=True)
        valid += read_manifest(manifest, "valid", held_out, allow_empty=True)
    rng.shuffle(train)
    rng.shuffle(valid)
    table = [["path", "speaker", "split", "duration"]]

    def add(row: dict[str, str], split: str, seconds: float | None) -> int:
        wav, rate = sf.read(row["path"], dtype="float32")
        if seconds is not None:
            wav = wav[: int(seconds * rate)]
        name = Path(row["path"]).stem
        target = out / "data" / "audio" / (name + (".ogg" if split == "train" else ".flac"))
        if split == "train":
            sf.write(target, wav, rate, format="OGG", subtype="OPUS",
                     compression_level=args.opus_level)
        else:
            sf.write(target, wav, rate, format="FLAC")
        table.append([f"audio/{target.name}", row.get("speaker", ""), split,
                      f"{len(wav) / rate:.3f}"])
        return target.stat().st_size

    used = sum(add(r, "valid", 4.0) for r in valid[: args.valid_items])
    seconds, train_bytes, budget = 0.0, 0, args.max_mib * 2**20
    for row in train:
        if used + train_bytes > budget:
            break
        train_bytes += add(row, "train", None)
        seconds += float(table[-1][3])
    with (out / "data" / "manifest.tsv").open("w", encoding="utf-8") as f:
        f.write("\n".join("\t".join(r) for r in table) + "\n")
    wheels = out / "wheels"
    wheels.mkdir()
    for name in WHEELS if args.wheels else ():
        spec = f"{name}=={importlib.metadata.version(name)}"
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
               *[x for p in PLATFORMS for x in ("--platform", p)], "-d", str(wheels), spec]
        if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode == 0:
            continue
        # Only an sdist on the registry: build the wheel here, which serves the device's Python
        # only if the package is pure Python.
        before = set(wheels.iterdir())
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                        str(wheels), spec], check=True, stderr=subprocess.DEVNULL)
        built = [p for p in set(wheels.iterdir()) - before]
        if not all(p.name.endswith("-none-any.whl") for p in built):
            raise SystemExit(f"bundle: no wheel of {spec} for the device's Python 3.12 "
                             f"(built {[p.name for p in built]})")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {len(table) - 1 - args.valid_items} training clips ({seconds / 60:.1f} min, "
          f"Opus {8 * train_bytes / 1000 / max(seconds, 1e-9):.0f} kbit/s), "
          f"{args.valid_items} validation clips, {len(list(wheels.iterdir()))} wheels; "
          f"{size / 2**20:.1f} MiB")


def _fit_command(key: str, carry: Path, runs: Path, args: argparse.Namespace) -> list[str]:
    recipe, release = MODELS[key]
    cmd = [sys.executable, "-m", "affectcodec", "train", "fit",
           "--config", str(REPO / "recipes" / recipe),
           "--seed_everything", str(args.seed),
           "--model.init_from", release,
           "--model.generator_optimizer.init_args.lr", str(args.lr),
           "--model.generator_scheduler.init_args.gamma", str(args.gamma),
           "--data.manifest", str(carry / "data" / "manifest.tsv"),
           "--data.valid_speakers", "[]",
           "--data.batch_size", str(args.batch_size),
           "--data.num_workers", str(args.workers),
           "--data.valid_items", "null",
           "--model.metric_items", "0",
           "--trainer.max_steps", str(args.max_steps),
           "--trainer.max_time", f"00:00:{args.minutes:02d}:00",
           "--trainer.val_check_interval", str(args.val_every),
           "--trainer.enable_progress_bar", "false",
           "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
           "--trainer.logger.init_args.save_dir", str(runs),
           "--trainer.logger.init_args.name", key]
    # bf16 autocast on the CPU too: the dry run checks the precision path the GPU run takes
    return cmd + ["--trainer.accelerator", "cpu" if args.dry_run else "gpu",
                  "--trainer.precision", "bf16-mixed"]


def _shard(release: Path, dest: Path) -> list[Path]:
    """Split ``model.safetensors`` into files of at most SHARD_BYTES (whole tensors each)."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(release / "model.safetensors")
    shards: list[dict] = [{}]
    size = 0
    for name in sorted(tensors):
        n = tensors[name].numel() * tensors[name].element_size()
        if size + n > SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][name] = tensors[name].contiguous()
        size += n
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, shard in enumerate(shards):
        paths.append(dest / f"model-{i}.safetensors")
        save_file(shard, paths[-1])
    return paths


def train(args: argparse.Namespace) -> None:
    carry, out = Path(args.carry).resolve(), Path(args.out).resolve()
    site = Path(args.site)
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(args.threads))
    if not args.dry_run:
        wheels = sorted(str(p) for p in (carry / "wheels").glob("*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                        "--no-compile", "--no-cache-dir", "--upgrade", "--target", str(site),
                        *wheels], check=True)
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
        # Fail fast, before any training, if the image still lacks something training imports.
        subprocess.run([sys.executable, "-c", "import affectcodec.train.module, "
                        "affectcodec.data.datamodule, affectcodec.train.lightning_cli"],
                       env=env, check=True, cwd=REPO)
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    jobs, logs = {}, {}
    for key in args.models:  # side by side: one small model leaves most of the GPU idle
        logs[key] = open(runs.parent / f"{key}.log", "w")
        jobs[key] = subprocess.Popen(_fit_command(key, carry, runs, args), env=env, cwd=REPO,
                                     stdout=logs[key], stderr=subprocess.STDOUT)
    codes = {key: job.wait() for key, job in jobs.items()}
    for f in logs.values():
        f.close()
    print(f"trained {', '.join(jobs)} in {time.monotonic() - start:.0f} s: exit {codes}")
    sys.path[:0] = [str(site), str(REPO)]
    import torch

    from affectcodec.train.release import export

    for key in args.models:
        log = (runs.parent / f"{key}.log").read_text(errors="replace").splitlines()
        print(f"--- {key} log (last lines)\n" + "\n".join(log[-15:]))
        ckpts = sorted(runs.glob(f"{key}/version_*/checkpoints/last.ckpt"))
        if codes[key] != 0 or not ckpts:
            print(f"{key}: failed (exit {codes[key]}), nothing exported")
            continue
        release = export(ckpts[-1], runs.parent / "export" / key, overwrite=True)
        dest = out / key
        shards = _shard(release, dest)
        shutil.copy(release / "config.json", dest / "config.json")
        curves = sorted(runs.glob(f"{key}/version_*/metrics.csv"))
        if curves:
            shutil.copy(curves[-1], dest / "metrics.csv")
        step = torch.load(ckpts[-1], map_location="cpu", weights_only=True)["global_step"]
        print(f"{key}: {step} optimiser steps -> {[p.name for p in shards]}")
    if any(codes.values()):
        raise SystemExit(f"train: a run failed: {codes}")


def unpack(args: argparse.Namespace) -> None:
    """Rebuild released folders (config.json + model.safetensors) from ``train``'s output."""
    from safetensors.torch import load_file, save_file

    sys.path.insert(0, str(REPO))
    import affectcodec

    for src in sorted(p for p in Path(args.src).iterdir() if p.is_dir()):
        tensors: dict = {}
        for shard in sorted(src.glob("model-*.safetensors")):
            tensors.update(load_file(shard))
        dest = Path(args.dest) / src.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "config.json", dest / "config.json")
        save_file(tensors, dest / "model.safetensors")
        if (src / "metrics.csv").exists():
            shutil.copy(src / "metrics.csv", dest / "metrics.csv")
        codec = affectcodec.load(str(dest))  # strict key check: the shards are complete
        print(f"{dest}: {sum(t.numel() for t in tensors.values())} weights, "
              f"{codec.bitrates} kbit/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle", help="here: data subset + wheels for the device")
    b.add_argument("--data", default=os.environ.get("AFFECTCODEC_DATA", str(REPO.parent / "shared" / "data")))
    b.add_argument("--out", default="gpu_carry")
    b.add_argument("--max-mib", type=float, default=10.0, help="audio budget (MiB)")
    b.add_argument("--opus-level", type=float, default=0.9, help="libsndfile Opus compression level")
    b.add_argument("--valid-items", type=int, default=12)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--no-wheels", dest="wheels", action="store_false", help="data only")
    t = sub.add_parser("train", help="there: train from the bundled releases, write under --out")
    t.add_argument("--carry", default="gpu_carry")
    t.add_argument("--out", default=os.environ.get("OUT", "gpu_out"))
    t.add_argument("--runs", default="/tmp/affectcodec-gpu/runs", help="checkpoints (not returned)")
    t.add_argument("--site", default="/tmp/affectcodec-gpu/site", help="where the wheels go")
    t.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    t.add_argument("--minutes", type=int, default=7, help="wall-time limit of each run")
    t.add_argument("--max-steps", type=int, default=100_000)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1.0e-4)
    t.add_argument("--gamma", type=float, default=0.9995, help="ExponentialLR factor per step")
    t.add_argument("--val-every", type=int, default=500)
    t.add_argument("--workers", type=int, default=6, help="data-loading processes per run")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=9000)
    t.add_argument("--dry-run", action="store_true", help="CPU, no wheels: test the path here")
    u = sub.add_parser("unpack", help="here: released folders from what came back")
    u.add_argument("src")
    u.add_argument("dest")
    args = parser.parse_args(argv)
    {"bundle": bundle, "train": train, "unpack": unpack}[args.command](args)


if __name__ == "__main__":
    main()
