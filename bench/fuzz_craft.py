"""The fuzz campaign's crafted archives (bench/fuzz.py), part 1: what every
crafted case shares, and the archives that ask for too much.

Expect says what a crafted case must do (an error, a MemoryLimitError, or
the exact output; in how long, growing memory by how much).  The cases
here have valid checksums and ask for more memory or size than a reader
should give: presets with many fish and large tables, 1024 lanes, 2^30-byte
blocks with tiny payloads, totals of 2^60, a deflated preset that inflates
to megabytes, 100,000 empty streams, many tiny blocks, a big attention
mixer, presets just under and over the memory limit.  fuzz_lies.py and
fuzz_slow.py hold the other kinds.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

from bench.fuzz_archive import Frame, U64, coded, crc, seed_inputs, stored, stream
from bench.fuzz_mutate import deflate, dictionary


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


def canon(spec: dict) -> bytes:
    return json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()


def digest_of(b: bytes) -> bytes:
    return hashlib.blake2b(b, digest_size=16).digest()


def json_preset(raw: dict, packed: bool | None = None):
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


def garbage_blocks(rng, n: int, size: int, block_size: int, binary: bool = False) -> list[Frame]:
    return [coded(size, rng.randbytes(rng.choice([1, 4, 16, 64])), rng.getrandbits(32), binary)
            for _ in range(n)]


def _memory_case(rng, preset_raw, block_size, original_size, desc, payload_len=16, packed=None):
    field_, digest, p = json_preset(preset_raw, packed)
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
        field_, digest, p = json_preset(raw)
        blob = stream(field_, digest, 1 << 30, garbage_blocks(rng, 1, 1 << rng.randrange(10, 31), 1 << 30))
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
    z = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=dictionary())
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
    blob = stream(preset, digest_of(preset), 1 << 20, [stored(data)], len(data), total_crc=crc(data))
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
