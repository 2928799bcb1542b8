"""The ablation (ablate.py) as tables, JSON, CSV and a bar chart.

Every figure comes from one Group of files (one file, the files of one kind,
or all of them), whose bits are added file by file for each variant:

    bpb    bits / bytes of a variant
    loss   bits(school without X) / bits(whole school) - 1: what the school
           loses when X is removed (below 0: it does better without X)
    gain   1 - bits(whole school) / bits(best fish alone): how far the school
           beats the best of its fish on those files
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..report_table import Table, fmt_int, to_csv, to_rich
from . import report
from .ablate import ALONE, SCHOOL, WITHOUT, Ablation, variant_name

WHOLE = variant_name(SCHOOL)
DEFINITIONS = ("bpb: ideal code length in bits / bytes; alone: the fish in a school of its own (the preset's "
               "mixer and APMs); loss when removed: % more bits the school spends without the fish "
               "(negative: it does better without it); gain: % fewer bits than the best fish alone")

SYMLOG_ABOVE = 10          # % loss beyond which the loss panel turns to a symmetric log scale


@dataclass
class Group:
    name: str                        # a file's label, a kind, or "total"
    level: str                       # "file", "kind" or "total"
    files: list[str]
    size: int
    bits: dict[str, float]           # variant name -> bits over the group's files

    def bpb(self, variant: str) -> float:
        return self.bits[variant] / self.size

    def loss(self, fish: str) -> float:
        return self.bits[variant_name(WITHOUT, fish)] / self.bits[WHOLE] - 1

    def best_alone(self, fish: list[str]) -> str:
        return min(fish, key=lambda f: self.bits[variant_name(ALONE, f)])

    def gain(self, fish: list[str]) -> float:
        return 1 - self.bits[WHOLE] / self.bits[variant_name(ALONE, self.best_alone(fish))]


def group(ab: Ablation, name: str, level: str, files: list[str]) -> Group:
    mine = [r for r in ab.results if r.file in files]
    bits: dict[str, float] = {}
    for r in mine:
        bits[r.model] = bits.get(r.model, 0.0) + r.score.bits
    size = sum(r.score.size for r in mine if r.model == WHOLE)
    return Group(name, level, files, size, bits)


def groups(ab: Ablation) -> list[Group]:
    """Each file, then each kind (in the order the files come), then all files."""
    kinds = dict.fromkeys(ab.kinds[f] for f in ab.files)
    return ([group(ab, f, "file", [f]) for f in ab.files]
            + [group(ab, k, "kind", [f for f in ab.files if ab.kinds[f] == k]) for k in kinds]
            + [group(ab, "total", "total", ab.files)])


def _short(ab: Ablation) -> dict[str, str]:
    """Column headings: the file's name alone where that is unambiguous."""
    names = {f: f.rsplit("/", 1)[-1] for f in ab.files}
    return names if len(set(names.values())) == len(names) else {f: f for f in ab.files}


def _notes(ab: Ablation) -> list[str]:
    notes = [f"CHECK FAILED: {r.model} on {r.file}: {r.problem}" for r in ab.results if r.problem]
    return notes + ab.notes + [DEFINITIONS]


def fish_tables(ab: Ablation) -> list[Table]:
    """bpb alone (with the whole school on top), and the loss when each fish is removed: per file and in total."""
    per_file = [g for g in groups(ab) if g.level in ("file", "total")]
    heads = [_short(ab).get(g.name, g.name) for g in per_file]
    alone = Table(f"{ab.preset}: bpb alone",
                  ["fish", *heads], numeric=set(heads))
    alone.add([WHOLE, *(f"{g.bpb(WHOLE):.3f}" for g in per_file)], "bold")
    for fish in ab.fish:
        alone.add([fish, *(f"{g.bpb(variant_name(ALONE, fish)):.3f}" for g in per_file)])
    alone.add(["best alone", *(g.best_alone(ab.fish) for g in per_file)], "dim")
    alone.add(["gain", *(f"{100 * g.gain(ab.fish):.1f}%" for g in per_file)], "bold")
    removed = Table(f"{ab.preset}: loss when removed",
                    ["fish", *heads], numeric=set(heads))
    for fish in ab.fish:
        removed.add([fish, *(f"{100 * g.loss(fish):+.2f}%" for g in per_file)])
    removed.notes = _notes(ab)
    return [alone, removed]


def kind_table(ab: Ablation) -> Table:
    """One row per kind of file: the school, its best fish alone, and the fish it misses most and least."""
    columns = ["kind", "school bpb", "best alone (bpb)", "gain", "missed most (loss)", "missed least (loss)"]
    table = Table(f"{ab.preset}: by kind of file", columns, numeric={"school bpb", "gain"})
    for g in (g for g in groups(ab) if g.level != "file"):
        best = g.best_alone(ab.fish)
        by_loss = sorted(ab.fish, key=g.loss)
        table.add([g.name, f"{g.bpb(WHOLE):.3f}", f"{best} {g.bpb(variant_name(ALONE, best)):.3f}",
                   f"{100 * g.gain(ab.fish):.1f}%", f"{by_loss[-1]} {100 * g.loss(by_loss[-1]):+.2f}%",
                   f"{by_loss[0]} {100 * g.loss(by_loss[0]):+.2f}%"], "bold" if g.level == "total" else None)
    table.notes = [f"{kind}: {', '.join(f for f in ab.files if ab.kinds[f] == kind)} ({fmt_int(g.size)} bytes)"
                   for kind, g in ((g.name, g) for g in groups(ab) if g.level == "kind")]
    return table


