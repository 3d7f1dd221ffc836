"""The one worker pool of evaluation: spawned processes (one torch thread each), or this process.

``affectcodec eval`` and the emotion-swap experiment both map a task function over many tasks
with models loaded once per worker by an initializer. ``spawn`` (not ``fork``): torch's thread
pools and OpenMP state do not survive a fork safely.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable
from typing import Any


class WorkerPool:
    """``map`` over ``workers`` spawned processes, each set up once by ``initializer(*initargs)``;
    with ``workers <= 1`` everything runs in this process (after the same initializer).

    Use as a context manager: the processes start on entry and are terminated on exit.
    """

    def __init__(self, workers: int, initializer: Callable[..., None], initargs: tuple = ()):
        self.workers, self.initializer, self.initargs = int(workers), initializer, tuple(initargs)
        self.pool: Any = None

    def __enter__(self) -> WorkerPool:
        if self.workers <= 1:
            self.initializer(*self.initargs)
        else:
            self.pool = mp.get_context("spawn").Pool(self.workers, initializer=self.initializer,
                                                     initargs=self.initargs)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any],
            progress: Callable[[int, int], None] = lambda done, total: None,
            ordered: bool = True) -> list[Any]:
        """``[fn(t) for t in tasks]`` (in task order, or in completion order if not ``ordered``),
        calling ``progress(done, total)`` after each task."""
        tasks = list(tasks)
        if self.pool is None:
            it = map(fn, tasks)
        elif ordered:
            it = self.pool.imap(fn, tasks, chunksize=1)
        else:
            it = self.pool.imap_unordered(fn, tasks, chunksize=1)
        results = []
        for done, r in enumerate(it, 1):
            results.append(r)
            progress(done, len(tasks))
        return results
