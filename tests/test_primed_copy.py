"""A primed school is read once and copied for each block (school._code_after_primer).

The copy must code every block exactly as reading the primer afresh would:
archives are the same bytes either way, and decode in a fresh process.
"""
import struct

import numpy as np
import pytest

import shoal
from shoal import school
from shoal.school import engine, primed_cache

from fresh import FreshDecoder

TEXT = b"".join(b"Entry %d: the school read its primer, then the block; a copy serves the next.\n" % i
                for i in range(120))


def _payloads(preset, blocks, copy: bool) -> list[bytes]:
    out = []
    for block in blocks:
        buf = np.frombuffer(block, dtype=np.uint8).copy()
        text = np.frombuffer(school.primer.text(preset.primer), dtype=np.uint8)
        whole = np.concatenate((text, buf))
        payload = np.zeros(whole.size, dtype=np.uint8)
        code = school._code_after_primer if copy else school._code_primed
        written = code(whole, payload, False, preset, engine.NO_COST, text.size)
        out.append(payload[:written].tobytes())
    return out


def test_a_copy_of_the_primed_school_codes_as_reading_the_primer_does():
    preset = school.level(8).text
    blocks = [TEXT[:2000], TEXT[2000:3000], TEXT[:2000], TEXT[5000:9000]]
    assert _payloads(preset, blocks, copy=True) == _payloads(preset, blocks, copy=False)


def test_primed_blocks_decode_in_a_fresh_process():
    blob = shoal.compress(TEXT, 8, block_size=1024)
    with FreshDecoder() as fresh:
        assert fresh.decode(blob) == TEXT
        assert fresh.decode(blob, threads=2) == TEXT


def test_decoding_memory_counts_the_kept_school():
    level8 = school.level(8)
    small = school.decode_memory(level8, 1 << 12)
    whole = len(school.primer.text(level8.primer)) + (1 << 12)
    assert small >= 2 * engine.block_memory(whole, level8.text.fish, level8.text.cfg)


def test_a_preset_and_its_text_school_never_share_a_kept_copy():
    """A preset and its text school share a digest but not their fish: each
    keeps (and is coded from) the copy of its own school, whatever order a
    process codes them in (it once took the other's, and could crash)."""
    preset = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 12},
                                        {"kind": "order", "arg": 2, "bits": 14},
                                        {"kind": "sparse", "arg": 12, "bits": 14, "only": "binary"},
                                        {"kind": "match", "min_len": 5, "bits": 14}],
                               "primer": {"name": "text-1", "bytes": 4096}})
    assert preset.text.digest == preset.digest and len(preset.text.fish) < len(preset.fish)
    block = TEXT[:1500]
    school._primed.clear()
    alone = {id(p): school.compress_block(block, p) for p in (preset.text, preset)}
    for first, second in ((preset, preset.text), (preset.text, preset)):
        school._primed.clear()
        school.compress_block(block, first)
        assert school.compress_block(block, second) == alone[id(second)]


# A school whose primer grows: a large block starts from the school the
# primer left in small tables, grown (engine.grow), not from a new reading.
GROWING = {"fish": [{"kind": "order", "arg": 1, "bits": 12},
                    {"kind": "order", "arg": 2, "bits": 16},
                    {"kind": "order", "arg": 3, "bits": 22},
                    {"kind": "match", "min_len": 5, "bits": 22}],
           "apm": {"order2_bits": 20},
           "primer": {"name": "text-1", "bytes": 8192, "grow": True}}
LARGE = b"".join(b"Record %d of the large block: %d fish, %d schools.\n" % (i, i * 7 % 1000, i % 37)
                 for i in range(22000))


def _without_grow():
    spec = dict(GROWING, primer={k: v for k, v in GROWING["primer"].items() if k != "grow"})
    return school.from_dict(spec)


