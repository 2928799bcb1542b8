"""The fuzz campaign's archives as records (bench/fuzz.py): a .shoal stream
parsed into a Header, Frames and an End that a case can change and write
back (each CRC recomputed unless the case sets it), and the seed archives
the mutations start from (levels 1 and 6; text, JSON-like, binary with
NULs, a small table; 3+ blocks each).
"""
from __future__ import annotations

import json
import random
import struct
import zlib
from dataclasses import dataclass


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
