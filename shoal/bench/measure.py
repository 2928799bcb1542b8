"""Run one tool on one file: time it, take its peak RSS, verify its round trip.

Every measurement is a child process, so every tool's memory is measured the
same way: the peak resident set of that process alone, as GNU time's %M
reports it (``os.wait4``'s ``ru_maxrss`` when GNU time is missing; see
run_child for why we prefer GNU time).  Wall time is ``time.perf_counter``
around the child.  For a peer (xz, zstd, ...) that includes starting the process, a few
milliseconds that only matter on tiny files.  shoal runs in worker.py
(``python -m shoal.bench.worker``), a fresh Python per (file, level) that
warms the Numba JIT up first and times compress/decompress in-process, so its
compile time is excluded from MB/s and reported on its own.

A peer's command is a template: ``{src}`` is the input path, ``{dst}`` the
output path.  A template without ``{dst}`` writes to stdout, which goes to
the output file.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ShoalError

WORKER = "shoal.bench.worker"


@dataclass
class Peer:
    name: str            # label in the tables, e.g. "xz -9e"
    compress: str        # command templates with {src} and {dst}
    decompress: str
    slow: bool = False    # a few KB/s: bench/run.py leaves it out unless asked for

    @property
    def program(self) -> str:
        return shlex.split(self.compress)[0]


PEERS = {
    "xz": Peer("xz -9e", "xz -9e -k -c {src}", "xz -d -c {src}"),
    "zstd": Peer("zstd -19", "zstd -19 -q -c {src}", "zstd -d -q -c {src}"),
    "zstd22": Peer("zstd -22 --long", "zstd --ultra -22 --long=27 -q -c {src}", "zstd -d --long=27 -q -c {src}"),
    "bzip2": Peer("bzip2 -9", "bzip2 -9 -k -c {src}", "bzip2 -d -c {src}"),
    "brotli": Peer("brotli -q 11 -w 24", "brotli -q 11 -w 24 -c {src}", "brotli -d -c {src}"),
    "7z": Peer("7z PPMd (.7z file)", "7z a -bd -t7z -m0=PPMd -mx=9 -mmt=1 {dst}.7z {src}", "7z e -so {src}.7z"),
    "lpaq1": Peer("lpaq1 9", "lpaq1 9 {src} {dst}", "lpaq1 d {src} {dst}"),
    "paq8px": Peer("paq8px -8", "paq8px -8 {src} {dst}", "paq8px -d {src} {dst}", slow=True),
    "cmix": Peer("cmix", "cmix -c {src} {dst}", "cmix -d {src} {dst}", slow=True),
}


def parse_peer(spec: str) -> tuple[str, Peer]:
    """--peer NAME=CMD: a known peer (paq8px, cmix, ...) run from the program CMD;
    --peer NAME=COMPRESS;DECOMPRESS: a peer of your own (templates as above)."""
    name, _, command = spec.partition("=")
    compress, sep, decompress = command.partition(";")
    if name in PEERS and command.strip() and not sep:
        known = PEERS[name]
        program = shlex.quote(command.strip())
        compress, decompress = (f"{program} {t.split(' ', 1)[1]}" for t in (known.compress, known.decompress))
        return name, Peer(known.name, compress, decompress, slow=known.slow)
    if not name or not sep or not compress.strip() or not decompress.strip():
        raise ShoalError(f"--peer wants NAME=COMMAND (NAME one of {', '.join(PEERS)}) or "
                         f"NAME=COMPRESS;DECOMPRESS, got {spec!r}")
    return name, Peer(name, compress.strip(), decompress.strip())


@dataclass
class Result:
    file: str            # e.g. "canterbury/grammar.lsp"
    folder: str
    text: bool
    tool: str            # e.g. "shoal -6", "xz -9e"
    size: int            # original bytes
    compressed: int | None = None
    comp_s: float | None = None      # median over repeats
    decomp_s: float | None = None
    rss_mb: float | None = None      # peak RSS of the process, MB (10^6 bytes)
    warmup_s: float | None = None    # shoal only: JIT compile / cache load
    ok: bool = False                 # round trip verified byte for byte
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_shoal(self) -> bool:
        return self.tool.startswith("shoal")


def _gnu_time() -> str | None:
    path = shutil.which("time") or "/usr/bin/time"
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU" in version.stdout + version.stderr else None


# A child's ru_maxrss is never below its parent's RSS at the fork (Linux copies
# the parent's high-water mark into the child at exec), so a child forked by
# this Python process would report at least our own ~20+ MB.  GNU time forks
# the tool from a ~1 MB process and reports that grandchild's own peak (%M),
# which is the honest figure; without it we fall back to os.wait4.
GNU_TIME = _gnu_time()
RSS_METHOD = ("GNU time %M: the peak RSS of the tool's own process" if GNU_TIME else
              "os.wait4 ru_maxrss (GNU time not found): floored at the bench process's own RSS")


def run_child(argv: list[str], stdout: Path, stderr: Path) -> tuple[int, float, float]:
    """Run argv to completion: (exit code, wall seconds, peak RSS in MB)."""
    rss_file = Path(f"{stderr}.rss")
    if GNU_TIME:
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv]
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped by us, tell Popen
    kib = usage.ru_maxrss
    if GNU_TIME:       # last line is %M; a line before it may say how the tool exited
        lines = rss_file.read_text(errors="replace").split() if rss_file.exists() else []
        kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return proc.returncode, seconds, kib * 1024 / 1e6     # KiB -> MB


def _argv(template: str, src: Path, dst: Path) -> tuple[list[str], bool]:
    """Fill a template; second value: True when the tool writes to stdout."""
    args = shlex.split(template)
    to_stdout = not any("{dst}" in a for a in args)
    return [a.replace("{src}", str(src)).replace("{dst}", str(dst)) for a in args], to_stdout


def _step(template: str, src: Path, dst: Path, tmp: Path) -> tuple[float, float]:
    """One compress or decompress step; raises RuntimeError on a non-zero exit."""
    for stale in (dst, Path(f"{dst}.7z")):
        stale.unlink(missing_ok=True)
    argv, to_stdout = _argv(template, src, dst)
    log = tmp / "stderr"
    rc, seconds, rss = run_child(argv, dst if to_stdout else tmp / "stdout", log)
    if rc != 0:
        message = log.read_bytes().decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{argv[0]} exited {rc}: {message[-1] if message else ''}"[:200])
    return seconds, rss


def same_bytes(a: Path, b: Path, chunk: int = 1 << 20) -> bool:
    """Byte-for-byte comparison in chunks (keeps this process small; see run_child)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x != y:
                return False
            if not x:
                return True


