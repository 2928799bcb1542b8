"""The fuzz campaign's mutations (bench/fuzz.py): damage to a seed archive.

Bit flips, byte replacements, truncations, insertions/deletions, splices of
two archives, swapped / duplicated / dropped / foreign blocks, appended
garbage, and changes to one field, to a payload or to the preset with the
framing CRCs recomputed, so that the decoder's deeper checks are reached
(data_crc and total_crc are never recomputed: they are what must catch a
change of meaning).  Each returns (blob, outputs that count as exact, what
it did); MUTATIONS names them.
"""
from __future__ import annotations

import hashlib
import json
import random
import zlib
from dataclasses import asdict
from importlib import resources

from bench.fuzz_archive import End, Frame, Header, MAGIC, encode, offsets


# ---- mutations -------------------------------------------------------------------------

def interesting(rng: random.Random, value: int, bits: int) -> int:
    mask = (1 << bits) - 1
    k = rng.choice([1, 2, 7, 8, 15, 16, 24, 29, 30, 31, 32, 60, 63, 64])
    pool = [0, 1, 2, value - 1, value + 1, value * 2, value // 2, value ^ (1 << rng.randrange(bits)),
            mask, mask >> 1, (1 << k), (1 << k) - 1, (1 << k) + 1, rng.getrandbits(bits)]
    return rng.choice(pool) & mask


def _position(rng, blob: bytes, bounds: list[int]) -> int:
    """A position in blob: half the time near the start of a record."""
    if rng.random() < 0.5:
        return min(len(blob) - 1, max(0, rng.choice(bounds[:-1]) + rng.randrange(-2, 24)))
    return rng.randrange(len(blob))


def m_bitflip(rng, seeds):
    s = rng.choice(seeds)
    b, bounds, flips = bytearray(s.blob), offsets(s.records), []
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        pos, bit = _position(rng, s.blob, bounds), rng.randrange(8)
        b[pos] ^= 1 << bit
        flips.append(f"{pos}.{bit}")
    return bytes(b), [s.orig], f"{s.name} flip {','.join(flips)}"


def m_bytes(rng, seeds):
    s = rng.choice(seeds)
    b, bounds, done = bytearray(s.blob), offsets(s.records), []
    for _ in range(rng.choice([1, 1, 2, 4])):
        pos = _position(rng, s.blob, bounds)
        b[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, 1, rng.randrange(256)])
        done.append(f"{pos}={b[pos]:02x}")
    return bytes(b), [s.orig], f"{s.name} bytes {','.join(done)}"


def m_truncate(rng, seeds):
    s = rng.choice(seeds)
    bounds = offsets(s.records)
    cut = rng.choice([rng.randrange(len(s.blob)), rng.choice(bounds[:-1]) + rng.randrange(-1, 2),
                      len(s.blob) - rng.randrange(1, 22), rng.randrange(0, 50)])
    cut = min(max(cut, 0), len(s.blob) - 1)
    return s.blob[:cut], [s.orig], f"{s.name} truncate at {cut} of {len(s.blob)}"


def m_insdel(rng, seeds):
    s = rng.choice(seeds)
    pos = _position(rng, s.blob, offsets(s.records))
    k = rng.choice([1, 1, 2, 3, 4, 8, 17, 21, rng.randrange(1, 300)])
    if rng.random() < 0.5:
        what = rng.choice(["zeros", "random", "copy"])
        ins = bytes(k) if what == "zeros" else rng.randbytes(k) if what == "random" else s.blob[pos:pos + k]
        return s.blob[:pos] + ins + s.blob[pos:], [s.orig], f"{s.name} insert {k} {what} at {pos}"
    return s.blob[:pos] + s.blob[pos + k:], [s.orig], f"{s.name} delete {k} at {pos}"


def m_splice(rng, seeds):
    a, b = rng.sample(seeds, 2)
    ba, bb = offsets(a.records), offsets(b.records)
    i = rng.choice([rng.randrange(len(a.blob) + 1), rng.choice(ba) + rng.randrange(-1, 2), rng.choice(ba)])
    j = rng.choice([rng.randrange(len(b.blob) + 1), rng.choice(bb) + rng.randrange(-1, 2), rng.choice(bb)])
    i, j = min(max(i, 0), len(a.blob)), min(max(j, 0), len(b.blob))
    blob = a.blob[:i] + b.blob[j:]
    return blob, [a.orig, b.orig, a.orig + b.orig], f"{a.name}[:{i}] + {b.name}[{j}:]"


