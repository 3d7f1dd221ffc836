"""Speed and memory benchmark of codecs: real-time factors and peak resident memory.

Each model is measured in a fresh process (``multiprocessing`` spawn) so that its peak RSS is its
own and one model's allocations do not slow the next. All models in one run use the same number
of torch threads and the same generated audio length.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from affectcodec.baselines import REFERENCE_CODECS, ExternalCodec
from affectcodec.codec import CheckpointError
from affectcodec.errors import EvaluationError
from affectcodec.fsutil import atomic_path
from affectcodec.pretrained import resolve

#: Names accepted for the comparison models.
BASELINES = ("dac16k", *REFERENCE_CODECS)


@dataclass
class BenchResult:
    """Figures of one model. RTFs are compute seconds per second of audio (lower is faster).

    ``encode_rtf`` / ``decode_rtf`` are at batch 1 on one clip of ``seconds``;
    ``*_rtf_batch8`` process 8 clips of ``seconds / 8`` each (the same audio duration).
    """

    name: str
    params_m: float
    seconds: float
    threads: int
    encode_rtf: float
    decode_rtf: float
    encode_rtf_batch8: float
    decode_rtf_batch8: float
    peak_rss_mb: float

    @property
    def realtime_factor(self) -> float:
        """How many times faster than real time encode + decode run at batch 1."""
        return 1.0 / (self.encode_rtf + self.decode_rtf)


def _build(spec: dict[str, Any]):
    if spec["kind"] in REFERENCE_CODECS:
        return REFERENCE_CODECS[spec["kind"]]()
    if spec["kind"] == "dac16k":
        from affectcodec.eval.dac import DACCodec

        return DACCodec.architecture_16k()
    if spec["kind"] == "random":
        from affectcodec import AffectCodec

        torch.manual_seed(0)
        return AffectCodec().eval()
    from affectcodec import load

    return load(spec["path"])


def _timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _measure(spec: dict[str, Any], seconds: float, threads: int, repeats: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    codec = _build(spec)
    sr = codec.sample_rate
    gen = torch.Generator().manual_seed(0)
    one = torch.randn(1, 1, int(seconds * sr), generator=gen) * 0.1
    eight = torch.randn(8, 1, int(seconds * sr / 8), generator=gen) * 0.1
    if not isinstance(codec, ExternalCodec):
        codec.decode(codec.encode(one[..., :sr]))  # warm-up (allocator, lazy inits)
    results = {}
    if isinstance(codec, ExternalCodec):
        # Programs code one item at a time: a "batch" of 8 is 8 runs.
        encode = lambda w: [codec.encode(w[i : i + 1]) for i in range(w.shape[0])]  # noqa: E731
        decode = lambda cs: [codec.decode(c) for c in cs]  # noqa: E731
        params = 0.0
    else:
        encode, decode = codec.encode, codec.decode
        params = sum(p.numel() for p in codec.parameters()) / 1e6
    for key, wav in (("", one), ("_batch8", eight)):
        codes = encode(wav)
        results[f"encode_rtf{key}"] = _timed(lambda w=wav: encode(w), repeats) / seconds
        results[f"decode_rtf{key}"] = _timed(lambda c=codes: decode(c), repeats) / seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dict(name=spec["name"], params_m=params, seconds=seconds, threads=threads,
                peak_rss_mb=peak, **results)


def _child(spec, seconds, threads, repeats, queue) -> None:
    try:
        queue.put(_measure(spec, seconds, threads, repeats))
    except BaseException as exc:  # report, do not hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def run_one(spec: dict[str, Any], seconds: float, threads: int, repeats: int = 2) -> BenchResult:
    """Measure one model (``spec``: kind, name, path) in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(spec, seconds, threads, repeats, queue))
    proc.start()
    out = queue.get()
    proc.join()
    if "error" in out:
        raise RuntimeError(f"benchmark of {spec['name']} failed: {out['error']}")
    return BenchResult(**out)


def format_table(results: list[BenchResult]) -> str:
    """A plain-text table of the results (RTF: compute seconds per audio second)."""
    head = (f"{'model':<24}{'params':>8}{'enc RTF':>10}{'dec RTF':>10}{'x realtime':>12}"
            f"{'enc RTF b8':>12}{'dec RTF b8':>12}{'peak RSS':>11}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r.name:<24}{r.params_m:>7.2f}M{r.encode_rtf:>10.4f}{r.decode_rtf:>10.4f}"
                     f"{r.realtime_factor:>11.1f}x{r.encode_rtf_batch8:>12.4f}"
                     f"{r.decode_rtf_batch8:>12.4f}{r.peak_rss_mb:>8.0f} MB")
    return "\n".join(lines)


def to_json(results: list[BenchResult]) -> list[dict[str, Any]]:
    return [{**asdict(r), "realtime_factor": r.realtime_factor} for r in results]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def benchmark(model: str | None = None, *, random: bool = False, seconds: float = 60.0,
              vs: Sequence[str] = ("dac16k",), threads: int | None = None, repeats: int = 2,
              json_path: str | Path | None = None,
              log: Callable[[str], None] = _stderr) -> list[BenchResult]:
    """Encode/decode real-time factors and peak memory of a model and the comparison models,
    each measured in a fresh process with the same torch threads and audio length.

    Args:
        model: model folder or bundled name (default: the bundled default model).
        random: time the default AffectCodec architecture with random weights instead.
        seconds: audio duration per measurement.
        vs: comparison models (names of :data:`BASELINES`, or ``"none"``); a reference codec
            whose tools are missing is skipped with a message to ``log``.
        threads: torch threads (default: torch's current setting).
        repeats: timed repeats (the best is kept).
        json_path: also write the figures here as JSON (:func:`to_json`).
        log: receives one-line messages (default: printed to stderr).

    Returns:
        The figures, the model's first.

    Raises:
        EvaluationError: bad ``seconds`` or ``repeats``, a model that is not there, a
            measurement that failed.

    Example:
        >>> from affectcodec.eval.speed import benchmark, format_table
        >>> print(format_table(benchmark(random=True, seconds=10, vs=["none"])))  # doctest: +SKIP
    """
    if seconds <= 0 or repeats < 1:
        raise EvaluationError("--seconds must be > 0 and --repeats >= 1")
    threads = threads or torch.get_num_threads()
    if random:
        specs = [{"kind": "random", "name": "affectcodec (random)"}]
    else:
        try:
            path = resolve(model)
        except CheckpointError as exc:
            raise EvaluationError(f"{exc} (or use --random to time the architecture)") from exc
        specs = [{"kind": "load", "name": path.name, "path": str(path)}]
    for other in vs:
        if other == "none":
            continue
        if other in REFERENCE_CODECS:
            if not REFERENCE_CODECS[other].available():
                log(REFERENCE_CODECS[other].missing_message())
                continue
            specs.append({"kind": other, "name": other})
        else:
            specs.append({"kind": other, "name": "dac16k (random)"})
    results = []
    for spec in specs:
        try:
            results.append(run_one(spec, seconds, threads, repeats))
        except RuntimeError as exc:
            raise EvaluationError(str(exc)) from exc
    if json_path:
        with atomic_path(json_path, force=True) as tmp:
            tmp.write_text(json.dumps(to_json(results), indent=2))
    return results
