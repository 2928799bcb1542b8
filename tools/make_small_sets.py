"""Build the small-file evaluation sets of issue 24 from public data on this machine.

    python tools/make_small_sets.py [OUT] [--sets man,changelog,...] [--per-half 150] [--force]

Each set is a folder OUT/NAME with
  learn/   files to learn from (a zstd dictionary, a shoal school),
  test/    files to measure, sharing no file and no group of files with learn/,
  large/   one file of 1 MiB or more of the same domain, none of it from learn/,
and OUT/MANIFEST.md (sources, counts, sizes) and OUT/SHA256SUMS (every file,
`sha256sum -c SHA256SUMS` in OUT checks them).  Nothing is written into the
repository: the default OUT is /work/sets.

The sets (all public: Debian's packages as installed here, and train/ of the
shared corpus, the only part of it that may feed anything):
  man        roff sources of the man pages in /usr/share/man/man{1,5,7,8}, grouped by package
  changelog  entries of /usr/share/doc/*/changelog.Debian.gz (e-mail-signed log records)
  copyright  /usr/share/doc/*/copyright (Debian's machine-readable license files)
  python     modules of /usr/lib/python3/dist-packages (Debian's Python packages;
             not the standard library, which train/ and the primer text-1 hold)
  json       Debian iso-codes records (train/structured_iso_codes.json): ISO 3166-2
             subdivisions by country, ISO 639-3 languages by the first two letters
  csv        GCIDE dictionary entries (train/english_gcide.txt) as CSV rows
             (headword, pronunciation, part of speech, definition, source)

Deterministic: every choice is by SHA-256 of a name.  Items of one group
(a source package, a country, ...) all go to the same half: a group goes to
learn/ when its hash is even (json: 0 modulo 4), and a half takes at most 8
items of a group (this machine has 16,631 gcloud man pages).  Exact duplicate contents are kept once (the
first by name), so no content is in both halves.  Each half takes the
--per-half items of 300 B to 8 KiB whose names hash lowest.  The large file
joins items of test-side groups, those that no half took first, then test/'s
own, until it holds 1 MiB.  The csv set never uses GCIDE's bytes 2,990,000 to
3,060,000, which hold the slice of it in shoal's primer text-1.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_OUT = Path("/work/sets")
TRAIN = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "train"
SMALLEST, LARGEST = 300, 8192          # bytes of a small file
LARGE_SIZE = 1 << 20                   # bytes of the large file, at least
PRIMER_SLICE = (2_990_000, 3_060_000)  # GCIDE bytes near text-1's slice (3,000,000 + 49,152)
PER_GROUP = 8          # items of one group in a half, at most: no package fills a set (16,631 gcloud pages)


@dataclass
class Item:
    name: str                 # unique in its set: the file name under learn/ or test/
    group: str                # the split key
    data: bytes
    records: list = field(default_factory=list)   # json/csv: what the large file re-renders


def digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name.replace("/", "__"))


def target_size(name: str) -> int:
    """A size to cut a group of records at: log-uniform in 400 B .. 4 KiB, by hash (most near 1 KB)."""
    return int(400 * 10 ** (digest(name) % 1000 / 1000))


def source_packages() -> dict[str, str]:
    """Binary package -> source package, from dpkg (the changelog and copyright groups)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${source:Package}\n"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def owners() -> dict[str, str]:
    """Installed path -> its source package, from dpkg's file lists."""
    sources, found = source_packages(), {}
    for listing in sorted(Path("/var/lib/dpkg/info").glob("*.list")):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            found[line] = sources.get(package, package)
    return found


def doc_files(name: str) -> list[tuple[str, Path]]:
    """(package, path) of /usr/share/doc/PACKAGE/name, real files only (links are copies)."""
    found = sorted(Path("/usr/share/doc").glob(f"*/{name}"))
    return [(p.parent.name, p) for p in found if p.is_file() and not p.is_symlink()]


# --------------------------------------------------------------------------- sources

