"""The fuzz campaign's cases and how they are run (bench/fuzz.py).

A case is derived deterministically from the campaign's seed and its index
(mutated_case, crafted_case; CRAFTED names the crafted kinds, in the order
their cases take).  Every case is decoded by shoal.decompress in a worker
process (Worker: bench/fuzz.py --worker, under an address-space limit set
once it has warmed up), fed over a pipe; run_cases keeps a small pool of
them busy, kills and restarts a worker past its deadline (a hang) or dead
(a crash), and classify() names the outcome.
"""
from __future__ import annotations

import ctypes
import faulthandler
import hashlib
import os
import pickle
import random
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass

from bench.fuzz_archive import Seed, make_seeds, seed_inputs
from bench.fuzz_craft import (Expect, c_attention_big, c_deflate_bomb, c_empty_streams,
                              c_huge_block_tiny_payload, c_lanes, c_many_fish, c_many_fish_small_block,
                              c_many_tiny_blocks, c_near_limit, c_totals_2p60)
from bench.fuzz_lies import (c_bad_json, c_block_fields, c_concat_mixed, c_header_fields, c_level_name,
                             c_model_version, c_neural_missing, c_new_shape, c_preset_names_file,
                             c_tiny_inputs, c_wrong_digest)
from bench.fuzz_mutate import MUTATIONS
from bench.fuzz_slow import c_many_coded_blocks, c_many_presets, c_primer_tiny_blocks


CRAFTED = {"many-fish": c_many_fish, "many-fish-small-block": c_many_fish_small_block, "lanes": c_lanes,
           "huge-block-tiny-payload": c_huge_block_tiny_payload, "totals-2^60": c_totals_2p60,
           "deflate-bomb": c_deflate_bomb, "empty-streams": c_empty_streams, "new-shape": c_new_shape,
           "level-name": c_level_name, "wrong-digest": c_wrong_digest, "neural-missing": c_neural_missing,
           "preset-names-file": c_preset_names_file, "bad-json": c_bad_json, "header-fields": c_header_fields,
           "block-fields": c_block_fields, "many-tiny-blocks": c_many_tiny_blocks,
           "attention-big": c_attention_big, "near-limit": c_near_limit, "model-version": c_model_version,
           "concat-mixed": c_concat_mixed, "tiny-inputs": c_tiny_inputs, "many-coded-blocks": c_many_coded_blocks,
           "primer-tiny-blocks": c_primer_tiny_blocks, "many-presets": c_many_presets}


# The script a worker runs (bench/fuzz.py --worker LIMIT).
FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz.py")


# ---- cases ------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    kind: str
    desc: str
    blob: bytes
    outputs: list            # digests of the outputs that count as exact
    expect: Expect | None = None


def out_digest(b: bytes) -> str:
    return hashlib.blake2b(b, digest_size=16).hexdigest()


def mutated_case(seed: int, i: int, seeds: list[Seed]) -> Case:
    kinds = sorted(MUTATIONS)
    kind = kinds[i % len(kinds)]
    rng = random.Random(f"{seed}:m:{i}")
    blob, outs, desc = MUTATIONS[kind](rng, seeds)
    return Case(f"m{i}", kind, desc, blob, [out_digest(o) for o in outs])


def crafted_case(seed: int, i: int) -> Case:
    kinds = list(CRAFTED)
    kind = kinds[i % len(kinds)]
    rng = random.Random(f"{seed}:c:{i}")
    blob, outs, desc, exp = CRAFTED[kind](rng, i // len(kinds))
    return Case(f"c{i}", kind, desc, blob, [out_digest(o) for o in outs], exp)


def case_by_id(seed: int, cid: str, seeds) -> Case:
    n = int(cid[1:])
    return mutated_case(seed, n, seeds) if cid[0] == "m" else crafted_case(seed, n)


# ---- the worker ---------------------------------------------------------------------

def _status_kb(*keys) -> dict:
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def _send(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)) + data)
    f.flush()


