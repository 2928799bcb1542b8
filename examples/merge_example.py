"""Evolutionary merging, worked end to end: a base fish, two specialists, their merges.

    python examples/merge_example.py [--work merge-example] [--base-steps 2000] [--tune-steps 400] ...

1. Slices of four files of ../shared/corpus/train/ (training data only):
   English prose (english_fortunes, english_gcide) and source code
   (code_python311_stdlib, code_c_linux_kernel).  From each file: the first
   --train-bytes for training; a dev slice at 85% of the file (the merge's
   fitness); a test slice at 93% (the table).  The three never overlap.
2. `shoal train` a small base on all four training slices (the mix).
3. `shoal train --init base` two specialists: prose on the prose slices, code
   on the code slices (fresh optimiser, lower learning rate).
4. `shoal evolve merge prose code --dev ...`: uniform averaging (-g 0, the
   search's start) and the evolved merge (CMA-ES on the dev slices).
5. A table of test-slice bits per byte (float models, and the merged fish as
   the integer fish that compresses) on prose, code and the mix, for: base,
   each specialist, uniform averaging and the evolved merge.

About 10-15 minutes on 2 CPU cores at the defaults (tiny models, few steps).
Every size is a flag, so a bigger machine can scale it up: e.g.
--width 128 --layers 2 --base-steps 10000 --tune-steps 2000 --device cuda.
Outputs in --work: data/, base/, prose/, code/, uniform/, merged/ (with its
fitness plot), table.md.  Re-running reuses finished steps (delete --work to redo).
"""
import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "train"
PROSE = ["english_fortunes.txt", "english_gcide.txt"]
CODE = ["code_python311_stdlib.py.txt", "code_c_linux_kernel.c.txt"]
DEV_AT, TEST_AT = 0.85, 0.93           # where the dev and test slices start, as fractions of the file


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--work", default="merge-example", help="working directory")
    p.add_argument("--corpus", default=str(CORPUS), help="the training corpus folder")
    p.add_argument("--train-bytes", type=int, default=1 << 20, help="training bytes from each file")
    p.add_argument("--dev-bytes", type=int, default=16384, help="dev bytes from each file (merge fitness)")
    p.add_argument("--test-bytes", type=int, default=32768, help="test bytes from each file (the table)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--segment", type=int, default=64)
    p.add_argument("--base-steps", type=int, default=2000)
    p.add_argument("--tune-steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3, help="base learning rate")
    p.add_argument("--tune-lr", type=float, default=3e-4, help="fine-tuning learning rate")
    p.add_argument("--generations", type=int, default=25, help="CMA-ES generations of the merge")
    p.add_argument("--merge-options", default="", help="more `shoal evolve merge` options, e.g. '--ties'")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu", help="for shoal train: cpu, cuda, auto")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for tiny models here)")
    return p.parse_args()


def shoal(*args):
    """Run a shoal command, as a user would; stop the example if it fails."""
    command = [sys.executable, "-m", "shoal", *map(str, args)]
    print("$ shoal " + " ".join(map(str, args)), flush=True)
    done = subprocess.run(command)
    if done.returncode not in (0, 2):         # 2: a warning (integer fish > 2% off the float model)
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}")


def make_slices(args, data: Path) -> dict:
    """{file: {train, dev, test: path}}, disjoint slices of each corpus file."""
    data.mkdir(parents=True, exist_ok=True)
    slices = {}
    for name in PROSE + CODE:
        source = np.fromfile(Path(args.corpus) / name, dtype=np.uint8)
        dev, test = int(len(source) * DEV_AT), int(len(source) * TEST_AT)
        if not (args.train_bytes <= dev and dev + args.dev_bytes <= test and test + args.test_bytes <= len(source)):
            sys.exit(f"{name}: {len(source):,} bytes is too small for these slice sizes")
        parts = {"train": source[:args.train_bytes], "dev": source[dev:dev + args.dev_bytes],
                 "test": source[test:test + args.test_bytes]}
        slices[name] = {}
        for part, values in parts.items():
            path = data / f"{Path(name).stem}.{part}"
            values.tofile(path)
            slices[name][part] = path
    return slices


