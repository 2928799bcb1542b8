"""shoal score --mixers: the gated mixer against the attention mixer, and how each copes.

For a school (a level or a preset file) and some files, each of the two
mixers (the preset's, with mixer.kind gated, then attention; everything
else unchanged) is scored clean and under three perturbations (the preset's
`perturb`, school/preset.py), each from the same model state up to where it
starts:

    blind       from --blind-at (a fraction of each file) on, the mixer
                inputs of fish --blind read noise: a vote uniform in
                +-2047/256 nats each bit, as loud as a sure fish
    stuck       the same fish from the same place reads a constant vote,
                --stuck-value (default 512: p(1) = 0.88), a sensor stuck on
    shuffled    every --shuffle bytes the mixer's inputs are dealt in a new
                order (what a fish says reaches the mixer in another place)

A mixer's loss under a perturbation is bits(perturbed) / bits(clean) - 1 on
the same files.  Speed is bytes / processor seconds of the clean runs.

    todo, roles = variants(preset, files, blind=..., ...)
    results = ablate.score_all(todo, names, ...)
    summary(results, roles)     the table rows; to_json, plot
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import school
from ..errors import ShoalError
from ..report_table import Table, fmt_int
from . import report
from .ablate import fish_labels, scored_size

MIXERS = ("gated", "attention")
PERTURBATIONS = ("clean", "blind", "stuck", "shuffled")
STUCK_VALUE = 512


def blind_index(preset: school.Preset, label: str | None) -> int:
    """The place in the preset's fish list of the fish to blind: by its label (order3, match, ...),
    or by default the first order-3 fish, else the first fish."""
    labels = fish_labels(preset.spec["fish"])
    if label is None:
        return labels.index("order3") if "order3" in labels else 0
    if label not in labels:
        raise ShoalError(f"--blind {label}: not a fish of this school (its fish: {', '.join(labels)})")
    return labels.index(label)


def variants(preset: school.Preset, files: list[Path], blind: str | None = None, blind_at: float = 0.5,
             stuck_value: int = STUCK_VALUE, shuffle: int = 16384, max_bytes=None):
    """(variant name, preset, file) for every mixer, perturbation and file, and name -> (mixer, perturbation)."""
    if preset.spec.get("perturb"):
        raise ShoalError("--mixers perturbs the school itself: give a preset without 'perturb'")
    index = blind_index(preset, blind)
    fish_name = fish_labels(preset.spec["fish"])[index]
    todo, roles = [], {}
    for mixer in MIXERS:
        spec = dict(preset.spec, mixer=dict(preset.spec["mixer"], kind=mixer))
        if mixer == "gated":
            spec["mixer"].pop("kind")
            spec["mixer"].pop("heads", None)
        for perturbation in PERTURBATIONS:
            name = mixer if perturbation == "clean" else {
                "blind": f"{mixer}, {fish_name} blind", "stuck": f"{mixer}, {fish_name} stuck",
                "shuffled": f"{mixer}, shuffled"}[perturbation]
            roles[name] = (mixer, perturbation)
            for path in files:
                at = int(blind_at * scored_size(path, max_bytes))
                perturb = {"clean": None, "shuffled": {"shuffle": shuffle},
                           "blind": {"blind": index, "blind_at": at, "blind_value": "noise"},
                           "stuck": {"blind": index, "blind_at": at, "blind_value": stuck_value}}[perturbation]
                todo.append((name, school.from_dict(dict(spec, perturb=perturb) if perturb else spec), path))
    return todo, roles


def summary(results: list[report.Result], roles: dict[str, tuple[str, str]]) -> list[dict]:
    """Per mixer: bytes, bits and bpb clean, MB/s, and the loss under each perturbation (all files)."""
    bits, size, seconds = {}, {}, {}
    for r in results:
        bits[r.model] = bits.get(r.model, 0.0) + r.score.bits
        size[r.model] = size.get(r.model, 0) + r.score.size
        seconds[r.model] = seconds.get(r.model, 0.0) + (r.seconds or 0.0)
    rows = []
    for mixer in MIXERS:
        names = {p: n for n, (m, p) in roles.items() if m == mixer}
        clean = names["clean"]
        rows.append({"mixer": mixer, "bytes": size[clean], "bits": bits[clean], "bpb": bits[clean] / size[clean],
                     "mb_per_s": size[clean] / seconds[clean] / 1e6 if seconds[clean] else None,
                     "loss": {p: bits[names[p]] / bits[clean] - 1 for p in PERTURBATIONS[1:]}})
    return rows


def table(rows: list[dict], blind_fish: str, notes: list[str]) -> Table:
    gated = rows[0]
    head = ["mixer", "bytes", "ideal size", "bpb", "vs gated", "MB/s", f"loss: {blind_fish} blind",
            f"loss: {blind_fish} stuck", "loss: shuffled"]
    body = [[r["mixer"], fmt_int(r["bytes"]), fmt_int(round(r["bits"] / 8)), f"{r['bpb']:.4f}",
             f"{100 * (r['bits'] / gated['bits'] - 1):+.2f}%",
             f"{r['mb_per_s']:.3f}" if r["mb_per_s"] else "-",
             *(f"{100 * r['loss'][p]:+.3f}%" for p in PERTURBATIONS[1:])] for r in rows]
    return Table("gated vs attention mixer: size, speed, and the loss each perturbation costs", head, body,
                 notes=notes)


def file_table(results: list[report.Result], roles: dict[str, tuple[str, str]]) -> Table:
    """bpb of every variant on every file."""
    names = list(roles)
    files = list(dict.fromkeys(r.file for r in results))
    bpb = {(r.model, r.file): r.score.bpb for r in results}
    return Table("bits per byte by file", ["file", *names],
                 [[f, *(f"{bpb[n, f]:.4f}" for n in names)] for f in files])


def to_json(preset_name: str, blind_fish: str, options: dict, results, roles, rows, notes) -> str:
    data = {"school": preset_name, "blind_fish": blind_fish, "options": options, "summary": rows,
            "results": [dict(report.to_record(r), variant=r.model, mixer=roles[r.model][0],
                             perturbation=roles[r.model][1], seconds=r.seconds) for r in results],
            "notes": notes}
    return json.dumps(data, indent=1) + "\n"


def plot(results, roles, rows, blind_fish: str, path: str) -> None:
    """Left: bpb of each mixer on each file.  Right: the loss each perturbation costs each mixer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = list(dict.fromkeys(r.file for r in results))
    bpb = {(r.model, r.file): r.score.bpb for r in results}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.9 + 0.45 * max(len(files), 6)), layout="constrained",
                                      width_ratios=[3, 2])
    colors = {"gated": "tab:blue", "attention": "tab:orange"}
    for k, mixer in enumerate(MIXERS):
        ys = [i + 0.4 * k for i in range(len(files))]
        values = [bpb[mixer, f] for f in files]
        left.barh(ys, values, height=0.4, color=colors[mixer], label=mixer)
        for y, v in zip(ys, values):
            left.text(v, y, f" {v:.3f}", va="center", fontsize=7)
    left.set_yticks([i + 0.2 for i in range(len(files))], [Path(f).name for f in files], fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("bits per byte (clean)")
    left.margins(x=0.15)
    left.legend(fontsize=8)
    labels = [f"{blind_fish} blind\n(noise)", f"{blind_fish} stuck\n(constant)", "inputs\nshuffled"]
    for k, r in enumerate(rows):
        xs = [i + 0.4 * k for i in range(len(labels))]
        values = [100 * r["loss"][p] for p in PERTURBATIONS[1:]]
        right.bar(xs, values, width=0.4, color=colors[r["mixer"]], label=r["mixer"])
        for x, v in zip(xs, values):
            right.text(x, v, f"{v:+.2f}%", ha="center", va="bottom" if v >= 0 else "top", fontsize=7)
    right.set_xticks([i + 0.2 for i in range(len(labels))], labels, fontsize=8)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_ylabel("% more bits than clean (all files)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(True, axis="x" if ax is left else "y", alpha=0.3)
    fig.suptitle("The gated mixer and the attention mixer: size (left) and robustness (right)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
