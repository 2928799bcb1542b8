"""The fuzz campaign as a tool (issue 21, "archives you can trust").

    python bench/fuzz.py --mutated 10000 --crafted 2000 --as-limit 4G --timeout 20 -j 2 --seed 1
    python bench/fuzz.py --mutated 500 --crafted 200 --json fuzz.json
    python bench/fuzz.py --case m17 --case c3 --save-dir failing/     # one case again, its blob kept

Every case is an archive handed to `shoal.decompress(blob)` in a worker
process: a small pool (-j) of long-lived Python processes, each under an
address-space limit (RLIMIT_AS, --as-limit, set once the worker has imported
shoal and decoded its warm-up archives), fed cases over a pipe.  The parent
enforces a per-case deadline: a worker past it is killed and restarted and
the case is a `hang`; a worker that dies is a `crash`.

Cases are derived deterministically from --seed and their index (case m17
is the same archive in every run with the same seed), from:

  mutated  seed archives (levels 1 and 6; text, JSON-like, binary with NULs,
           a small table; small blocks, so 3+ blocks each) changed by bit
           flips, byte replacements, truncations, insertions/deletions,
           splices of two archives, swapped / duplicated / dropped / foreign
           blocks, appended garbage, and changes to one field, to a payload
           or to the preset with the framing CRCs (header_crc, frame_crc,
           payload_crc) recomputed, so the decoder's deeper checks are
           reached (data_crc and total_crc are never recomputed: they are
           what must catch a change of meaning).
  crafted  archives with valid checksums that ask for too much or for the
           unknown: presets with many fish and large tables, 1024 lanes,
           2^30-byte blocks with tiny payloads, totals of 2^60, a deflated
           preset that inflates to megabytes, 100,000 empty streams, presets
           of new shapes, unknown level names, wrong digests, missing neural
           fish, presets that name files, malformed JSON, ...  Each says
           what it expects (an error, a MemoryLimitError, or the exact
           output) and how long it may take.

Outcomes: exact (decoded to the original bytes, or to another output the
case allows), ShoalError (any subclass), EOFError, MemoryError, other
(another exception: type and message are kept), hang, crash, silent (decoded
without error to bytes that are not what was written).  The exit status is 1
if any case was silent, crash, hang, MemoryError or other, or a crafted
case's expectation was not met (wrong outcome, or slower than it may be).
"""
from __future__ import annotations

import argparse
import ctypes
import faulthandler
import functools
import hashlib
import json
import os
import pickle
import random
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import asdict, dataclass
from importlib import resources

# ---- the archive, as records we can change and write back --------------------------

MAGIC = b"\x89SHOAL"
_HEADER = struct.Struct("<6sBBIQH16s")
_BLOCK = struct.Struct("<BIIII")
_END = struct.Struct("<BQI")
_CRC = struct.Struct("<I")
U32, U64 = (1 << 32) - 1, (1 << 64) - 1


def crc(data) -> int:
    return zlib.crc32(data)


@dataclass
class Header:
    flags: int
    block_size: int
    original_size: int
    digest: bytes
    preset: bytes
    magic: bytes = MAGIC
    version: int = 1
    preset_len: int | None = None      # None: len(preset)
    crc: int | None = None             # None: computed (the CRC fixed up)

    def encode(self) -> bytes:
        n = len(self.preset) if self.preset_len is None else self.preset_len
        body = _HEADER.pack(self.magic, self.version & 0xFF, self.flags & 0xFF, self.block_size & U32,
                            self.original_size & U64, n & 0xFFFF, self.digest) + self.preset
        return body + _CRC.pack(crc(body) if self.crc is None else self.crc & U32)


@dataclass
class Frame:
    type: int
    size: int
    data_crc: int
    payload: bytes
    payload_size: int | None = None    # None: len(payload)
    payload_crc: int | None = None     # None: computed
    crc: int | None = None             # frame_crc; None: computed

    def encode(self) -> bytes:
        n = len(self.payload) if self.payload_size is None else self.payload_size
        pcrc = crc(self.payload) if self.payload_crc is None else self.payload_crc
        body = _BLOCK.pack(self.type & 0xFF, self.size & U32, n & U32, self.data_crc & U32, pcrc & U32)
        return body + _CRC.pack(crc(body) if self.crc is None else self.crc & U32) + self.payload


@dataclass
class End:
    total_size: int
    total_crc: int
    type: int = 0
    crc: int | None = None

    def encode(self) -> bytes:
        body = _END.pack(self.type & 0xFF, self.total_size & U64, self.total_crc & U32)
        return body + _CRC.pack(crc(body) if self.crc is None else self.crc & U32)


def encode(records) -> bytes:
    return b"".join(r.encode() for r in records)


def parse(blob: bytes) -> list:
    """The records of a valid archive (every stream), in version 1's form:
    encode(parse(b)) == b for a version 1 archive; a version 2 archive (what
    shoal writes now) gives the records of the same streams written in
    version 1, which the structured mutations below work on, while the byte
    mutations work on the version 2 bytes themselves."""
    from shoal.codec import container
    out = []
    for item in container.read_items(__import__("io").BytesIO(blob).read):
        if isinstance(item, container.StreamHeader):
            known = item.original_size is not None
            out.append(Header(int(known), item.block_size, item.original_size or 0, item.digest, item.preset))
        elif isinstance(item, container.Block):
            kind = 1 if item.stored else 3 if item.binary else 2
            out.append(Frame(kind, item.size, item.crc, item.payload))
        else:
            out.append(End(item.total_size, item.crc))
    assert encode(out) == blob or blob[len(MAGIC)] == 2
    return out


def offsets(records) -> list[int]:
    """Where each record starts, and the end."""
    at, out = 0, [0]
    for r in records:
        at += len(r.encode())
        out.append(at)
    return out


