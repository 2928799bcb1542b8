"""The scale-out checks of issue 26, measured on this machine:

- threads: shoal -6 on a 64 MiB input of 4 MiB blocks with threads=1 and
  threads=2 (goals.threads_check: speed-up each way, identical output), then
  the CLI's -T 0 and, with --ray, --ray (a local Ray instance of 2 CPUs):
  the same bytes as -T 1;
- seek: in a 5-block archive (the input's first 5 blocks), open, seek into the
  last block and read 1 KB, against decoding that one block alone.

The input is the files of ../shared/corpus/train/ then large/, concatenated in
name order and cut at 64 MiB (train/ is for tuning, which a speed check is
not; its text and binaries are the mix the levels meet).

    python bench/scale.py [--work DIR] [--ray] [--repeat N] [--json FILE]
"""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.goals import CORPUS, threads_check, threads_table  # noqa: E402

import shoal  # noqa: E402
from shoal import blocks, school  # noqa: E402
from shoal.atomic import write_bytes  # noqa: E402
from shoal.codec import container  # noqa: E402
from shoal.codec.container import Block  # noqa: E402
from shoal.command import Parser, run_tool  # noqa: E402
from shoal.report_table import to_markdown  # noqa: E402

SIZE = 64 << 20
BLOCK = 4 << 20


def build_input(work: Path) -> Path:
    path = work / "scale-64MiB.bin"
    if path.exists() and path.stat().st_size == SIZE:
        return path
    files = sorted(p for folder in ("train", "large") for p in (CORPUS / folder).iterdir() if p.is_file())
    with open(path, "wb") as out:
        left = SIZE
        for p in files:
            piece = p.read_bytes()[:left]
            out.write(piece)
            left -= len(piece)
            if not left:
                break
    if path.stat().st_size != SIZE:
        sys.exit(f"bench/scale.py: {CORPUS}/train and large hold less than {SIZE:,} bytes")
    return path


def cli_digest(path: Path, *flags: str) -> tuple[str, float]:
    """sha256 of `shoal -6 -B 4MiB FLAGS -c path`, and its wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "shoal", "-6", "-B", str(BLOCK), *flags, "-c", str(path)],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(out).hexdigest(), time.perf_counter() - start


def seek_check(path: Path, log) -> dict:
    data = path.read_bytes()[:5 * BLOCK]
    log("seek check: compressing 5 blocks of 4 MiB at level 6 ...")
    blob = shoal.compress(data, level=6, block_size=BLOCK, threads=2)
    target = 4 * BLOCK + BLOCK // 2
    start = time.perf_counter()
    with shoal.open(io.BytesIO(blob)) as f:
        f.seek(target)
        got = f.read(1024)
    seek_s = time.perf_counter() - start
    last = [item for item in container.read_items(io.BytesIO(blob).read) if isinstance(item, Block)][-1]
    start = time.perf_counter()
    alone = blocks.decode_block((last, school.level(6), 0))      # the block's school, its CRC checked
    block_s = time.perf_counter() - start
    return {"archive_bytes": len(blob), "blocks": 5, "seek_and_read_1KB_s": seek_s, "decode_last_block_s": block_s,
            "correct": got == data[target:target + 1024] and alone == data[4 * BLOCK:]}


def main(argv=None) -> int:
    return run_tool("bench/scale.py", work, sys.argv[1:] if argv is None else argv)


def work(argv: list[str]) -> int:
    p = Parser(prog="bench/scale.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/shoal-scale"), help="where the input is built")
    p.add_argument("--ray", action="store_true", help="also compress with --ray (a local Ray instance)")
    p.add_argument("--repeat", type=int, default=1, help="runs per threads setting (the fastest counts)")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    path = build_input(args.work)
    results = {"input": f"{path} ({SIZE:,} bytes: train/ then large/ of {CORPUS}, cut)"}
    results["threads"] = check = threads_check(path, BLOCK, args.repeat, log)
    print(to_markdown(threads_table(check)))
    digests = {}
    for name, flags in (("-T 1", ("-T", "1")), ("-T 0", ("-T", "0"))) + ((("--ray", ("--ray",)),) if args.ray else ()):
        log(f"cli: shoal -6 -B 4MiB {' '.join(flags)} ...")
        digests[name], seconds = cli_digest(path, *flags)
        results.setdefault("cli", {})[name] = {"sha256": digests[name], "seconds": seconds}
        print(f"shoal -6 -B 4MiB {' '.join(flags)}: {seconds:.1f} s, sha256 {digests[name][:16]}")
    results["cli_identical"] = len(set(digests.values())) == 1
    print(f"identical output for {', '.join(digests)}: {results['cli_identical']}")
    results["seek"] = seek = seek_check(path, log)
    print(f"seek into the last of 5 blocks and read 1 KB: {seek['seek_and_read_1KB_s']:.2f} s; decoding that block "
          f"alone: {seek['decode_last_block_s']:.2f} s; correct: {seek['correct']}")
    if args.json:
        write_bytes(args.json, (json.dumps(results, indent=2) + "\n").encode())
    ok = check.get("identical") and results["cli_identical"] and seek["correct"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
