"""The evaluation worker pool: spawned workers give what this process gives, in task order."""

from __future__ import annotations

from affectcodec.eval.workers import WorkerPool

_STATE: dict[str, int] = {}


def _init(offset: int) -> None:
    _STATE["offset"] = offset


def _work(x: int) -> int:
    return x * x + _STATE["offset"]


def test_spawned_workers_match_this_process_and_report_progress():
    seen: list[tuple[int, int]] = []
    with WorkerPool(1, _init, (3,)) as pool:
        here = pool.map(_work, range(6), lambda d, t: seen.append((d, t)))
    with WorkerPool(2, _init, (3,)) as pool:
        spawned = pool.map(_work, range(6))
        unordered = pool.map(_work, range(6), ordered=False)
    assert here == spawned == [x * x + 3 for x in range(6)]
    assert sorted(unordered) == here and seen[-1] == (6, 6) and len(seen) == 6
