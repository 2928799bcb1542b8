"""Level 9 and `-9 --neural` on the English text files of Canterbury and
Calgary under 1 MB (issue 27's files), with what the fish's coding alone
makes of each (the fallback keeps the smaller of that and level 9's).

    python bench/neural_eval.py FISH.safetensors LANES
    python bench/neural_eval.py shoal/fish/neural/shipped/text-2x128.safetensors 16   # shoal -9 --neural

Sizes are block payloads (an archive adds its header, which for --neural
carries the preset); times are CPU seconds of this process, one thread,
after a warm-up, so the fish's first-use costs are not counted.
"""
import sys
import time
from pathlib import Path

import numpy as np

from shoal import school
from shoal.school import _NO_COST, _code

C = Path(__file__).resolve().parents[2] / 'shared' / 'corpus'
FILES = [C / 'canterbury' / f for f in ('alice29.txt', 'asyoulik.txt', 'lcet10.txt', 'plrabn12.txt')] + \
        [C / 'calgary' / f for f in ('book1', 'book2', 'paper1', 'paper2', 'paper3', 'paper4', 'paper5', 'paper6')]


def with_fish_only(data: bytes, preset) -> int:
    """The payload the school with the fish writes (no fallback)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    out = np.empty(buf.size, dtype=np.uint8)
    return _code(buf, out, False, preset, _NO_COST)


def main(fish: str, lanes: int) -> None:
    plain = school.level(9)
    neural = school.with_neural(9, fish=fish, lanes=lanes)
    for warm in school.WARM_UP_BLOCKS[:1]:
        school.compress_block(warm, neural.text)
    total = dict(bytes=0, level9=0, fish=0, neural=0, c=0.0, d=0.0)
    for f in FILES:
        data = f.read_bytes()
        a = len(school.compress_block(data, plain.text))
        b = with_fish_only(data, neural.text)
        t = time.process_time()
        c = school.compress_block(data, neural.text)
        tc = time.process_time() - t
        t = time.process_time()
        assert school.decompress_block(c, len(data), neural.text) == data
        td = time.process_time() - t
        for key, value in (("bytes", len(data)), ("level9", a), ("fish", b), ("neural", len(c)), ("c", tc),
                           ("d", td)):
            total[key] += value
        print(f"{f.name:14s} {len(data):8,d} L9 {a:8,d}  fish {b:8,d} ({b / a - 1:+.2%})  --neural {len(c):8,d} "
              f"({len(c) / a - 1:+.2%}, {'fish' if c[0] else 'level 9'})  c {len(data) / tc / 1e3:5.1f} KB/s  "
              f"d {len(data) / td / 1e3:5.1f} KB/s", flush=True)
    print(f"TOTAL {total['bytes']:,d} L9 {total['level9']:,d} fish {total['fish']:,d} "
          f"({total['fish'] / total['level9'] - 1:+.2%}) --neural {total['neural']:,d} "
          f"({total['neural'] / total['level9'] - 1:+.2%})  compress {total['bytes'] / total['c'] / 1e3:.1f} KB/s  "
          f"decompress {total['bytes'] / total['d'] / 1e3:.1f} KB/s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
