"""bench: this repository's benchmark script over the evaluation corpus.

Entry point: ``python bench/run.py --help`` (see bench/README.md).  The
measurement itself is the package's ``shoal bench`` (shoal/bench/); this
folder adds the default corpus, the goals of issue 3 (goals.py) and a
profiler for developers (profile_engine.py).
"""