def _recv(f):
    head = f.read(8)
    if len(head) < 8:
        return None
    n = struct.unpack("<Q", head)[0]
    data = f.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def worker_main(as_limit: int) -> None:
    """Decode the cases the parent sends, one at a time, until EOF."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)            # an archive that makes the reader read stdin meets EOF, not the protocol
    os.dup2(2, 1)
    try:                           # die with the parent
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except Exception:
        pass
    faulthandler.enable()
    import shoal
    warm_levels((1, 6))            # import, and a decode at levels 1 and 6 and with the general loop
    baseline = _status_kb("VmSize", "VmRSS", "VmPeak", "VmHWM")
    if as_limit:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    _send(proto_out, {"hello": True, "pid": os.getpid(), "baseline": baseline})
    while True:
        msg = _recv(proto_in)
        if msg is None:
            return
        cid, blob = msg
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        res = {"id": cid, "rss_before_kb": _status_kb("VmRSS").get("VmRSS", 0)}
        t = time.perf_counter()
        try:
            out = shoal.decompress(blob)
            res.update(status="ok", out_len=len(out), out_digest=out_digest(out))
            del out
        except BaseException as e:     # noqa: BLE001: everything is a result here
            if isinstance(e, KeyboardInterrupt):
                raise
            mro = [c.__name__ for c in type(e).__mro__]
            try:
                msg_text = str(e)
            except Exception:
                msg_text = "<str() failed>"
            frames = traceback.extract_tb(e.__traceback__)[-8:]
            where = " > ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames)
            res.update(status="exception", exc=type(e).__name__, mro=mro, message=msg_text[:400],
                       where=where if "ShoalError" not in mro else "")
        res["seconds"] = time.perf_counter() - t
        res["peak_rss_kb"] = _status_kb("VmHWM").get("VmHWM", 0)
        res["vm_peak_kb"] = _status_kb("VmPeak").get("VmPeak", 0)
        del blob
        try:
            _send(proto_out, res)
        except MemoryError:
            _send(proto_out, {"id": cid, "status": "exception", "exc": "MemoryError", "mro": ["MemoryError"],
                              "message": "(while reporting)", "seconds": res["seconds"]})


class Worker:
    def __init__(self, as_limit: int, log_dir: str, number: int):
        self.as_limit, self.log_dir, self.number = as_limit, log_dir, number
        self.starts = 0
        self.start()

    def start(self):
        self.starts += 1
        self.log = os.path.join(self.log_dir, f"worker{self.number}.{self.starts}.log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, FUZZ, "--worker", str(self.as_limit)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        ready, _, _ = select.select([self.proc.stdout], [], [], 600)
        hello = _recv(self.proc.stdout) if ready else None
        if not hello:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit(f"fuzz: worker did not start; its stderr:\n{self.tail()}")
        self.baseline = hello["baseline"]
        self.case, self.started = None, 0.0

    def tail(self, n: int = 1500) -> str:
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def send(self, case: Case, timeout: float):
        self.case, self.started, self.timeout = case, time.monotonic(), timeout
        _send(self.proc.stdin, (case.id, case.blob))

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


# ---- running ---------------------------------------------------------------------

BAD = ("silent", "crash", "hang", "MemoryError", "other")
CLASSES = ("exact", "ShoalError", "EOFError") + BAD


def classify(case: Case, res: dict) -> dict:
    r = {"id": case.id, "kind": case.kind, "desc": case.desc, "bytes": len(case.blob),
         "seconds": res.get("seconds"), "peak_rss_kb": res.get("peak_rss_kb")}
    if res.get("rss_before_kb") and res.get("peak_rss_kb"):
        r["grew_mb"] = round((res["peak_rss_kb"] - res["rss_before_kb"]) / 1024, 1)
    st = res["status"]
    if st == "ok":
        r["outcome"] = "exact" if res["out_digest"] in case.outputs else "silent"
        r["out_len"] = res["out_len"]
    elif st == "exception":
        mro = res.get("mro", [])
        r["outcome"] = ("ShoalError" if "ShoalError" in mro else "EOFError" if "EOFError" in mro
                        else "MemoryError" if "MemoryError" in mro else "other")
        r["exc"], r["message"] = res["exc"], res["message"]
        if res.get("where"):
            r["where"] = res["where"]
    else:
        r["outcome"] = st            # hang / crash
        r["message"] = res.get("message", "")
    if case.expect is not None:
        e = case.expect
        r["expect"] = asdict(e)
        unmet = []
        if e.ok and r["outcome"] != "exact":
            unmet.append(f"expected the exact output, got {r['outcome']}")
        if not e.ok:
            if r["outcome"] not in ("ShoalError", "EOFError"):
                unmet.append(f"expected a ShoalError, got {r['outcome']}")
            elif e.error and r.get("exc") != e.error:
                unmet.append(f"expected {e.error}, got {r.get('exc')}: {r.get('message', '')[:80]}")
        if r["outcome"] not in ("hang",) and (r["seconds"] or 0) > e.max_s:
            unmet.append(f"took {r['seconds']:.2f} s, more than {e.max_s:.1f} s")
        if e.max_grow_mb is not None and r.get("grew_mb", 0) > e.max_grow_mb:
            unmet.append(f"resident memory grew by {r['grew_mb']:,.0f} MB, more than {e.max_grow_mb:,.0f} MB")
        if unmet:
            r["unmet"] = "; ".join(unmet)
    return r


def run_cases(cases, jobs: int = 2, timeout: float = 20.0, as_limit: int = 4 << 30, progress=None,
              log_dir: str | None = None, deadline=None) -> tuple[list[dict], dict]:
    """Decode every case in the worker pool; (results, info about the workers).
    A case may take `timeout` seconds, or deadline(case) if given."""
    own_logs = log_dir is None
    log_dir = log_dir or tempfile.mkdtemp(prefix="shoal-fuzz-")
    workers = [Worker(as_limit, log_dir, k) for k in range(jobs)]
    info = {"baseline": [w.baseline for w in workers], "restarts": 0, "log_dir": log_dir}
    results: list[dict] = []
    cases = iter(cases)
    exhausted = False
    try:
        while True:
            for w in workers:
                if w.case is None and not exhausted:
                    case = next(cases, None)
                    if case is None:
                        exhausted = True
                    else:
                        w.send(case, deadline(case) if deadline else timeout)
            busy = [w for w in workers if w.case is not None]
            if not busy:
                break
            now = time.monotonic()
            wait = max(0.0, min(w.started + w.timeout - now for w in busy))
            ready, _, _ = select.select([w.proc.stdout for w in busy], [], [], wait)
            now = time.monotonic()
            for w in busy:
                res, case = None, w.case
                if w.proc.stdout in ready:
                    res = _recv(w.proc.stdout)
                    if res is None:            # died
                        code = w.proc.wait()
                        why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                        res = {"status": "crash", "message": f"worker died ({why}): {w.tail(600)}",
                               "seconds": now - w.started}
                        w.start()
                        info["restarts"] += 1
                elif now - w.started >= w.timeout:
                    w.kill()
                    res = {"status": "hang", "message": f"no answer in {w.timeout:.1f} s; killed",
                           "seconds": now - w.started}
                    w.start()
                    info["restarts"] += 1
                if res is not None:
                    w.case = None
                    r = classify(case, res)
                    results.append(r)
                    if progress:
                        progress(r)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                if w.case is not None:
                    w.kill()
                else:
                    w.stop()
    info["children_peak_rss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if own_logs and not any(r["outcome"] == "crash" for r in results):
        shutil.rmtree(log_dir, ignore_errors=True)     # the workers' stderr is kept only when one crashed
        info["log_dir"] = None
    return results, info


def warm_levels(levels=range(1, 10)) -> None:
    """Code a small text and a small binary block at every level, and a block
    with a preset of no level (the general loop): the first use of a level
    compiles its loops (tens of seconds, then cached on disk; the encoder's
    loop is the decoder's), which is no fault of an archive that names it."""
    import shoal
    inputs = seed_inputs()
    samples = (inputs["text"][:300], inputs["binary"][:300])
    for level in levels:
        for data in samples:
            blob = shoal.compress(data, level)
            if level in (1, 6) and shoal.decompress(blob) != data:
                raise SystemExit(f"fuzz: level {level} does not round-trip")
    blob = shoal.compress(samples[0], preset={"fish": [{"kind": "order", "arg": 2, "bits": 16}]})
    shoal.decompress(blob)


def warm_up() -> list[Seed]:
    """The seed archives; first compiles (or loads) every loop the workers
    will use, so that no worker compiles a level under its limits."""
    warm_levels()
    return make_seeds()
