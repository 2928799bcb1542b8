"""shoal learn (shoal/learn/): samples split, primers chosen, a school file written and used."""
import json
import subprocess
import sys

import pytest

import shoal
from shoal import school_file
from shoal.errors import ShoalError
from shoal import school
from shoal.learn import fish, judge, primers, samples, tune

from fresh import FreshDecoder


def _record(i: int) -> bytes:
    return (b'{"user": "u%05d", "plan": "%s", "active": %s, "visits": [%d, %d, %d]}\n'
            % (i * 37 % 10007, [b"free", b"team", b"enterprise"][i % 3], [b"true", b"false"][i % 2], i, i * 3, i % 7))


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    for f in range(60):
        (folder / f"r{f:03}.json").write_bytes(b"".join(_record(f * 10 + i) for i in range(6)))
    return folder


def test_pieces_are_cut_at_line_ends_and_split_by_name(sample_dir, tmp_path):
    text = b"".join(b"line %d of a long log\n" % i for i in range(5000))
    pieces = samples.cut(text, 4096)
    assert b"".join(pieces) == text and all(p.endswith(b"\n") for p in pieces)
    assert all(len(p) <= 4096 for p in pieces)
    found = samples.read([sample_dir])
    assert found.files == 60 and found.learn and found.tune and found.check
    assert sorted(found.all()) == sorted((sample_dir / f"r{f:03}.json").read_bytes() for f in range(60))
    again = samples.read(sorted(sample_dir.iterdir(), reverse=True))      # the order given does not matter
    assert (again.learn, again.tune, again.check) == (found.learn, found.tune, found.check)
    (tmp_path / "one").write_bytes(b"x")
    with pytest.raises(ShoalError, match="too few samples"):
        samples.read([tmp_path / "one"])


def test_cover_takes_what_many_pieces_share_and_keeps_the_budget():
    shared = b"Content-Type: application/json; charset=utf-8\nX-Shared-Header: yes\n"
    pieces = [shared + bytes([65 + i % 26]) * 40 + b"%d" % i for i in range(30)]
    chosen = primers.cover(pieces, 256, k=64)
    assert shared[:40] in chosen and len(chosen) <= 256
    assert primers.recent(pieces, 100) == b"".join(pieces)[-100:]
    found = primers.recipes([32 << 10, 64 << 10], sum(map(len, pieces)))
    assert set(found) == {"recent 32 KiB", "cover k=256 32 KiB", "cover k=1024 32 KiB"}   # all fits in 32 KiB
    assert found["cover k=256 32 KiB"](pieces) == primers.cover(pieces, 32 << 10, k=256)
    general = bytes(range(256)) * 300                     # the base level's primer fills budgets the samples cannot
    found = primers.recipes([32 << 10, 64 << 10], sum(map(len, pieces)), shipped=general)
    assert {"filled 32 KiB", "filled 64 KiB"} <= set(found)
    everything = b"".join(pieces)
    assert found["filled 64 KiB"](pieces) == general[-((64 << 10) - len(everything)):] + everything


def test_large_blocks_read_more_of_the_samples_ending_with_the_chosen_primer():
    pieces = [b"piece %d: " % i + bytes([65 + i % 26]) * 200 + b"\n" for i in range(100)]
    for name, chosen in (("recent 1 KiB", primers.recent(pieces, 1024)), ("cover k=64 1 KiB", pieces[3] * 4)):
        large = primers.for_large_blocks(pieces, chosen, name, 8192)
        assert large.endswith(chosen) and len(chosen) < len(large) <= 8192
    everything = b"".join(pieces)
    general = bytes(range(256)) * 100       # the base level's primer, before samples that fall short
    few = b"".join(pieces[:10])
    filled = primers.fill(primers.for_large_blocks(pieces[:10], pieces[9], "recent 1 KiB", 8192), 8192, general)
    assert len(filled) == 8192 and filled == general[-(8192 - len(few)):] + few
    assert primers.fill(primers.for_large_blocks(pieces, pieces[-1], "recent 1 KiB", 8192), 8192,
                        general) == everything[-8192:]
    assert primers.for_large_blocks(pieces, everything[-1024:], "recent 1 KiB", 1 << 20) == everything


