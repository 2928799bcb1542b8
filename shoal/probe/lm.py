"""The byte-level language model the probe reads: a ByteTransformer trained
from scratch on the Amazon reviews' training part, cached in --out DIR.

Training is shoal train's recipe (AdamW, warm-up, cosine, clipping; its
learning_rate and make_optimizer), float only (no fake quantisation: nothing
here is exported to the integer fish).  A sample is --segments consecutive
segments from a random place in the review stream, read from a fresh state
(start byte first), the memory carried from segment to segment.

DIR/lm.pt holds the model, the optimiser, the step and the data RNG; it is
written every --checkpoint-every steps, so Ctrl-C loses little and a rerun
continues (or, once trained, just loads it).  It also holds the recipe it was
trained with (shape, steps, seed, a digest of the training text): a rerun that
asks for another recipe in the same DIR is an error, never a silent mix.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from types import SimpleNamespace

import numpy as np
import torch

from ..atomic import atomic_write
from ..errors import ShoalError
from ..fish.neural import START_BYTE, NeuralConfig
from ..train.model import ByteTransformer
from ..train.train import learning_rate, make_optimizer, optimizer_step

LN2 = math.log(2)
RECIPE_KEYS = ("steps", "batch", "segments", "lr", "min_lr", "warmup", "weight_decay", "clip", "seed")


def recipe(args, cfg: NeuralConfig, stream: np.ndarray) -> dict:
    """What determines the trained weights (threads do not: one thread or
    many give the same steps up to float rounding, and the default is 1)."""
    return {"config": dataclasses.asdict(cfg), **{k: getattr(args, k) for k in RECIPE_KEYS},
            "data_sha256": hashlib.sha256(stream.tobytes()).hexdigest()}


def sample(stream: torch.Tensor, batch: int, length: int, gen: torch.Generator):
    starts = torch.randint(0, len(stream) - length - 1, (batch,), generator=gen)
    y = torch.stack([stream[s + 1:s + 1 + length] for s in starts.tolist()])
    x = torch.cat((torch.full((batch, 1), START_BYTE, dtype=y.dtype), y[:, :-1]), dim=1)
    return x.long(), y.long()


@torch.no_grad()
def held_out_bpb(model, held: np.ndarray, nbytes: int, lanes: int = 16) -> float:
    """Bits per byte on nbytes of held-out text: lanes streams spread over it,
    each from a fresh state."""
    n = max(2, min(nbytes // lanes, len(held) // lanes))
    starts = np.linspace(0, len(held) - n, lanes).astype(np.int64)
    y = torch.from_numpy(np.stack([held[s:s + n] for s in starts]).astype(np.int64))
    x = torch.cat((torch.full((lanes, 1), START_BYTE), y[:, :-1]), dim=1)
    was = model.training
    model.eval()
    loss = model.stream_loss(x, y).item() / LN2
    model.train(was)
    return loss


def _save(path, model, opt, step, gen, rec, log):
    with atomic_write(path) as file:  # an interrupted save leaves the last good checkpoint
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step, "gen": gen.get_state(),
                    "recipe": rec, "log": log}, file)


def load_or_train(args, cfg: NeuralConfig, stream: np.ndarray, held: np.ndarray, say, bar):
    """The trained model (eval mode) and its training log.  bar(total) gives
    update(step, text) for a progress display; say(text) logs a line."""
    rec = recipe(args, cfg, stream)
    path = os.path.join(args.out, "lm.pt")
    torch.manual_seed(args.seed)
    model = ByteTransformer(cfg)
    opt = make_optimizer(model, SimpleNamespace(weight_decay=args.weight_decay, lr=args.lr))
    gen = torch.Generator().manual_seed(args.seed)
    step, log = 0, []
    if os.path.exists(path):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        if ckpt.get("recipe") != rec:
            diff = sorted(k for k in rec if ckpt.get("recipe", {}).get(k) != rec[k])
            raise ShoalError(f"{path} was trained with other settings ({', '.join(diff)}): "
                             "use another --out, or delete it to retrain")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        gen.set_state(ckpt["gen"])
        step, log = ckpt["step"], ckpt["log"]
        say(f"language model: {path}, step {step}/{args.steps}" + ("" if step >= args.steps else ", resuming"))
    if step >= args.steps:
        return model.eval(), log
    os.makedirs(args.out, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    say(f"training the language model {cfg.to_json()}: {n_params / 1e6:.2f}M parameters, "
        f"{len(stream):,} bytes of reviews, {args.steps} steps of {args.batch} x {args.segments * cfg.seg_len} bytes")
    data = torch.from_numpy(stream.copy())
    schedule = SimpleNamespace(lr=args.lr, min_lr=args.min_lr, warmup=args.warmup, steps=args.steps)
    length, t0, first = args.segments * cfg.seg_len, time.time(), step
    model.train()
    with bar(args.steps, step) as update:
        while step < args.steps:
            x, y = sample(data, args.batch, length, gen)
            loss = optimizer_step(model, opt, x, y, learning_rate(step, schedule), args.clip)
            step += 1
            speed = (step - first) * args.batch * length / (time.time() - t0)
            text = f"loss {loss.item() / LN2:.3f} bpb, {speed / 1e3:.1f} KB/s"
            if step % args.checkpoint_every == 0 or step == args.steps:
                bpb = held_out_bpb(model, held, args.eval_bytes)
                log.append({"step": step, "train_bpb": round(loss.item() / LN2, 4), "held_out_bpb": round(bpb, 4)})
                _save(path, model, opt, step, gen, rec, log)
                say(f"step {step}/{args.steps}: {text}, held-out {bpb:.3f} bpb")
            update(step, text)
    return model.eval(), log
