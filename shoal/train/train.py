"""shoal train: fit a neural fish to files, then export it for the school.

    shoal train FILES... --out DIR [--layers 2 --width 128 --heads 4 --kv-heads 1 --segment 64 ...]

Data.  The last --holdout of every file is held out; training samples are
--segments consecutive segments from a random place in a random file (files
weighted by size), read like the integer fish reads a lane: from a fresh
state, the start byte first, the memory carried from segment to segment.

Optimisation (nanoGPT): AdamW (weight decay on matrices only), linear warm-up
then cosine decay to --min-lr, gradient clipping.  The last --qat fraction of
the steps trains with fake quantisation on (model.py), so the exported
integer fish loses little.  Every --eval-every steps, and at the end, the
held-out bytes are scored in bits per byte: --eval-lanes streams spread over
the held-out data, each read from a fresh state.

Fine-tuning.  --init BASE starts from BASE's float weights and shape (a
`shoal train` directory, its ckpt.pt, or its fish.safetensors with the ckpt.pt
beside it; lineage.py) with a fresh optimiser and schedule, and records BASE
as the new fish's ancestor, so that `shoal evolve merge` can combine fish
fine-tuned from one base.

Output (DIR): ckpt.pt (model, optimiser, step, data RNG, lineage; --resume
continues from it), fish.safetensors (the integer fish, its lineage in the
metadata), config.json (its shape, for people).  At the end the held-out bits
per byte of the float model, of the fake-quantised model and of the integer
fish are reported; the integer fish must be within 2% of the float model or
the exit status is 2 (warning).
"""
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shoal.atomic import atomic_write
from shoal.command import interrupted_status
from shoal.fish.neural import FREQ_TOTAL, START_BYTE, NeuralConfig, NeuralFish

from .export import export
from .lineage import LineageError, check_init, export_lineage, init_lineage
from .model import ByteTransformer
from .shape import shape_config

LN2 = math.log(2)
console = Console(stderr=True)


def load_data(paths, holdout):
    train, held = [], []
    for path in paths:
        data = np.fromfile(path, dtype=np.uint8)
        cut = len(data) - max(1, int(len(data) * holdout))
        if cut < 2:
            raise ValueError(f"{path}: too small ({len(data)} bytes)")
        train.append(torch.from_numpy(data[:cut]))
        held.append(data[cut:])
    return train, np.concatenate(held)