def rich(table: Table):
    """The table for a terminal.  No column gets narrower than its longest word: on a narrow terminal
    the fish's names would otherwise be squeezed to nothing beside the numbers, which never wrap."""
    out = to_rich(table)
    for i, column in enumerate(out.columns):
        column.min_width = max((len(word) for row in table.rows for word in row[i].split()), default=None)
    return out


def to_json(ab: Ablation) -> str:
    results = [dict(report.to_record(r), variant=r.model, role=ab.roles[r.model][0], fish=ab.roles[r.model][1],
                    kind=ab.kinds[r.file]) for r in ab.results]
    summary = [{"group": g.name, "level": g.level, "files": g.files, "bytes": g.size,
                "school_bpb": g.bpb(WHOLE),
                "alone_bpb": {f: g.bpb(variant_name(ALONE, f)) for f in ab.fish},
                "without_bpb": {f: g.bpb(variant_name(WITHOUT, f)) for f in ab.fish},
                "loss": {f: g.loss(f) for f in ab.fish},
                "best_alone": g.best_alone(ab.fish), "gain": g.gain(ab.fish)} for g in groups(ab)]
    data = {"school": ab.preset, "fish": ab.fish, "files": [{"file": f, "kind": ab.kinds[f]} for f in ab.files],
            "results": results, "groups": summary, "notes": _notes(ab)}
    return json.dumps(data, indent=1) + "\n"


def to_csv_text(ab: Ablation) -> str:
    """One row per variant and file, and per variant over all files (file '(total)')."""
    rows = []
    for g in (g for g in groups(ab) if g.level in ("file", "total")):
        kind = ab.kinds.get(g.name, "")
        for name, (role, fish) in ab.roles.items():
            rows.append([name, role, fish or "", g.name if g.level == "file" else "(total)", kind, g.size,
                         g.bits[name], g.bpb(name), g.bits[name] / g.bits[WHOLE] - 1])
    return to_csv(["variant", "role", "fish", "file", "kind", "bytes", "bits", "bpb", "vs_school"], rows)


def plot(ab: Ablation, path: str) -> None:
    """Per kind of file (a column of panels each, and one for all files): each fish's bpb alone beside
    the whole school's, and below it the loss when the fish is removed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [g for g in groups(ab) if g.level != "file"]
    if len(panels) == 2:                            # one kind: its panel is the total's
        panels = panels[:1]
    rows = len(ab.fish) + 1
    fig, axes = plt.subplots(2, len(panels), figsize=(2.2 + 2.9 * len(panels), 1.6 + 0.42 * rows * 2),
                             layout="constrained", squeeze=False, sharey="row",
                             height_ratios=[rows, len(ab.fish)])
    names = [WHOLE, *ab.fish]
    for col, g in enumerate(panels):
        top, bottom = axes[0][col], axes[1][col]
        alone = [g.bpb(WHOLE)] + [g.bpb(variant_name(ALONE, f)) for f in ab.fish]
        colors = ["tab:green"] + ["tab:blue"] * len(ab.fish)
        top.barh(range(rows), alone, color=colors)
        top.axvline(g.bpb(WHOLE), color="tab:green", linestyle="--", linewidth=1)
        for y, value in enumerate(alone):
            top.text(value, y, f" {value:.2f}", va="center", fontsize=7)
        top.set_xlim(0, max(alone) * 1.25)
        top.set_title(f"{g.name}\n{len(g.files)} file{'s' * (len(g.files) > 1)}, {g.size / 1e6:.2f} MB",
                      fontsize=9)
        top.set_xlabel("bits per byte alone\n(green: whole school)", fontsize=8)
        loss = [100 * g.loss(f) for f in ab.fish]
        bottom.barh(range(len(ab.fish)), loss, color=["tab:red" if x > 0 else "tab:gray" for x in loss])
        bottom.axvline(0, color="black", linewidth=0.8)
        for y, value in enumerate(loss):
            label = f"{value:+.2f}%" if abs(value) < 1 else f"{value:+.1f}%"
            bottom.text(value, y, f" {label}" if value >= 0 else f"{label} ", va="center",
                        ha="left" if value >= 0 else "right", fontsize=7)
        if max(map(abs, loss)) > SYMLOG_ABOVE:
            # one fish the school cannot do without (the column fish on numbers) would flatten the rest
            bottom.set_xscale("symlog", linthresh=1)
            bottom.set_xlabel("% more bits when removed\n(log scale beyond ±1%)", fontsize=8)
        else:
            bottom.set_xlabel("% more bits when removed", fontsize=8)
        bottom.margins(x=0.3)
        for ax in (top, bottom):
            ax.tick_params(labelsize=8)
            ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(rows), names)
    axes[1][0].set_yticks(range(len(ab.fish)), ab.fish)
    for row in axes:
        row[0].invert_yaxis()
    fig.suptitle(f"{ab.preset}: each fish alone (top) and what the school loses without it (bottom)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
