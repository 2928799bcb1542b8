"""The school codes blocks losslessly and deterministically."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal import school
from shoal.fish import column, voters
from shoal.school import engine, layout, primer
from shoal.errors import ShoalError

SAMPLES = [
    b"a",
    bytes(range(256)),
    b"\x00" * 5000,
    b"the quick brown fox jumps over the lazy dog. " * 50,
    np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
]


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: f"{len(d)}B")
def test_block_round_trip(level, data):
    preset = school.level(level)
    payload = school.compress_block(data, preset)
    if payload is None:  # would not shrink: the container stores it raw
        assert len(set(data)) > 200 or len(data) < 8
        return
    assert len(payload) < len(data)
    assert school.decompress_block(payload, len(data), preset) == data


def test_compression_is_deterministic():
    data = SAMPLES[3]
    preset = school.level(6)
    assert school.compress_block(data, preset) == school.compress_block(data, preset)


def test_corrupt_payload_is_detected_or_differs():
    data = SAMPLES[3]
    preset = school.level(6)
    payload = bytearray(school.compress_block(data, preset))
    payload[len(payload) // 2] ^= 0x55
    try:
        out = school.decompress_block(bytes(payload), len(data), preset)
    except ShoalError:
        return
    assert out != data


def _code_with_both_loops(preset, data):
    """data as a buffer, what the general loop and the loop compiled for the
    preset's shape write for it, and how many bytes (both write as many)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    general, compiled = np.empty(buf.size, dtype=np.uint8), np.empty(buf.size, dtype=np.uint8)
    written = engine.code_block(buf, buf.size, general, False, preset.fish, preset.cfg, engine.NO_COST,
                                *engine.new_tables(buf.size, preset.fish, preset.cfg))
    tables = engine.new_tables(buf.size, preset.fish, preset.cfg)
    assert engine.code_block_for(layout.structure(preset.fish, preset.cfg), buf, buf.size, compiled, False,
                                 preset.fish, preset.cfg, *tables) == written
    return buf, general, compiled, written


def coded_alike_by_both_loops(preset, data) -> int:
    """The bytes both loops write for data (asserting they write the same),
    once the shape's loop has decoded them back to data."""
    buf, general, compiled, written = _code_with_both_loops(preset, data)
    assert compiled[:written].tobytes() == general[:written].tobytes()
    decoded = np.empty(buf.size, dtype=np.uint8)
    assert engine.code_block_for(layout.structure(preset.fish, preset.cfg), decoded, buf.size,
                                 compiled[:written].copy(), True, preset.fish, preset.cfg,
                                 *engine.new_tables(buf.size, preset.fish, preset.cfg)) == written
    assert decoded.tobytes() == data
    return written


@pytest.mark.parametrize("level", [1, 6, 9])
def test_loop_compiled_for_a_shape_codes_like_the_general_loop(level):
    """Compress and decompress run a loop compiled for the school's shape
    (engine.code_block_for); it must write exactly what the general loop
    writes, and read it back."""
    data = (SAMPLES[3] + bytes(range(256)) * 3 + b"".join(b"%d," % (7 * i) for i in range(400))
            + np.arange(500, dtype="<i4").tobytes())
    preset = school.level(level)
    shape = layout.structure(preset.fish, preset.cfg)
    buf, general, compiled, written = _code_with_both_loops(preset, data)
    assert compiled[:written].tobytes() == general[:written].tobytes()
    decoded = np.empty(buf.size, dtype=np.uint8)
    assert engine.code_block_for(shape, decoded, buf.size, compiled[:written].copy(), True, preset.fish,
                                 preset.cfg, *engine.new_tables(buf.size, preset.fish, preset.cfg)) == written
    assert decoded.tobytes() == data
    unprimed = dataclasses.replace(preset, unprimed=True)             # the same fish, no primer
    assert school.compress_block(data, unprimed) == general[:written].tobytes()


