"""shoal against its peers over the project's evaluation corpus, with the goals of issue 3.

    python bench/run.py [FILES or DIRS ...] [--corpus] [--levels 1,6,9] [--threads N] [--repeat N]
                        [--peers xz,zstd,bzip2,brotli] [--peer NAME='COMPRESS;DECOMPRESS']
                        [--json out.json] [--markdown out.md] [--plot chart.png]
                        [--threads-check FILE [-B BYTES]]

The measurement is `shoal bench`'s (shoal/bench/; bench/README.md says what
is measured and how).  This script adds what belongs to this repository:
- default inputs: the evaluation folders of ../shared/corpus (canterbury,
  calgary, enwik, large), never train/; --corpus adds them to FILES;
- default peers: the fast ones (paq8px and cmix only when named in --peers);
- the goals of issue 3 (bench/goals.py), computed from this run's numbers;
- --threads-check FILE: shoal -6 with -T 1 then -T 2 on FILE, block size -B
  (default 1 MiB), its speed-up and whether both outputs are identical.
With --threads-check FILE and no inputs, only the thread check runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import goals  # noqa: E402
from shoal.bench import cli  # noqa: E402
from shoal.command import run_tool  # noqa: E402

PROG = "bench/run.py"


def work(argv: list[str]) -> int:
    parser = cli.build_parser(PROG, __doc__, peers=cli.FAST_PEERS, inputs_required=False)
    parser.add_argument("--corpus", action="store_true", help="add the evaluation folders to the inputs")
    parser.add_argument("--threads-check", type=Path, metavar="FILE",
                        help="time shoal -6 with -T 1 and -T 2 on FILE")
    parser.add_argument("-B", "--threads-block", type=int, default=1 << 20, metavar="BYTES",
                        help="block size for --threads-check (default 1 MiB)")
    args = cli.parse_args(parser, argv)
    args.prog = PROG
    inputs = list(args.inputs)
    if args.corpus or (not inputs and not args.threads_check):
        inputs += [str(goals.CORPUS / folder) for folder in goals.EVAL_FOLDERS]
    log = cli.logger(args)
    files, results, prime, notes = cli.measure_inputs(args, inputs, log,
                                                      prime_level=6 if args.threads_check else None)
    check = goals.threads_check(args.threads_check, args.threads_block, args.repeat, log) \
        if args.threads_check else None
    tables = cli.result_tables(results, files) if results else []
    tables += [goals.threads_table(check)] if check else []
    tables.append(goals.goals(results, files, check))
    check_failed = bool(check) and not all(run.get("ok") for run in check.get("runs", {}).values())
    payload = cli.json_payload(argv, files, results, threads_check=check, warmup=prime,
                               goals=[dict(zip(["goal", "result", "detail"], row)) for row in tables[-1].rows])
    return cli.finish(args, tables, notes, payload, results, files, extra_failures=int(check_failed))


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