def m_blocks(rng, seeds):
    s = rng.choice(seeds)
    rec = [r for r in s.records]
    idx = [k for k, r in enumerate(rec) if isinstance(r, Frame)]
    op = rng.choice(["swap", "swap", "dup", "drop", "foreign", "reverse"])
    if op == "swap":
        i, j = rng.sample(idx, 2)
        rec[i], rec[j] = rec[j], rec[i]
        what = f"swap blocks {idx.index(i)},{idx.index(j)}"
    elif op == "dup":
        i, j = rng.choice(idx), rng.choice(idx + [idx[-1] + 1])
        rec.insert(j, rec[i])
        what = f"duplicate block {idx.index(i)} before record {j}"
    elif op == "drop":
        i = rng.choice(idx)
        del rec[i]
        what = f"drop block {idx.index(i)}"
    elif op == "foreign":
        other = rng.choice([t for t in seeds if t is not s])
        fidx = [r for r in other.records if isinstance(r, Frame)]
        i = rng.choice(idx)
        rec[i] = rng.choice(fidx)
        what = f"block {idx.index(i)} from {other.name}"
    else:
        blocks = [rec[k] for k in idx][::-1]
        for k, b in zip(idx, blocks):
            rec[k] = b
        what = "blocks reversed"
    if rng.random() < 0.5:        # make the totals agree, so only total_crc can tell
        total = sum(r.size for r in rec if isinstance(r, Frame))
        rec[0] = Header(**{**asdict(rec[0]), "original_size": total if rec[0].flags & 1 else 0})
        rec[-1] = End(total, rec[-1].total_crc)
        what += ", totals fixed"
    return encode(rec), [s.orig], f"{s.name} {what}"


def m_append(rng, seeds):
    s = rng.choice(seeds)
    other = rng.choice(seeds)
    what = rng.choice(["zeros", "random", "magic", "magic-prefix", "header", "archive", "archive-truncated",
                       "end-frame", "self"])
    k = rng.choice([1, 2, 4, 16, 17, 100, 4096])
    expect = [s.orig]
    if what == "zeros":
        tail = bytes(k)
    elif what == "random":
        tail = rng.randbytes(k)
    elif what == "magic":
        tail = MAGIC + rng.randbytes(rng.randrange(0, 40))
    elif what == "magic-prefix":
        tail = MAGIC[:rng.randrange(1, 7)]
    elif what == "header":
        tail = other.records[0].encode()
    elif what == "archive":
        tail, expect = other.blob, [s.orig + other.orig]
    elif what == "archive-truncated":
        tail = other.blob[:rng.randrange(1, len(other.blob))]
    elif what == "end-frame":
        tail = s.records[-1].encode()
    else:
        tail, expect = s.blob, [s.orig + s.orig]
    return s.blob + tail, expect, f"{s.name} + {what} ({len(tail)} bytes)"


_FIELDS = {Header: [("version", 8), ("flags", 8), ("block_size", 32), ("original_size", 64), ("preset_len", 16),
                    ("digest", 0), ("magic", 0)],
           Frame: [("type", 8), ("size", 32), ("payload_size", 32), ("data_crc", 32)],
           End: [("type", 8), ("total_size", 64), ("total_crc", 32)]}


def m_field(rng, seeds):
    """One field of a header or frame changed, its CRCs fixed up."""
    s = rng.choice(seeds)
    rec = list(s.records)
    k = rng.randrange(len(rec))
    r = rec[k]
    name, bits = rng.choice(_FIELDS[type(r)])
    d = asdict(r)
    old = d[name]
    if name == "digest":
        new = rng.choice([bytes(16), rng.randbytes(16), bytes([old[0] ^ 1]) + old[1:]])
    elif name == "magic":
        new = rng.choice([b"\x89SHOAM", b"\x89shoal", b"\x00SHOAL", b"PK\x03\x04\x00\x00"])
    else:
        if old is None:
            old = len(r.preset) if name == "preset_len" else len(r.payload)
        new = interesting(rng, old, bits)
        if name == "type":
            new = rng.choice([0, 1, 2, 3, 4, 0xFF, new])
    d[name] = new
    rec[k] = type(r)(**d)
    label = new.hex() if isinstance(new, bytes) else new
    was = old.hex() if isinstance(old, bytes) else old
    return encode(rec), [s.orig], f"{s.name} record {k} {type(r).__name__}.{name} {was} -> {label} (CRCs fixed)"


