"""Block kinds (school/kinds.py): text, structured text, binary and x86
blocks, the schools a preset keeps for each, `only:` and what the archive
records."""
import io
import struct

import numpy as np
import pytest

import shoal
from shoal import school
from shoal.codec import compact, container
from shoal.errors import ShoalError
from shoal.school import kinds

from fresh import FreshDecoder


def _code(size: int, seed: int = 1) -> bytes:
    """x86-64-like code: prologues, moves and a near call every ~20 bytes."""
    rng = np.random.default_rng(seed)
    out = bytearray()
    while len(out) < size:
        out += b"\x55\x48\x89\xe5\x48\x83\xec\x10\x89\x7d\xfc"
        out += b"\xe8" + struct.pack("<i", int(rng.integers(-50000, 50000)))
        out += b"\x8b\x45\xfc\xc9\xc3" + bytes(int(rng.integers(0, 3)))
    return bytes(out[:size])


PROSE = (b"It was the best of times, it was the worst of times, it was the age of wisdom,\n"
         b"it was the age of foolishness; there were a king with a large jaw and a queen\n"
         b"with a plain face, on the throne of England: so the story goes.\n") * 8
TEXT = PROSE * 2
JSON = b"".join(b'{"code": "AZ-%03d", "name": "Rayon %d", "type": "Rayon"},\n' % (i, i * 7) for i in range(60))
TABLE = np.arange(700, dtype="<i4").tobytes()
CODE = _code(2800)
SMALL = {"block_size": 4096, "lanes": 2, "apm": {"order2_bits": 8},
         "fish": [{"kind": "order", "arg": 1, "bits": 10}, {"kind": "order", "arg": 2, "bits": 12},
                  {"kind": "x86", "arg": 0, "bits": 12, "only": "x86"},
                  {"kind": "record", "arg": 3, "bits": 10, "only": "other-binary"},
                  {"kind": "word", "arg": 0, "bits": 10, "only": "text"},
                  {"kind": "column", "only": ["text", "other-binary"]}]}


def test_blocks_are_told_apart_by_kind():
    assert kinds.detect(TEXT) == "text" and kinds.detect(TABLE) == "binary" and kinds.detect(CODE) == "x86"
    assert kinds.detect(JSON) == "structured" and kinds.detect(JSON, frozenset({"text", "binary"})) == "text"
    # a preset that does not tell x86 blocks apart gets binary for code
    assert kinds.detect(CODE, frozenset({"text", "binary"})) == "binary"
    # x86 once code is a sixteenth of the block or more (a near call per 128 bytes in its segment)
    calls = bytearray(64 << 10)
    for at in range(0, len(calls), 100):
        calls[at:at + 5] = b"\xe8\x10\x00\x00\x00"
    for code_share, expected in ((0.05, "binary"), (0.08, "x86")):
        block = bytes(calls) + bytes(int(len(calls) * (1 / code_share - 1)))
        assert kinds.detect(block) == expected
    assert kinds.detect(b"") == "text" and kinds.detect(bytearray(CODE)) == "x86"


def test_only_names_kinds_and_has_one_canonical_form():
    preset = school.from_dict(SMALL)
    fish = preset.spec["fish"]
    assert fish[2]["only"] == "x86" and fish[5]["only"] == ["other-binary", "text"]
    # a list that covers every block is no mark at all; duplicates and order do not matter
    same = dict(SMALL, fish=SMALL["fish"][:5] + [{"kind": "column", "only": ["other-binary", "text", "text"]}])
    assert school.from_dict(same).digest == preset.digest
    everywhere = dict(SMALL, fish=SMALL["fish"][:5] + [{"kind": "column", "only": ["text", "binary"]}])
    assert "only" not in school.from_dict(everywhere).spec["fish"][5]
    for bad in ("code", [], ["text", 3], {"x86": 1}):
        with pytest.raises(ShoalError, match="only must be one of"):
            school.from_dict(dict(SMALL, fish=[{"kind": "order", "arg": 1, "bits": 10, "only": bad}]))
    # every kind of block needs some fish
    with pytest.raises(ShoalError, match="would have no fish at all"):
        school.from_dict(dict(SMALL, fish=[{"kind": "order", "arg": 1, "bits": 10, "only": "text"},
                                           {"kind": "order", "arg": 2, "bits": 10, "only": "x86"}]))


def test_a_preset_keeps_a_school_for_each_kind_it_tells_apart():
    preset = school.from_dict(SMALL)
    assert preset.kinds == ("text", "binary", "x86")
    names = {kind: sorted(f["kind"] for f in s.spec["fish"] if kinds.swims_in(f, kind))
             for kind, s in preset.schools().items()}
    assert names == {"text": ["column", "order", "order", "word"], "binary": ["column", "order", "order", "record"],
                     "x86": ["order", "order", "x86"]}
    assert [s.fish.shape[0] for s in preset.schools().values()] == [3, 3, 3]
    assert preset.memory_bytes() == max(s.memory_bytes() for s in preset.schools().values())
    # the same marks without x86 ones: x86 blocks are binary blocks
    plain = school.from_dict(dict(SMALL, fish=SMALL["fish"][:2] + [{"kind": "word", "arg": 0, "bits": 10,
                                                                    "only": "text"}]))
    assert plain.kinds == ("text", "binary") and plain.school("x86") is plain.binary
    one = school.from_dict(dict(SMALL, fish=SMALL["fish"][:2]))
    assert one.kinds == ("text",) and one.school("x86") is one and one.binary is None
    assert school.block_kind(CODE, one) == "text" and school.block_kind(CODE, plain) == "binary"


