"""The evaluation files of the specialist fish (issue 25): structured text,
source code and x86-64 machine code, from named files of named PyPI wheels.

    python bench/specialist_set.py OUT        # OUT/json/..., OUT/x86-64/..., ...
    shoal bench --peer paq8px=PATH --peer lpaq1=PATH OUT/*

None of these packages is a source of ../shared/corpus/train/ (Debian
packages and the Linux kernel and Python sources: MANIFEST.md), so they are
evaluation files: never tune on them.  Each file is taken from the
installed distribution (`pip install` of the version below, as the test
extras install) and checked against its size and SHA-256; a file that
differs is refused with the version it needs (`pip download
NAME==VERSION` and unzip brings it back).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shoal.command import Parser, UsageError, run_tool  # noqa: E402

# kind, distribution, version, path inside it, bytes, SHA-256
FILES = [
    ("json", "filelock", "4.3.2", "filelock-4.3.2.dist-info/sboms/filelock.cdx.json", 495089,
     "723e722f3e7716f989f35e8daabd0529fd506d3b70e9e12a3f2840778356f1b4"),
    ("json", "torch", "2.13.0+cpu", "torch/_dynamo/graph_break_registry.json", 252422,
     "04486a58e13279894d79d48ae15d7c54c1c33dcc9bd7b300c5922d76e97ed9ab"),
    ("csv", "scikit-learn", "1.9.1", "sklearn/datasets/data/breast_cancer.csv", 119913,
     "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"),
    ("csv", "matplotlib", "3.11.2", "matplotlib/mpl-data/sample_data/Stocks.csv", 67924,
     "ef6f3bf1a64d5c6c5de702ef154c3fae78fe9df83882ab6bb9c6638bec3cdf47"),
    ("yaml", "torch", "2.13.0+cpu", "torchgen/packaged/autograd/derivatives.yaml", 186317,
     "b99f77f0bd4117c1ad57646f493edd7a794c7385f4d6e889ef12a30503facce0"),
    ("xml", "matplotlib", "3.11.2", "matplotlib/mpl-data/images/matplotlib.svg", 62087,
     "4224c872a950c066953ed1ec124fafb66264d70c70652be28e1a817bf6fd5422"),
    ("source", "matplotlib", "3.11.2", "matplotlib/pyplot.py", 155847,
     "2c27b5739ad10034f22866cc7647ce968c56f9625cf0f7a288b800e94917ea51"),
    ("source", "numba", "0.68.1", "numba/np/arrayobj.py", 273730,
     "0e30c1aade5f1ec184f26f3c3411282dc88cf089f9fe5abaaf5be54e68869d8b"),
    ("source", "ray", "2.60.0", "ray/dashboard/client/build/speedscope-1.5.3/import.a03c2bef.js", 184993,
     "41ee19fcbe51afb50b7d12021f749d5a2aad06080d845ab66eefb1fefc23943a"),
    ("x86-64", "numpy", "2.4.6", "numpy/random/_generator.cpython-311-x86_64-linux-gnu.so", 835416,
     "336eca5889ed937b66fddf1790095b35ec4c61e3a35375f0d29a94bb1299a3ef"),
    ("x86-64", "numba", "0.68.1", "numba/_helperlib.cpython-311-x86_64-linux-gnu.so", 824272,
     "c14fe1b8ff2492088b73bcdb56facb97d558ab9595ce8f2c5e15578f5c8ab194"),
]


def fetch(distribution: str, version: str, path: str, size: int, sha256: str) -> bytes:
    """One file of an installed distribution, checked."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise UsageError(f"{distribution} is not installed (pip install {distribution}=={version})") from None
    data = Path(dist.locate_file(path)).read_bytes() if Path(dist.locate_file(path)).is_file() else None
    if data is None or len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise UsageError(f"{path} of {distribution} {dist.version} is not the file measured "
                         f"(it needs {distribution}=={version}: pip download {distribution}=={version})")
    return data


def build(out: Path) -> list[Path]:
    """Every file, in OUT/<kind>/<file name>."""
    written = []
    for kind, distribution, version, path, size, sha256 in FILES:
        target = out / kind / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fetch(distribution, version, path, size, sha256))
        written.append(target)
    return written


def work(argv: list[str]) -> int:
    parser = Parser(prog="bench/specialist_set.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (one subfolder per kind)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    if args.out.exists():
        if not args.force:
            raise UsageError(f"{args.out} exists (--force replaces it)")
        shutil.rmtree(args.out)
    for path in build(args.out):
        print(f"{path.stat().st_size:>9,}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool("bench/specialist_set.py", work, sys.argv[1:]))