def man_items():
    owner = owners()
    for section in ("man1", "man5", "man7", "man8"):
        for path in sorted(Path("/usr/share/man", section).glob("*.gz")):
            if path.is_file() and not path.is_symlink():
                data = gzip.decompress(path.read_bytes())
                if not data.startswith(b".so "):          # a one-line redirect to another page
                    name = f"{section}/{path.name[:-3]}"
                    yield Item(name, owner.get(str(path), name), data)


ENTRY = re.compile(rb"^(?=[a-z0-9][a-z0-9.+-]* \([^)]*\) [^\n]*;[^\n]*urgency=)", re.M)


def changelog_items():
    for package, path in doc_files("changelog.Debian.gz"):
        text = gzip.decompress(path.read_bytes())
        starts = [m.start() for m in ENTRY.finditer(text)]
        for start, end in zip(starts, starts[1:] + [len(text)]):
            entry = text[start:end]
            source, version = entry.split(b" ", 1)[0].decode(), entry.split(b"(", 1)[1].split(b")")[0]
            yield Item(f"{source}/{version.decode(errors='replace')}.txt", source, entry)


def copyright_items():
    sources = source_packages()
    for package, path in doc_files("copyright"):
        yield Item(f"{package}.copyright", sources.get(package, package), path.read_bytes())


