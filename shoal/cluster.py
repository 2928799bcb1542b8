"""Blocks coded on Ray workers: the one module of shoal that imports ray
(the `ray` extra: pip install 'shoal[ray]').

    runner = cluster.RayRunner()                     # a local Ray instance, a worker per core
    runner = cluster.RayRunner(address="HOST:PORT")  # a cluster started by `ray start --head`
    blob = shoal.compress(data, threads=runner)      # any threads= takes it; the same bytes
    runner.close()

The command line makes one for --ray / --address (and `shoal score --ray`);
nothing else imports this module, so compressing without them never loads
Ray.  A runner has the contract blocks.ordered_map asks of one: `window`, the
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
import re
import signal
import socket
import threading
import time

# Ray's C++ core must not take over SIGTERM in this process (it prints a
# stack trace on each one): shoal answers signals itself (cli_io.Signals).
# Read when ray loads, so set before.
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

import ray  # noqa: E402
import ray.exceptions  # noqa: E402

from . import school_file  # noqa: E402
from .errors import ShoalError  # noqa: E402
from .school import primer  # noqa: E402

RETRIES = 3          # runs of a task after its worker died, before the file fails
CLOSE_SECONDS = 30   # the most close() waits for Ray to start and shut down


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
    # ray.init off the main thread warns that it sets no SIGTERM handler: shoal has its own
    for name in ("ray", "ray._private.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        if address:
            _reachable(address)
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        why = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ShoalError(f"cannot start {where}: {why}") from None


def _end_strays() -> None:
    """Processes of the local instance this process started still there after
    ray.shutdown(), ended by their ids: Ray's agents, when the instance
    shuts down while they are still starting (a short or interrupted run on
    a busy machine), log that the raylet died and then hang for good.  Only
    processes whose command line names a session folder of this process
    (Ray names it session_<time>_<this pid>) are touched, on Linux (/proc);
    elsewhere nothing is done.  Looked for twice: an agent may be started
    as the raylet ends."""
    if not os.path.isdir("/proc"):
        return
    ours = re.compile(rb"/session_[0-9_-]+_%d(/|$)" % os.getpid())
    for attempt in range(2):
        time.sleep(0.5 * attempt)
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if not any(ours.search(arg) for arg in f.read().split(b"\0")):
                        continue
                os.kill(int(entry), signal.SIGKILL)
            except OSError:        # gone meanwhile, or not ours to read
                pass


CONNECT_SECONDS = 10     # to reach a cluster's address before Ray is asked to (it would wait for good)


def _reachable(address: str) -> None:
    """Whether HOST:PORT answers at all: Ray itself waits for a cluster that
    is not there without end, and then even a signal cannot stop shoal."""
    if address == "auto" or "://" in address:          # Ray's own ways of finding one
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS).close()
    except ValueError:
        raise ConnectionError(f"not an address (HOST:PORT): {address!r}") from None
    except OSError as error:
        raise ConnectionError(f"nothing answers there ({error.strerror or error})") from None


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
    it down again if this runner started it.

    Ray is started from a thread of the runner's own that lives until
    close(): a local instance's processes die with the thread that started
    them (Linux's parent-death signal follows the thread), and the command
    line codes each file on a thread that ends with the file."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, window: int | None = None):
        self._address, self._num_cpus = address, num_cpus
        self._window = window
        self._keeper: threading.Thread | None = None      # the thread that started Ray, if this runner did
        self._stop = threading.Event()
        self._schools: dict[bytes, tuple] = {}
        self._lock = threading.Lock()

    def _keep(self, ready: threading.Event, failed: list) -> None:
        try:
            start(self._address, self._num_cpus)
        except BaseException as error:     # handed to the caller of _ready
            failed.append(error)
            return
        finally:
            ready.set()
        self._stop.wait()
        ray.shutdown()
        if not self._address:
            _end_strays()

    def _ready(self) -> None:
        with self._lock:
            if not ray.is_initialized():
                ready, failed = threading.Event(), []
                self._stop.clear()
                self._keeper = threading.Thread(target=self._keep, args=(ready, failed), name="shoal-ray",
                                                daemon=True)
                self._keeper.start()
                ready.wait()
                if failed:
                    self._keeper = None
                    raise failed[0]
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
        """Shut Ray down if this runner started it (or leave a cluster)."""
        if self._keeper is not None:
            self._stop.set()
            self._keeper.join(CLOSE_SECONDS)     # a daemon: a Ray that hangs does not keep shoal
            self._keeper = None
