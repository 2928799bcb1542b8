"""School files (shoal/school_file.py): written, read, used and refused.

A school file carries a preset and the primer it reads; archives name it by
digest, and a reader without it says which digest it needs.
"""
import io
import json
import subprocess
import sys

import numpy as np
import pytest

import shoal
from shoal import school, school_file
from shoal.errors import ShoalError
from shoal.school import engine, primer

from fresh import FreshDecoder, FreshError

PRIMER = b"".join(b'{"id": %d, "name": "record %d", "tags": ["alpha", "beta"], "ok": true}\n' % (i, i * 7)
                  for i in range(300))
RECORD = b'{"id": 5001, "name": "record 35007", "tags": ["alpha", "beta"], "ok": false}\n'


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    path = tmp_path_factory.mktemp("schools") / "records.school"
    spec = json.loads(school.level(6).canonical)
    return school_file.write(path, spec, PRIMER, {"samples": 3, "note": "test"})


def test_a_school_file_reads_back_as_written(learned):
    again = school_file.read(learned.path)
    assert again.digest == learned.digest == again.preset.digest
    assert again.primer == PRIMER and again.made == {"samples": 3, "note": "test"}
    assert again.preset.primer == {"digest": primer.digest(PRIMER), "grow": True}
    assert again.preset.own_loop


def test_small_blocks_read_the_primers_tail(tmp_path):
    spec = json.loads(school.level(6).canonical)
    tail = school_file.write(tmp_path / "tail.school", spec, PRIMER, {}, small=4096)
    assert tail.preset.primer == {"digest": primer.digest(PRIMER), "grow": True, "bytes": 4096}
    assert primer.text(tail.preset.primer) == PRIMER[-4096:] and primer.whole_text(tail.preset.primer) == PRIMER
    whole = school_file.write(tmp_path / "whole.school", spec, PRIMER, {}, small=len(PRIMER))
    assert "bytes" not in whole.preset.primer
    assert shoal.decompress(shoal.compress(RECORD, school=tail), school=tail) == RECORD


def test_the_primer_makes_a_record_smaller(learned):
    with_school = shoal.compress(RECORD, school=learned)
    assert len(with_school) < 0.7 * len(shoal.compress(RECORD, 6))
    assert shoal.decompress(with_school) == RECORD


def test_archives_decode_in_a_fresh_process_that_finds_the_school(learned, monkeypatch, tmp_path):
    one_block = shoal.compress(RECORD * 3, school=learned.path)
    framed = shoal.compress(RECORD * 40, school=learned, block_size=1000)
    assert one_block[7] & 3 == 2 and framed[7] & 3 == 2        # identity kind 2: a school file
    assert one_block[8:16] == framed[8:16] == learned.digest[:8]     # the school's id, 8 bytes
    with FreshDecoder() as fresh:                               # no school to be found
        with pytest.raises(FreshError, match=learned.id):
            fresh.decode(one_block)
    monkeypatch.setenv("SHOAL_SCHOOL_PATH", str(tmp_path) + ":" + str(learned.path.rsplit("/", 1)[0]))
    with FreshDecoder() as fresh:
        assert fresh.decode(one_block) == RECORD * 3
        assert fresh.decode(framed) == RECORD * 40
        assert fresh.decode(framed, threads=2) == RECORD * 40


def test_every_api_takes_a_school(learned, tmp_path):
    data = RECORD * 30
    compressor = shoal.ShoalCompressor(school=learned, block_size=512)
    blob = compressor.compress(data) + compressor.flush()
    assert shoal.decompress(blob, school=learned.path) == data
    assert shoal.ShoalDecompressor(school=learned).decompress(blob) == data
    with shoal.open(tmp_path / "r.shoal", "wb", school=learned.path) as f:
        f.write(data)
    with shoal.open(tmp_path / "r.shoal", "rb", school=learned) as f:
        assert f.read() == data
    out = io.BytesIO()
    shoal.files.compress_stream(io.BytesIO(data), out, school=learned)
    assert shoal.decompress(out.getvalue()) == data
    with pytest.raises(ValueError, match="not both"):
        shoal.compress(data, preset=6, school=learned)
    with pytest.raises(TypeError):
        shoal.compress(data, school=42)


def test_blocks_that_share_a_kept_school_code_as_a_fresh_read(learned):
    # level 6 with a small primer keeps working copies of the primed school;
    # each block must code exactly as one that read the primer itself
    preset = learned.preset.text
    blocks = [RECORD * 4, RECORD[:40], RECORD * 9, RECORD * 4]
    text = np.frombuffer(PRIMER, dtype=np.uint8)
    for copy in (True, False, True):
        out = []
        for block in blocks:
            whole = np.concatenate((text, np.frombuffer(block, dtype=np.uint8)))
            payload = np.zeros(whole.size, dtype=np.uint8)
            code = school._code_after_primer if copy else school._code_primed
            out.append(payload[:code(whole, payload, False, preset, engine.NO_COST, text.size)].tobytes())
        if copy is False:
            fresh = out
        else:
            kept = out
    assert kept == fresh
    many = [RECORD * (i % 5 + 1) for i in range(12)]
    blob = shoal.compress(b"".join(many), school=learned, block_size=len(RECORD) * 3)
    assert blob == shoal.compress(b"".join(many), school=learned, block_size=len(RECORD) * 3, threads=2)