def stream(preset: bytes, digest: bytes, block_size: int, frames=(), original_size: int | None = None,
           total_size: int | None = None, total_crc: int | None = None) -> bytes:
    """A whole stream; frames are Frame records (or bytes).  The totals are
    the frames' unless given."""
    from shoal.codec import container
    frames = list(frames)
    try:
        head = container.encode_header(preset, digest, block_size, original_size)
    except Exception:              # a field the writer refuses: written as it is
        head = Header(int(original_size is not None), block_size, original_size or 0, digest, preset).encode()
    body = b"".join(f if isinstance(f, bytes) else f.encode() for f in frames)
    size = sum(f.size for f in frames if isinstance(f, Frame)) if total_size is None else total_size
    if total_crc is None:
        total_crc = 0
    return head + body + container.encode_end(size, total_crc)


def stored(data: bytes) -> Frame:
    return Frame(1, len(data), crc(data), data)


def coded(size: int, payload: bytes, data_crc: int = 0, binary: bool = False) -> Frame:
    return Frame(3 if binary else 2, size, data_crc, payload)


# ---- seed archives -------------------------------------------------------------------

SEED_BLOCK = 3000          # 9-12 KB inputs: 3 or 4 blocks each


def seed_inputs() -> dict[str, bytes]:
    """Four small inputs of different kinds (fixed: the seed archives are the
    same in every run)."""
    rng = random.Random(20261124)
    words = ("the quick brown fox jumps over lazy dog school fish shoal mixer predict "
             "context order match table column sparse word archive block stream").split()
    text = " ".join(rng.choice(words) + ("." if rng.random() < 0.1 else "") for _ in range(1900)).encode()
    recs = [{"id": i, "name": rng.choice(words) + str(rng.randrange(100)), "score": round(rng.random() * 100, 3),
             "tags": rng.sample(words, 2), "ok": rng.random() < 0.5} for i in range(110)]
    js = json.dumps(recs, indent=1).encode()
    binary = bytearray()
    while len(binary) < 10000:
        binary += struct.pack("<IHh", rng.randrange(1 << 20), rng.randrange(300), rng.randrange(-99, 99))
        binary += bytes(rng.randrange(6)) + bytes(rng.randrange(256) for _ in range(rng.randrange(5)))
    table = "id,x,y,label\n".encode() + b"".join(
        f"{i},{rng.randrange(1000)},{rng.random():.4f},{rng.choice(words)}\n".encode() for i in range(560))
    return {"text": text, "json": js, "binary": bytes(binary), "table": table}


@dataclass
class Seed:
    name: str
    level: int
    orig: bytes
    blob: bytes
    records: list


def make_seeds() -> list[Seed]:
    import shoal
    seeds = []
    for level in (1, 6):
        for name, data in seed_inputs().items():
            blob = shoal.compress(data, level, block_size=SEED_BLOCK)
            if shoal.decompress(blob) != data:
                raise SystemExit(f"fuzz: seed archive l{level}-{name} does not round-trip")
            records = parse(blob)
            assert sum(isinstance(r, Frame) for r in records) >= 3
            seeds.append(Seed(f"l{level}-{name}", level, data, blob, records))
    return seeds


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


def _dictionary() -> bytes:
    return resources.files("shoal").joinpath("data/preset_dictionary.txt").read_bytes()


def deflate(data: bytes, level: int = 9) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=_dictionary())
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


# ---- crafted archives --------------------------------------------------------------------

@dataclass
class Expect:
    """What a crafted case should do: decode to one of `outputs` (ok=True),
    or raise ShoalError (`error` names a subclass it must be, if any); in at
    most max_s seconds, and growing the worker's resident memory by at most
    max_grow_mb (None: not checked).  A refusal for memory must come before
    anything is allocated: REFUSAL_GROWTH_MB."""
    ok: bool = False
    error: str | None = None
    max_s: float = 5.0
    max_grow_mb: float | None = None


REFUSAL_GROWTH_MB = 64


def _canon(spec: dict) -> bytes:
    return json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()


def _digest(b: bytes) -> bytes:
    return hashlib.blake2b(b, digest_size=16).digest()


def _json_preset(raw: dict, packed: bool | None = None):
    """(preset field, digest, Preset) for a preset dict, as a writer names it."""
    from shoal import school
    p = school.from_dict(raw)
    field_ = p.canonical
    if packed or (packed is None and len(deflate(p.canonical)) < len(p.canonical)):
        field_ = deflate(p.canonical)
    return field_, p.digest, p


def _need(preset, block_size: int) -> int:
    from shoal import school
    return school.decode_memory(preset, block_size)


def _limit() -> int:
    from shoal import school
    return getattr(school, "DEFAULT_MEMLIMIT", 3 << 30)


def _garbage_blocks(rng, n: int, size: int, block_size: int, binary: bool = False) -> list[Frame]:
    return [coded(size, rng.randbytes(rng.choice([1, 4, 16, 64])), rng.getrandbits(32), binary)
            for _ in range(n)]


def _memory_case(rng, preset_raw, block_size, original_size, desc, payload_len=16, packed=None):
    field_, digest, p = _json_preset(preset_raw, packed)
    need = _need(p, min(block_size, original_size) if original_size else block_size)
    size = min(block_size, original_size) if original_size else block_size
    blob = stream(field_, digest, block_size, [coded(size, rng.randbytes(payload_len), rng.getrandbits(32))],
                  original_size)
    refuse = need > _limit()
    exp = Expect(error="MemoryLimitError", max_s=2.0, max_grow_mb=REFUSAL_GROWTH_MB) if refuse else \
        Expect(max_s=20.0, max_grow_mb=need / 2**20 + REFUSAL_GROWTH_MB)   # decode_memory is an upper bound
    return blob, [], f"{desc}; needs {need / 2**20:,.0f} MiB ({'over' if refuse else 'within'} the limit)", exp