def _records(n: int, seed: int = 3) -> bytes:
    """JSON records and CSV rows: keys that repeat, values that vary by key."""
    rng = np.random.default_rng(seed)
    names = ["ann", "bo", "cy", "dee", "eli", "fay"]
    rows = [b'{"id": %d, "name": "%s", "tags": ["t%d", "u%d"], "score": %d.%02d},\n'
            % (i, names[rng.integers(6)].encode(), rng.integers(9), rng.integers(5), rng.integers(100),
               rng.integers(100)) for i in range(n)]
    csv = [b"%d,%s,%d\n" % (i, names[rng.integers(6)].encode(), rng.integers(1000)) for i in range(n)]
    return b"[" + b"".join(rows) + b"]\n" + b"".join(csv)


def test_structure_fish_code_alike_in_both_loops_and_learn_the_structure():
    """A school with STRUCT fish keeps the structure's history (keys, path,
    fields), in the general loop and in the loop compiled for its shape
    alike, and the structure is worth something on records."""
    fish = [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 3, "bits": 18},
            {"kind": "match", "min_len": 6, "bits": 18}]
    plain = school.from_dict({"fish": fish})
    structured = school.from_dict({"fish": fish + [{"kind": "struct", "arg": a, "bits": 18} for a in range(4)]})
    data = _records(400)
    written = coded_alike_by_both_loops(structured, data)
    assert written < 0.97 * len(school.compress_block(data, plain))


def test_both_loops_read_a_primer_alike():
    """With `primed` bytes before the block, both loops read them first and
    then code the rest, alike; what they code depends on what they read."""
    preset = school.level(6).text
    shape = layout.structure(preset.fish, preset.cfg)
    read, data = SAMPLES[3], b"the lazy dog jumps over the quick brown fox. " * 20
    buf = np.frombuffer(read + data, dtype=np.uint8).copy()
    general, compiled = np.empty(len(data), dtype=np.uint8), np.empty(len(data), dtype=np.uint8)
    tables = [engine.new_tables(buf.size, preset.fish, preset.cfg) for _ in range(3)]
    written = engine.code_block(buf, buf.size, general, False, preset.fish, preset.cfg, engine.NO_COST, *tables[0],
                                len(read))
    assert engine.code_block_for(shape, buf, buf.size, compiled, False, preset.fish, preset.cfg, *tables[1],
                                 len(read)) == written
    assert compiled[:written].tobytes() == general[:written].tobytes()
    assert written < len(school.compress_block(data, preset))            # it learnt from the primer
    decoded = buf.copy()
    decoded[len(read):] = 0
    assert engine.code_block_for(shape, decoded, buf.size, compiled[:written].copy(), True, preset.fish, preset.cfg,
                                 *tables[2], len(read)) == written
    assert decoded.tobytes() == read + data


def test_a_primer_is_read_before_each_text_block():
    """primer: NAME makes the text school read a shipped primer before each
    block: text codes smaller; blocks that are not text go to the binary
    school, which reads nothing; archives name the primer by its digest."""
    base = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
                     {"kind": "match", "bits": 18}]}
    plain, primed = school.from_dict(base), school.from_dict(dict(base, primer="text-1"))
    assert primed.primer["name"] == "text-1" and len(primed.primer["digest"]) == 32
    assert primed.text is primed and primed.binary.primer is None and plain.binary is None
    assert school.from_canonical(primed.canonical).primer == primed.primer and primed.digest != plain.digest
    text = b"The school reads English before it codes this sentence, so it codes it in fewer bits. " * 3
    payload = school.compress_block(text, primed)
    assert len(payload) < 0.8 * len(school.compress_block(text, plain))
    assert school.decompress_block(payload, len(text), primed) == text
    costs, size = school.score_block(text, primed)
    assert costs.size == len(text) and size == len(payload)
    binary = np.arange(2000, dtype="<i4").tobytes()
    assert school.school_for(binary, primed) is primed.binary
    assert school.compress_block(binary, primed.binary) == school.compress_block(binary, plain)
    assert school.level(9).primer is not None and school.with_neural(9).primer == school.level(9).primer
    with pytest.raises(ShoalError, match="primer 'no-such', which is not installed"):
        school.from_dict(dict(base, primer="no-such"))
    with pytest.raises(ShoalError, match="primer must be the name"):
        school.from_dict(dict(base, primer="../presets/level1"))
    with pytest.raises(ShoalError, match="one lane"):
        school.from_dict(dict(base, primer="text-1", lanes=2))
    other = primed.canonical.replace(primed.primer["digest"].encode(), b"0" * 32)
    with pytest.raises(ShoalError, match="primer 'text-1' with digest 0+; this shoal's"):
        school.from_canonical(other)


