"""Level 9 and `-9 --neural` on the English text files of Canterbury and
Calgary under 1 MB (issue 27's files), and which of the two codings the
fallback kept for each (with the fish, or level 9's alone).

    python bench/neural_eval.py FISH.safetensors LANES [FILE...]   # FILEs: the 12 files by default
    python bench/neural_eval.py shoal/fish/neural/shipped/text-2x128.safetensors 1   # shoal -9 --neural

Sizes are block payloads (an archive adds its header: a one-byte id for
--neural's levels).  Speeds are wall-clock, after a warm-up, so the fish's
first-use costs are not counted; compressing runs up to three threads (the
coding without the fish beside the fish's, and the fish a chunk ahead of
its school), so CPU time (also printed) is more than wall time there.
"""
import json
import sys
import time
from pathlib import Path

from shoal import school

C = Path(__file__).resolve().parents[2] / 'shared' / 'corpus'
FILES = [C / 'canterbury' / f for f in ('alice29.txt', 'asyoulik.txt', 'lcet10.txt', 'plrabn12.txt')] + \
        [C / 'calgary' / f for f in ('book1', 'book2', 'paper1', 'paper2', 'paper3', 'paper4', 'paper5', 'paper6')]


def main(fish: str, lanes: int, files: list[Path]) -> None:
    plain = school.level(9)
    neural = school.with_neural(9, fish=fish, lanes=lanes)
    # both ways, each loading its compiled code once: first with the fish
    # coding the block whatever it costs (where level 9 alone would win,
    # the fish's decoder would load during the first file's decoding), then
    # as --neural codes it (the schools its primers left are kept)
    spec = json.loads(neural.canonical)
    del spec["fish"][-1]["fallback"]
    warm = school.WARM_UP_BLOCKS[0]
    for preset in (school.from_dict(spec, carried=True), neural):
        school.decompress_block(school.compress_block(warm, preset.text), len(warm), preset.text)
    total = dict(bytes=0, level9=0, neural=0, c=0.0, d=0.0, c_cpu=0.0, d_cpu=0.0)
    for f in files:
        data = f.read_bytes()
        a = len(school.compress_block(data, plain.text))
        t, cpu = time.perf_counter(), time.process_time()
        c = school.compress_block(data, neural.text)
        tc, tc_cpu = time.perf_counter() - t, time.process_time() - cpu
        t, cpu = time.perf_counter(), time.process_time()
        assert school.decompress_block(c, len(data), neural.text) == data
        td, td_cpu = time.perf_counter() - t, time.process_time() - cpu
        for key, value in (("bytes", len(data)), ("level9", a), ("neural", len(c)), ("c", tc), ("d", td),
                           ("c_cpu", tc_cpu), ("d_cpu", td_cpu)):
            total[key] += value
        print(f"{f.name:14s} {len(data):8,d} L9 {a:8,d}  --neural {len(c):8,d} ({len(c) / a - 1:+.2%}, "
              f"{'with the fish' if c[0] else 'level 9 alone'})  c {len(data) / tc / 1e3:5.1f} KB/s  "
              f"d {len(data) / td / 1e3:5.1f} KB/s", flush=True)
    print(f"TOTAL {total['bytes']:,d} L9 {total['level9']:,d} --neural {total['neural']:,d} "
          f"({total['neural'] / total['level9'] - 1:+.2%})  compress {total['bytes'] / total['c'] / 1e3:.1f} KB/s  "
          f"decompress {total['bytes'] / total['d'] / 1e3:.1f} KB/s (wall; CPU time: compress "
          f"{total['bytes'] / total['c_cpu'] / 1e3:.1f} KB/s, decompress {total['bytes'] / total['d_cpu'] / 1e3:.1f} "
          "KB/s)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), [Path(f) for f in sys.argv[3:]] or FILES)
