"""What a run shows while it works: a rich progress bar on a terminal, one
line per generation otherwise, nothing with -q; and the fitness plot.

The bar counts generations; its text gives the generation's best and median
fitness (penalised bits per byte of the training set), the best so far and
its change against the base preset.
"""
from __future__ import annotations

import sys


class LineReporter:
    """One line per generation on stderr (not a terminal, or a log file)."""

    def __init__(self, run, generations: int, quiet: bool = False):
        self.run, self.generations, self.quiet = run, generations, quiet

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)

    def tick(self, index: int) -> None:
        pass

    def _line(self, summary: dict) -> str:
        base = self.run.baseline["bits"]
        return (f"gen {summary['generation']}/{self.generations}: best {summary['best_bpb']:.4f} "
                f"median {summary['median_bpb']:.4f} bpb; best so far {summary['best_so_far_bpb']:.4f} "
                f"({self.run.best['bits'] / base - 1:+.2%} vs base); sigma {summary['sigma']:.3f}, "
                f"{summary['measured']} measured in {summary['seconds']:.1f} s")

    def generation(self, summary: dict) -> None:
        self.note(self._line(summary))


class RichReporter(LineReporter):
    """A rich progress bar over the generations, with best and median fitness."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self.progress = Progress(TextColumn("gen"), MofNCompleteColumn(), BarColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=False)
        self.progress.__enter__()
        self.task = self.progress.add_task("evolve", total=self.generations, completed=self.run.generation,
                                           status="measuring...")
        self.done_in_generation = 0
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def note(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)

    def tick(self, index: int) -> None:
        self.done_in_generation += 1
        self.progress.update(self.task, status=f"{self._status()} [{self.done_in_generation} measured]")

    def _status(self) -> str:
        if not self.run.history:
            return "measuring the first generation"
        last = self.run.history[-1]
        base = self.run.baseline["bits"]
        return (f"best {last['best_bpb']:.4f} median {last['median_bpb']:.4f} bpb | best so far "
                f"{last['best_so_far_bpb']:.4f} ({self.run.best['bits'] / base - 1:+.2%})")

    def generation(self, summary: dict) -> None:
        self.done_in_generation = 0
        self.progress.update(self.task, completed=summary["generation"], status=self._status())


def reporter(run, generations: int, quiet: bool):
    if not quiet and sys.stderr.isatty():
        return RichReporter(run, generations)
    return LineReporter(run, generations, quiet)


def plot(run, path) -> None:
    """Fitness per generation (penalised bits per byte of the training set)."""
    baseline = run.baseline["bits"] / run.total_bytes
    fitness_chart(run.history, path, refs={f"level {run.space.base_level} (start)": ("--", baseline)},
                  ylabel="fitness (penalised bits per byte)", headroom=0.6,
                  title=f"shoal evolve school: {run.total_bytes:,} training bytes, seed {run.settings.seed}")


def fitness_chart(history: list[dict], path, refs: dict, ylabel: str, title: str, headroom: float) -> None:
    """Median, best and best-so-far bits per byte per generation, with
    reference lines (name -> (line style, bpb)); medians of early generations
    can be far off, so the view keeps to the bests and the references (plus
    `headroom` of their range above)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    generations = [h["generation"] for h in history]
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    axes.plot(generations, [h["median_bpb"] for h in history], label="generation median", color="0.6")
    axes.plot(generations, [h["best_bpb"] for h in history], label="generation best", marker=".",
              linestyle="none", color="tab:blue")
    axes.step(generations, [h["best_so_far_bpb"] for h in history], where="post", label="best so far",
              color="tab:red")
    for name, (style, bpb) in refs.items():
        axes.axhline(bpb, linestyle=style, color="k", linewidth=1, label=name)
    values = [h["best_bpb"] for h in history] + [bpb for _, bpb in refs.values()]
    low, high = min(values), max(values)
    axes.set_ylim(low - 0.05 * (high - low + 1e-3), high + headroom * (high - low + 1e-3))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("generation")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
