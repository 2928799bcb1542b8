"""shoal bench --per-file DIR...: small files, each compressed as an archive of its own.

    shoal bench --per-file SET/test... [--train SET/learn...] [--school NAME.school...]
                [--levels 6,9] [--maxdict 110K]

Each DIR is a set (its files, not its subfolders).  Every file is compressed
on its own by every contender and peer, decompressed and compared; a set's
row adds its files' archive sizes.  shoal runs in this process through its
API (shoal.compress / shoal.decompress), warm: each contender first codes
school.WARM_UP_BLOCKS (Numba compile or cache load, a primer's first read),
timed apart as "warm-up s"; its "ms/file" are the means over the set's files.
A peer is a process per file and step (measure.measure_peer), so its ms/file
include the process start, a few ms.

--train LEARN trains a zstd dictionary (`zstd --train --maxdict`) on the
files of LEARN and adds the peer "zstd -19 -D" with it: one --train for all
DIRs, or one per DIR in the same order.  The dictionary itself is not counted
in the sizes (as a school file would not be); a note gives its size.

--school NAME.school adds the contender "shoal -D NAME": shoal.compress and
shoal.decompress with school= that school file, loaded once before anything
is timed (its load time is a note), then warmed up and timed like a level.
One --school for all DIRs, or one per DIR in the same order, as --train.
Its file is not counted in the sizes either.  per_file_report's school
table sets it against zstd -19 -D: the ratio of the totals and ms per KB.

To add a contender, append a Contender (a label and two callables) in
contenders(): that is all the tables, JSON and checks need.
"""
from __future__ import annotations

import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from .. import inputs
from ..command import UsageError, parse_size
from ..errors import ShoalError
from . import corpus, measure

DEFAULT_LEVELS = "6"
DEFAULT_PEERS = "xz,zstd,brotli"
ZSTD_MAXDICT = 112640              # zstd --train's own default (110 KB)
ZSTD_DICT = "zstd -19 -D"
ONE_BYTE = b"x"


@dataclass
class Contender:
    """One shoal row: run in this process, warm, through the API."""
    label: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


def contenders(args) -> list[Contender]:
    """The shoal rows of a run measured on every set: a level each (a set's
    school, --school, is school_contender's)."""
    import shoal
    return [Contender(f"shoal -{level}",
                      partial(shoal.compress, level=level, threads=args.threads, block_size=args.block_size),
                      partial(shoal.decompress, threads=args.threads))
            for level in args.levels]


@dataclass
class School:
    """A --school file as measured: loaded once, before any timing."""
    label: str             # the contender's: shoal -D NAME
    path: str
    digest: str            # hex: what its archives name
    file_bytes: int
    primer_bytes: int
    load_s: float
    made: dict


def school_contender(args, path: Path, label: str) -> tuple[Contender, School]:
    """Load the school file at `path` (once: the timed calls get the loaded
    school_file.SchoolFile, not the path) and make its contender."""
    import shoal
    from .. import school_file
    start = time.perf_counter()
    loaded = school_file.read(path)
    load_s = time.perf_counter() - start
    info = School(label, str(path), loaded.digest.hex(), path.stat().st_size, len(loaded.primer), load_s,
                  loaded.made)
    return Contender(label, partial(shoal.compress, school=loaded, threads=args.threads,
                                    block_size=args.block_size),
                     partial(shoal.decompress, school=loaded, threads=args.threads)), info


def add_options(ap) -> None:
    """The options of --per-file, on shoal bench's parser."""
    ap.add_argument("--per-file", action="store_true",
                    help="each file of each DIR on its own, totals per DIR (small files; default "
                         f"--levels {DEFAULT_LEVELS}, --peers {DEFAULT_PEERS})")
    ap.add_argument("--train", action="extend", nargs="+", default=[], metavar="DIR",
                    help="--per-file: train a zstd dictionary on DIR's files and add zstd -19 -D; one DIR "
                         "for all measured DIRs, or one per DIR in their order (--train A B or --train A --train B)")
    ap.add_argument("--school", dest="schools", action="extend", nargs="+", default=[], metavar="NAME.school",
                    help="--per-file: add 'shoal -D NAME', each file compressed with this school file (what "
                         "shoal learn makes); one for all measured DIRs, or one per DIR in their order")
    ap.add_argument("--maxdict", type=parse_size, default=ZSTD_MAXDICT, metavar="BYTES",
                    help=f"--per-file: the zstd dictionary's size (default {ZSTD_MAXDICT:,}, zstd's)")


