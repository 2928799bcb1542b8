"""bench: shoal measured against xz, zstd, bzip2 and brotli in the same run.

Entry point: ``python bench/run.py --help`` (see bench/README.md).
"""