def test_large_blocks_swim_with_the_fish_and_settings_of_large():
    """`large:` (a learned school's base level's fish and settings) codes the
    blocks that start from the grown primer; smaller blocks swim with the
    preset's own fish; `large:` is part of the identity and needs a primer
    that grows."""
    text = b"".join(b"line %d of a primer that grows, with words in it\n" % i for i in range(400))
    entry = {"digest": primer.learned(text), "grow": True}
    own = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
                    {"kind": "match", "bits": 18}], "mixer": {"lr": 2}, "apm": {"rate": 6}}
    theirs = {"fish": [{"kind": "order", "arg": 3, "bits": 18}, {"kind": "match", "bits": 18, "min_len": 8}],
              "mixer": {"lr": 4, "skip": 96}, "apm": {"rate": 5}}
    both = school.from_dict(dict(own, primer=entry, large=theirs))
    alone, large_only = school.from_dict(dict(own, primer=entry)), school.from_dict(dict(theirs, primer=entry))
    assert both.digest not in (alone.digest, large_only.digest)
    assert school.from_canonical(both.canonical).spec == both.spec
    assert both.text.large.digest == both.digest and (both.text.large.fish == large_only.text.fish).all()
    assert (both.text.large.cfg == large_only.text.cfg).all() and both.binary.large is None
    small = b"a block small enough to read the primer itself, as each small block does\n" * 20
    assert school.compress_block(small, both.text) == school.compress_block(small, alone.text)
    big = bytes(np.random.default_rng(5).integers(97, 123, (1 << 20) + 4096, dtype=np.uint8))
    payload = school.compress_block(big, both.text)
    assert payload == school.compress_block(big, large_only.text) != school.compress_block(big, alone.text)
    assert school.decompress_block(payload, len(big), both.text) == big
    # a large block's tables are fitted to the block (the larger of primer
    # and block), not to both together: a block just under 1 MiB gets a
    # match index of 2^21 entries, as a level's would, where the primer and
    # it together would give 2^22
    wide = school.from_dict(dict(own, primer=entry, large=dict(theirs, fish=[
        {"kind": "order", "arg": 3, "bits": 18}, {"kind": "match", "bits": 22, "min_len": 8}])))
    tables = []
    real = engine.code_after_primer

    def seen(shape, block, *rest, **kw):
        tables.append(block.voters.match.table.size)
        return real(shape, block, *rest, **kw)
    near = big[:(1 << 20) - 4096]
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(engine, "code_after_primer", seen)
        payload = school.compress_block(near, wide.text)
        assert school.decompress_block(payload, len(near), wide.text) == near
    assert tables == [1 << 21, 1 << 21]
    for bad, message in (({"fish": own["fish"], "colour": 1}, "large"), ([1], "large must be a mapping"),
                         ({"mixer": {"lr": 2}}, "large must be a mapping with fish")):
        with pytest.raises(ShoalError, match=message):
            school.from_dict(dict(own, primer=entry, large=bad))
    with pytest.raises(ShoalError, match="a primer that grows"):
        school.from_dict(dict(own, primer="text-1", large=theirs))


def _flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]


def test_damaged_school_files_are_refused(learned, tmp_path):
    good = open(learned.path, "rb").read()
    header = 8 + int.from_bytes(good[:8], "little")
    cases = {"short": good[:5], "not safetensors": b"\x10" + b"\0" * 7 + b"not json" * 4,
             "in the header": _flipped(good, 20), "in the preset": _flipped(good, header + 30),
             "in the primer": _flipped(good, len(good) - 100)}
    for what, data in cases.items():
        path = tmp_path / "bad.school"
        path.write_bytes(data)
        with pytest.raises(shoal.ShoalError, match="not a usable school file"):
            school_file.read(path)
    other = json.loads(good[8:header])
    other["__metadata__"]["digest"] = "0" * 32
    body = json.dumps(other).encode()
    (tmp_path / "bad.school").write_bytes(len(body).to_bytes(8, "little") + body + good[header:])
    with pytest.raises(shoal.ShoalError, match="do not match its digest"):
        school_file.read(tmp_path / "bad.school")


def test_an_unknown_learned_primer_in_a_carried_preset_is_an_error():
    spec = json.loads(school.level(6).canonical)
    spec["primer"] = {"digest": "ab" * 16}
    with pytest.raises(shoal.ShoalError, match="learned primer abab"):
        school.from_dict(spec)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "shoal", *map(str, args)], capture_output=True, env=env)


def test_the_command_line_names_the_missing_school(learned, tmp_path):
    data = tmp_path / "r.json"
    data.write_bytes(RECORD * 5)
    assert _cli("-k", "-D", learned.path, data).returncode == 0
    missing = _cli("-t", f"{data}.shoal")
    assert missing.returncode == 1 and learned.id.encode() in missing.stderr
    assert _cli("-t", "-D", learned.path, f"{data}.shoal").returncode == 0
    (tmp_path / "bad.school").write_bytes(b"nonsense")
    refused = _cli("-t", "-D", tmp_path / "bad.school", f"{data}.shoal")
    assert refused.returncode == 1 and b"not a usable school file" in refused.stderr
    assert _cli("-c", "-D", learned.path, "--preset", "x.yaml", data).returncode == 1