def m_payload(rng, seeds):
    """A block's payload damaged (and perhaps its size), payload_crc and
    frame_crc fixed up: the decoder itself meets the damage."""
    s = rng.choice(seeds)
    rec = list(s.records)
    idx = [k for k, r in enumerate(rec) if isinstance(r, Frame)]
    codedk = [k for k in idx if rec[k].type != 1]
    k = rng.choice(codedk if codedk and rng.random() < 0.85 else idx)
    r = rec[k]
    p = bytearray(r.payload)
    op = rng.choice(["flip", "flip", "zero-run", "truncate", "extend", "random", "other-payload", "size", "ff-run"])
    if op == "flip":
        for _ in range(rng.choice([1, 1, 2, 5])):
            p[rng.randrange(len(p))] ^= 1 << rng.randrange(8)
    elif op in ("zero-run", "ff-run"):
        a = rng.randrange(len(p))
        n = min(len(p) - a, rng.choice([1, 4, 16, 1000]))
        p[a:a + n] = (b"\x00" if op == "zero-run" else b"\xff") * n
    elif op == "truncate":
        p = p[:rng.randrange(1, max(2, len(p)))]
    elif op == "extend":
        p += rng.randbytes(rng.choice([1, 4, 100]))
    elif op == "random":
        p = bytearray(rng.randbytes(rng.choice([1, 4, 16, len(p)])))
    elif op == "other-payload":
        others = [x for t in seeds for x in t.records if isinstance(x, Frame) and x.type != 1]
        p = bytearray(rng.choice(others).payload)
    size = r.size
    if op == "size" or rng.random() < 0.15:
        size = rng.choice([1, 2, size - 1, size + 1, size * 2, rec[0].block_size, len(p) + 1])
    rec[k] = Frame(r.type, size, r.data_crc, bytes(p))
    desc = (f"{s.name} block {idx.index(k)} (type {r.type}) payload {op}, size {r.size}->{size}, "
            f"{len(r.payload)}->{len(p)} bytes (CRCs fixed)")
    return encode(rec), [s.orig], desc


def dictionary() -> bytes:
    return resources.files("shoal").joinpath("data/preset_dictionary.txt").read_bytes()


def deflate(data: bytes, level: int = 9) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=dictionary())
    return b"z" + z.compress(data) + z.flush()


def m_preset(rng, seeds):
    """The header's preset field changed, its CRC fixed up."""
    from shoal import school
    s = rng.choice(seeds)
    rec = list(s.records)
    h = rec[0]
    lv = school.level(s.level)
    op = rng.choice(["json", "deflated", "other-level", "other-level+digest", "json-edit", "json-edit+digest",
                     "deflated-flip", "json-truncated", "name-edit"])
    digest, expect = h.digest, [s.orig]
    if op == "json":
        preset = lv.canonical
    elif op == "deflated":
        preset = deflate(lv.canonical)
    elif op.startswith("other-level"):
        n = rng.choice([n for n in range(1, 10) if n != s.level])
        preset = f"level{n}".encode()
        op += f" {n}"
        if "digest" in op:
            digest = school.level(n).digest
    elif op.startswith("json-edit"):
        spec = json.loads(lv.canonical)
        f = rng.choice(spec["fish"])
        key = "bits" if "bits" in f else "kind"
        f[key] = f[key] + rng.choice([-1, 1]) if key == "bits" else "order"
        if rng.random() < 0.3:
            spec["apm"]["rate"] = rng.randrange(1, 15)
        preset = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
        if op.endswith("digest"):
            digest = hashlib.blake2b(preset, digest_size=16).digest()
        if rng.random() < 0.5:
            preset = deflate(preset)
    elif op == "deflated-flip":
        p = bytearray(deflate(lv.canonical))
        p[rng.randrange(1, len(p))] ^= 1 << rng.randrange(8)
        preset = bytes(p)
    elif op == "json-truncated":
        preset = lv.canonical[:rng.randrange(1, len(lv.canonical))]
    else:
        p = bytearray(h.preset)
        p[rng.randrange(len(p))] = rng.randrange(256)
        preset = bytes(p)
    rec[0] = Header(h.flags, h.block_size, h.original_size, digest, preset)
    return encode(rec), expect, f"{s.name} preset {op} ({len(preset)} bytes, CRC fixed)"


MUTATIONS = {"bitflip": m_bitflip, "bytes": m_bytes, "truncate": m_truncate, "insdel": m_insdel,
             "splice": m_splice, "blocks": m_blocks, "append": m_append, "field+crc": m_field,
             "payload+crc": m_payload, "preset+crc": m_preset}