def test_the_search_moves_only_numbers():
    base = tune.base_spec(6)
    x = [0.5] * len(tune.genes(base))
    spec = tune.decode(base, x)
    assert [f["kind"] for f in spec["fish"]] == [f["kind"] for f in base["fish"]]
    assert [f.get("bits") for f in spec["fish"]] == [f.get("bits") for f in base["fish"]]
    start = [tune._to_unit(tune._get(base, s, k), lo, hi, log) for s, k, lo, hi, log in tune.genes(base)]
    assert tune.decode(base, start) == base and tune.changes(base, base) == []
    bounds = {(s, k): (lo, hi) for s, k, lo, hi, _ in tune.genes(base)}
    assert bounds["mixer", "skip"][0] == base["mixer"]["skip"]          # never slower than the base
    assert bounds["apm", "order2_bits"][1] == base["apm"]["order2_bits"]    # never more memory
    for corner in ([0.0] * len(x), [1.0] * len(x)):
        spec = tune.decode(base, corner)
        assert spec["mixer"]["skip"] >= base["mixer"]["skip"]
        assert spec["apm"]["order2_bits"] <= base["apm"]["order2_bits"]


def _family_fish(spec: dict, kind: str) -> list:
    return [(f["kind"], f.get("arg"), f.get("bits")) for f in spec["fish"] if kind in fish.covers(f.get("only", "any"))]


def test_a_fish_swap_keeps_the_school_s_size_and_leaves_other_blocks_alone():
    base = tune.base_spec(6)
    grown = fish.added(base, "text", "word", 2, 20)
    order4 = next(i for i, f in enumerate(grown["fish"]) if (f["kind"], f.get("arg")) == ("order", 4))
    word0 = next(i for i, f in enumerate(grown["fish"]) if (f["kind"], f.get("arg")) == ("word", 0))
    swapped = fish.dropped(grown, "text", order4)
    assert ("word", 2, 20) in _family_fish(swapped, "text") and ("order", 4, 20) not in _family_fish(swapped, "text")
    assert len(_family_fish(swapped, "text")) == len(_family_fish(base, "text"))
    assert _family_fish(swapped, "binary") == _family_fish(base, "binary")      # order 4 still swims there
    assert _family_fish(swapped, "structured") == _family_fish(swapped, "text")
    assert len(fish.dropped(grown, "text", word0)["fish"]) == len(grown["fish"]) - 1    # text-only: gone
    before, after = school.from_dict(base), school.from_dict(swapped)
    for kind in ("binary", "x86"):        # the same school, compiled the same
        assert (before.school(kind).fish == after.school(kind).fish).all()
        assert (before.school(kind).cfg == after.school(kind).cfg).all()
    assert fish.family([b"some text\n" * 50, bytes(600)]) == "binary"
    assert fish.family([b"some text\n" * 50, bytes(100)]) == "text"


def test_fish_search_swaps_only_what_pays_and_never_grows_the_school(monkeypatch):
    pieces = [b"".join(_record(i * 7 + j) for j in range(8)) for i in range(6)]
    text = b"".join(_record(5000 + i) for i in range(200))
    base = tune.base_spec(6)
    spec, size, swaps = fish.search(base, text, pieces, 60)
    assert size <= judge.coded(judge.with_primer(base, text), pieces)
    assert size == judge.coded(judge.with_primer(spec, text), pieces)      # its own loop: the same bytes
    monkeypatch.setattr(fish, "MIN_GAIN", 1.0)              # nothing can gain all
    assert fish.search(base, text, pieces, 60)[2] == []
    monkeypatch.setattr(fish, "MIN_GAIN", -1.0)             # every swap gains
    monkeypatch.setattr(judge, "slower", lambda *_: 1.01 + fish.MAX_SLOWER)
    assert fish.search(base, text, pieces, 60)[2] == []     # but each costs time
    monkeypatch.setattr(judge, "slower", lambda *_: 1.0)    # every swap is taken: the rounds' limit holds
    monkeypatch.setattr(fish, "ROUNDS", 2)
    spec, size, swaps = fish.search(base, text, pieces, 60)
    assert len(swaps) == 2 and swaps[-1][2] == size and swaps[-1][3] == 1.0
    assert len(_family_fish(spec, "text")) == len(_family_fish(base, "text"))
    assert sum(2 ** (b or 0) for *_, b in _family_fish(spec, "text")) <= sum(2 ** (b or 0) for *_, b in _family_fish(base, "text"))
    assert _family_fish(spec, "binary") == _family_fish(base, "binary")