def sample_batch(train, batch, length, gen):
    """[batch, length] inputs (start byte, then the bytes before each target) and targets."""
    sizes = torch.tensor([len(t) for t in train], dtype=torch.float64)
    which = torch.multinomial(sizes / sizes.sum(), batch, replacement=True, generator=gen)
    xs, ys = [], []
    for f in which.tolist():
        size = len(train[f])
        n = min(length, size)
        start = int(torch.randint(0, size - n + 1, (1,), generator=gen))
        y = train[f][start:start + n]
        if n < length:      # a file shorter than a sample: wrap around
            y = train[f].repeat(length // n + 1)[:length]
        ys.append(y)
        xs.append(torch.cat((torch.tensor([START_BYTE], dtype=torch.uint8), y[:-1])))
    return torch.stack(xs).long(), torch.stack(ys).long()


def eval_streams(held, total, lanes):
    """lanes chunks of total/lanes bytes spread evenly over the held-out data."""
    n = max(1, min(total // lanes, len(held) // lanes))
    starts = np.linspace(0, len(held) - n, lanes).astype(np.int64)
    y = np.stack([held[s:s + n] for s in starts]).astype(np.int64)
    x = np.concatenate((np.full((lanes, 1), START_BYTE), y[:, :-1]), axis=1)
    return x, y


@torch.no_grad()
def float_bpb(model, x, y, device, quant):
    was_training, was_quant = model.training, model.quant
    model.eval()
    model.quant = quant
    loss = model.stream_loss(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
    model.train(was_training)
    model.quant = was_quant
    return loss.item() / LN2


def integer_bpb(fish: NeuralFish, x, y):
    run, bits = fish.start(x.shape[0]), 0.0
    lanes = np.arange(x.shape[0])
    for t in range(x.shape[1]):
        freqs = run.step(x[:, t].astype(np.uint8))
        bits -= np.log2(freqs[lanes, y[:, t]] / FREQ_TOTAL).sum()
    return bits / y.size


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (args.lr - args.min_lr)


def optimizer_step(model, opt, x, y, lr, clip):
    """One step of the recipe at learning rate lr: the stream loss of batch
    (x, y), gradients clipped to norm clip, AdamW.  Returns the loss (nats)."""
    for group in opt.param_groups:
        group["lr"] = lr
    loss = model.stream_loss(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss


def make_optimizer(model, args):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device here")
    return torch.device(name)


def save_checkpoint(path, model, opt, step, gen, args, lineage):
    with atomic_write(path) as file:
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                    "config": dataclasses.asdict(model.cfg), "gen": gen.get_state(), "args": vars(args),
                    "lineage": lineage}, file)


def train(args):
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    train_data, held = load_data(args.files, args.holdout)
    step, ckpt, base, history = 0, None, None, {"ancestors": [], "init": None}
    if args.resume:
        if not os.path.exists(ckpt_path):
            raise ValueError(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = shape_config(args, NeuralConfig(**ckpt["config"]))
        history = ckpt.get("lineage") or history
        if args.init:
            check_init(args.init, args.out, history)
    elif args.init:
        base = check_init(args.init, args.out, None)
        cfg, history = shape_config(args, base.config), init_lineage(base)
    else:
        cfg = shape_config(args)
    model = ByteTransformer(cfg).to(device)
    opt = make_optimizer(model, args)
    if ckpt:
        if "optim" not in ckpt:
            raise ValueError(f"--resume: {ckpt_path} holds no optimiser state (a merged fish?): fine-tune it "
                             "with --init into another --out instead")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        gen.set_state(ckpt["gen"])
        step = ckpt["step"]
    elif base:          # its observers too: the activation ranges are a good start for QAT
        model.load_state_dict(base.state)
        console.print(f"fine-tuning {base.name} (weights {base.weights})")
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    n_params = sum(p.numel() for p in model.parameters())
    console.print(f"neural fish {cfg.to_json()}: {n_params / 1e6:.2f}M parameters, {device}, "
                  f"{sum(len(t) for t in train_data):,} training bytes, {len(held):,} held out")
    ex, ey = eval_streams(held, args.eval_bytes, args.eval_lanes)
    qat_start = int(args.steps * (1 - args.qat))
    length = args.segments * cfg.seg_len
    model.train()
    progress = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]} bpb, held-out {task.fields[bpb]} bpb"),
                        TextColumn("{task.fields[speed]}"), TimeRemainingColumn(),
                        console=console, disable=args.no_progress)
    last_eval, t0, done = "-", time.time(), step
    with progress:
        task = progress.add_task("train", total=args.steps, completed=step, loss="-", bpb="-", speed="")
        while step < args.steps:
            model.quant = step >= qat_start
            lr = learning_rate(step, args)
            x, y = sample_batch(train_data, args.batch, length, gen)
            loss = optimizer_step(model, opt, x.to(device), y.to(device), lr, args.clip)
            step += 1
            if step % args.eval_every == 0 or step == args.steps:
                last_eval = f"{float_bpb(model, ex, ey, device, model.quant):.3f}"
            speed = f"{(step - done) * args.batch * length / (time.time() - t0) / 1e3:.1f} KB/s"
            progress.update(task, completed=step, loss=f"{loss.item() / LN2:.3f}", bpb=last_eval, speed=speed)
            if args.no_progress and (step % args.eval_every == 0 or step == args.steps):
                console.print(f"step {step}/{args.steps} lr {lr:.2e} loss {loss.item() / LN2:.3f} bpb "
                              f"held-out {last_eval} bpb{' (qat)' if model.quant else ''} {speed}")
            if step % args.checkpoint_every == 0 or step == args.steps:
                save_checkpoint(ckpt_path, model, opt, step, gen, args, history)
    return model, ex, ey, history


def report(model, ex, ey, out, history, what="held-out") -> dict:
    """Export the integer fish (its lineage from history); score float, fake-quant
    and integer on the held-out streams.  status: 2 when the integer fish is
    more than 2% worse than the float model, else 0."""
    model.quant = True
    path = os.path.join(out, "fish.safetensors")
    model.cpu()
    digest = export(model, path, export_lineage(model, history))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(model.cfg), f, indent=2)
    fish = NeuralFish.load(path)
    plain = float_bpb(model, ex, ey, "cpu", quant=False)
    fake = float_bpb(model, ex, ey, "cpu", quant=True)
    exact = integer_bpb(fish, ex, ey)
    console.print(f"exported {path} ({os.path.getsize(path):,} bytes, digest {digest.hex()})")
    console.print(f"{what} bits per byte on {ey.size:,} bytes: float {plain:.4f}, fake-quant {fake:.4f}, "
                  f"integer fish {exact:.4f} ({100 * (exact / plain - 1):+.2f}% vs float)")
    status = 2 if exact > plain * 1.02 else 0
    if status:
        console.print("warning: the integer fish is more than 2% worse than the float model")
    return {"float": plain, "fake_quant": fake, "integer": exact, "digest": digest.hex(), "path": path,
            "status": status}


def run(args) -> int:
    """Train as parsed (cli.parse_args): the exit status."""
    try:
        model, ex, ey, history = train(args)
    except (ValueError, OSError, LineageError) as e:
        print(f"shoal train: {e}", file=sys.stderr)       # one line, not wrapped by rich
        return 1
    except KeyboardInterrupt as stop:
        console.print("shoal train: interrupted (resume with --resume)")
        return interrupted_status(stop)
    return report(model, ex, ey, args.out, history)["status"]