def c_many_fish(rng, r):
    extreme = r == 0
    n = 40 if extreme else rng.randrange(8, 65)
    bits = 26 if extreme else rng.randrange(20, 27)
    bs = 1 << (24 if extreme else rng.randrange(20, 31))
    fish = [{"kind": "order", "arg": 1 + i % 64, "bits": bits} for i in range(n)]
    return _memory_case(rng, {"fish": fish}, bs, None if rng.random() < 0.5 or extreme else bs,
                        f"{n} order fish x bits {bits}, block {bs:,}")


def c_many_fish_small_block(rng, r):
    """Huge tables asked for, but the block is tiny: the tables fit the
    block, and a real archive decodes."""
    extreme = r == 0
    import shoal
    n = 64 if extreme else rng.randrange(8, 65)
    kinds = ["order", "sparse", "word", "record", "textcol", "indirect"]
    fish = [{"kind": rng.choice(kinds), "arg": rng.randrange(1, 9), "bits": 26} for _ in range(n)]
    data = seed_inputs()[rng.choice(["text", "json", "binary", "table"])][:rng.choice([700, 2000])]
    raw = {"fish": fish, "block_size": 1024}
    blob = shoal.compress(data, preset=raw, block_size=1024)
    return blob, [data], f"{n} fish x bits 26, 1 KiB blocks, real data ({len(data)} bytes)", Expect(ok=True, max_s=20)


def c_lanes(rng, r):
    extreme = r == 0
    import shoal
    lanes = 1024 if extreme else rng.choice([2, 3, 64, 1000, 1024])
    data = seed_inputs()[rng.choice(["text", "binary"])][:rng.choice([500, 3000, 9000])]
    raw = {"lanes": lanes, "fish": [{"kind": "order", "arg": 2, "bits": 18}, {"kind": "match", "bits": 18}]}
    if rng.random() < 0.5 and not extreme:
        field_, digest, p = _json_preset(raw)
        blob = stream(field_, digest, 1 << 30, _garbage_blocks(rng, 1, 1 << rng.randrange(10, 31), 1 << 30))
        return blob, [], f"lanes {lanes}, block_size 2^30, garbage payload", Expect(max_s=5)
    blob = shoal.compress(data, preset=raw, block_size=4096)
    return blob, [data], f"lanes {lanes}, real data ({len(data)} bytes)", Expect(ok=True, max_s=20)