def test_slower_tells_a_slow_school_from_a_fast_one():
    block = b"".join(_record(i) for i in range(3000))[:200_000]
    assert judge.slower(school.level(6), school.level(1), block, timings=3) > 1.3
    assert 0.5 < judge.slower(school.level(1), school.level(1), block, timings=3) < 2


def test_a_school_with_swapped_fish_decodes_in_a_fresh_process(tmp_path, monkeypatch):
    base = tune.base_spec(6)
    grown = fish.added(base, "text", "struct", 3, 20)
    textcol = next(i for i, f in enumerate(grown["fish"]) if f["kind"] == "textcol")
    swapped = fish.dropped(fish.added(grown, "text", "word", 2, 20), "text", textcol)
    primer_text = b"".join(_record(7000 + i) for i in range(300))
    learned = school_file.write(tmp_path / "swapped.school", swapped, primer_text, {}, small=8192)
    records = b"".join(_record(8000 + i) for i in range(40))
    binary = bytes(range(256)) * 64 + bytes(4096)               # a binary block: level 6's binary school
    blobs = [shoal.compress(data, school=learned) for data in (records, binary)]
    assert len(blobs[0]) < len(shoal.compress(records, 6))
    monkeypatch.setenv("SHOAL_SCHOOL_PATH", str(tmp_path))
    with FreshDecoder() as fresh:
        assert [fresh.decode(blob) for blob in blobs] == [records, binary]


def _learn(*args):
    return subprocess.run([sys.executable, "-m", "shoal", "learn", *map(str, args)], capture_output=True, text=True)


def test_learn_writes_a_school_that_compresses_held_back_records_better(sample_dir, tmp_path):
    out = tmp_path / "records.school"
    run = _learn(sample_dir, "-o", out, "--time", "12", "--primer-size", "32K", "-q")
    assert run.returncode == 0, run.stderr
    learned = school_file.read(out)
    assert learned.id in run.stdout and "held-back gain" in run.stdout
    made = learned.made
    assert made["base_level"] == 6 and made["samples"] == 60
    assert learned.preset.primer["grow"] and made["primer"]["large_blocks_bytes"] >= made["primer"]["bytes"]
    assert made["check_bytes"]["school"] < made["check_bytes"]["level"]
    assert made["fish"]["family"] == "text" and "fish: level 6's" in run.stdout
    large = made["primer"]["large_blocks"]          # the samples fall short of 32K: level 6's primer offered
    assert "filled 32 KiB" in made["primer"]["tried"]
    if made["primer"]["chosen"].startswith("filled "):      # small blocks read the tail: filled too
        assert large["shipped"] == "text-1"
    else:
        assert large["shipped"] == ("text-1" if large["tune_joined_bytes"]["shipped_and_samples"]
                                    < large["tune_joined_bytes"]["samples"] else None)
    assert made["primer"]["large_blocks_bytes"] == len(learned.primer)
    base = tune.base_spec(6)            # large blocks: level 6's fish and settings (when the school's differ)
    spec = learned.preset.spec
    assert spec.get("large", {k: spec[k] for k in ("fish", "mixer", "apm")}) == {
        k: school.from_dict(base).spec[k] for k in ("fish", "mixer", "apm")}
    assert "level 6's fish and settings" in made["large_blocks"] and "large blocks:" in run.stdout
    if large["shipped"]:
        assert len(learned.primer) == 32 << 10 and large["shipped_bytes"] > 0
    else:
        assert large["shipped_bytes"] == 0
    record = b"".join(_record(9000 + i) for i in range(6))          # never a sample
    blob = shoal.compress(record, school=out)
    assert len(blob) < len(shoal.compress(record, 6))
    with FreshDecoder() as fresh:
        with pytest.raises(Exception, match=learned.id):
            fresh.decode(blob)
    assert shoal.decompress(blob, school=out) == record
    assert _learn(sample_dir, "-o", out, "--no-tune").returncode == 1        # exists: -f replaces it
    json.dumps(made)


def test_learn_says_what_is_wrong(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    run = _learn(tmp_path / "a", "-o", tmp_path / "x.school")
    assert run.returncode == 1 and "too few samples" in run.stderr
    assert _learn(tmp_path / "missing", "-o", tmp_path / "x.school").returncode == 1
    assert _learn(tmp_path / "a").returncode == 1                          # -o is required
    assert not (tmp_path / "x.school").exists()