def test_each_block_is_marked_with_its_school_and_decodes_in_a_fresh_process():
    preset = school.from_dict(SMALL)
    data = TEXT[:2048] + CODE[:2048] + TABLE[:2048] + CODE[:1500]
    archive = shoal.compress(data, preset=SMALL, block_size=2048)
    blocks = [item for item in container.read_items(io.BytesIO(archive).read) if isinstance(item, container.Block)]
    assert [b.kind for b in blocks] == ["text", "x86", "binary", "x86"] and not any(b.stored for b in blocks)
    # the school that coded each block is the one its kind calls for
    for block, start in zip(blocks, range(0, len(data), 2048)):
        piece = data[start:start + 2048]
        assert block.payload == school.compress_block(piece, preset.school(block.kind))
    # `shoal -lvv` lists which school coded each block
    from shoal.files import list_archive
    (stream,) = list_archive(io.BytesIO(archive))
    assert [b["kind"] for b in stream["block_list"]] == ["coded", "x86", "binary", "x86"]
    # one block alone: the compact form's content 4
    alone = shoal.compress(CODE, preset=SMALL)
    assert (alone[7] >> 3) & 7 == compact.CODED_X86
    with FreshDecoder() as fresh:
        assert fresh.decode(archive) == data
        assert fresh.decode(alone) == CODE


def test_a_block_marked_for_a_school_the_preset_lacks_is_refused():
    plain = dict(SMALL, fish=SMALL["fish"][:2] + [{"kind": "word", "arg": 0, "bits": 10, "only": "text"}])
    archive = shoal.compress(TABLE, preset=plain)
    flags = archive[7]
    assert (flags >> 3) & 7 == compact.CODED_BINARY
    relabelled = archive[:7] + bytes([flags & ~0x38 | compact.CODED_X86 << 3]) + archive[8:]
    with pytest.raises(ShoalError, match="school for x86 blocks, but the preset has none"):
        shoal.decompress(relabelled)


def test_the_shipped_levels_code_x86_blocks_with_x86_fish():
    """Levels 6, 8 and 9 have x86 fish only in x86 blocks: their text and
    binary schools are those of the definitions before (retired), so text
    and other binaries code to the same payload; level 8 has structure fish
    in structured text."""
    for n, before in ((6, "731d47b2c94129c32b8c165975ef2799"), (8, "07d2d7d41c55b8e6c2841bc32372bba6"),
                      (9, "a84c8a42bc520a4f13b943e95a6e3d0a")):
        level, old = school.level(n), school.retired_level(n, bytes.fromhex(before))
        assert level.kinds == (("text", "binary", "x86", "structured") if n == 8 else ("text", "binary", "x86"))
        x86_fish = {i for i, f in enumerate(level.spec["fish"]) if f["kind"] == "x86"}
        assert x86_fish and all(level.spec["fish"][i]["only"] == "x86" for i in x86_fish)
        assert np.array_equal(level.text.fish, old.text.fish) and np.array_equal(level.text.cfg, old.text.cfg)
        if n > 6:      # levels 8 and 9: the x86 school is the old binary school
            assert np.array_equal(level.school("x86").fish, old.binary.fish)
    # level 8's structured school: its text school and three structure fish
    level8 = school.level(8)
    assert level8.school("structured").fish.shape[0] == level8.text.fish.shape[0] + 3
    assert school.block_kind(JSON, level8) == "structured" and school.block_kind(PROSE, level8) == "text"
    level6, old6 = school.level(6), school.retired_level(6, bytes.fromhex("731d47b2c94129c32b8c165975ef2799"))
    assert np.array_equal(level6.binary.fish, old6.binary.fish) and np.array_equal(level6.binary.cfg, old6.binary.cfg)
    assert school.compress_block(TABLE, level6.binary) == school.compress_block(TABLE, old6.binary)


CSV = b"".join(b'%d,"Name, %d",%d.5,yes\n' % (i, i, i * 3) for i in range(40))
KEYS = b"Package: shoal\nVersion: 0.1\nDepends: numpy, numba\nDescription: a school of fish\n" * 5
C_CODE = b"static int add(int a, int b)\n{\n\tint c = a + b;\n\treturn c;\n}\n\n" * 20


@pytest.mark.parametrize("data, structured", [(JSON, True), (CSV, True), (KEYS, True), (PROSE, False),
                                              (C_CODE, False), (TEXT, False), (b"a: 1\nb: 2\n", False)])
def test_structured_text_is_records_not_prose_or_code(data, structured):
    assert kinds.looks_structured(data) == structured          # (four lines at least)


def test_structured_blocks_get_their_school_and_a_block_type_of_their_own():
    preset = dict(SMALL, fish=SMALL["fish"][:2] + [{"kind": "struct", "arg": 0, "bits": 12, "only": "structured"},
                                                   {"kind": "word", "arg": 0, "bits": 10, "only": "other-text"}])
    loaded = school.from_dict(preset)
    assert loaded.kinds == ("text", "binary", "structured")
    assert [f["kind"] for f in loaded.school("structured").spec["fish"]
            if kinds.swims_in(f, "structured")] == ["order", "order", "struct"]
    data = JSON[:2048] + TEXT[:2048] + TABLE[:2048] + CODE[:2048]
    archive = shoal.compress(data, preset=preset, block_size=2048)
    blocks = [item for item in container.read_items(io.BytesIO(archive).read) if isinstance(item, container.Block)]
    assert [b.kind for b in blocks] == ["structured", "text", "binary", "binary"]
    assert blocks[0].payload == school.compress_block(JSON[:2048], loaded.school("structured"))
    alone = shoal.compress(JSON, preset=preset)
    assert (alone[7] >> 3) & 7 == compact.CODED_STRUCTURED
    with FreshDecoder() as fresh:
        assert fresh.decode(archive) == data
        assert fresh.decode(alone) == JSON