def python_items():
    root = Path("/usr/lib/python3/dist-packages")
    for path in sorted(root.rglob("*.py")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            name = str(path.relative_to(root))
            yield Item(name, name, path.read_bytes())


def iso_codes() -> dict[str, list[dict]]:
    """The standards of iso-codes' JSON file (one JSON object per standard, concatenated)."""
    text = (TRAIN / "structured_iso_codes.json").read_text(encoding="utf-8")
    standards, decoder, i = {}, json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return standards
        obj, i = decoder.raw_decode(text, i)
        standards.update({k: v for k, v in obj.items() if isinstance(v, list)})


def render_json(standard: str, records: list[dict]) -> bytes:
    return (json.dumps({standard: records}, indent=2, ensure_ascii=False) + "\n").encode()


def json_items():
    codes = iso_codes()
    keys = {"3166-2": lambda r: r["code"].split("-")[0], "639-3": lambda r: r["alpha_3"][:2]}
    for standard, key in keys.items():
        groups: dict[str, list] = {}
        for record in codes[standard]:
            groups.setdefault(key(record), []).append(record)
        for group, records in sorted(groups.items()):
            parts = [records]                      # a big country: parts of at most 8 KiB
            while len(render_json(standard, parts[-1])) > LARGEST and len(parts[-1]) > 1:
                last = parts.pop()
                parts += [last[:len(last) // 2], last[len(last) // 2:]]
            for n, part in enumerate(sorted(parts, key=lambda p: p[0].get("code", p[0].get("alpha_3")))):
                name = f"{standard}/{group}" + (f"-{n + 1}" if len(parts) > 1 else "") + ".json"
                yield Item(name, f"{standard}/{group}", render_json(standard, part), [(standard, part)])


HEADWORD = re.compile(r"^(\S[^\\\n]*?) \\([^\\\n]*)\\,?\s*(.*)$")
POS = re.compile(r"^((?:[a-z]{1,6}\.\s?){1,3})")
SOURCE = re.compile(r"\[(1913 Webster|WordNet[^\]]*|Webster 1913 Suppl\.|PJC|Century Dict\.)\]")
CSV_HEADER = ["headword", "pronunciation", "part_of_speech", "definition", "source"]


def gcide_rows():
    """(byte offset, CSV row) per GCIDE entry, outside the primer's slice."""
    raw = (TRAIN / "english_gcide.txt").read_bytes()
    offset, entry = 0, None
    for line in io.BytesIO(raw):
        text = line.decode("utf-8", errors="replace").rstrip("\n")
        match = HEADWORD.match(text)
        if match or not text.strip():
            if entry and entry[1][3]:
                yield entry
            entry = None
        if match:
            word, pron, rest = match.groups()
            entry = (offset, [word, pron, "", rest, ""])
        elif entry and text.strip():
            entry[1][3] += " " + text.strip()
        offset += len(line)
    if entry and entry[1][3]:
        yield entry


def tidy_row(row: list[str]) -> list[str]:
    word, pron, _, body, _ = row
    sources = SOURCE.findall(body)
    body = " ".join(SOURCE.sub("", body).split())
    pos = POS.match(body)
    return [word, pron, pos.group(1).strip() if pos else "", body[pos.end():] if pos else body,
            sources[-1] if sources else ""]


def render_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def csv_items():
    chunk: list = []
    for offset, row in gcide_rows():
        if PRIMER_SLICE[0] <= offset < PRIMER_SLICE[1]:
            continue
        chunk.append(tidy_row(row))
        name = f"gcide/{chunk[0][0]}-{offset}"
        if len(render_csv(chunk)) >= min(target_size(name), LARGEST - 1024):
            yield Item(f"{safe(name)}.csv", name, render_csv(chunk), chunk)
            chunk = []


def join_data(items: list[Item]) -> bytes:
    return b"".join(item.data for item in items)


def join_records(items: list[Item]) -> bytes:
    """The large file of a json or csv set: every record of the items as one document."""
    if items[0].name.endswith(".csv"):
        return render_csv([row for item in items for row in item.records])
    merged: dict[str, list] = {}
    for item in items:
        for standard, records in item.records:
            merged.setdefault(standard, []).extend(records)
    return b"".join(render_json(standard, records) for standard, records in merged.items())


@dataclass
class SetSpec:
    items: object             # () -> iterable of Item
    ext: str                  # the large file's extension
    join: object              # [Item] -> the large file's bytes
    source: str
    learn_one_in: int = 2     # a group goes to learn/ when its hash is 0 modulo this


SETS = {
    "man": SetSpec(man_items, "man", join_data, "/usr/share/man/man{1,5,7,8}/*.gz, decompressed (roff)"),
    "changelog": SetSpec(changelog_items, "txt", join_data,
                         "entries of /usr/share/doc/*/changelog.Debian.gz, decompressed; grouped by source package"),
    "copyright": SetSpec(copyright_items, "txt", join_data,
                         "/usr/share/doc/*/copyright; grouped by source package (dpkg-query)"),
    "python": SetSpec(python_items, "py", join_data, "/usr/lib/python3/dist-packages/**/*.py"),
    "json": SetSpec(json_items, "json", join_records,
                    "train/structured_iso_codes.json (Debian iso-codes): ISO 3166-2 by country, "
                    "ISO 639-3 by 2-letter prefix, indent 2; a quarter of the groups on the learn side, "
                    "so that the rest makes a large file", learn_one_in=4),
    "csv": SetSpec(csv_items, "csv", join_records,
                   "train/english_gcide.txt (GCIDE) entries as CSV rows, runs of ~0.4-4 KB; "
                   f"bytes {PRIMER_SLICE[0]:,}-{PRIMER_SLICE[1]:,} (primer text-1's slice) left out"),
}


# --------------------------------------------------------------------------- split and write

def unique(items) -> list[Item]:
    """Items in name order, each content once (the first name keeps it), each under a file name of
    its own (two changelogs may hold one version of a package with different text: name-2.txt)."""
    seen, names, out = set(), set(), []
    for item in sorted(items, key=lambda i: i.name):
        key = hashlib.sha256(item.data).digest()
        if key in seen or not item.data:
            continue
        seen.add(key)
        item.name, n = safe(item.name), 1
        stem, dot, ext = item.name.rpartition(".") if "." in item.name else (item.name, "", "")
        while item.name in names:
            n += 1
            item.name = f"{stem}-{n}{dot}{ext}"
        names.add(item.name)
        out.append(item)
    return out


def split(set_name: str, items: list[Item], per_half: int, one_in: int):
    """(learn, test, spare): spare are the test side's items that test/ did not take."""
    learn_side = [i for i in items if digest(f"{set_name}:{i.group}") % one_in == 0]
    test_side = [i for i in items if digest(f"{set_name}:{i.group}") % one_in != 0]

    def take(side):
        small = [i for i in interleaved(side) if SMALLEST <= len(i.data) <= LARGEST]
        return sorted(small[:per_half], key=lambda i: i.name)
    learn, test = take(learn_side), take(test_side)
    taken = {i.name for i in test}
    return learn, test, [i for i in interleaved(test_side) if i.name not in taken]


def interleaved(items: list[Item]) -> list[Item]:
    """Items by hash, each group's first PER_GROUP before any group's next (the large file's
    order too, so that it mixes groups as the halves do)."""
    rank: dict[str, int] = {}
    ordered = []
    for item in sorted(items, key=lambda i: digest(i.name)):
        rank[item.group] = rank.get(item.group, 0) + 1
        ordered.append((rank[item.group] > PER_GROUP, digest(item.name), item))
    return [item for _, _, item in sorted(ordered, key=lambda t: t[:2])]


def large_file(spare: list[Item], test: list[Item], join) -> tuple[bytes, int]:
    """(bytes, items used): spare items first, then test/'s, until LARGE_SIZE."""
    chosen, size, large = [], 0, b""
    for item in spare + test:
        chosen.append(item)
        size += len(item.data)
        if size >= LARGE_SIZE:        # joining may drop a little (csv: one header, not one a file)
            large = join(chosen)
            if len(large) >= LARGE_SIZE:
                break
    return large or join(chosen), len(chosen)


def write_set(out: Path, set_name: str, per_half: int) -> dict:
    spec = SETS[set_name]
    items = unique(spec.items())
    learn, test, spare = split(set_name, items, per_half, spec.learn_one_in)
    folder = out / set_name
    for half, members in (("learn", learn), ("test", test)):
        (folder / half).mkdir(parents=True)
        for item in members:
            (folder / half / item.name).write_bytes(item.data)
    large, used = large_file(spare, test, spec.join)
    (folder / "large").mkdir()
    (folder / "large" / f"{set_name}-large.{spec.ext}").write_bytes(large)
    sizes = {half: [len(i.data) for i in members] for half, members in (("learn", learn), ("test", test))}
    return {"set": set_name, "source": spec.source, "candidates": len(items), "sizes": sizes,
            "large": len(large), "large_items": used, "large_from_test": max(0, used - len(spare))}


def manifest(out: Path, summaries: list[dict], argv: list[str]) -> None:
    lines = ["# Small-file evaluation sets (issue 24)", "",
             f"Built by `python tools/make_small_sets.py {' '.join(argv)}` (shoal repository); "
             "every file's SHA-256 is in SHA256SUMS (`sha256sum -c SHA256SUMS` here checks them).",
             "learn/ is for learning (zstd --train, shoal learn); test/ and large/ are for evaluation only.", "",
             "| set | half | files | bytes | min | median | max |", "|---|---|---:|---:|---:|---:|---:|"]
    for s in summaries:
        for half, sizes in s["sizes"].items():
            lines.append(f"| {s['set']} | {half} | {len(sizes)} | {sum(sizes):,} | {min(sizes):,} | "
                         f"{int(statistics.median(sizes)):,} | {max(sizes):,} |")
        lines.append(f"| {s['set']} | large | 1 | {s['large']:,} | | | |")
    lines += ["", "## Sources", ""]
    for s in summaries:
        lines.append(f"- **{s['set']}**: {s['source']}. {s['candidates']:,} distinct items; the large file "
                     f"joins {s['large_items']} test-side items ({s['large_from_test']} of them also in test/).")
    (out / "MANIFEST.md").write_text("\n".join(lines) + "\n")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out)}"
            for p in sorted(out.rglob("*")) if p.is_file() and p.name not in ("MANIFEST.md", "SHA256SUMS")]
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="make_small_sets.py", description=__doc__.split("\n")[0],
                                 epilog="\n".join(__doc__.split("\n")[2:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--sets", default=",".join(SETS), help=f"sets to build (default {','.join(SETS)})")
    ap.add_argument("--per-half", type=int, default=150, help="files in learn/ and in test/ each (default 150)")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(SETS)}")
    if args.out.exists():
        if not args.force:
            ap.error(f"{args.out} exists (--force replaces it)")
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    summaries = []
    for name in names:
        summaries.append(write_set(args.out, name, args.per_half))
        s = summaries[-1]
        print(f"{name}: learn {len(s['sizes']['learn'])}, test {len(s['sizes']['test'])} files; "
              f"large {s['large']:,} bytes", file=sys.stderr)
    manifest(args.out, summaries, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
