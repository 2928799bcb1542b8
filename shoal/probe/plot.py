"""The paper's figure: histograms of the single unit's value over positive
and negative texts, one panel per held-out set (the unit of the headline
pooling, found on the Amazon training reviews; the dashed line is its
threshold fit there).  The bins span the 0.5th to 99.5th percentiles; the
values beyond are counted in the end bins, so a few outliers do not squash
the rest."""
from __future__ import annotations

import numpy as np

from ..atomic import atomic_write

PANELS = (("amazon/test", "Amazon reviews, held out"), ("sst2/dev", "SST-2 dev"),
          ("rt_polarity", "MR (rt_polarity)"), ("kotzias", "Kotzias: Amazon, IMDB, Yelp"))


def _values(sets, feats, name, pooling, unit):
    names = [n for n in sets if n == name or n.startswith(name + "/")] if name == "kotzias" else [name]
    x = np.concatenate([feats[n][pooling][:, unit] for n in names])
    y = np.concatenate([sets[n].labels for n in names])
    return x, y


def plot(result, sets, feats, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pooling = result["headline_pooling"]
    unit = result["units"][pooling]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (name, title) in zip(axes.flat, PANELS):
        x, y = _values(sets, feats, name, pooling, unit["unit"])
        bins = np.linspace(*np.percentile(x, [0.5, 99.5]), 50)
        for label, colour, text in ((0, "tab:red", "negative"), (1, "tab:blue", "positive")):
            ax.hist(np.clip(x[y == label], bins[0], bins[-1]), bins=bins, alpha=0.55, color=colour,
                    label=f"{text} ({(y == label).sum():,})")
        ax.axvline(unit["threshold"], color="black", linestyle="--", linewidth=1, label="Amazon threshold")
        accuracy = np.mean((unit["sign"] * (x - unit["threshold"]) > 0) == y)
        ax.set_title(f"{title}\nthe unit alone, Amazon's threshold: {accuracy:.1%} accurate", fontsize=10)
        ax.set_xlabel(f"unit {unit['name']} ({pooling} over the text)")
        ax.set_ylabel("texts")
        ax.legend(fontsize=8)
    h = result["units"][pooling]
    fig.suptitle(f"The single unit {h['name']} of a {result['lm']['parameters'] / 1e6:.2f}M-parameter byte "
                 f"transformer trained on Amazon reviews ({result['lm']['held_out_bpb']} bpb held out)\n"
                 f"picked as the one unit that best separates the Amazon training reviews "
                 f"({h['fit_accuracy']:.1%} there)", fontsize=11)
    fig.text(0.5, 0.005, "The first and last bins also count the 0.5% of texts beyond them.", ha="center",
             fontsize=8)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    with atomic_write(path) as file:
        fig.savefig(file, dpi=110, format="png")
    plt.close(fig)
