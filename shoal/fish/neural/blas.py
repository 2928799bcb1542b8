"""Keep the BLAS to one thread while the neural fish runs.

The fish's GEMMs are small (lanes x width); a multithreaded BLAS spends more
on waking and spinning its threads than it gains, and on a busy machine its
spinning threads starve everything else (measured here: 7 KB/s with
OpenBLAS's default two threads against 46 KB/s with one).  Parallelism comes
from running shards of lanes on threads instead (NeuralFish.start(lanes,
threads=N)).  Results are exact whatever the BLAS does; this is only speed.
"""
from threadpoolctl import threadpool_limits

_limiter = None         # keeps the limit alive for the whole process


def single_threaded_blas() -> None:
    global _limiter
    if _limiter is None:
        _limiter = threadpool_limits(limits=1, user_api="blas")