def test_a_block_is_placed_after_its_primer_and_coded_there_without_a_copy():
    """compress_block and decompress_block put a block that reads a primer
    right after the primer's text, in one array, so that coding them as one
    copies nothing more (a large block of a learned school reads up to 1 MiB
    of primer); an array made otherwise is joined by a copy, as before."""
    primed = school.level(6).text
    data = np.frombuffer(b"short text, read after the primer " * 30, dtype=np.uint8)
    text = school._primer_text(primed, data.size)
    assert text.size == primed.primer["bytes"] and bytes(text) == primer.text(primed.primer)
    buf = school._block_array(primed, data.size, data)
    assert bytes(buf) == bytes(data) and school._joined(text, buf) is buf.base
    assert (buf.base[:text.size] == text).all()
    alone = data.copy()
    joined = school._joined(text, alone)
    assert joined is not alone.base and bytes(joined) == bytes(text) + bytes(data)
    assert school._primer_text(primed, 1 << 20).size == 0        # level 6 reads no primer before 1 MiB
    assert school._block_array(primed, 1 << 20).base.size == 1 << 20
    payload = school.compress_block(bytes(data), primed)
    assert school.decompress_block(payload, data.size, primed) == bytes(data)


def test_a_primer_can_be_cut_short_and_kept_for_short_blocks():
    """primer: {name, bytes, below} reads only the primer's last `bytes`, and
    only before blocks shorter than `below`; both are part of the preset."""
    base = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
                     {"kind": "match", "bits": 18}]}
    whole = school.from_dict(dict(base, primer="text-1"))
    tail = school.from_dict(dict(base, primer={"name": "text-1", "bytes": 8192}))
    short = school.from_dict(dict(base, primer={"name": "text-1", "below": 300}))
    assert primer.text(tail.primer) == primer.text(whole.primer)[-8192:]
    assert len({whole.digest, tail.digest, short.digest}) == 3
    assert school.from_canonical(tail.canonical).primer == tail.primer == dict(whole.primer, bytes=8192)
    # prose that does not repeat itself, so what the primer taught (not the
    # match fish) makes the difference
    text = (b"The school reads English before it codes this sentence, so it codes it in fewer bits. Which of its "
            b"words it has seen often, and how they follow one another, it knew before the first byte arrived. "
            b"A block as short as this one is where such knowledge pays the most, for there is little else to learn from.")
    assert len(text) > 300
    plain = school.compress_block(text, school.from_dict(base))
    cut = school.compress_block(text, tail)
    assert len(school.compress_block(text, whole)) < len(cut) < len(plain)
    assert school.decompress_block(cut, len(text), tail) == text
    assert school.compress_block(text[:299], short) != school.compress_block(text[:299], whole.binary)
    assert school.compress_block(text[:300], short) == school.compress_block(text[:300], whole.binary)
    assert school.decompress_block(school.compress_block(text[:300], short), 300, short) == text[:300]
    for bad, message in (({"name": "text-1", "bytes": 0}, "primer.bytes"), ({"name": "text-1", "below": "1M"},
                         "primer.below"), ({"name": "text-1", "size": 4}, "primer takes")):
        with pytest.raises(ShoalError, match=message):
            school.from_dict(dict(base, primer=bad))


def test_the_boost_can_start_again_at_a_primed_block():
    """mixer.boost_from: block restarts the learning rate's boost at the block
    (after the primer); it is part of the preset, and an unprimed school codes
    the same either way."""
    base = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
                     {"kind": "match", "bits": 18}], "mixer": {"lr_boost": 24, "lr_halflife": 10}}
    again = dict(base, mixer=dict(base["mixer"], boost_from="block"))
    primed = school.from_dict(dict(base, primer={"name": "text-1", "bytes": 16384}))
    restarted = school.from_dict(dict(again, primer={"name": "text-1", "bytes": 16384}))
    assert restarted.spec["mixer"]["boost_from"] == "block" and "boost_from" not in primed.spec["mixer"]
    assert restarted.digest != primed.digest
    data = b'{"id": 1, "values": [3, 1, 4, 1, 5, 9, 2, 6], "name": "not much like English prose"}\n' * 12
    coded = school.compress_block(data, restarted)
    assert coded != school.compress_block(data, primed)
    assert school.decompress_block(coded, len(data), restarted) == data
    assert school.compress_block(data, school.from_dict(again)) == school.compress_block(data, school.from_dict(base))
    with pytest.raises(ShoalError, match="boost_from"):
        school.from_dict(dict(base, mixer={"boost_from": "middle"}))


