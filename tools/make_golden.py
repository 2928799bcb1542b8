#!/usr/bin/env python
"""Golden archives: small archives that pin what shoal writes, so that every
later shoal proves it still decodes them (tests/test_golden.py decodes them
all in a fresh process and checks each against MANIFEST.json).

    python tools/make_golden.py              # add the archives that are missing
    python tools/make_golden.py --dry-run    # say which ones would be added
    python tools/make_golden.py --compare    # also: does today's writer still make the same bytes?

Golden archives never change.  This script never overwrites or removes one:
it adds the archives that are missing and says so.  A level's archives are
named by the level and the first 8 hex digits of its preset's digest
(level6.8b43c6cf.text.shoal), so when a release redefines a level (and
retires the old one to shoal/school/presets/retired/), running the script
again adds archives of the new definition beside the old ones, which then
prove that the retired definition still decodes.  A change of the container
that keeps the presets' digests needs new names here (a new entry in
_plans()).

The inputs lie in tests/golden/inputs/ (a few KB each).  They are generated
here, deterministically, only when missing; the files, not this code, are
what later archives are made from, and MANIFEST.json records the SHA-256 and
length of each archive's original.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import shoal  # noqa: E402
from shoal import school, school_file  # noqa: E402
from shoal.codec import container  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_inputs import INPUT_MAKERS  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
INPUTS = GOLDEN / "inputs"
MANIFEST = GOLDEN / "MANIFEST.json"
RETIRED = ROOT / "shoal" / "school" / "presets" / "retired"
EVOLVED = ROOT / "docs" / "evolve" / "evolved_level6.yaml"
# school files that golden archives of identity kind 2 name; the decoding
# test finds them through $SHOAL_SCHOOL_PATH
SCHOOLS = GOLDEN / "schools"


# ---- inputs: generated once (golden_inputs.py), then read from the files --------

def inputs(dry_run: bool = False) -> dict[str, bytes]:
    """Every input, from tests/golden/inputs/ (written there first if missing)."""
    out = {}
    for name, make in INPUT_MAKERS.items():
        path = INPUTS / name
        if path.exists():
            out[name] = path.read_bytes()
            continue
        out[name] = make()
        print(f"{'would add' if dry_run else 'added'} input {path.relative_to(ROOT)} ({len(out[name])} bytes)")
        if not dry_run:
            INPUTS.mkdir(parents=True, exist_ok=True)
            _write_new(path, out[name])
    return out


# ---- archives --------------------------------------------------------------------

@dataclass
class Plan:
    name: str                    # file name in tests/golden/
    input: str                   # file name in tests/golden/inputs/
    made_by: dict                # what made it: how, preset, options
    make: Callable[[bytes], bytes]
    decode_threads: list = field(default_factory=lambda: [1])


def _stream(name: bytes, preset: school.Preset, data: bytes, block_size: int | None = None) -> bytes:
    """One stream written frame by frame, the way api.compress writes it, but
    with a header naming the preset by `name` (a level's name, or its JSON)."""
    size = block_size or preset.block_size
    out = [container.encode_header(name, preset.digest, size, len(data))]
    for i in range(0, len(data), size):
        block = data[i:i + size]
        kind = school.block_kind(block, preset)
        out.append(container.encode_block(block, school.compress_block(block, preset.school(kind)), kind))
    out.append(container.encode_end(len(data), zlib.crc32(data)))
    return b"".join(out)


def _short_digest(preset: school.Preset) -> str:
    return preset.digest.hex()[:8]


def _retired() -> list[tuple[str, int, school.Preset]]:
    """(file stem, level, preset) of every retired level, e.g. ("level6-1", 6, ...)."""
    out = []
    for path in sorted(RETIRED.glob("level*-*.yaml")):
        n = int(path.stem[len("level"):].split("-")[0])
        # from_dict, like school.retired_level: the general compiled loop
        out.append((path.stem, n, school.from_dict(yaml.safe_load(path.read_text()))))
    return out


def _plans() -> list[Plan]:
    plans = []
    for n in range(1, 10):
        preset = school.level(n)
        # binary.bin is x86-like code: to a preset that tells x86 blocks apart,
        # int32.bin is its other binary input
        other = (("int32", "int32.bin"),) if "x86" in preset.kinds else ()
        other += (("records", "records.json"),) if "structured" in preset.kinds else ()
        for kind, source in (("text", "text.txt"), ("binary", "binary.bin")) + other:
            plans.append(Plan(f"level{n}.{_short_digest(preset)}.{kind}.shoal", source,
                              {"how": f"shoal.compress(data, {n})", "preset": f"level{n}",
                               "preset_digest": preset.digest.hex(), "options": {"level": n},
                               "schools": len(preset.kinds)},
                              lambda data, n=n: shoal.compress(data, n)))
    level6 = school.level(6)
    for kind, source in (("records", "records.json"), ("int32", "int32.bin"), ("short", "short.txt"),
                         ("one-byte", "one.bin"), ("empty", "empty.bin")):
        plans.append(Plan(f"level6.{_short_digest(level6)}.{kind}.shoal", source,
                          {"how": "shoal.compress(data, 6)", "preset": "level6",
                           "preset_digest": level6.digest.hex(), "options": {"level": 6}},
                          lambda data: shoal.compress(data, 6)))

    for stem, n, preset in _retired():
        for kind, source in (("text", "text.txt"), ("binary", "binary.bin")):
            plans.append(Plan(f"retired-{stem}.{_short_digest(preset)}.{kind}.shoal", source,
                              {"how": "a stream as the release that shipped this level wrote it: header names "
                                      f"b'level{n}' with the retired preset's digest; school.school_for, "
                                      "school.compress_block, container.encode_block per block",
                               "preset": f"level{n}", "retired": f"shoal/school/presets/retired/{stem}.yaml",
                               "preset_digest": preset.digest.hex(), "options": {"level": n},
                               "schools": len(preset.kinds)},
                              lambda data, n=n, preset=preset: _stream(f"level{n}".encode(), preset, data)))

    evolved = school.from_dict(yaml.safe_load(EVOLVED.read_text()))
    plans.append(Plan(f"custom-deflated.{_short_digest(evolved)}.text.shoal", "text.txt",
                      {"how": "shoal.compress(data, preset=<dict of docs/evolve/evolved_level6.yaml>): the header "
                              "carries the canonical JSON deflated against shoal/data/preset_dictionary.txt",
                       "preset": "docs/evolve/evolved_level6.yaml", "preset_digest": evolved.digest.hex(),
                       "options": {"preset": "docs/evolve/evolved_level6.yaml"}},
                      lambda data: shoal.compress(data, preset=yaml.safe_load(EVOLVED.read_text()))))
    small = {"block_size": 1 << 16, "fish": [{"kind": "order", "arg": 1, "bits": 12},
                                               {"kind": "order", "arg": 2, "bits": 16},
                                               {"kind": "match", "min_len": 5, "bits": 16}]}
    tiny = school.from_dict(small)
    plans.append(Plan(f"custom-json.{_short_digest(tiny)}.text.shoal", "text.txt",
                      {"how": "a stream whose header carries the preset's canonical JSON as is (today's writer "
                              "deflates it; an older writer did not): _stream(preset.canonical, preset, data)",
                       "preset": small, "preset_digest": tiny.digest.hex(), "options": {"preset": small}},
                      lambda data: _stream(tiny.canonical, tiny, data)))

    # since 2026-12-05 (afternoon) --neural keeps the level's primer, which
    # its lanes start from, and falls back to the level alone where the fish
    # does not pay.  On this input, in 16 lanes, level 6's block falls back
    # (payload byte 0) and level 1's keeps the fish (byte 1); in one lane,
    # --neural's since that afternoon, level 6's keeps the fish
    # (all three with the first shipped fish, text-2x128, --neural's then;
    # the one-lane archive carries its preset, which today's writer names
    # by id instead: the next plans)
    first = school.neural.FIRST_FISH
    for n, lanes in ((6, 16), (1, 16), (6, 1)):
        neural = school.with_neural(n, fish=first, lanes=lanes, tables=None)
        plans.append(Plan(f"neural-level{n}.{_short_digest(neural)}.text.shoal", "text.txt[:1536]",
                          {"how": f"shoal.compress(data, preset=school.with_neural({n}, lanes={lanes})) (the "
                                  f"shipped fish, {lanes} lane{'s' if lanes > 1 else ''})",
                           "preset": f"with_neural({n}, lanes={lanes})", "preset_digest": neural.digest.hex(),
                           "neural_fish": neural.neural, "options": {"level": n, "neural": True}},
                          lambda data, n=n, lanes=lanes: shoal.compress(
                              data, preset=school.with_neural(n, fish=first, lanes=lanes, tables=None))))

    # since the same afternoon an archive names --neural's level N by a
    # one-byte id ("neural-level<N>"), not by carrying its preset: with the
    # first shipped fish (ids 25-33), then with english-2x192 (ids 34-42),
    # then (that evening) with english-2x192-24k (ids 43-51), then
    # (2026-12-06) with the school's tables held to fit 21 (ids 52-60)
    english_24k = school.neural.SHIPPED / "english-2x192-24k.safetensors"
    for fish, tables in ((school.neural.FIRST_FISH, None), (school.neural.SHIPPED / "english-2x192.safetensors", None),
                         (english_24k, None), (english_24k, school.levels.NEURAL_TABLES)):
        neural = school.with_neural(6, fish=fish, tables=tables)
        plans.append(Plan(f"named-neural-level6.{_short_digest(neural)}.text.shoal", "text.txt[:1536]",
                          {"how": f"shoal.compress(data, preset=school.with_neural(6)) (the shipped fish "
                                  f"{fish.stem}, one lane, tables {tables or 'as the level'}; the header names "
                                  "the preset by its one-byte id)",
                           "preset": "with_neural(6)", "preset_digest": neural.digest.hex(),
                           "neural_fish": neural.neural, "options": {"level": 6, "neural": True}},
                          lambda data, fish=fish, tables=tables: shoal.compress(
                              data, preset=school.with_neural(6, fish=fish, tables=tables))))
    # a school with its fish held to smaller tables than the block's (fit 14:
    # level 6's primer and this block fit 18): the preset carried
    held = school.with_neural(6, fish=english_24k, tables=14)
    plans.append(Plan(f"neural-tables14-level6.{_short_digest(held)}.text.shoal", "text.txt[:1536]",
                      {"how": "shoal.compress(data, preset=school.with_neural(6, tables=14)) (the shipped fish "
                              "english-2x192-24k, one lane, the school's tables held to fit 14; the header "
                              "carries the preset)",
                       "preset": "with_neural(6, tables=14)", "preset_digest": held.digest.hex(),
                       "neural_fish": held.neural, "options": {"level": 6, "neural": True}},
                      lambda data: shoal.compress(data, preset=school.with_neural(6, fish=english_24k, tables=14))))

    plans.append(Plan(f"multiblock-level6.{_short_digest(level6)}.mixed.shoal", "mixed.bin",
                      {"how": "shoal.compress(data, 6, threads=2, block_size=1024): 5 blocks, text and binary",
                       "preset": "level6", "preset_digest": level6.digest.hex(),
                       "options": {"level": 6, "threads": 2, "block_size": 1024}},
                      lambda data: shoal.compress(data, 6, threads=2, block_size=1024), decode_threads=[1, 2]))
    plans.append(Plan(f"streaming-level6.{_short_digest(level6)}.text.shoal", "text.txt",
                      {"how": "c = shoal.ShoalCompressor(6); c.compress(data) + c.flush(): the header does not "
                              "record the original size", "preset": "level6", "preset_digest": level6.digest.hex(),
                       "options": {"level": 6, "streaming": True}},
                      _streaming))
    level1 = school.level(1)
    plans.append(Plan(f"concatenated-level1.{_short_digest(level1)}-level6.{_short_digest(level6)}.shoal",
                      "text.txt + binary.bin",
                      {"how": "shoal.compress(text, 1) + shoal.compress(binary, 6): two streams joined; "
                              "the original is text.txt then binary.bin",
                       "preset": ["level1", "level6"], "preset_digest": [level1.digest.hex(), level6.digest.hex()],
                       "options": [{"level": 1}, {"level": 6}]},
                      None))
    return plans + _version2_plans()


def _version2_plans() -> list[Plan]:
    """Format version 2 (docs/format.md): the one-block form, the framed form
    with and without the size, a carried preset, and the coder's one-byte
    flush, which shoal writes since 2026-12-04."""
    plans = []

    def add(name, source, how, preset_name, preset, options, make, decode_threads=(1,)):
        plans.append(Plan(f"v2-{name}", source,
                          {"how": how, "format": 2, "preset": preset_name, "preset_digest": preset.digest.hex(),
                           "options": options}, make, list(decode_threads)))

    for n in (1, 6, 9):
        preset = school.level(n)
        add(f"level{n}.{_short_digest(preset)}.text.shoal", "text.txt", f"shoal.compress(data, {n}): one-block form",
            f"level{n}", preset, {"level": n}, lambda data, n=n: shoal.compress(data, n))
    level6 = school.level(6)
    for kind, source in (("binary", "binary.bin"), ("short", "short.txt"), ("one-byte", "one.bin"),
                         ("empty", "empty.bin")):
        add(f"level6.{_short_digest(level6)}.{kind}.shoal", source, "shoal.compress(data, 6): one-block form",
            "level6", level6, {"level": 6}, lambda data: shoal.compress(data, 6))
    add(f"multiblock-level6.{_short_digest(level6)}.mixed.shoal", "mixed.bin",
        "shoal.compress(data, 6, threads=2, block_size=1024): the framed form, 5 blocks, text and binary",
        "level6", level6, {"level": 6, "threads": 2, "block_size": 1024},
        lambda data: shoal.compress(data, 6, threads=2, block_size=1024), (1, 2))
    if "x86" in level6.kinds:
        add(f"multiblock-level6.{_short_digest(level6)}.kinds.shoal", "kinds.bin",
            "shoal.compress(data, 6, block_size=1024): the framed form, 6 blocks coded by its text, x86 and "
            "binary schools (block types 2, 4, 3)", "level6", level6, {"level": 6, "block_size": 1024},
            lambda data: shoal.compress(data, 6, block_size=1024), (1, 2))
    kinds = school.from_dict(FOUR_KINDS)
    add(f"multiblock-custom-kinds.{_short_digest(kinds)}.four-kinds.shoal", "four-kinds.bin",
        "shoal.compress(data, preset=FOUR_KINDS, block_size=1024) (tools/make_golden.py): the preset carried, "
        "the framed form, blocks coded by its structured, text, x86 and binary schools (types 5, 2, 4, 3)",
        FOUR_KINDS, kinds, {"preset": FOUR_KINDS, "block_size": 1024},
        lambda data: shoal.compress(data, preset=FOUR_KINDS, block_size=1024), (1, 2))
    add(f"streaming-level6.{_short_digest(level6)}.text.shoal", "text.txt",
        "c = shoal.ShoalCompressor(6, block_size=1024); c.compress(data) + c.flush(): the framed form "
        "without the original size", "level6", level6, {"level": 6, "streaming": True, "block_size": 1024},
        lambda data: _streaming(data, 1024))
    evolved = school.from_dict(yaml.safe_load(EVOLVED.read_text()))
    add(f"custom-deflated.{_short_digest(evolved)}.text.shoal", "text.txt",
        "shoal.compress(data, preset=<dict of docs/evolve/evolved_level6.yaml>): one-block form, the preset "
        "carried (identity kind 1), deflated", "docs/evolve/evolved_level6.yaml", evolved,
        {"preset": "docs/evolve/evolved_level6.yaml"},
        lambda data: shoal.compress(data, preset=yaml.safe_load(EVOLVED.read_text())))
    learned = _golden_school()
    add(f"school-{learned.id}.short.shoal", "short.txt",
        f"shoal.compress(data, school=tests/golden/schools/{Path(learned.path).name}): one-block form, the school "
        "file named by its id (identity kind 2)", f"school {learned.id}", learned.preset,
        {"school": Path(learned.path).name}, lambda data: shoal.compress(data, school=learned))
    add(f"school-{learned.id}.multiblock.records.shoal", "records.json",
        f"shoal.compress(data, school=tests/golden/schools/{Path(learned.path).name}, block_size=1024): the "
        "framed form, identity kind 2", f"school {learned.id}", learned.preset,
        {"school": Path(learned.path).name, "block_size": 1024},
        lambda data: shoal.compress(data, school=learned, block_size=1024), (1, 2))
    growing = _golden_school(GROWING_SCHOOL)
    add(f"school-{growing.id}.large.shoal", LARGE_INPUT,
        f"shoal.compress(data, school=tests/golden/schools/{Path(growing.path).name}): one block of 1.1 MB, "
        "started from the school its primer left grown to the block's tables (primer grow: true)",
        f"school {growing.id}", growing.preset, {"school": Path(growing.path).name},
        lambda data: shoal.compress(data, school=growing))
    return plans


# a block large enough (over 1 MiB with the primer) to start from a grown
# school: made from the lines of text.txt and records.json, numbered
LARGE_INPUT = "lines of text.txt and records.json, numbered, to 1,100,000 bytes"


def _large(data: dict[str, bytes]) -> bytes:
    lines = (data["text.txt"] + data["records.json"]).splitlines()
    out, size, i = [], 0, 0
    while size < 1_100_000:
        out.append(b"%07d %s\n" % (i * 7919 % 1_000_003, lines[i % len(lines)]))
        size += len(out[-1])
        i += 1
    return b"".join(out)[:1_100_000]


# a small preset with a school for each kind of block (school/kinds.py)
FOUR_KINDS = {"block_size": 1 << 16, "fish": [
    {"kind": "order", "arg": 1, "bits": 12}, {"kind": "order", "arg": 2, "bits": 16},
    {"kind": "word", "arg": 0, "bits": 14, "only": "other-text"},
    {"kind": "struct", "arg": 0, "bits": 14, "only": "structured"},
    {"kind": "x86", "arg": 0, "bits": 14, "only": "x86"},
    {"kind": "record", "arg": 3, "bits": 14, "only": "other-binary"},
    {"kind": "match", "min_len": 5, "bits": 16}]}


# the golden school files' names: "records" was written before school
# files grew their primer for large blocks, "records-grow" after (2026-12-05)
RECORDS_SCHOOL, GROWING_SCHOOL = "records", "records-grow"


def _golden_school(name: str = RECORDS_SCHOOL) -> school_file.SchoolFile:
    """A school file golden archives name: made once (level 6's preset as of
    2026-12-04 for "records", of 2026-12-05 for "records-grow", and the first
    4 KiB of records.json for its primer), then only ever read."""
    SCHOOLS.mkdir(exist_ok=True)
    found = [p for p in sorted(SCHOOLS.glob(f"{name}-*.school")) if p.stem.rsplit("-", 1)[0] == name]
    if found:
        return school_file.read(found[0])
    spec = json.loads(school.level(6).canonical)
    made = school_file.write(SCHOOLS / "new.school", spec, (INPUTS / "records.json").read_bytes()[:4096],
                             {"made_by": "tools/make_golden.py", "primer": "tests/golden/inputs/records.json[:4096]"})
    assert (name == GROWING_SCHOOL) == bool(made.preset.primer.get("grow"))
    path = SCHOOLS / f"{name}-{made.id}.school"
    (SCHOOLS / "new.school").rename(path)
    return school_file.read(path)


def _streaming(data: bytes, block_size: int | None = None) -> bytes:
    c = shoal.ShoalCompressor(6, block_size=block_size)
    return c.compress(data) + c.flush()


def _original(plan: Plan, data: dict[str, bytes]) -> bytes:
    if plan.input == "text.txt + binary.bin":
        return data["text.txt"] + data["binary.bin"]
    if plan.input == LARGE_INPUT:
        return _large(data)
    if plan.input == "text.txt[:1536]":          # neural decoding is slow: 1.5 KB
        return data["text.txt"][:1536]
    return data[plan.input]


def _make(plan: Plan, data: dict[str, bytes]) -> bytes:
    if plan.input == "text.txt + binary.bin":
        return shoal.compress(data["text.txt"], 1) + shoal.compress(data["binary.bin"], 6)
    return plan.make(_original(plan, data))


# ---- files ------------------------------------------------------------------------

def _write_new(path: Path, content: bytes) -> None:
    """Write a file that must not exist yet (never overwrite a golden file)."""
    with open(path, "xb") as f:
        f.write(content)


def _sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _written_by() -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"shoal": getattr(shoal, "__version__", None), "commit": commit, "date": time.strftime("%Y-%m-%d")}