def test_grow_repeats_each_table_and_leaves_the_kept_school_alone():
    preset = school.from_dict(GROWING)
    fish, cfg = preset.fish, preset.cfg
    text = np.frombuffer(school.primer.text(preset.primer), dtype=np.uint8)
    small = engine.read_primer(None, text.copy(), text.size, fish, cfg, *engine.new_tables(text.size, fish, cfg),
                               text.size)
    before = [a.copy() for a in school._arrays(small)]
    n = 3 << 20
    grown = engine.grow(small, n, fish, cfg)
    assert all((a == b).all() for a, b in zip(before, school._arrays(small)))
    old, new = small.voters.contexts, grown.voters.contexts
    base, nslots = engine.context_fish.layout(n, fish)
    assert (new.base == base).all() and (new.nslots == nslots).all()
    grew = 0
    for i in range(len(fish)):
        part, kept = new.tables[base[i]:base[i + 1]], old.tables[old.base[i]:old.base[i + 1]]
        assert (part.reshape(-1, kept.size) == kept).all()
        grew += part.size > kept.size
    assert grew >= 2                            # orders 2 and 3 grew; order 1 (2^12) did not
    assert (grown.voters.match.table.reshape(-1, small.voters.match.table.size) == small.voters.match.table).all()
    assert grown.voters.match.table.size > small.voters.match.table.size
    assert grown.apms[1].size > small.apms[1].size
    assert (grown.mixer.weights == small.mixer.weights).all() and grown.mixer.weights is not small.mixer.weights


def test_a_growing_primer_changes_only_large_blocks():
    growing, plain = school.from_dict(GROWING), _without_grow()
    assert growing.digest != plain.digest
    small = TEXT * 3
    assert school.compress_block(small, growing) == school.compress_block(small, plain)
    school._primed.clear()
    assert school.compress_block(LARGE, growing) != school.compress_block(LARGE, plain)


def test_large_blocks_of_a_growing_primer_decode_in_a_fresh_process():
    blob = shoal.compress(LARGE, preset=GROWING)
    again = shoal.compress(LARGE, preset=GROWING)       # from the kept school, as the first
    assert again == blob
    with FreshDecoder() as fresh:
        assert fresh.decode(blob) == LARGE
    text = school.from_dict(GROWING).text
    assert school.decode_memory(school.from_dict(GROWING), len(LARGE)) >= (
        engine.block_memory(len(LARGE) + 8192, text.fish, text.cfg) + engine.block_memory(8192, text.fish, text.cfg))


def test_a_large_blocks_school_is_kept_on_disk_and_read_back_exactly(tmp_path, monkeypatch):
    """primed_cache keeps the school the whole primer left; a block codes the
    same bytes whether it read the primer, read the kept file, found the
    file damaged or had no folder to keep it in."""
    monkeypatch.setattr(primed_cache, "path_for", lambda key: tmp_path / "kept.primed")
    growing = school.from_dict(GROWING)
    school._primed.clear()
    first = school.compress_block(LARGE, growing)             # reads the primer, keeps it on disk
    kept = tmp_path / "kept.primed"
    assert kept.stat().st_size > 1 << 20
    assert school.compress_block(LARGE, growing) == first       # from the file
    text = np.frombuffer(school.primer.whole_text(growing.primer), dtype=np.uint8)
    fish, cfg, n = growing.text.fish, growing.text.cfg, text.size + len(LARGE)

    def fresh():
        return engine.fresh_school(text, n, fish, cfg)
    read = engine.read_primer(None, text.copy(), text.size, fish, cfg, *engine.new_tables(text.size, fish, cfg),
                              text.size)
    key = "any: path_for is patched"
    loaded = primed_cache.load(key, fresh())            # kept grown to the block's tables
    grown = engine.grow(read, n, fish, cfg)
    assert all((a == b).all() for a, b in zip(school._arrays(grown), school._arrays(loaded)))
    kept.write_bytes(kept.read_bytes()[:100_000])                # damaged: ignored, read again, kept again
    assert primed_cache.load(key, fresh()) is None
    assert school.compress_block(LARGE, growing) == first
    assert primed_cache.load(key, fresh()) is not None
    monkeypatch.setattr(primed_cache, "path_for", lambda key: None)      # nowhere to keep it: in memory
    school._primed.clear()
    assert school.compress_block(LARGE, growing) == first
    assert school.compress_block(LARGE, growing) == first


