"""The scaling plot: held-out bpb against training bytes and against
parameters, both log-log, with the fitted law and the prediction marked."""
from __future__ import annotations

import numpy as np


def plot(summary: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    from .law import Law
    law, runs, t = Law(**summary["law"]), summary["runs"], summary["target"]
    widths = sorted({r["width"] for r in runs})
    budgets = sorted({r["D"] for r in runs})
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, max(len(widths), len(budgets))))
    fig, (by_d, by_n) = plt.subplots(1, 2, figsize=(12, 6.4), sharey=True)

    def target_marks(ax, x):
        lo, hi = t["jackknife"]
        ax.errorbar([x], [t["predicted"]], yerr=[[t["predicted"] - lo], [hi - t["predicted"]]], fmt="o",
                    mfc="none", mec="crimson", ecolor="crimson", ms=15, mew=1.5, capsize=4, zorder=5,
                    label=f"predicted {t['predicted']:.3f} before training (bar: leave-one-out fits)")
        if t["measured"] is not None:
            ax.plot([x], [t["measured"]], "*", color="crimson", ms=13, zorder=6,
                    label=f"measured {t['measured']:.3f} (prediction {t['error_pct']:+.2f}%)")

    # left: one curve per width across budgets, extended to the target's budget
    d_axis = np.geomspace(min(budgets) / 1.5, t["D"] * 1.5, 100)
    for color, w in zip(colors, widths):
        mine = [r for r in runs if r["width"] == w]
        by_d.plot([r["D"] for r in mine], [r["bpb"] for r in mine], "o", color=color)
        by_d.plot(d_axis, law(mine[0]["N"], d_axis), "-", color=color, lw=1.2,
                  label=f"width {w} (N = {mine[0]['N']:,})")
    by_d.plot(d_axis, law(t["N"], d_axis), "--", color="crimson", lw=1.2,
              label=f"width {t['width']} (N = {t['N']:,}), the fit")
    target_marks(by_d, t["D"])
    by_d.set_xlabel("D: training bytes")
    by_d.set_ylabel("held-out bits per byte")
    by_d.set_title("bpb against data, one curve per model size")

    # right: one curve per budget across sizes, extended to the target's size
    n_axis = np.geomspace(min(r["N"] for r in runs) / 1.5, t["N"] * 1.5, 100)
    for color, d in zip(colors, budgets):
        mine = [r for r in runs if r["D"] == d]
        by_n.plot([r["N"] for r in mine], [r["bpb"] for r in mine], "s", color=color)
        by_n.plot(n_axis, law(n_axis, d), "-", color=color, lw=1.2, label=f"D = {bytes_label(d)} bytes")
    by_n.plot(n_axis, law(n_axis, t["D"]), "--", color="crimson", lw=1.2,
              label=f"D = {bytes_label(t['D'])} bytes, the fit")
    target_marks(by_n, t["N"])
    by_n.set_xlabel("N: non-embedding parameters")
    by_n.set_title("bpb against model size, one curve per budget")

    # log-log, ticks where the runs are (a log axis over less than a decade gets few labels of its own)
    values = [r["bpb"] for r in runs] + [t["predicted"]] + ([t["measured"]] if t["measured"] else [])
    step = nice_step((max(values) - min(values)) / 10)
    y_ticks = np.arange(np.floor(min(values) / step) * step, max(values) + step, step)
    sizes = sorted({r["N"] for r in runs})
    for ax, ticks, label in ((by_d, budgets + [t["D"]], bytes_label), (by_n, sizes + [t["N"]], count_label)):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels([label(v) for v in ticks])
        ax.yaxis.set_major_locator(FixedLocator(y_ticks))
        ax.set_yticklabels([f"{v:g}" for v in y_ticks])
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_locator(NullLocator())
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)   # below: no run hidden
    lw = summary["law"]
    fig.suptitle(rf"$L(N, D) = {lw['E']:.3g} + {lw['A']:.4g}\,N^{{-{lw['alpha']:.3f}}}"
                 rf" + {lw['B']:.4g}\,D^{{-{lw['beta']:.3f}}}$    fitted to {summary['points']} runs "
                 f"(RMS residual {100 * summary['fit_rms_rel']:.2f}%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def nice_step(rough: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `rough`."""
    power = 10 ** np.floor(np.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def bytes_label(n: float) -> str:
    return f"{n / 2 ** 20:g}M" if n >= 2 ** 20 else f"{n / 2 ** 10:g}K"


def count_label(n: float) -> str:
    return f"{n / 1e6:.2g}M" if n >= 1e6 else f"{n / 1e3:.3g}K"
