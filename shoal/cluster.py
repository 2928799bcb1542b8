"""Blocks coded on Ray workers: the one module of shoal that imports ray
(the `ray` extra: pip install 'shoal[ray]').

    runner = cluster.RayRunner()                     # a local Ray instance, a worker per core
    runner = cluster.RayRunner(address="HOST:PORT")  # a cluster started by `ray start --head`
    blob = shoal.compress(data, threads=runner)      # any threads= takes it; the same bytes
    runner.close()

The command line makes one for --ray / --address (and `shoal score --ray`);
nothing else imports this module, so compressing without them never loads
Ray.  A runner has the contract api._ordered_map asks of one: `window`, the
calls it keeps in flight, and submit(fn, job), which runs fn(job) as a Ray
task and returns a future.  The driver (this process) reads the input,
keeps at most `window` blocks in flight (and within -M, as threads do) and
writes the frames in order: its memory is a window of blocks, whatever the
input's size.  Each task carries its block as bytes and the preset; the
school files this process has loaded (-D, school=, or found for an
archive) go once to each worker through Ray's object store, so a learned
school's primer is known there too.

A task whose worker dies (killed, out of memory, its node lost) is run
again, up to RETRIES times; then the file fails with a ShoalError that says
so (the command line removes its partial output, as on any error).  An
error of the data itself (a corrupted block, ShoalError) is not retried:
it is raised here as the worker raised it.  Ray starts lazily, at the
first task: an input of one block is coded on this process and starts
nothing.
"""
from __future__ import annotations

import logging
import os
import threading

import ray
import ray.exceptions

from . import school_file
from .errors import ShoalError
from .school import primer

RETRIES = 3          # runs of a task after its worker died, before the file fails


# ---- on a worker ---------------------------------------------------------------

_known_here: set[bytes] = set()      # digests of the school files this worker process knows


def _learn(schools) -> None:
    """Make the driver's school files known in this worker (once each)."""
    for digest, (ref,) in schools:
        if digest not in _known_here:
            found = ray.get(ref)
            primer.learned(found.primer)
            school_file.given(found)
            _known_here.add(digest)


@ray.remote
def _call(fn, job, schools):
    # schools: (digest, [ObjectRef]) pairs; the ref inside a list is not
    # fetched by Ray before the call, so a worker reads a school only once
    _learn(schools)
    return fn(job)


# ---- on the driver ------------------------------------------------------------------

def start(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to Ray, unless this process already has: the cluster at
    `address` (HOST:PORT of `ray start --head`, or ray://HOST:PORT), else a
    local instance of num_cpus workers (None: one per core)."""
    if ray.is_initialized():
        return
    quiet = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise ShoalError(f"cannot start {where}: {str(error).splitlines()[0] if str(error) else error!r}") \
            from None


class RayTask:
    """A submitted block: result() waits for it and gives what fn returned."""

    def __init__(self, ref):
        self._ref = ref

    def result(self):
        try:
            return ray.get(self._ref)
        except ray.exceptions.RayTaskError as error:          # fn raised it: the data's own error
            cause = error.cause
            if isinstance(cause, (ShoalError, OSError, MemoryError, ValueError, TypeError)):
                raise cause from None
            raise ShoalError(f"a Ray worker failed: {type(cause).__name__}: {cause}") from None
        except ray.exceptions.RayError as error:              # the worker, its node, an object lost
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ShoalError(f"a Ray worker failed on a block {RETRIES + 1} times (retried {RETRIES}): "
                             f"{type(error).__name__}{': ' + first if first else ''}") from None

    def cancel(self) -> bool:
        try:
            ray.cancel(self._ref)
        except Exception:           # finished, or Ray already gone: nothing to give up
            return False
        return True


class RayRunner:
    """Codes blocks as Ray tasks (see the module's docstring).

    address: an existing cluster (None: a local instance, num_cpus workers
    or one per core); window: blocks in flight (None: the cluster's CPUs,
    read when Ray starts).  Ray starts at the first submit; close() shuts
    it down again if this runner started it."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, window: int | None = None):
        self._address, self._num_cpus = address, num_cpus
        self._window = window
        self._started = False           # whether this runner started Ray (and shuts it down)
        self._schools: dict[bytes, tuple] = {}
        self._lock = threading.Lock()

    def _ready(self) -> None:
        with self._lock:
            if not ray.is_initialized():
                start(self._address, self._num_cpus)
                self._started = True
            if self._window is None:
                cpus = int(ray.cluster_resources().get("CPU", 0))
                self._window = max(1, cpus or self._num_cpus or os.cpu_count() or 1)

    @property
    def window(self) -> int:
        if self._window is None:
            if self._address is None and self._num_cpus and not ray.is_initialized():
                return self._num_cpus        # known without starting Ray
            self._ready()
        return self._window

    def _school_refs(self) -> tuple:
        """The school files loaded in this process, each put in Ray's store once."""
        for found in school_file.loaded():
            if found.digest not in self._schools:
                self._schools[found.digest] = (found.digest, [ray.put(found)])
        return tuple(self._schools.values())

    def submit(self, fn, job) -> RayTask:
        self._ready()
        task = _call.options(max_retries=RETRIES, retry_exceptions=False)
        return RayTask(task.remote(fn, job, self._school_refs()))

    def close(self) -> None:
        """Shut Ray down if this runner started it (a local instance)."""
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False
