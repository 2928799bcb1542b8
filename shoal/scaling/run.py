"""The family of neural fish: data, one training run, and the cache of runs.

Every run reads the same data the same way.  The last `holdout` bytes of each
file are held out; the rest is training data, sampled by shoal train's own
sample_batch with a generator seeded the same in every run, so a run with a
smaller budget sees a prefix of the batches of a larger one and runs differ
only in their shape and budget.  Held-out bpb is the float model's (no
quantisation: this measures the architecture, not the integer export) on a
fixed set of streams from every file's held-out slice.

Each run is stored as DIR/runs/<name>.json with the settings it ran with; a
later call with the same settings reads it instead of training again (so an
interrupted experiment resumes where it stopped), and a stored run whose
settings differ is trained again.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..atomic import write_bytes
from ..errors import ShoalError


@dataclass(frozen=True)
class Settings:
    """Everything a run's result depends on, besides its width and budget."""
    files: tuple[str, ...]
    layers: int = 2
    head_dim: int = 16
    segment: int = 64
    memory: int = 64
    batch: int = 16
    segments: int = 2           # consecutive segments per sample
    lr: float = 2e-3
    min_lr: float = 1e-4
    warmup: float = 0.05        # fraction of a run's steps
    weight_decay: float = 0.1
    clip: float = 1.0
    holdout: int = 200 * 1024   # bytes at the end of each file
    eval_bytes: int = 32 * 1024   # scored per file
    eval_lanes: int = 16          # streams per file
    seed: int = 1

    @property
    def sample_bytes(self) -> int:
        return self.batch * self.segments * self.segment

    def steps(self, budget: int) -> int:
        """Optimiser steps that train on at least `budget` bytes."""
        return max(1, math.ceil(budget / self.sample_bytes))


def run_name(width: int, budget: int) -> str:
    return f"w{width}-d{budget}"


def shape(width: int, s: Settings):
    from shoal.fish.neural import NeuralConfig
    heads = max(1, width // s.head_dim)
    return NeuralConfig(n_layer=s.layers, n_embd=width, n_head=heads, n_kv_head=heads,
                        seg_len=s.segment, mem_len=s.memory)


def non_embedding_params(model) -> int:
    """N: the parameters of the blocks (the byte embedding and the output head,
    256 x width each, are left out, as in Kaplan et al. 2020)."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(("wte.", "head.")))


class Data:
    """Training bytes and the held-out streams, loaded once for all runs."""

    def __init__(self, s: Settings):
        from shoal.train.train import eval_streams
        train, xs, ys = [], [], []
        for path in s.files:
            data = np.fromfile(path, dtype=np.uint8)
            if len(data) < 2 * s.holdout:
                raise ShoalError(f"{path}: {len(data):,} bytes, too small to hold out {s.holdout:,}")
            train.append(data[:-s.holdout])
            x, y = eval_streams(data[-s.holdout:], s.eval_bytes, s.eval_lanes)
            xs.append(x)
            ys.append(y)
        self.train = train
        self.ex, self.ey = np.concatenate(xs), np.concatenate(ys)
        self.train_bytes = sum(len(t) for t in train)


def train_one(width: int, budget: int, s: Settings, data: Data, advance=lambda n: None) -> dict:
    """Train one fish from scratch; its result as a dict.  advance(n) after every
    step with the bytes it trained on (the progress bar)."""
    import torch
    from shoal.train.model import ByteTransformer
    from shoal.train.train import float_bpb, learning_rate, make_optimizer, optimizer_step, sample_batch
    steps = s.steps(budget)
    hp = SimpleNamespace(lr=s.lr, min_lr=s.min_lr, steps=steps, warmup=max(1, round(s.warmup * steps)),
                         weight_decay=s.weight_decay)
    torch.manual_seed(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    train = [torch.from_numpy(t) for t in data.train]
    model = ByteTransformer(shape(width, s))
    opt = make_optimizer(model, hp)
    model.train()
    length, t0, loss = s.segments * s.segment, time.time(), None
    for step in range(steps):
        x, y = sample_batch(train, s.batch, length, gen)
        # warm-up, then cosine to min_lr over this run's steps
        loss = optimizer_step(model, opt, x, y, learning_rate(step, hp), s.clip)
        advance(s.sample_bytes)
    seconds = time.time() - t0
    bpb = float_bpb(model, data.ex, data.ey, "cpu", quant=False)
    return {"width": width, "heads": model.cfg.n_head, "layers": s.layers, "budget": budget,
            "N": non_embedding_params(model), "params": sum(p.numel() for p in model.parameters()),
            "D": steps * s.sample_bytes, "steps": steps, "bpb": bpb, "train_loss_bpb": loss.item() / math.log(2),
            "eval_bytes": int(data.ey.size), "seconds": round(seconds, 1)}


def cached(out: Path, width: int, budget: int, s: Settings) -> dict | None:
    path = out / "runs" / f"{run_name(width, budget)}.json"
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    return stored["result"] if stored.get("settings") == settings_dict(s) else None


def store(out: Path, result: dict, s: Settings) -> None:
    """Atomically: an interrupted write leaves no half-written run behind."""
    path = out / "runs" / f"{run_name(result['width'], result['budget'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, (json.dumps({"settings": settings_dict(s), "result": result}, indent=2) + "\n").encode())


def settings_dict(s: Settings) -> dict:
    """The settings as stored: a file by its name and size, so that another path
    to the same corpus (another working directory) still finds the runs."""
    d = asdict(s)
    d["files"] = [{"name": Path(f).name, "bytes": Path(f).stat().st_size} for f in s.files]
    return d
