"""Build a primer (shoal/school/primer.py) from its recipe.

    python tools/make_primer.py shoal/school/primers/text-1.yaml [--corpus ../shared/corpus/train]

The recipe lists slices (file, offset, bytes) of the training corpus; the
primer is their concatenation, written xz-compressed next to the recipe as
NAME.xz.  Prints the primer's size and digest (what archives record).
"""
import argparse
import lzma
from pathlib import Path

import yaml

from shoal.school import primer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared/corpus/train")
    args = parser.parse_args()
    recipe = yaml.safe_load(args.recipe.read_text())
    parts = []
    for s in recipe["slices"]:
        data = (args.corpus / s["file"]).read_bytes()[s["offset"]:s["offset"] + s["bytes"]]
        if len(data) != s["bytes"]:
            raise SystemExit(f"{s['file']}: only {len(data)} bytes at offset {s['offset']}")
        parts.append(data)
    text = b"".join(parts)
    out = args.recipe.with_suffix(".xz")
    out.write_bytes(lzma.compress(text, preset=9 | lzma.PRESET_EXTREME))
    print(f"{out}: {len(text):,} bytes of text, {out.stat().st_size:,} compressed, digest {primer.digest(text)}")


if __name__ == "__main__":
    main()