def _packed_size(dst: Path) -> int:
    return (dst if dst.exists() else Path(f"{dst}.7z")).stat().st_size


def measure_peer(peer: Peer, item, repeat: int = 1) -> Result:
    """Compress and decompress item.path `repeat` times with a peer; verify every output."""
    result = Result(item.name, item.folder, item.text, peer.name, item.size)
    comp, decomp, rss = [], [], []
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        tmp = Path(tmp)
        packed, unpacked = tmp / "packed", tmp / "unpacked"
        try:
            for _ in range(repeat):
                seconds, peak = _step(peer.compress, item.path, packed, tmp)
                comp.append(seconds), rss.append(peak)
                size = _packed_size(packed)
                if result.compressed not in (None, size):
                    raise RuntimeError(f"size changed between repeats: {result.compressed} then {size}")
                result.compressed = size
                seconds, peak = _step(peer.decompress, packed, unpacked, tmp)
                decomp.append(seconds), rss.append(peak)
                if not same_bytes(unpacked, item.path):
                    raise RuntimeError("round trip MISMATCH: decompressed bytes differ from the original")
        except (RuntimeError, OSError) as exc:
            result.error = str(exc)
            return result
    result.comp_s, result.decomp_s = statistics.median(comp), statistics.median(decomp)
    result.rss_mb, result.ok = max(rss), True
    return result


def run_worker(path: Path, level: int, repeat: int = 1, threads: int = 1,
               block_size: int | None = None) -> tuple[dict, float]:
    """Run worker.py in a fresh interpreter: (its JSON report, peak RSS MB)."""
    argv = [sys.executable, "-m", WORKER, str(path), "--level", str(level),
            "--repeat", str(repeat), "--threads", str(threads)]
    if block_size:
        argv += ["--block-size", str(block_size)]
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        rc, _, rss = run_child(argv, out, err)
        text = out.read_text(errors="replace").strip()
        try:
            report = json.loads(text.splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            lines = err.read_text(errors="replace").strip().splitlines()
            report = {"ok": False, "error": f"worker exited {rc}: {lines[-1] if lines else 'no output'}"[:300]}
    return report, rss


def measure_shoal(item, level: int, repeat: int = 1, threads: int = 1,
                  block_size: int | None = None) -> Result:
    """shoal at one level on one file, in its own worker process."""
    report, rss = run_worker(item.path, level, repeat, threads, block_size)
    result = Result(item.name, item.folder, item.text, f"shoal -{level}", item.size)
    result.compressed = report.get("compressed")
    result.comp_s, result.decomp_s = report.get("comp_s"), report.get("decomp_s")
    result.warmup_s, result.rss_mb = report.get("warmup_s"), rss
    result.ok, result.error = bool(report.get("ok")), report.get("error")
    result.extra = {k: report[k] for k in ("backend", "threads", "block_size", "model_mb",
                                           "self_rss_mb", "comp_times", "decomp_times") if k in report}
    return result


def available(names: list[str], custom: dict[str, Peer]) -> tuple[list[Peer], list[str]]:
    """The peers to run and a note for each one that is not installed."""
    chosen, notes = [], []
    for name in names:
        peer = custom.get(name) or PEERS.get(name)
        if peer is None:
            raise ShoalError(f"unknown peer {name!r} (known: {', '.join(PEERS)}; or --peer NAME=...)")
        if name in custom or shutil.which(peer.program):
            chosen.append(peer)
        else:
            notes.append(f"{peer.name}: skipped, `{peer.program}` is not on PATH")
    return chosen, notes