# --------------------------------------------------------------------------- measuring

@dataclass
class WarmUp:
    tool: str
    seconds: float | None
    ok: bool
    error: str | None = None


def warm_up(contender: Contender) -> WarmUp:
    from .. import school
    start = time.perf_counter()
    try:
        for block in school.WARM_UP_BLOCKS:
            if contender.decompress(contender.compress(block)) != block:
                return WarmUp(contender.label, None, False, "round trip MISMATCH on a warm-up input")
    except Exception as exc:          # reported on its rows, not raised: the other tools still run
        return WarmUp(contender.label, None, False, f"{type(exc).__name__}: {exc}"[:200])
    return WarmUp(contender.label, time.perf_counter() - start, True)


def measure_in_process(contender: Contender, item, set_name: str, repeat: int) -> measure.Result:
    """A contender on one file: median compress and decompress seconds over `repeat`, round trip checked."""
    result = measure.Result(f"{set_name}/{item.path.name}", set_name, item.text, contender.label, item.size)
    data, comp, decomp = item.path.read_bytes(), [], []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            packed = contender.compress(data)
            middle = time.perf_counter()
            restored = contender.decompress(packed)
            comp.append(middle - start), decomp.append(time.perf_counter() - middle)
            if restored != data:
                raise ShoalError("round trip MISMATCH: decompressed bytes differ from the original")
            result.compressed = len(packed)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:200]
        return result
    result.comp_s, result.decomp_s, result.ok = statistics.median(comp), statistics.median(decomp), True
    return result


def measure_peer(peer: measure.Peer, item, set_name: str, repeat: int) -> measure.Result:
    result = measure.measure_peer(peer, item, repeat)
    result.file, result.folder = f"{set_name}/{item.path.name}", set_name
    return result


def train_dictionary(learn: Path, out: Path, maxdict: int) -> int:
    """zstd --train on the files of `learn`: the dictionary's size in bytes."""
    files, _ = inputs.expand([str(learn)])
    argv = ["zstd", "--train", "-q", "-f", f"--maxdict={maxdict}", "-o", str(out), *map(str, files)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0 or not out.is_file():
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ShoalError(f"zstd --train on {learn} failed: {lines[-1] if lines else done.returncode}")
    return out.stat().st_size


def dictionary_peer(path: Path) -> measure.Peer:
    quoted = shlex.quote(str(path))
    return measure.Peer(ZSTD_DICT, f"zstd -19 -q -D {quoted} -c {{src}}", f"zstd -d -q -D {quoted} -c {{src}}")


@dataclass
class Set:
    name: str            # label: the folder and its parent, e.g. man/test
    folder: Path
    files: list          # corpus.InputFile
    train: Path | None = None
    dictionary: Path | None = None
    dictionary_bytes: int | None = None
    school: Path | None = None          # --school
    school_label: str | None = None     # its contender's label

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def one_per_dir(option: str, what: str, given: list[str], folders: list[Path]) -> list[Path]:
    """--train or --school: one for all DIRs or one per DIR, as a Path per DIR (none: [])."""
    if given and len(given) not in (1, len(folders)):
        raise UsageError(f"{option}: give one {what} for all DIRs or one per DIR ({len(folders)}), "
                         f"got {len(given)}")
    return [Path(g) for g in given] * (len(folders) if len(given) == 1 else 1)


def school_labels(paths: list[Path]) -> dict[Path, str]:
    """'shoal -D NAME' per distinct school file (NAME: its stem, and #N, its
    place among the files, where two different files share a stem)."""
    distinct = list(dict.fromkeys(p.resolve() for p in paths))
    stems = [p.stem for p in distinct]
    return {p: f"shoal -D {p.stem}" + (f"#{n + 1}" if stems.count(p.stem) > 1 else "")
            for n, p in enumerate(distinct)}


def collect_sets(args, tmp: Path) -> list[Set]:
    """The DIRs as Sets, each with its --train folder and trained dictionary
    (in tmp) and its --school file."""
    folders = [Path(a) for a in args.inputs]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"--per-file wants folders (a set of small files each), got {folder}")
    trains = one_per_dir("--train", "folder", args.train, folders)
    schools = one_per_dir("--school", "school file", getattr(args, "schools", []), folders)
    for path in schools:
        if not path.is_file():
            raise UsageError(f"--school wants a school file (shoal learn ... -o NAME.school), got {path}")
    labels_of = school_labels(schools)
    sets, labels = [], set()
    for n, folder in enumerate(folders):
        files, _ = corpus.collect([str(folder)], peers={})
        label = f"{folder.resolve().parent.name}/{folder.resolve().name}"
        label = label if label not in labels else f"{label}#{n + 1}"
        labels.add(label)
        sets.append(Set(label, folder, files))
        if schools:
            sets[-1].school, sets[-1].school_label = schools[n], labels_of[schools[n].resolve()]
        if trains:
            if not trains[n].is_dir():
                raise UsageError(f"--train wants a folder of files to learn from, got {trains[n]}")
            if trains[n].resolve() == folder.resolve():
                raise UsageError(f"--train {trains[n]} is the measured folder itself: learn and test must differ")
            sets[-1].train = trains[n]
    if any(s.train for s in sets):
        if not shutil.which("zstd"):
            raise ShoalError("--train needs zstd on PATH (zstd --train)")
        cache: dict[Path, tuple[Path, int]] = {}
        for n, s in enumerate(sets):
            key = s.train.resolve()
            if key not in cache:
                path = tmp / f"dict{n}.zstd"
                cache[key] = (path, train_dictionary(s.train, path, args.maxdict))
            s.dictionary, s.dictionary_bytes = cache[key]
    return sets