def test_presets_validate():
    with pytest.raises(ShoalError):
        school.from_dict({"fish": [{"kind": "nonsense"}]})
    with pytest.raises(ShoalError):
        school.from_dict({"fish": []})
    with pytest.raises(ShoalError):
        school.level(10)
    for section in ("mixer", "apm"):
        with pytest.raises(ShoalError, match=f"{section} must be a mapping"):
            school.from_dict({"fish": [{"kind": "order"}], section: 5})
    p = school.level(6)
    assert school.from_canonical(p.canonical).digest == p.digest


LANED = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 3, "bits": 18},
                  {"kind": "word", "arg": 1, "bits": 16}, {"kind": "record", "arg": 1, "bits": 16},
                  {"kind": "textcol", "arg": 0, "bits": 16}, {"kind": "sparse", "arg": 6, "bits": 16},
                  {"kind": "match", "min_len": 4, "bits": 16}, {"kind": "column"}],
         "mixer": {"gates": ["c0", "match", "column"]}}


@settings(max_examples=60, deadline=None)
@given(data=st.one_of(st.binary(max_size=600),
                      st.lists(st.sampled_from([b"abc", b"abd", b"12,", b"\n", b"\x00\x01"]),
                               max_size=150).map(b"".join)),
       lanes=st.integers(1, 9))
def test_lanes_round_trip(data, lanes):
    """Lanes cut a block into streams coded in turn, sharing the tables; the
    match fish may follow an occurrence in any lane, but only into bytes
    already coded.  Any lane count, even more lanes than bytes, round-trips."""
    preset = school.from_dict(dict(LANED, lanes=lanes))
    costs, coded = school.score_block(data, preset)
    payload = school.compress_block(data, preset)
    if payload is not None:
        assert len(payload) == coded
        assert school.decompress_block(payload, len(data), preset) == data


def test_lanes_default_to_one_and_are_validated():
    data = SAMPLES[3] + bytes(range(256)) * 4
    plain = school.from_dict(LANED)
    assert plain.digest == school.from_dict(dict(LANED, lanes=1)).digest
    two = school.from_dict(dict(LANED, lanes=2))
    assert plain.digest != two.digest
    assert school.compress_block(data, plain) != school.compress_block(data, two)
    with pytest.raises(ShoalError, match="lanes"):
        school.from_dict(dict(LANED, lanes=0))


def test_final_mixer_that_hears_the_votes():
    """mixer.final: votes enters the canonical form only when asked for, is
    validated, and round-trips with one gate or several."""
    assert "final" not in school.level(1).spec["mixer"]
    assert school.level(6).spec["mixer"]["final"] == "votes"
    with pytest.raises(ShoalError, match="mixer.final"):
        school.from_dict({"fish": [{"kind": "order"}], "mixer": {"final": "loud"}})
    data = SAMPLES[3] + b"".join(b"%d\n" % (3 * i) for i in range(300)) + bytes(range(256))
    for gates in (["c0"], ["c0", "match"]):
        spec = dict(LANED, mixer={"gates": gates, "final": "votes"}, lanes=2)
        preset = school.from_dict(spec)
        assert preset.digest != school.from_dict(dict(spec, mixer={"gates": gates})).digest
        payload = school.compress_block(data, preset)
        assert len(payload) == school.score_block(data, preset)[1]
        assert school.decompress_block(payload, len(data), preset) == data