def train(args, out: Path, files, steps, *extra):
    if (out / "fish.safetensors").exists():
        print(f"(reusing {out})")
        return
    shoal("train", *files, "--out", out, "--steps", steps, "--batch", args.batch, "--segment", args.segment,
          "--memory", args.segment, "--seed", args.seed, "--device", args.device, "--threads", args.threads,
          "--eval-every", max(1, steps // 5), "--checkpoint-every", steps, "--no-progress", *extra)


def merge(args, out: Path, parents, dev, *extra):
    if (out / "fish.safetensors").exists():
        print(f"(reusing {out})")
        return
    shoal("evolve", "merge", *parents, "--dev", *dev, "-o", out, "-f", "--seed", args.seed,
          "--dev-bytes", args.dev_bytes, "--threads", args.threads, *extra)


def test_table(args, work: Path, slices: dict) -> str:
    """Test-slice bits per byte of every model, as a Markdown table."""
    import torch

    from shoal.evolve.merge_run import DevSet
    from shoal.fish.neural import NeuralFish
    from shoal.train.lineage import Trained
    from shoal.train.train import integer_bpb
    torch.set_num_threads(args.threads)
    sets = {"prose": DevSet.from_files([slices[n]["test"] for n in PROSE], args.test_bytes, 32),
            "code": DevSet.from_files([slices[n]["test"] for n in CODE], args.test_bytes, 32)}
    models = {"base": "base", "prose specialist": "prose", "code specialist": "code",
              "uniform average": "uniform", "evolved merge": "merged"}
    rows = ["| model | prose | code | mix |", "| --- | ---: | ---: | ---: |"]
    scores = {}
    for label, folder in models.items():
        model = Trained.load(str(work / folder)).model()
        scores[label] = [sets[s].score(model)[0] for s in ("prose", "code")]
    fish = NeuralFish.load(str(work / "merged" / "fish.safetensors"))
    scores["evolved merge, integer fish"] = [integer_bpb(fish, sets[s].x, sets[s].y) for s in ("prose", "code")]
    for label, (prose, code) in scores.items():
        rows.append(f"| {label} | {prose:.4f} | {code:.4f} | {(prose + code) / 2:.4f} |")
    mix = {label: sum(v) / 2 for label, v in scores.items()}
    evolved = mix["evolved merge"]
    verdict = [f"evolved merge on the mix: {evolved:.4f} bpb; "
               + ", ".join(f"{label} {mix[label]:.4f} ({'beaten' if evolved < mix[label] else 'NOT beaten'})"
                           for label in ("prose specialist", "code specialist", "uniform average", "base"))]
    return "\n".join(rows + [""] + verdict)


def main():
    args = parse_args()
    work = Path(args.work)
    started = time.time()
    slices = make_slices(args, work / "data")
    shape = ["--layers", args.layers, "--width", args.width, "--heads", args.heads, "--kv-heads", 1]
    train(args, work / "base", [s["train"] for s in slices.values()], args.base_steps, *shape, "--lr", args.lr)
    for name, files in (("prose", PROSE), ("code", CODE)):
        train(args, work / name, [slices[f]["train"] for f in files], args.tune_steps, "--init", work / "base",
              "--lr", args.tune_lr, "--warmup", max(1, args.tune_steps // 10))
    dev = [slices[f]["dev"] for f in PROSE + CODE]
    parents = [work / "prose", work / "code"]
    merge(args, work / "uniform", parents, dev, "-g", 0)
    merge(args, work / "merged", parents, dev, "-g", args.generations, "--plot", work / "merged" / "fitness.png",
          *args.merge_options.split())
    table = test_table(args, work, slices)
    minutes = math.ceil((time.time() - started) / 60)
    header = (f"Test-slice bits per byte ({args.test_bytes:,} bytes from each of {', '.join(PROSE + CODE)}; "
              f"mix = mean of prose and code), {minutes} min:\n")
    (work / "table.md").write_text(header + "\n" + table + "\n")
    print("\n" + header + "\n" + table)


if __name__ == "__main__":
    main()