def one_byte(contenders_, peers, tmp: Path) -> dict[str, int | None]:
    """The archive size of a 1-byte input, per tool (None: it failed)."""
    path = tmp / "one-byte"
    path.write_bytes(ONE_BYTE)
    item = corpus.InputFile(path, "1-byte", "1-byte", 1, True, "guessed")
    sizes = {}
    for c in contenders_:
        r = measure_in_process(c, item, "1-byte", 1)
        sizes[c.label] = r.compressed if r.ok else None
    for peer in peers:
        r = measure.measure_peer(peer, item)
        sizes[peer.name] = r.compressed if r.ok else None
    return sizes


def failed(contender: Contender, item, set_name: str, error: str) -> measure.Result:
    result = measure.Result(f"{set_name}/{item.path.name}", set_name, item.text, contender.label, item.size)
    result.error = error
    return result


def measure_sets(args, peers: list[measure.Peer], log):
    """(sets, per-file results, warm-ups, 1-byte sizes, schools): the whole
    measurement of a --per-file run."""
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        tmp = Path(tmp)
        sets = collect_sets(args, tmp)
        shoal_rows, schools = contenders(args), {}
        for s in sets:
            if s.school_label and s.school_label not in schools:
                log(f"loading {s.school} ...")
                schools[s.school_label] = school_contender(args, s.school, s.school_label)
        warmups = {}
        for contender in shoal_rows + [c for c, _ in schools.values()]:
            log(f"warming {contender.label} up (Numba compile or cache load) ...")
            warmups[contender.label] = warm_up(contender)
        results = []
        for s in sets:
            log(f"{s.name}: {len(s.files)} files, {s.size:,} bytes")
            for contender in shoal_rows + ([schools[s.school_label][0]] if s.school_label else []):
                warm = warmups[contender.label]
                log(f"  {contender.label} ...")
                results += [measure_in_process(contender, f, s.name, args.repeat) if warm.ok else
                            failed(contender, f, s.name, f"warm-up failed: {warm.error}") for f in s.files]
            for peer in peers + ([dictionary_peer(s.dictionary)] if s.dictionary else []):
                log(f"  {peer.name} ...")
                results += [measure_peer(peer, f, s.name, args.repeat) for f in s.files]
        first = next((s.dictionary for s in sets if s.dictionary), None)
        sizes = one_byte(shoal_rows + [c for c, _ in schools.values()],
                         peers + ([dictionary_peer(first)] if first else []), tmp)
    return sets, results, list(warmups.values()), sizes, [info for _, info in schools.values()]


def payload(sets, results, warmups, sizes, schools=()) -> dict:
    """The --json of a --per-file run, less the notes and argv (and the
    school table's rows, per_file_report.school_rows)."""
    return {"sets": [{"name": s.name, "folder": str(s.folder), "files": len(s.files), "bytes": s.size,
                      "train": str(s.train) if s.train else None, "dictionary_bytes": s.dictionary_bytes,
                      "school": str(s.school) if s.school else None, "school_tool": s.school_label}
                     for s in sets],
            "schools": [asdict(info) for info in schools],
            "warmups": [asdict(w) for w in warmups], "one_byte": sizes,
            "results": [asdict(r) for r in results]}
