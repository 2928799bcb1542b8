"""The size-speed chart of a bench run (matplotlib, PNG).

Two panels, compression and decompression: each tool (and each shoal level)
is one marker at its total speed over the files (MB/s, log axis) and its
total compression factor (original bytes / compressed bytes: the inverse of
the ratio compressed / original that the tables and xz -l give, so that up
is better).  The dashed line joins the Pareto front: the tools that no other
tool beats on both compression factor and speed.  Up and to the right is
better.
"""
from __future__ import annotations

from ..report_table import mbps
from .report import total, tools_in


def points(results, files) -> list[tuple[str, float, float, float]]:
    """(tool, compression factor, compress MB/s, decompress MB/s) over all files, for tools that did
    every file."""
    out = []
    for tool in tools_in(results):
        t = total(results, files, tool)
        if t.compressed:
            out.append((tool, t.size / t.compressed, mbps(t.size, t.comp_s), mbps(t.size, t.decomp_s)))
    return out


def pareto(xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both coordinates, by increasing x."""
    front, best = [], float("-inf")
    for x, y in sorted(xy, key=lambda p: (-p[0], -p[1])):      # fastest first
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)


# Where a label may sit around its marker (offset in points, alignment), in order of preference.
# A thin leader line joins a label to its marker, so a label pushed aside still points home.
_SPOTS = [((7, 0), "left", "center"), ((-7, 0), "right", "center"), ((10, 12), "left", "bottom"),
          ((10, -12), "left", "top"), ((-10, 12), "right", "bottom"), ((-10, -12), "right", "top"),
          ((0, 14), "center", "bottom"), ((0, -14), "center", "top"), ((16, 26), "left", "bottom"),
          ((16, -26), "left", "top"), ((-16, 26), "right", "bottom"), ((-16, -26), "right", "top")]
_LEADER = {"arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkA": 1, "shrinkB": 5}


def _place_labels(ax, labelled) -> None:
    """Label each (x, y, text, bold) marker at the first spot where it overlaps no earlier label
    and no marker and stays inside the axes (the least crowded spot when every one clashes)."""
    from matplotlib.transforms import Bbox
    renderer = ax.figure.canvas.get_renderer()
    radius = 6                                             # pixels around a marker's centre
    taken = [Bbox.from_bounds(mx - radius, my - radius, 2 * radius, 2 * radius)
             for mx, my in (ax.transData.transform((x, y)) for x, y, _, _ in labelled)]
    for x, y, text, bold in labelled:
        best = None
        for offset, ha, va in _SPOTS:
            label = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                                fontsize=9, fontweight="bold" if bold else "normal", arrowprops=_LEADER)
            box = label.get_window_extent(renderer).expanded(1.05, 1.15)
            outside = box.x0 < ax.bbox.x0 or box.x1 > ax.bbox.x1 or box.y0 < ax.bbox.y0 or box.y1 > ax.bbox.y1
            clashes = sum(box.overlaps(other) for other in taken) + 2 * outside
            if best is None or clashes < best[0]:
                if best:
                    best[1].remove()
                best = (clashes, label, box)
            else:
                label.remove()
            if clashes == 0:
                break
        taken.append(best[2])


def chart(results, files, path: str, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    data = points(results, files)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), sharey=True, layout="constrained")
    for ax, column, what in ((axes[0], 2, "compression"), (axes[1], 3, "decompression")):
        xy = [(d[column], d[1]) for d in data]
        front = pareto(xy)
        ax.plot(*zip(*front), linestyle="--", color="grey", linewidth=1, zorder=1, label="Pareto front")
        for (tool, *_), (x, y) in zip(data, xy):
            shoal = tool.startswith("shoal")
            ax.scatter(x, y, s=70 if shoal else 50, marker="o" if shoal else "s", zorder=2,
                       color="tab:blue" if shoal else "tab:orange", edgecolor="black", linewidth=0.5)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{what} speed, MB/s (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"compression factor vs {what} speed")
        lo, hi = min(x for x, _ in xy), max(x for x, _ in xy)
        ax.set_xlim(lo / 2, hi * 3)                        # room for the labels
        ys = [y for _, y in xy]
        ax.set_ylim(min(ys) - 0.06 * (max(ys) - min(ys) or 1), max(ys) + 0.08 * (max(ys) - min(ys) or 1))
    axes[0].set_ylabel("compression factor (original / compressed), higher is better")
    axes[0].legend(loc="lower left", fontsize=9)
    fig.suptitle(title)
    fig.canvas.draw()                       # settle the layout, then freeze it: labels go where markers are
    fig.set_layout_engine("none")
    for ax, column in ((axes[0], 2), (axes[1], 3)):
        _place_labels(ax, [(d[column], d[1], d[0], d[0].startswith("shoal")) for d in data])
    fig.savefig(path, dpi=120)
    plt.close(fig)