def test_fish_that_swim_only_in_text_or_only_in_binary_blocks():
    """A fish marked only: text swims only in blocks that look like text, one
    marked only: binary only in the others: preset.text and preset.binary."""
    fish = [dict(f, only="text") if f["kind"] in ("word", "textcol") else
            dict(f, only="binary") if f["kind"] == "sparse" else f for f in LANED["fish"]]
    preset = school.from_dict(dict(LANED, fish=fish, lanes=2))
    assert preset.spec["fish"][2]["only"] == "text" and "only" not in preset.spec["fish"][0]
    plain = school.from_dict(dict(LANED, lanes=2))
    assert preset.digest != plain.digest
    assert plain.binary is None and plain.text is plain and school.level(7).binary is None
    assert preset.text.fish.shape[0] == preset.binary.fish.shape[0] + 1 == preset.fish.shape[0] - 1
    assert preset.binary.digest == preset.text.digest == preset.digest    # parts of the same preset
    assert preset.memory_bytes() == max(preset.text.memory_bytes(), preset.binary.memory_bytes())
    text = SAMPLES[3]
    binary = np.arange(2000, dtype="<i4").tobytes()        # three NULs in four bytes
    assert school.looks_like_text(text) and school.looks_like_text(b"") and not school.looks_like_text(binary)
    assert school.looks_like_text(text + b"\x00")          # a stray NUL leaves text text
    assert school.school_for(text, preset) is preset.text and school.school_for(text, plain) is plain
    assert school.school_for(binary, preset) is preset.binary
    assert school.school_for(binary, school.level(7)) is school.level(7)
    for data, chosen in ((binary, preset.binary), (text, preset.text)):
        payload = school.compress_block(data, chosen)
        assert payload != school.compress_block(data, plain)
        assert school.decompress_block(payload, len(data), chosen) == data
        assert school.score_block(data, preset)[1] == len(payload)     # scoring picks the school too
    with pytest.raises(ShoalError, match="word.only"):
        school.from_dict({"fish": [{"kind": "order"}, {"kind": "word", "only": "prose"}]})
    for only in ("text", "binary"):
        with pytest.raises(ShoalError, match="would have no fish"):
            school.from_dict({"fish": [{"kind": "word", "only": only}]})
    with pytest.raises(ShoalError, match="perturb and fish with only"):
        school.from_dict({"fish": [{"kind": "order"}, {"kind": "word", "only": "text"}], "perturb": {"shuffle": 8}})


def test_column_fish_can_keep_its_integer_predictors_to_binary_blocks():
    """column.integers: binary leaves the fixed-width integer predictors out
    of the text school (which keeps the decimal and record ones); it enters
    the canonical form only when asked for, and both loops run it alike."""
    fish = [{"kind": "order", "arg": 1}, {"kind": "column", "integers": "binary"}]
    preset = school.from_dict({"fish": fish})
    plain = school.from_dict({"fish": fish[:1] + [{"kind": "column"}]})
    assert preset.spec["fish"][1] == {"kind": "column", "integers": "binary"} and plain.spec["fish"][1] == {
        "kind": "column"}
    assert plain.binary is None and preset.binary is not None and preset.digest != plain.digest
    assert layout.modes(preset.text.cfg)[voters.COLUMN] == column.SMALL
    assert layout.modes(preset.binary.cfg)[voters.COLUMN] == layout.modes(plain.cfg)[voters.COLUMN] == column.FULL
    ints = np.arange(1000, 5000, 7, dtype="<i4").tobytes()        # an arithmetic sequence, binary
    numbers = b"".join(b"%d\n" % n for n in range(1000, 5000, 7))  # the same, written out: text
    assert school.school_for(ints, preset) is preset.binary and school.school_for(numbers, preset) is preset.text
    # the text school still knows decimal numbers (2,000-odd bytes in a few
    # dozen, as with the whole fish), not little-endian ones
    assert len(school.compress_block(numbers, preset.text)) <= len(school.compress_block(numbers, plain)) + 4 < 40
    assert len(school.compress_block(ints, preset.text)) > 3 * len(school.compress_block(ints, preset.binary))
    for data in (ints, numbers):
        chosen = school.school_for(data, preset)
        assert school.decompress_block(school.compress_block(data, chosen), len(data), chosen) == data
    _, general, compiled, written = _code_with_both_loops(preset.text, ints + numbers)
    assert compiled[:written].tobytes() == general[:written].tobytes()
    with pytest.raises(ShoalError, match="column.integers"):
        school.from_dict({"fish": [{"kind": "column", "integers": "text"}]})
