"""The fuzz campaign's crafted archives (bench/fuzz.py), part 2: archives that
name the unknown or lie about themselves, with valid checksums.

Presets of new shapes, unknown level names, wrong digests, missing neural
fish, presets that name files, malformed JSON, header and block fields
out of range, another model version, streams of mixed kinds concatenated,
and inputs too short to be archives.  Each returns (blob, outputs, what it
is, fuzz_craft.Expect).
"""
from __future__ import annotations

import json

from bench.fuzz_archive import (End, Frame, Header, MAGIC, U32, coded, crc, encode, parse, seed_inputs,
                                stored, stream)
from bench.fuzz_craft import Expect, REFUSAL_GROWTH_MB, canon, digest_of, garbage_blocks, json_preset
from bench.fuzz_mutate import deflate


def _random_fish(rng, n):
    from shoal.fish.contexts import KINDS
    fish = []
    for _ in range(n):
        kind = rng.choice(sorted(KINDS))
        fish.append({"kind": kind, "arg": rng.randrange(0, 10) if kind != "sparse" else rng.randrange(1, 1 << 16),
                     "bits": rng.randrange(10, 23)})
    if rng.random() < 0.5:
        fish.append({"kind": "match", "min_len": rng.randrange(2, 65), "bits": rng.randrange(10, 23)})
    if rng.random() < 0.5:
        fish.append({"kind": "column"})
    return fish


def _random_preset(rng) -> dict:
    from shoal.school import layout
    raw = {"fish": _random_fish(rng, rng.randrange(1, 14)), "lanes": rng.choice([1, 1, 1, 2, 5])}
    raw["mixer"] = {"gates": rng.sample(sorted(layout.GATES), rng.randrange(1, 4)), "lr": rng.randrange(1, 12),
                    "skip": rng.choice([0, 48, 128])}
    if rng.random() < 0.2:
        raw["mixer"].update(kind="attention", heads=rng.randrange(1, 4))
    if rng.random() < 0.3:
        raw["mixer"]["final"] = "votes"
    raw["apm"] = {"rate": rng.randrange(1, 15), "order2_bits": rng.randrange(8, 20)}
    return raw


def c_new_shape(rng, r):
    """A preset of a new shape (random fish list): a real archive decodes
    exactly; garbage blocks are refused."""
    import shoal
    raw = _random_preset(rng)
    if rng.random() < 0.7:
        data = seed_inputs()[rng.choice(["text", "json", "binary", "table"])][:rng.choice([300, 2500, 6000])]
        blob = shoal.compress(data, preset=raw, block_size=2048)
        return blob, [data], f"new shape, {len(raw['fish'])} fish, lanes {raw['lanes']}, real data", \
            Expect(ok=True, max_s=20)
    field_, digest, p = json_preset(raw)
    bs = 1 << rng.randrange(10, 21)
    blob = stream(field_, digest, bs, garbage_blocks(rng, rng.randrange(1, 4), bs, bs))
    return blob, [], f"new shape, {len(raw['fish'])} fish, garbage blocks of {bs:,}", Expect(max_s=10)


def c_level_name(rng, r):
    from shoal import school
    names = [b"level0", b"level10", b"level", b"LEVEL6", b"level6\x00", b"level 6", b"level06", b"level-1",
             b"level\xd9\xa6", b"{", b"z", b"[]", b"{}", b"\xff", b"level6level6", b"levels", b"null", b'"level6"']
    name = names[r] if r < len(names) else rng.choice(names + [rng.randbytes(rng.randrange(1, 40))])
    digest = school.level(6).digest if rng.random() < 0.5 else rng.randbytes(16)
    data = b"unknown level name"
    blob = stream(name, digest, 1 << 20, [stored(data)], len(data), total_crc=crc(data))
    return blob, [], f"preset name {name!r}", Expect(max_s=2.0)


def c_wrong_digest(rng, r):
    extreme = r == 0
    from shoal import school
    lvl = rng.randrange(1, 10)
    variant = "level" if extreme else rng.choice(["level", "level-zero", "json", "deflated", "json-other-digest"])
    p = school.level(lvl)
    data = seed_inputs()["text"][:2000]
    digest = rng.randbytes(16) if variant != "level-zero" else bytes(16)
    if variant.startswith("level"):
        preset = f"level{lvl}".encode()
    elif variant == "json":
        preset = p.canonical
    elif variant == "deflated":
        preset = deflate(p.canonical)
    else:
        preset, digest = p.canonical, school.level(1 + lvl % 9).digest
    blob = stream(preset, digest, 1 << 20, [stored(data)], len(data), total_crc=crc(data))
    return blob, [], f"level {lvl} preset as {variant}, wrong digest", Expect(max_s=2.0)


