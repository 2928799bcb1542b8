"""Log lines and progress bars on stderr for shoal probe.

On a terminal a rich bar; off one (nohup, a pipe) a log line a minute
instead; -q silences both."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from rich.console import Console


class Ui:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False)
        self.live = not quiet and sys.stderr.isatty()
        self.t0 = time.time()

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"[{time.time() - self.t0:6.0f}s] {text}", markup=False)

    @contextmanager
    def bar(self, label: str, total: int, done: int = 0):
        """update(completed, text='') for a bar of `total` steps."""
        if not self.live:           # off a terminal: a log line a minute instead
            last = [time.time()]

            def log(completed, text=""):
                if not self.quiet and time.time() - last[0] >= 60:
                    last[0] = time.time()
                    self.say(f"{label}: {completed:,}/{total:,} {text}")
            yield log
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[text]}"),
                   TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total, completed=done, text="")

            def update(completed, text=""):
                progress.update(task, completed=completed, text=text)
            yield update

    def training_bar(self, total, done):
        return self.bar("training the LM", total, done)
