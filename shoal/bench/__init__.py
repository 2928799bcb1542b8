"""bench: shoal against xz, zstd, bzip2, brotli, 7z PPMd, paq8px and cmix, in the same run.

    shoal bench FILE|DIR... [--levels 1,6,9] [--plot chart.png]     # see bench/cli.py

corpus.py picks the files (and reads a corpus's PEERS.md), measure.py runs
each tool in a child process and verifies its round trip, worker.py is
shoal's own process, report.py makes the tables, plot.py the ratio-speed
chart.  The repository's bench/run.py is the same run over the project's
evaluation corpus, plus the goals of issue 3.
"""


def main(argv: list[str] | None = None) -> int:
    """shoal bench ...: see bench/cli.py."""
    from .cli import main as run
    return run(argv)