def c_neural_missing(rng, r):
    extreme = r == 0
    from shoal import school
    base = json.loads(school.level(1).canonical)
    digest = rng.choice(["0" * 32, rng.randbytes(16).hex()]) if extreme or rng.random() < 0.7 else \
        rng.choice(["", "x" * 32, "0" * 31, "0" * 64, 5, None])
    base["fish"].append({"kind": "neural", "digest": digest})
    base["lanes"] = 16
    try:                           # canonical when the preset is valid (a 32-digit digest)
        text = school.from_dict(base).canonical
    except Exception:              # noqa: BLE001: the reader must refuse it, whatever it is
        text = canon(base)
    preset = deflate(text) if rng.random() < 0.5 else text
    data = b"neural" * 100
    blob = stream(preset, digest_of(text), 1 << 20, [coded(len(data), rng.randbytes(32), crc(data))], len(data),
                  total_crc=crc(data))
    return blob, [], f"neural fish digest {digest!r} (not installed)", Expect(max_s=5.0)


def c_preset_names_file(rng, r):
    """A preset in an archive naming a file (a neural fish's "file", which
    canonical presets never carry): the reader must not open files an
    archive names (/dev/zero would be read forever)."""
    from shoal import school
    paths = ["/dev/zero", "/etc/hostname", "/nonexistent/x", "/proc/self/fd/0", "/dev/urandom", "/proc/self/environ",
             ".", "/"]
    path = paths[r % len(paths)]
    base = json.loads(school.level(1).canonical)
    base["fish"].append({"kind": "neural", "file": path})
    base["lanes"] = 16
    preset = canon(base)
    data = b"file " * 50
    blob = stream(preset, digest_of(preset), 1 << 20, [coded(len(data), rng.randbytes(32), crc(data))], len(data),
                  total_crc=crc(data))
    return blob, [], f"preset's neural fish names file {path}", Expect(max_s=2.0, max_grow_mb=REFUSAL_GROWTH_MB)


def c_bad_json(rng, r):
    extreme = r == 0
    from shoal import school
    canon = school.level(1).canonical.decode()
    variants = {
        "deep-nesting": "[" * 60000 + "]" * 5000,
        "deep-nesting-dict": '{"fish":' * 6000 + "1" + "}" * 6000,
        "huge-int": canon.replace('"lanes":1', '"lanes":1' + "0" * 5000),
        "huge-int-bits": canon.replace('"bits":16', '"bits":' + "9" * 4400, 1),
        "float-bits": canon.replace('"bits":16', '"bits":16.0', 1),
        "inf": canon.replace('"bits":16', '"bits":Infinity', 1),
        "nan": canon.replace('"lanes":1', '"lanes":NaN'),
        "bool-bits": canon.replace('"bits":16', '"bits":true', 1),
        "string-bits": canon.replace('"bits":16', '"bits":"16"', 1),
        "null-fish": canon.replace('"fish":[', '"fish":[null,', 1),
        "list": "[1,2,3]",
        "string": '"level6"',
        "number": "6",
        "dup-keys": canon[:-1] + ',"lanes":1}',
        "bad-utf8": canon[:10] + "\udcff" + canon[10:],
        "bom": "\ufeff" + canon,
        "spaces": canon.replace(",", ", "),
        "unknown-key": canon[:-1] + ',"zzz":1}',
        "no-fish": canon.replace(canon[canon.index('"fish"'):canon.index("]", canon.index('"fish"')) + 2], ""),
        "model-99": canon.replace('"model":', '"model":99,"x":') if '"model":' in canon else canon,
        "empty-object": "{}",
        "neg-bits": canon.replace('"bits":16', '"bits":-16', 1),
        "bits-2p63": canon.replace('"bits":16', '"bits":9223372036854775808', 1),
    }
    first = ["deep-nesting-dict", "huge-int", "deep-nesting", "huge-int-bits", "nan", "inf", "bits-2p63",
             "bad-utf8"]       # the likeliest to escape as another exception first; then every variant in turn
    order = first + sorted(set(variants) - set(first))
    name = order[r % len(order)]
    text = variants[name].encode("utf-8", "surrogateescape")
    if len(text) > 0xFFFF or (not extreme and rng.random() < 0.4):
        text = text if len(text) <= 10 << 20 else text[:10 << 20]
        preset = deflate(text)
    else:
        preset = text
    if len(preset) > 0xFFFF:
        preset = preset[:0xFFFF]
    data = b"bad json"
    blob = stream(preset, digest_of(text), 1 << 20, [stored(data)], len(data), total_crc=crc(data))
    return blob, [], f"preset JSON {name} ({len(text):,} bytes{', deflated' if preset[:1] == b'z' else ''})", \
        Expect(max_s=2.0)


