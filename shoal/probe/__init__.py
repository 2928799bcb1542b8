"""shoal probe: read a fish's hidden units with linear probes.

    shoal probe sentiment [--out DIR] [--json FILE] [--plot FILE.png] [options]

The sentiment neuron (Radford, Jozefowicz & Sutskever 2017, "Learning to
Generate Reviews and Discovering Sentiment"): train a byte-level language
model on review text, read its hidden units over labelled texts, fit an
L1-regularised logistic regression on all units, and find the one unit that
best separates positive from negative.  See sentiment.py for the protocol
and docs/experiments/sentiment.md for a run.

data.py       loaders for the labelled sets (each file's traps handled)
lm.py         the byte LM: trained on the Amazon reviews, cached in --out DIR
features.py   hidden units at the end of each text, and pooled over it
probes.py     logistic regressions: all units, the single unit, bag of bytes
sentiment.py  the experiment; plot.py its figure; generate.py sampling with
              the unit clamped (--generate); cli.py the command line; ui.py
              log lines and progress bars
"""
from .cli import main

__all__ = ["main"]
