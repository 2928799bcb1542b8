"""score: how well a model predicts data, in bits per byte.

The seeds' one metric: a model that predicts the next byte well compresses
well, so the ideal code length of a file under a model (-sum log2 p of what
came) measures how well the model understood it; bits per byte, and the
ratio bpb / 8 (compressed / original, as xz -l), make files and models
comparable.

    shoal score -6 ../shared/corpus/canterbury          # command line: score/cli.py
    model = shoal.score.resolve("order2")              # Python
    s = model.score(data); s.bits, s.bpb, s.coded

models.py resolves a MODEL (a level, a preset, a fish, a reference model, a
neural fish, hf:DIR) into a scorer; hf.py scores Hugging Face causal LMs;
report.py makes tables, JSON, CSV, position profiles and the plot;
ablate.py and ablate_report.py take a school apart (shoal score --ablate:
each fish alone, the school without each fish).
"""
from .costs import Score
from .models import resolve

__all__ = ["Score", "resolve", "main"]


def main(argv: list[str] | None = None) -> int:
    """shoal score ...: see score/cli.py."""
    from .cli import main as run
    return run(argv)