def c_header_fields(rng, r):
    from shoal import school
    p = school.level(1)
    data = b"header fields"
    h = Header(1, 1 << 20, len(data), p.digest, b"level1")
    options = ["block_size=0", "version=0", "version=2", "version=255", "flags=2", "flags=0x80", "flags=0xff",
               "block_size=2^30+1", "block_size=2^32-1", "preset_len=0", "sizeless-with-size", "preset_len=65535"]
    choice = options[r % len(options)]
    field_, value = choice.split("=") if "=" in choice else (choice, None)
    if field_ == "sizeless-with-size":
        h.flags = 0
    else:
        v = {"2^30+1": (1 << 30) + 1, "2^32-1": U32}.get(value) or int(value, 0)
        setattr(h, field_, v)
    blob = h.encode() + stored(data).encode() + End(len(data), crc(data)).encode()
    return blob, [], f"header {choice} (CRC valid)", Expect(max_s=2.0)


def c_block_fields(rng, r):
    from shoal import school
    lvl = 1
    p = school.level(lvl)
    data = seed_inputs()["text"][:3000]
    options = ["stored-payload-short", "stored-payload-long", "coded-payload-equal", "coded-payload-more",
               "size-0", "size>block_size", "type-4", "type-ff", "type3-one-school", "over-original", "coded-size-1"]
    choice = options[r % len(options)]
    frames = [stored(data)]
    bs, orig = 1 << 20, len(data)
    if choice == "stored-payload-short":
        frames = [Frame(1, len(data), crc(data), data[:-1])]
    elif choice == "stored-payload-long":
        frames = [Frame(1, len(data), crc(data), data + b"x")]
    elif choice == "coded-payload-equal":
        frames = [Frame(2, len(data), crc(data), data)]
    elif choice == "coded-payload-more":
        frames = [Frame(2, len(data), crc(data), data + b"xx")]
    elif choice == "size-0":
        frames = [Frame(2, 0, 0, b"x")]
    elif choice == "size>block_size":
        bs = 1000
    elif choice in ("type-4", "type-ff"):
        frames = [Frame(4 if choice == "type-4" else 0xFF, len(data), crc(data), data)]
    elif choice == "type3-one-school":
        frames = [Frame(3, len(data), crc(data), rng.randbytes(100))]
    elif choice == "over-original":
        orig = 10
    else:
        frames = [Frame(2, 1, crc(b"a"), b"a")]
    blob = Header(1, bs, orig, p.digest, b"level1").encode() + encode(frames) + End(len(data), crc(data)).encode()
    return blob, [], f"block {choice} (CRCs valid)", Expect(max_s=2.0)

def c_model_version(rng, r):
    extreme = r == 0
    from shoal import school
    spec = json.loads(school.level(1).canonical)
    m = 99 if extreme else rng.choice([0, 1, 3, 99, -1, 2 ** 40])
    spec["model"] = m
    preset = canon(spec)
    data = seed_inputs()["table"][:2000]
    blob = stream(preset, digest_of(preset), 1 << 20, [coded(len(data), rng.randbytes(100), crc(data))], len(data),
                  total_crc=crc(data))
    return blob, [], f"preset model {m}", Expect(max_s=2.0)


def c_concat_mixed(rng, r):
    """Valid streams of different presets, concatenated: decode exactly."""
    import shoal
    parts, outs = [], []
    inputs = seed_inputs()
    for _ in range(rng.randrange(2, 6)):
        data = inputs[rng.choice(sorted(inputs))][:rng.randrange(0, 4000)]
        how = rng.choice(["level1", "level6", "new-shape", "deflated-level"])
        if how == "new-shape":
            blob = shoal.compress(data, preset=_random_preset(rng), block_size=1500)
        elif how == "deflated-level":
            from shoal import school
            p = school.level(1)
            blob = shoal.compress(data, 1, block_size=1500)
            rec = parse(blob)
            rec[0] = Header(rec[0].flags, rec[0].block_size, rec[0].original_size, p.digest, deflate(p.canonical))
            blob = encode(rec)
        else:
            blob = shoal.compress(data, int(how[-1]), block_size=1500)
        parts.append(blob)
        outs.append(data)
    return b"".join(parts), [b"".join(outs)], f"{len(parts)} streams of mixed presets", Expect(ok=True, max_s=20)

def c_tiny_inputs(rng, r):
    options = [b"", MAGIC[:3], MAGIC, MAGIC + b"\x01", MAGIC + b"\x01\x01", b"\x89", b"\x00" * 64, b"\xff" * 1000,
               b"SHOAL"]
    choice = options[r] if r < len(options) else rng.randbytes(rng.randrange(1, 100))
    return choice, [], f"{len(choice)} bytes: {choice[:12]!r}", Expect(max_s=2.0)
