"""A primed school is read once and copied for each block (school._code_after_primer).

The copy must code every block exactly as reading the primer afresh would:
archives are the same bytes either way, and decode in a fresh process.
"""
import numpy as np

import shoal
from shoal import school
from shoal.school import engine

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
