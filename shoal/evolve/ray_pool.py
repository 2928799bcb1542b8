"""The Ray evaluation pool: the only code in shoal that knows about Ray.

    RayPool(pieces)                        ray.init() on this machine's cores
    RayPool(pieces, address="host:6379")   join an existing cluster (ray start --head ...)

The training pieces go into Ray's object store once (ray.put) and every task
reads them from there; each task measures one candidate with
fitness.measure, the same function the local pool runs, so both return the
same sizes.  Every node of a cluster needs the same shoal (and Python
packages) installed as the driver: tasks import shoal.evolve.fitness there.
"""
from __future__ import annotations

import socket

import ray

from ..errors import ShoalError
from .fitness import measure

_remote_measure = ray.remote(num_cpus=1)(measure)


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minutes of retries, when nothing listens
    at HOST:PORT (other forms, like "auto", are left to Ray)."""
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as e:
        raise ShoalError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None


class RayPool:
    def __init__(self, pieces, address: str | None = None, workers: int | None = None):
        self.address = address
        self._started = not ray.is_initialized()
        if self._started:
            options = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            if address:
                _check_reachable(address)
            try:
                if address:
                    ray.init(address=address, **options)
                else:
                    ray.init(num_cpus=workers or None, **options)
            except Exception as e:        # Ray raises ConnectionError, RuntimeError, ValueError, ...
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise ShoalError(f"cannot start or reach {where}: {e}") from None
        self._pieces = ray.put(list(pieces))

    def evaluate(self, specs, shift: int, done=None) -> list[dict]:
        refs = [_remote_measure.remote(self._pieces, spec, shift) for spec in specs]
        index = {ref: i for i, ref in enumerate(refs)}
        results = [None] * len(specs)
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    results[index[ref]] = ray.get(ref)
                    if done:
                        done(index[ref])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results

    def close(self) -> None:
        if self._started and ray.is_initialized():
            ray.shutdown()

    def describe(self) -> str:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        return f"Ray ({self.address or 'local'}, {cpus} CPUs)"