def c_huge_block_tiny_payload(rng, r):
    extreme = r == 0
    from shoal import school
    lvl = 6 if extreme else rng.choice([1, 6, 9])
    bs = 1 << 30 if extreme else 1 << rng.randrange(24, 31)
    p = school.level(lvl)
    known = None if extreme or rng.random() < 0.5 else bs
    size = bs if extreme else rng.choice([bs, bs // 2 + 1, bs - 1])
    blob = stream(f"level{lvl}".encode(), p.digest, bs,
                  [coded(size, rng.randbytes(rng.choice([1, 16, 64])), rng.getrandbits(32),
                         binary=rng.random() < 0.3 and p.binary is not None)], known)
    need = _need(p, min(bs, known or bs))
    exp = Expect(error="MemoryLimitError", max_s=2.0, max_grow_mb=REFUSAL_GROWTH_MB) if need > _limit() else \
        Expect(max_s=20.0, max_grow_mb=need / 2**20 + REFUSAL_GROWTH_MB)
    return blob, [], (f"level{lvl}, block_size {bs:,}, one coded block of {size:,} bytes, tiny payload; "
                      f"needs {need / 2**20:,.0f} MiB"), exp


def c_totals_2p60(rng, r):
    extreme = r == 0
    from shoal import school
    p = school.level(1)
    big = 1 << 60 if extreme else rng.choice([1 << 60, U64, 1 << 63, 1 << 32, (1 << 40) + 5])
    variant = "no blocks" if extreme else rng.choice(["no blocks", "one block", "end only", "header only"])
    data = b"hello fuzz"
    if variant == "no blocks":
        blob = stream(b"level1", p.digest, 1 << 20, [], big, total_size=big)
    elif variant == "one block":
        blob = stream(b"level1", p.digest, 1 << 20, [stored(data)], big, total_size=big, total_crc=crc(data))
    elif variant == "end only":
        blob = stream(b"level1", p.digest, 1 << 20, [stored(data)], None, total_size=big, total_crc=crc(data))
    else:
        blob = stream(b"level1", p.digest, 1 << 30, [stored(data)], big, total_size=len(data), total_crc=crc(data))
    return blob, [], f"declared total {big:,} ({variant})", Expect(max_s=2.0)


def c_deflate_bomb(rng, r):
    extreme = r == 0
    from shoal import school
    size = 10 << 20 if extreme else rng.choice([65535, 65536, 1 << 20, 10 << 20, 60 << 20])
    filler = rng.choice([b" ", b"{", b"\x00", b'{"fish":[', school.level(6).canonical])
    chunk = (filler * (1 + (1 << 20) // len(filler)))[:1 << 20]
    z = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=_dictionary())
    parts = [b"z"]
    left = size
    while left > 0:
        parts.append(z.compress(chunk[:min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(z.flush())
    preset = b"".join(parts)
    if len(preset) > 0xFFFF:
        preset = preset[:0xFFFF]
    data = b"deflate bomb"
    blob = stream(preset, _digest(preset), 1 << 20, [stored(data)], len(data), total_crc=crc(data))
    return blob, [], f"deflated preset ({len(preset):,} bytes) that inflates to {size:,} bytes of {filler[:12]!r}", \
        Expect(max_s=1.0, max_grow_mb=REFUSAL_GROWTH_MB)


def c_empty_streams(rng, r):
    extreme = r == 0
    from shoal import school
    n = 100_000 if extreme else rng.choice([2, 100, 10_000, 100_000])
    lvl = rng.choice([1, 6])
    one = stream(f"level{lvl}".encode(), school.level(lvl).digest, 1 << 24, [], 0 if rng.random() < 0.5 else None)
    tail, out = b"", b""
    if not extreme and rng.random() < 0.5:
        out = b"after the empty streams"
        tail = stream(b"level1", school.level(1).digest, 1 << 20, [stored(out)], len(out), total_crc=crc(out))
    return one * n + tail, [out], f"{n:,} empty streams ({len(one)} bytes each){' + one stream' if tail else ''}", \
        Expect(ok=True, max_s=max(2.0, n / 10_000))


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
    field_, digest, p = _json_preset(raw)
    bs = 1 << rng.randrange(10, 21)
    blob = stream(field_, digest, bs, _garbage_blocks(rng, rng.randrange(1, 4), bs, bs))
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
        text = _canon(base)
    preset = deflate(text) if rng.random() < 0.5 else text
    data = b"neural" * 100
    blob = stream(preset, _digest(text), 1 << 20, [coded(len(data), rng.randbytes(32), crc(data))], len(data),
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
    preset = _canon(base)
    data = b"file " * 50
    blob = stream(preset, _digest(preset), 1 << 20, [coded(len(data), rng.randbytes(32), crc(data))], len(data),
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
    blob = stream(preset, _digest(text), 1 << 20, [stored(data)], len(data), total_crc=crc(data))
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


def c_many_tiny_blocks(rng, r):
    extreme = r == 0
    from shoal import school
    n = 100_000 if extreme else rng.choice([1000, 30_000, 100_000])
    data = bytes(rng.randrange(256) for _ in range(256)) * (n // 256 + 1)
    data = data[:n]
    frames = b"".join(stored(data[i:i + 1]).encode() for i in range(n))
    blob = stream(b"level1", school.level(1).digest, 1, [frames], n, total_size=n, total_crc=crc(data))
    return blob, [data], f"{n:,} stored blocks of 1 byte", Expect(ok=True, max_s=max(2.0, n / 10_000))


def c_attention_big(rng, r):
    extreme = r == 0
    big = ["c1c0", "c2c1", "c0order", "c0", "c1", "c2", "order", "column"]     # the 65,536-set gates first
    gates = big if extreme else rng.sample(big, rng.randrange(1, 9))
    heads = 8 if extreme else rng.randrange(1, 9)
    lanes = 1024 if extreme else rng.choice([1, 16, 1024])
    nfish = 63 if extreme else rng.randrange(1, 64)
    raw = {"fish": [{"kind": "order", "arg": i + 1, "bits": 22} for i in range(nfish)], "lanes": lanes,
           "mixer": {"kind": "attention", "heads": heads, "gates": gates}}
    bs = 1 << (30 if extreme else rng.randrange(12, 31))
    return _memory_case(rng, raw, bs, None, f"attention mixer, {heads} heads, {lanes} lanes, block {bs:,}")


def c_near_limit(rng, r):
    """A preset whose one block needs just under the reader's default limit:
    it must be decodable (refused for its garbage payload, not for memory
    and not by a MemoryError), so the limit is one the reader can keep."""
    extreme = r == 0
    from shoal import school
    limit = _limit()
    bs = 1 << 26
    target = limit * (0.97 if extreme else rng.uniform(0.5, 0.99))
    fish = []
    for bits in range(26, 9, -1):          # greedy: the largest tables that still fit under the target
        while len(fish) < 64:
            trial = {"fish": fish + [{"kind": "order", "arg": 1 + len(fish) % 8, "bits": bits}]}
            if _need(school.from_dict(trial), bs) > target:
                break
            fish = trial["fish"]
    raw = {"fish": fish or [{"kind": "order", "arg": 1, "bits": 20}]}
    bits = f"{raw['fish'][0]['bits']}..{raw['fish'][-1]['bits']}"
    return _memory_case(rng, raw, bs, None, f"{len(raw['fish'])} fish, bits {bits}, block {bs:,} (near the limit)")


def c_model_version(rng, r):
    extreme = r == 0
    from shoal import school
    spec = json.loads(school.level(1).canonical)
    m = 99 if extreme else rng.choice([0, 1, 3, 99, -1, 2 ** 40])
    spec["model"] = m
    preset = _canon(spec)
    data = seed_inputs()["table"][:2000]
    blob = stream(preset, _digest(preset), 1 << 20, [coded(len(data), rng.randbytes(100), crc(data))], len(data),
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


@functools.lru_cache(maxsize=None)
def _tiny_block(level: int, text: bool) -> tuple[bytes, bytes]:
    """(original, frame) of one small block coded at `level`."""
    import shoal
    data = b"the quick brown fox jumps over the lazy dog. " * 2 if text else bytes(64)
    rec = parse(shoal.compress(data, level, block_size=len(data)))
    assert rec[1].type != 1, "the tiny block was stored"
    return data, rec[1].encode()


def _repeated_blocks(level: int, text: bool, n: int) -> tuple[bytes, bytes]:
    from shoal import school
    data, frame = _tiny_block(level, text)
    whole = data * n
    blob = stream(f"level{level}".encode(), school.level(level).digest, len(data), [frame * n], len(whole),
                  total_size=len(whole), total_crc=crc(whole))
    return blob, whole


ARCHIVE_RATE = 50_000    # bytes of archive a second: the least a reader should decode, whatever the archive
# Every block starts its model afresh (tables, mixer weights, APMs: about
# 1.6 ms at level 6 however small the block): a reader's time is linear in
# the number of blocks, at up to this much per block.
BLOCK_SECONDS = 0.005


def c_many_coded_blocks(rng, r):
    """Many small coded blocks (64 zero bytes each, 25-byte frames): every
    block starts a new model, so this measures the fixed cost per block."""
    extreme = r == 0
    level = 6 if extreme else rng.choice([1, 6])
    n = 5000 if extreme else rng.choice([100, 1000, 5000])
    blob, whole = _repeated_blocks(level, False, n)
    return blob, [whole], f"level{level}, {n:,} coded blocks of 64 bytes ({len(blob):,}-byte archive)", \
        Expect(ok=True, max_s=1 + n * BLOCK_SECONDS)


# A primed level's reader reads its primer once (level 9: about 3 s here),
# then starts each small block from a copy-on-write copy of what it learnt.
# The first level-9 case in a worker also loads level 9's loops from the disk
# cache (the worker warms levels 1 and 6 only): 9.2 s for two 90-byte blocks
# in one CI run on a busy machine, 3.3 s in a quiet fresh process.
PRIMER_SECONDS = 12.0
# a block after the primer starts from a copy-on-write copy of what the
# primer left: level 9's tables take 70-150 ms of page copies a small block
# on this machine (reading the primer again would take seconds)
PRIMED_BLOCK_SECONDS = 0.3


def c_primer_tiny_blocks(rng, r):
    """Small coded text blocks at a primed level (8, 9): its text school
    reads the primer (up to 512 KiB of model work) before every block; a
    reader does that work once, not once a block (school._Snapshot), or a
    few bytes of archive would cost seconds each."""
    extreme = r == 0
    level = 9 if extreme else rng.choice([8, 9])
    n = 20 if extreme else rng.choice([2, 5, 20])
    blob, whole = _repeated_blocks(level, True, n)
    desc = f"level{level}, {n} coded text blocks of {len(whole) // n} bytes ({len(blob):,}-byte archive)"
    return blob, [whole], desc, Expect(ok=True, max_s=PRIMER_SECONDS + n * PRIMED_BLOCK_SECONDS)


def c_many_presets(rng, r):
    """Many streams, each with a preset of its own (more than the reader
    caches), one stored byte each."""
    extreme = r == 0
    n = 5000 if extreme else rng.choice([50, 500, 5000])
    parts, out = [], b""
    for k in range(n):
        raw = {"fish": [{"kind": "order", "arg": 1 + k % 7, "bits": 10 + (k // 7) % 13}],
               "apm": {"rate": 1 + (k // 91) % 14, "order2_bits": 8 + (k // 1274) % 10}}
        field_, digest, _ = _json_preset(raw)
        b = bytes([k & 0xFF])
        parts.append(stream(field_, digest, 1024, [stored(b)], 1, total_crc=crc(b)))
        out += b
    blob = b"".join(parts)
    return blob, [out], f"{n:,} streams with {min(n, 5000):,} distinct presets ({len(blob):,} bytes)", \
        Expect(ok=True, max_s=1 + len(blob) / ARCHIVE_RATE)


def c_tiny_inputs(rng, r):
    options = [b"", MAGIC[:3], MAGIC, MAGIC + b"\x01", MAGIC + b"\x01\x01", b"\x89", b"\x00" * 64, b"\xff" * 1000,
               b"SHOAL"]
    choice = options[r] if r < len(options) else rng.randbytes(rng.randrange(1, 100))
    return choice, [], f"{len(choice)} bytes: {choice[:12]!r}", Expect(max_s=2.0)


CRAFTED = {"many-fish": c_many_fish, "many-fish-small-block": c_many_fish_small_block, "lanes": c_lanes,
           "huge-block-tiny-payload": c_huge_block_tiny_payload, "totals-2^60": c_totals_2p60,
           "deflate-bomb": c_deflate_bomb, "empty-streams": c_empty_streams, "new-shape": c_new_shape,
           "level-name": c_level_name, "wrong-digest": c_wrong_digest, "neural-missing": c_neural_missing,
           "preset-names-file": c_preset_names_file, "bad-json": c_bad_json, "header-fields": c_header_fields,
           "block-fields": c_block_fields, "many-tiny-blocks": c_many_tiny_blocks,
           "attention-big": c_attention_big, "near-limit": c_near_limit, "model-version": c_model_version,
           "concat-mixed": c_concat_mixed, "tiny-inputs": c_tiny_inputs, "many-coded-blocks": c_many_coded_blocks,
           "primer-tiny-blocks": c_primer_tiny_blocks, "many-presets": c_many_presets}


# ---- cases ------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    kind: str
    desc: str
    blob: bytes
    outputs: list            # digests of the outputs that count as exact
    expect: Expect | None = None


def out_digest(b: bytes) -> str:
    return hashlib.blake2b(b, digest_size=16).hexdigest()


def mutated_case(seed: int, i: int, seeds: list[Seed]) -> Case:
    kinds = sorted(MUTATIONS)
    kind = kinds[i % len(kinds)]
    rng = random.Random(f"{seed}:m:{i}")
    blob, outs, desc = MUTATIONS[kind](rng, seeds)
    return Case(f"m{i}", kind, desc, blob, [out_digest(o) for o in outs])


def crafted_case(seed: int, i: int) -> Case:
    kinds = list(CRAFTED)
    kind = kinds[i % len(kinds)]
    rng = random.Random(f"{seed}:c:{i}")
    blob, outs, desc, exp = CRAFTED[kind](rng, i // len(kinds))
    return Case(f"c{i}", kind, desc, blob, [out_digest(o) for o in outs], exp)


def case_by_id(seed: int, cid: str, seeds) -> Case:
    n = int(cid[1:])
    return mutated_case(seed, n, seeds) if cid[0] == "m" else crafted_case(seed, n)


# ---- the worker ---------------------------------------------------------------------

def _status_kb(*keys) -> dict:
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def _send(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)) + data)
    f.flush()


def _recv(f):
    head = f.read(8)
    if len(head) < 8:
        return None
    n = struct.unpack("<Q", head)[0]
    data = f.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def worker_main(as_limit: int) -> None:
    """Decode the cases the parent sends, one at a time, until EOF."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)            # an archive that makes the reader read stdin meets EOF, not the protocol
    os.dup2(2, 1)
    try:                           # die with the parent
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except Exception:
        pass
    faulthandler.enable()
    import shoal
    warm_levels((1, 6))            # import, and a decode at levels 1 and 6 and with the general loop
    baseline = _status_kb("VmSize", "VmRSS", "VmPeak", "VmHWM")
    if as_limit:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    _send(proto_out, {"hello": True, "pid": os.getpid(), "baseline": baseline})
    while True:
        msg = _recv(proto_in)
        if msg is None:
            return
        cid, blob = msg
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        res = {"id": cid, "rss_before_kb": _status_kb("VmRSS").get("VmRSS", 0)}
        t = time.perf_counter()
        try:
            out = shoal.decompress(blob)
            res.update(status="ok", out_len=len(out), out_digest=out_digest(out))
            del out
        except BaseException as e:     # noqa: BLE001: everything is a result here
            if isinstance(e, KeyboardInterrupt):
                raise
            mro = [c.__name__ for c in type(e).__mro__]
            try:
                msg_text = str(e)
            except Exception:
                msg_text = "<str() failed>"
            frames = traceback.extract_tb(e.__traceback__)[-8:]
            where = " > ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames)
            res.update(status="exception", exc=type(e).__name__, mro=mro, message=msg_text[:400],
                       where=where if "ShoalError" not in mro else "")
        res["seconds"] = time.perf_counter() - t
        res["peak_rss_kb"] = _status_kb("VmHWM").get("VmHWM", 0)
        res["vm_peak_kb"] = _status_kb("VmPeak").get("VmPeak", 0)
        del blob
        try:
            _send(proto_out, res)
        except MemoryError:
            _send(proto_out, {"id": cid, "status": "exception", "exc": "MemoryError", "mro": ["MemoryError"],
                              "message": "(while reporting)", "seconds": res["seconds"]})


class Worker:
    def __init__(self, as_limit: int, log_dir: str, number: int):
        self.as_limit, self.log_dir, self.number = as_limit, log_dir, number
        self.starts = 0
        self.start()

    def start(self):
        self.starts += 1
        self.log = os.path.join(self.log_dir, f"worker{self.number}.{self.starts}.log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", str(self.as_limit)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        ready, _, _ = select.select([self.proc.stdout], [], [], 600)
        hello = _recv(self.proc.stdout) if ready else None
        if not hello:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit(f"fuzz: worker did not start; its stderr:\n{self.tail()}")
        self.baseline = hello["baseline"]
        self.case, self.started = None, 0.0

    def tail(self, n: int = 1500) -> str:
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def send(self, case: Case, timeout: float):
        self.case, self.started, self.timeout = case, time.monotonic(), timeout
        _send(self.proc.stdin, (case.id, case.blob))

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


# ---- running ---------------------------------------------------------------------

BAD = ("silent", "crash", "hang", "MemoryError", "other")
CLASSES = ("exact", "ShoalError", "EOFError") + BAD


def classify(case: Case, res: dict) -> dict:
    r = {"id": case.id, "kind": case.kind, "desc": case.desc, "bytes": len(case.blob),
         "seconds": res.get("seconds"), "peak_rss_kb": res.get("peak_rss_kb")}
    if res.get("rss_before_kb") and res.get("peak_rss_kb"):
        r["grew_mb"] = round((res["peak_rss_kb"] - res["rss_before_kb"]) / 1024, 1)
    st = res["status"]
    if st == "ok":
        r["outcome"] = "exact" if res["out_digest"] in case.outputs else "silent"
        r["out_len"] = res["out_len"]
    elif st == "exception":
        mro = res.get("mro", [])
        r["outcome"] = ("ShoalError" if "ShoalError" in mro else "EOFError" if "EOFError" in mro
                        else "MemoryError" if "MemoryError" in mro else "other")
        r["exc"], r["message"] = res["exc"], res["message"]
        if res.get("where"):
            r["where"] = res["where"]
    else:
        r["outcome"] = st            # hang / crash
        r["message"] = res.get("message", "")
    if case.expect is not None:
        e = case.expect
        r["expect"] = asdict(e)
        unmet = []
        if e.ok and r["outcome"] != "exact":
            unmet.append(f"expected the exact output, got {r['outcome']}")
        if not e.ok:
            if r["outcome"] not in ("ShoalError", "EOFError"):
                unmet.append(f"expected a ShoalError, got {r['outcome']}")
            elif e.error and r.get("exc") != e.error:
                unmet.append(f"expected {e.error}, got {r.get('exc')}: {r.get('message', '')[:80]}")
        if r["outcome"] not in ("hang",) and (r["seconds"] or 0) > e.max_s:
            unmet.append(f"took {r['seconds']:.2f} s, more than {e.max_s:.1f} s")
        if e.max_grow_mb is not None and r.get("grew_mb", 0) > e.max_grow_mb:
            unmet.append(f"resident memory grew by {r['grew_mb']:,.0f} MB, more than {e.max_grow_mb:,.0f} MB")
        if unmet:
            r["unmet"] = "; ".join(unmet)
    return r


def run_cases(cases, jobs: int = 2, timeout: float = 20.0, as_limit: int = 4 << 30, progress=None,
              log_dir: str | None = None, deadline=None) -> tuple[list[dict], dict]:
    """Decode every case in the worker pool; (results, info about the workers).
    A case may take `timeout` seconds, or deadline(case) if given."""
    own_logs = log_dir is None
    log_dir = log_dir or tempfile.mkdtemp(prefix="shoal-fuzz-")
    workers = [Worker(as_limit, log_dir, k) for k in range(jobs)]
    info = {"baseline": [w.baseline for w in workers], "restarts": 0, "log_dir": log_dir}
    results: list[dict] = []
    cases = iter(cases)
    exhausted = False
    try:
        while True:
            for w in workers:
                if w.case is None and not exhausted:
                    case = next(cases, None)
                    if case is None:
                        exhausted = True
                    else:
                        w.send(case, deadline(case) if deadline else timeout)
            busy = [w for w in workers if w.case is not None]
            if not busy:
                break
            now = time.monotonic()
            wait = max(0.0, min(w.started + w.timeout - now for w in busy))
            ready, _, _ = select.select([w.proc.stdout for w in busy], [], [], wait)
            now = time.monotonic()
            for w in busy:
                res, case = None, w.case
                if w.proc.stdout in ready:
                    res = _recv(w.proc.stdout)
                    if res is None:            # died
                        code = w.proc.wait()
                        why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                        res = {"status": "crash", "message": f"worker died ({why}): {w.tail(600)}",
                               "seconds": now - w.started}
                        w.start()
                        info["restarts"] += 1
                elif now - w.started >= w.timeout:
                    w.kill()
                    res = {"status": "hang", "message": f"no answer in {w.timeout:.1f} s; killed",
                           "seconds": now - w.started}
                    w.start()
                    info["restarts"] += 1
                if res is not None:
                    w.case = None
                    r = classify(case, res)
                    results.append(r)
                    if progress:
                        progress(r)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                if w.case is not None:
                    w.kill()
                else:
                    w.stop()
    info["children_peak_rss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if own_logs and not any(r["outcome"] == "crash" for r in results):
        shutil.rmtree(log_dir, ignore_errors=True)     # the workers' stderr is kept only when one crashed
        info["log_dir"] = None
    return results, info


# ---- the report --------------------------------------------------------------------

def _table(rows: list[list], header: list[str]) -> str:
    """Plain text: the first column and text columns (message, what) to the left, numbers to the right."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    left = {0} | {k for k, h in enumerate(header) if h in ("message", "what", "outcome", "kind")}

    def line(r):
        return "  ".join(c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def summary_table(results: list[dict], title: str) -> str:
    kinds = sorted({r["kind"] for r in results})
    rows = []
    for kind in kinds + ["TOTAL"]:
        rs = [r for r in results if kind == "TOTAL" or r["kind"] == kind]
        counts = [sum(r["outcome"] == c for r in rs) for c in CLASSES]
        secs = max((r["seconds"] or 0) for r in rs)
        rss = max((r.get("peak_rss_kb") or 0) for r in rs) / 1024
        unmet = sum("unmet" in r for r in rs)
        rows.append([kind, len(rs)] + [c if c else "." for c in counts] + [f"{secs:.2f}", f"{rss:.0f}"]
                    + ([unmet if unmet else "."] if any("expect" in r for r in rs) else []))
    header = ["kind", "cases"] + list(CLASSES) + ["max s", "peak RSS MB"]
    if any("expect" in r for r in results):
        header.append("unmet")
    return f"{title}\n{_table(rows, header)}"


def _elide(message: str) -> str:
    return re.sub(r"0x[0-9a-f]+|[0-9a-f]{16,}|\d[\d,]*", "N", message or "")[:100]


def messages_table(results: list[dict], top: int = 5) -> str:
    """Which checks the cases reached: the `top` error messages (numbers
    elided) of each kind and how many cases met each."""
    count: dict = {}
    for r in results:
        if r["outcome"] in ("ShoalError", "EOFError"):
            key = (r["kind"], _elide(r.get("message")))
            count[key] = count.get(key, 0) + 1
    rows, shown = [], {}
    for (kind, message), n in sorted(count.items(), key=lambda kv: (kv[0][0], -kv[1])):
        shown[kind] = shown.get(kind, 0) + 1
        if shown[kind] <= top:
            rows.append(((kind, message), n))
    return "errors met, by kind (numbers elided):\n" + _table([[k, n, m] for (k, m), n in rows],
                                                              ["kind", "cases", "message"])


def report(results: list[dict], info: dict, wall: float, slowest: int = 10, messages: bool = False) -> str:
    out = []
    mut = [r for r in results if r["id"].startswith("m")]
    cra = [r for r in results if r["id"].startswith("c")]
    if mut:
        out.append(summary_table(mut, f"mutated cases ({len(mut)})"))
    if cra:
        out.append(summary_table(cra, f"crafted cases ({len(cra)})"))
    out.append(f"all: {len(results)} cases{f' in {wall:.1f} s' if wall else ''}; "
               + ", ".join(f"{c} {sum(r['outcome'] == c for r in results)}" for c in CLASSES))
    b = info["baseline"]
    peak = max([info.get("children_peak_rss_kb", 0)] + [r.get("peak_rss_kb") or 0 for r in results])
    if b:
        out.append("worker baseline after import and warm-up decodes: "
                   + "; ".join(f"VSZ {x.get('VmSize', 0) / 1024:.0f} MB (peak {x.get('VmPeak', 0) / 1024:.0f}), "
                               f"RSS {x.get('VmRSS', 0) / 1024:.0f} MB"
                               for x in b[:1])
                   + f"; peak RSS of any worker {peak / 1024:.0f} MB"
                   + f"; restarts {info['restarts']}")
    if messages:
        out.append(messages_table(results))
    slow = sorted(results, key=lambda r: -(r["seconds"] or 0))[:slowest]
    out.append("slowest cases:\n" + _table(
        [[r["id"], r["kind"], f"{r['seconds']:.2f}", f"{(r.get('peak_rss_kb') or 0) / 1024:.0f}", r["outcome"],
          r["desc"][:90]] for r in slow], ["case", "kind", "s", "RSS MB", "outcome", "what"]))
    odd = {}
    for r in results:
        if r["outcome"] in BAD:
            key = (r["outcome"], r.get("exc", ""), (r.get("message") or "")[:60])
            odd.setdefault(key, []).append(r)
    if odd:
        lines = []
        for (outcome, exc, _), rs in sorted(odd.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            r = rs[0]
            lines.append(f"  {outcome} {exc} x{len(rs)}: e.g. {r['id']} [{r['kind']}] {r['desc'][:100]}\n"
                         f"      {(r.get('message') or '(no message)')[:200]}"
                         + (f"\n      at {r['where'][-300:]}" if r.get("where") else ""))
        out.append("cases that are not ShoalError / EOFError / exact (one example each):\n" + "\n".join(lines))
    unmet = [r for r in cra if "unmet" in r]
    if unmet:
        by = {}
        for r in unmet:
            by.setdefault(r["kind"], []).append(r)
        out.append("crafted expectations not met:\n" + "\n".join(
            f"  {k} x{len(rs)}: e.g. {rs[0]['id']} {rs[0]['desc'][:90]}\n      {rs[0]['unmet'][:200]}"
            for k, rs in sorted(by.items())))
    return "\n\n".join(out)


def failed(results: list[dict]) -> bool:
    return any(r["outcome"] in BAD or "unmet" in r for r in results)


# ---- command line -----------------------------------------------------------------

def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    if t in ("0", "NONE", "UNLIMITED"):
        return 0
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    return int(float(t[:-1] if t[-1:] in "KMGT" else t) * mult)


def warm_levels(levels=range(1, 10)) -> None:
    """Code a small text and a small binary block at every level, and a block
    with a preset of no level (the general loop): the first use of a level
    compiles its loops (tens of seconds, then cached on disk; the encoder's
    loop is the decoder's), which is no fault of an archive that names it."""
    import shoal
    inputs = seed_inputs()
    samples = (inputs["text"][:300], inputs["binary"][:300])
    for level in levels:
        for data in samples:
            blob = shoal.compress(data, level)
            if level in (1, 6) and shoal.decompress(blob) != data:
                raise SystemExit(f"fuzz: level {level} does not round-trip")
    blob = shoal.compress(samples[0], preset={"fish": [{"kind": "order", "arg": 2, "bits": 16}]})
    shoal.decompress(blob)


def warm_up() -> list[Seed]:
    """The seed archives; first compiles (or loads) every loop the workers
    will use, so that no worker compiles a level under its limits."""
    warm_levels()
    return make_seeds()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench/fuzz.py", description=__doc__.split("\n\n")[0] + " Decodes mutated "
                                 "and crafted archives in sandboxed workers and counts what happened.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Outcomes: " + ", ".join(CLASSES) + ". Exit status 1 if any of "
                                 + ", ".join(BAD) + ", or a crafted expectation not met.")
    ap.add_argument("--mutated", type=int, default=500, help="mutated cases (default 500)")
    ap.add_argument("--crafted", type=int, default=200, help="crafted cases (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed: case N is the same for the same seed")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds a case may take before it is a hang")
    ap.add_argument("--as-limit", default="4G", help="address-space limit of each worker (RLIMIT_AS), "
                    "e.g. 4G; 0 for none (default 4G)")
    ap.add_argument("--case", action="append", default=[], metavar="ID",
                    help="run only this case (m17, c3; repeatable), and print its result in full")
    ap.add_argument("--json", metavar="FILE", help="write every result (and the summary) to FILE ('-': stdout)")
    ap.add_argument("--save-dir", metavar="DIR", help="write the archive of every failing case to DIR/ID.shoal")
    ap.add_argument("--slowest", type=int, default=10, help="how many of the slowest cases to list")
    ap.add_argument("--messages", action="store_true", help="also list the error messages met, by kind "
                    "(which checks the cases reached)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0
    as_limit = parse_size(args.as_limit)
    t0 = time.monotonic()
    seeds = warm_up()
    if args.case:
        cases = [case_by_id(args.seed, c, seeds) for c in args.case]
    else:
        cases = _lazy(args.seed, args.mutated, args.crafted, seeds)
    total = len(args.case) or args.mutated + args.crafted
    done = [0]

    def progress(r):
        done[0] += 1
        if not args.quiet and sys.stderr.isatty():
            print(f"\r{done[0]}/{total} {r['id']} {r['outcome']:<12}", end="", file=sys.stderr, flush=True)
        if args.save_dir and (r["outcome"] in BAD or "unmet" in r or args.case):
            os.makedirs(args.save_dir, exist_ok=True)
            c = case_by_id(args.seed, r["id"], seeds)
            with open(os.path.join(args.save_dir, f"{r['id']}.shoal"), "wb") as f:
                f.write(c.blob)

    results, info = run_cases(cases, args.jobs, args.timeout, as_limit, progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    results.sort(key=lambda r: (r["id"][0] != "m", int(r["id"][1:])))
    wall = time.monotonic() - t0
    text = report(results, info, wall, args.slowest, args.messages)
    if args.case:
        text += "\n\n" + "\n".join(json.dumps(r, indent=1) for r in results)
    if args.json != "-":
        print(text)
    if args.json:
        doc = {"args": {k: v for k, v in vars(args).items() if k != "worker"}, "wall_s": wall, "workers": info,
               "counts": {c: sum(r["outcome"] == c for r in results) for c in CLASSES},
               "counts_by_kind": {k: {c: sum(r["outcome"] == c for r in results if r["kind"] == k) for c in CLASSES}
                                  for k in sorted({r["kind"] for r in results})},
               "failed": failed(results), "results": results}
        if args.json == "-":
            json.dump(doc, sys.stdout, indent=1)
        else:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)
    return 1 if failed(results) else 0


def _lazy(seed: int, mutated: int, crafted: int, seeds):
    """Mutated and crafted cases interleaved, made as the workers need them."""
    m = c = 0
    while m < mutated or c < crafted:
        # crafted cases spread through the run, so a slow kind does not end it
        if c < crafted and (m >= mutated or c * mutated <= m * crafted):
            yield crafted_case(seed, c)
            c += 1
        else:
            yield mutated_case(seed, m, seeds)
            m += 1


if __name__ == "__main__":
    sys.exit(main())