def load_manifest() -> dict:
    if MANIFEST.exists():
        return json.loads(MANIFEST.read_text())
    return {"about": "Golden archives: never edited or removed; tools/make_golden.py adds new ones. "
                     "tests/test_golden.py decodes each in a fresh process and checks it against this manifest.",
            "archives": []}


def save_manifest(manifest: dict) -> None:
    """One line per archive and per input, so that adding one adds a line."""
    def lines(items):
        return ",\n".join(f"  {item}" for item in items)
    inputs = lines(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in manifest.get("inputs", {}).items())
    archives = lines(json.dumps(entry) for entry in manifest["archives"])
    text = (f'{{\n "about": {json.dumps(manifest["about"])},\n "inputs": {{\n{inputs}\n }},\n'
            f' "archives": [\n{archives}\n ]\n}}\n')
    assert json.loads(text) == manifest
    tmp = MANIFEST.with_suffix(".json.tmp")
    tmp.write_text(text)
    os.replace(tmp, MANIFEST)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="only say which archives would be added")
    parser.add_argument("--compare", action="store_true",
                        help="also make the existing archives again and say whether today's writer "
                             "makes the same bytes")
    args = parser.parse_args(argv)

    manifest = load_manifest()
    listed = {entry["file"]: entry for entry in manifest["archives"]}
    problems = 0
    for name in listed:
        if not (GOLDEN / name).exists():
            print(f"ERROR: {name} is in the manifest but missing: golden archives are never removed")
            problems += 1
    for path in sorted(GOLDEN.glob("*.shoal")):
        if path.name not in listed:
            print(f"ERROR: {path.name} is not in the manifest (left as it is)")
            problems += 1

    data = inputs(args.dry_run)
    for name, content in data.items():
        recorded = manifest.get("inputs", {}).get(name)
        if recorded and recorded["sha256"] != _sha256(content):
            print(f"ERROR: input {name} is not the file the manifest records")
            problems += 1
    if problems:
        return 1

    added = 0
    written_by = _written_by()
    for plan in _plans():
        path = GOLDEN / plan.name
        if path.exists():
            if args.compare:
                t = time.perf_counter()
                same = _make(plan, data) == path.read_bytes()
                print(f"kept   {plan.name}: today's writer makes {'the same bytes' if same else 'OTHER BYTES'}"
                      f" ({time.perf_counter() - t:.1f} s)")
            continue
        if args.dry_run:
            print(f"would add {plan.name}")
            continue
        t = time.perf_counter()
        original = _original(plan, data)
        blob = _make(plan, data)
        for threads in plan.decode_threads:
            if shoal.decompress(blob, threads=threads) != original:
                raise SystemExit(f"{plan.name}: does not decode to its original (threads={threads}): not written")
        _write_new(path, blob)
        manifest["archives"].append({
            "file": plan.name, "archive_sha256": _sha256(blob), "archive_length": len(blob),
            "input": plan.input, "original_sha256": _sha256(original), "original_length": len(original),
            "made_by": plan.made_by, "decode_threads": plan.decode_threads, "written_by": written_by})
        manifest.setdefault("inputs", {})
        for name, content in data.items():
            manifest["inputs"].setdefault(name, {"sha256": _sha256(content), "length": len(content)})
        save_manifest(manifest)               # after each one: an interrupted run keeps what it made
        added += 1
        print(f"added  {plan.name} ({len(blob)} bytes from {len(original)}, {time.perf_counter() - t:.1f} s)")
    print(f"{added} golden archive(s) added, {len(manifest['archives'])} in {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
