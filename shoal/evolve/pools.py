"""Evaluation pools: measure a generation's candidates, in parallel.

    pool = open_pool(pieces, workers=2)                 # or ray=True, address="host:6379"
    results = pool.evaluate(specs, shift, done=tick)    # one fitness.measure() dict per spec, in order
    pool.close()

LocalPool(workers=0) measures in this process, one candidate after another
(tests, debugging); workers=N starts N fresh interpreters ("spawn": nothing
of this process's threads or compiled state is inherited), each given the
training pieces once.  ray_pool.RayPool does the same on Ray, and is the only
module that imports ray.  Sizes are exact integers, so every pool returns the
same bits for the same candidates; only the logged wall time differs.
"""
from __future__ import annotations

import multiprocessing
import os
import signal

from .fitness import measure

_pieces = None          # a worker process's training pieces


def _start_worker(pieces) -> None:
    global _pieces
    _pieces = pieces
    # Ctrl-C is the driver's to handle: it checkpoints and stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _measure_job(job):
    index, spec, shift = job
    return index, measure(_pieces, spec, shift)


class LocalPool:
    """Candidates measured in this process (workers=0) or in worker processes."""

    def __init__(self, pieces, workers: int):
        self.pieces, self.workers = pieces, workers
        self._processes = None
        if workers > 0:
            context = multiprocessing.get_context("spawn")
            self._processes = context.Pool(workers, initializer=_start_worker, initargs=(pieces,))

    def evaluate(self, specs, shift: int, done=None) -> list[dict]:
        results = [None] * len(specs)
        if self._processes is None:
            jobs = ((i, measure(self.pieces, spec, shift)) for i, spec in enumerate(specs))
        else:
            jobs = self._processes.imap_unordered(_measure_job, [(i, s, shift) for i, s in enumerate(specs)])
        for index, result in jobs:
            results[index] = result
            if done:
                done(index)
        return results

    def close(self) -> None:
        if self._processes is not None:
            # terminate, not close: after Ctrl-C nothing they are doing is wanted
            self._processes.terminate()
            self._processes.join()
            self._processes = None

    def describe(self) -> str:
        return "in this process" if self._processes is None else f"{self.workers} local worker processes"


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def open_pool(pieces, *, workers: int | None = None, ray: bool = False, address: str | None = None):
    """The pool the command line asked for (Ray only when asked: it is an extra)."""
    if ray or address:
        from .ray_pool import RayPool
        return RayPool(pieces, address=address, workers=workers)
    return LocalPool(pieces, default_workers() if workers is None else workers)