def test_a_kept_school_is_read_back_from_disk_by_a_process_that_has_not_read_it(monkeypatch):
    """kept.kept writes the school the primer left to disk (primed_cache); a
    process without it in memory (dropped here, or a new process) reads it
    from there, not the primer, and codes the same bytes."""
    preset = _without_grow()
    school._primed.clear()
    first = school.compress_block(TEXT[:2000], preset.text)       # reads the primer, keeps it on disk
    assert any(primed_cache.kept_on_disk(key) for key in school._primed)
    # the first block was lent the school itself; the next ones start from
    # it read back (from disk; from the primer once the file has gone)
    assert school.compress_block(TEXT[:2000], preset.text) == first
    assert school.compress_block(TEXT[:2000], preset.text) == first
    school._primed.clear()
    assert school.compress_block(TEXT[:2000], preset.text) == first
    for key in school._primed:
        primed_cache.path_for(key).unlink()
    assert school.compress_block(TEXT[:2000], preset.text) == first
    assert school.compress_block(TEXT[:2000], preset.text) == first     # (read, and kept on disk again)
    school._primed.clear()

    def unread(*args):
        raise AssertionError("the primer was read again")
    with monkeypatch.context() as patched:
        patched.setattr(engine, "read_primer", unread)
        assert school.compress_block(TEXT[:2000], preset.text) == first
        assert school.compress_block(TEXT[2000:2600], preset.text) is not None     # a copy of it
    blob = shoal.compress(TEXT[:2000], preset=preset)
    with FreshDecoder() as fresh:
        assert fresh.decode(blob) == TEXT[:2000]
    # a byte damaged on disk: the file is refused (its checksums), the primer read again
    path = next(primed_cache.path_for(key) for key in school._primed if primed_cache.kept_on_disk(key))
    raw = bytearray(path.read_bytes())
    count = struct.unpack("<Q", raw[len(primed_cache.MAGIC):len(primed_cache.MAGIC) + 8])[0]
    first_entry = len(primed_cache.MAGIC) + 8
    entries = [primed_cache._ENTRY.unpack_from(raw, first_entry + i * primed_cache._ENTRY.size) for i in range(count)]
    _, _, offset, nbytes, _, _ = max(entries, key=lambda entry: entry[3])
    raw[offset + nbytes // 2] ^= 0x10
    path.write_bytes(raw)
    school._primed.clear()
    with monkeypatch.context() as patched:
        patched.setattr(engine, "read_primer", unread)
        with pytest.raises(AssertionError, match="read again"):
            school.compress_block(TEXT[:2000], preset.text)
    school._primed.clear()
    assert school.compress_block(TEXT[:2000], preset.text) == first      # read again, and kept again
    assert primed_cache.kept_on_disk(next(iter(school._primed)))


def test_a_grown_school_is_the_same_whichever_block_came_first(tmp_path, monkeypatch):
    """A school read to grow reads its primer as a block of the primer's own
    length; a small block of the same fit reads it with the block after it
    (it prepares that block's first byte), so the two are kept apart: a large
    block codes the same bytes after a small one, from memory and from disk."""
    text = b"".join(b"Line %d of a learned primer, %d fish in it.\n" % (i, i * 31 % 997) for i in range(7000))
    assert engine.fit_bits(len(text)) == engine.fit_bits(len(text) + 2000) < engine.fit_bits(len(text) + len(LARGE))
    spec = dict(GROWING, primer={"digest": school.primer.learned(text), "grow": True})
    growing = school.from_dict(spec)
    monkeypatch.setattr(primed_cache, "path_for", lambda key: tmp_path / f"{hash(key)}.primed")
    school._primed.clear()
    alone = school.compress_block(LARGE, growing)                       # read, grown, kept on disk
    assert school.compress_block(LARGE, growing) == alone                # from disk
    school._primed.clear()
    school.compress_block(TEXT[:2000], growing)                          # a small block's school, in memory
    assert school.compress_block(LARGE, growing) == alone
    monkeypatch.setattr(primed_cache, "path_for", lambda key: None)       # no disk: grown from memory
    school._primed.clear()
    school.compress_block(TEXT[:2000], growing)
    assert school.compress_block(LARGE, growing) == alone


def test_a_large_kept_school_hands_out_copies_that_write_apart(monkeypatch):
    """A large kept school (level 9's) gives each block a plain copy that
    reads the kept bytes and whose writes never reach the kept school; it
    keeps one copy a block left (refilled for the next), not more."""
    from shoal.school import kept
    monkeypatch.setattr(kept.Snapshot, "WORKING_COPIES", 0)
    table = np.arange(1 << 20, dtype=np.uint8)
    snapshot = kept.Snapshot((table.copy(), np.arange(5), 7))
    copies = [snapshot.copy(), snapshot.copy()]             # two blocks at once: two copies
    assert copies[0][0] is not copies[1][0]
    for big, small, number in copies:
        assert np.array_equal(big, table) and np.array_equal(small, np.arange(5)) and number == 7
        assert big.flags.owndata
        big[:] = 0
        small[:] = 0
        snapshot.done((big, small, number))
    assert np.array_equal(snapshot.view()[0], table) and np.array_equal(snapshot.view()[1], np.arange(5))
    again = snapshot.copy()                                   # the copy a block left, refilled
    assert again[0] is copies[0][0] and np.array_equal(again[0], table) and np.array_equal(again[1], np.arange(5))
    other = snapshot.copy()                                   # only one was kept: a new one
    assert other[0] is not again[0] and other[0] is not copies[1][0] and np.array_equal(other[0], table)


def test_kept_schools_give_way_to_a_block_that_needs_the_memory(monkeypatch):
    """Out of memory (an address-space limit, say), an allocation is tried
    again after the kept schools are dropped: they only spare a primer's
    reading.  With nothing kept, the error stands."""
    from shoal.school import kept
    monkeypatch.setattr(kept, "primed", {})
    kept.keep(("any", "one lane"), (np.zeros(10),), owned=True)
    tries = []

    def allocate():
        tries.append(len(kept.primed))
        if kept.primed:
            raise MemoryError
        return "tables"
    assert kept.give_way(allocate) == "tables" and tries == [1, 0]

    def never():
        raise MemoryError
    with pytest.raises(MemoryError):
        kept.give_way(never)


def test_large_arrays_are_kept_sparse_and_read_back_exactly(tmp_path, monkeypatch):
    """An array of SPARSE_FROM bytes or more is kept as bitmaps and the words
    that are not zero, and read back exactly into arrays that need not be
    zeroed; a file whose counts or bitmaps do not agree is refused."""
    path = tmp_path / "kept.primed"
    monkeypatch.setattr(primed_cache, "path_for", lambda key: path)
    rng = np.random.default_rng(3)
    table = np.zeros(primed_cache.GROUP * 8 * 2 + 4096, dtype=np.uint8)       # two groups and a part
    table[rng.integers(0, table.size, 200_000)] = rng.integers(1, 256, 200_000)
    small = np.arange(100, dtype=np.int32)
    assert primed_cache.save("key", (table, (small, np.ones(3, dtype=np.uint16))))
    assert path.stat().st_size > table.nbytes           # whole, unless asked
    assert primed_cache.save("key", (table, (small, np.ones(3, dtype=np.uint16))), sparse=True)
    assert path.stat().st_size < table.nbytes // 2

    def fresh():
        return np.full_like(table, 7), (np.zeros_like(small), np.zeros(3, dtype=np.uint16))
    into = fresh()
    assert primed_cache.load("key", into) is into
    assert (into[0] == table).all() and (into[1][0] == small).all() and (into[1][1] == 1).all()
    raw = bytearray(path.read_bytes())
    count = struct.unpack("<Q", raw[len(primed_cache.MAGIC):len(primed_cache.MAGIC) + 8])[0]
    first = len(primed_cache.MAGIC) + 8
    entries = [primed_cache._ENTRY.unpack_from(raw, first + i * primed_cache._ENTRY.size) for i in range(count)]
    assert [e[5] for e in entries] == [primed_cache.SPARSE, primed_cache.WHOLE, primed_cache.WHOLE]
    offset = entries[0][2]
    for at, change in ((offset, 1), (offset + 8 + primed_cache.GROUP // 8 - 1, 0x80)):
        damaged = bytearray(raw)
        damaged[at] ^= change                   # a count, then a bitmap, that the other does not match
        path.write_bytes(damaged)
        assert primed_cache.load("key", fresh()) is None
