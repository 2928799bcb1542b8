"""Level 9 with and without a neural fish on the English text files under 1 MB
(issue 4's goal), with the cost of the lanes alone beside it.

    python bench/neural_eval.py FISH.safetensors LANES
    python bench/neural_eval.py shoal/fish/neural/shipped/text-2x128.safetensors 16   # shoal -9 --neural
"""
import sys, time, yaml
from pathlib import Path
from shoal import school
C = Path(__file__).resolve().parents[2] / 'shared' / 'corpus'
files = [C/'canterbury'/f for f in ('alice29.txt', 'asyoulik.txt', 'lcet10.txt', 'plrabn12.txt')] + \
        [C/'calgary'/f for f in ('book1', 'book2', 'paper1', 'paper2', 'paper3', 'paper4', 'paper5', 'paper6')]
base = yaml.safe_load((Path(school.__file__).parent / 'presets' / 'level9.yaml').read_text())
lanes = int(sys.argv[2])
plain = school.from_dict(base)
neural = school.with_neural(plain, fish=sys.argv[1], lanes=lanes)       # what --neural adds
laned = school.from_dict(dict(base, lanes=lanes))
tot = [0, 0, 0, 0]; tn = 0.0; td = 0.0
for f in files:
    d = f.read_bytes()
    a = len(school.compress_block(d, plain)); b = len(school.compress_block(d, laned))
    t = time.perf_counter(); c = school.compress_block(d, neural); tn += time.perf_counter() - t
    t = time.perf_counter(); assert school.decompress_block(c, len(d), neural) == d; td += time.perf_counter() - t
    tot[0] += len(d); tot[1] += a; tot[2] += b; tot[3] += len(c)
    print(f"{f.name:14s} {len(d):8d} L9 {a:7d}  L9+lanes {b:7d}  L9+fish {len(c):7d}  {len(c)/a-1:+.2%}", flush=True)
print(f"TOTAL {tot[0]} L9 {tot[1]} L9+{lanes}lanes {tot[2]} L9+fish {tot[3]} ({tot[3]/tot[1]-1:+.2%} vs L9)  "
      f"neural comp {tot[0]/tn/1e3:.1f} KB/s decomp {tot[0]/td/1e3:.1f} KB/s")
