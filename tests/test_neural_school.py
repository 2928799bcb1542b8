"""A neural fish swimming in the school: exact round trips, its identity in
the archive, a clear refusal without it, and the same bytes whatever the
BLAS threads.  The fish is random (no torch): this is the plumbing."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import shoal
from shoal.fish.neural import NeuralConfig
from shoal.fish.neural.speed import random_tensors
from shoal.fish.neural.weights import save

TEXT = b"the school swims; the fish predict the next byte. " * 40 + bytes(range(256))


@pytest.fixture(scope="module")
def fish_file(tmp_path_factory) -> Path:
    cfg = NeuralConfig(n_layer=1, n_embd=32, n_head=2, n_kv_head=1, seg_len=8, mem_len=8, mlp_ratio=2)
    path = tmp_path_factory.mktemp("fish") / "fish.safetensors"
    save(str(path), cfg, random_tensors(cfg, seed=7))
    return path


def neural_preset(fish_file: Path, lanes: int) -> dict:
    return {"lanes": lanes,
            "fish": [{"kind": "order", "arg": 2, "bits": 16}, {"kind": "match", "min_len": 4, "bits": 16},
                     {"kind": "neural", "file": str(fish_file)}],
            "mixer": {"gates": ["c0"]}}


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=400), lanes=st.integers(1, 6))
def test_round_trip_any_lanes(fish_file, data, lanes):
    blob = shoal.compress(data, preset=neural_preset(fish_file, lanes))
    assert shoal.decompress(blob) == data


def test_archive_names_the_fish_by_digest(fish_file, tmp_path):
    preset = shoal.school.from_dict(neural_preset(fish_file, 4))
    assert preset.neural and len(preset.neural) == 32
    blob = shoal.compress(TEXT, preset=neural_preset(fish_file, 4))
    archive = tmp_path / "text.shoal"
    archive.write_bytes(blob)
    # a fresh process finds the fish through SHOAL_FISH_PATH, or says what it lacks
    decode = [sys.executable, "-m", "shoal", "-dc", str(archive)]
    found = subprocess.run(decode, capture_output=True, env=dict(os.environ, SHOAL_FISH_PATH=str(fish_file.parent)))
    assert found.returncode == 0 and found.stdout == TEXT
    missing = subprocess.run(decode, capture_output=True, env=dict(os.environ, SHOAL_FISH_PATH=str(tmp_path)))
    assert missing.returncode == 1 and missing.stdout == b""
    assert preset.neural.encode() in missing.stderr and b"Traceback" not in missing.stderr


def test_preset_file_names_the_fish_relative_to_itself(fish_file, tmp_path):
    spec = neural_preset(fish_file, 2)
    spec["fish"][-1]["file"] = os.path.relpath(fish_file, tmp_path)
    (tmp_path / "neural.yaml").write_text(yaml.safe_dump(spec))
    preset = shoal.school.load(tmp_path / "neural.yaml")
    assert preset.digest == shoal.school.from_dict(neural_preset(fish_file, 2)).digest


def test_wrong_digest_is_refused(fish_file):
    spec = neural_preset(fish_file, 2)
    spec["fish"][-1]["digest"] = "0" * 32
    with pytest.raises(shoal.ShoalError, match="digest"):
        shoal.school.from_dict(spec)


def test_same_output_whatever_the_blas_threads(fish_file, tmp_path):
    (tmp_path / "in").write_bytes(TEXT)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(neural_preset(fish_file, 3)))
    outputs = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
        run = subprocess.run([sys.executable, "-m", "shoal", "-c", "--preset", str(tmp_path / "p.yaml"),
                              str(tmp_path / "in")], capture_output=True, env=env)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    shoal.school.from_dict(neural_preset(fish_file, 3))     # this process learns where the fish's file is
    assert shoal.decompress(outputs[0]) == TEXT


def test_with_neural_adds_the_fish_and_lanes(fish_file):
    preset = shoal.school.with_neural(3, fish=fish_file)
    assert preset.neural == shoal.school.from_dict(neural_preset(fish_file, 1)).neural
    assert preset.spec["lanes"] == shoal.school.levels.NEURAL_LANES
    assert [f for f in preset.spec["fish"] if f["kind"] != "neural"] == shoal.school.level(3).spec["fish"]
    assert shoal.decompress(shoal.compress(TEXT, preset=preset)) == TEXT
    with pytest.raises(shoal.ShoalError, match="already has a neural fish"):
        shoal.school.with_neural(preset, fish=fish_file)


def test_neural_switch_adds_the_shipped_fish(tmp_path):
    # --neural adds the fish that ships in the package; a fresh process decodes
    # the archive with nothing but the package
    shipped = shoal.school.neural.DEFAULT_FISH
    assert shipped.is_file() and shipped.stat().st_size < 8 << 20
    (tmp_path / "in.txt").write_bytes(TEXT)
    run = subprocess.run([sys.executable, "-m", "shoal", "-1", "--neural", "-c", str(tmp_path / "in.txt")],
                         capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == shoal.compress(TEXT, preset=shoal.school.with_neural(1))
    back = subprocess.run([sys.executable, "-m", "shoal", "-dc"], input=run.stdout, capture_output=True,
                          env=dict(os.environ, SHOAL_FISH_PATH=""))
    assert back.returncode == 0 and back.stdout == TEXT


def primed_preset(fish_file: Path, lanes: int, fallback: bool) -> dict:
    spec = neural_preset(fish_file, lanes)
    spec["fish"][-1]["fallback"] = fallback
    spec["primer"] = {"name": "text-1", "bytes": 2048}
    return spec


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode), lanes=st.integers(1, 6),
       fallback=st.booleans())
def test_primed_lanes_round_trip(fish_file, data, lanes, fallback):
    # the lanes start from what lane 0 learnt reading the primer; the match
    # fish may point into the primer but never at a byte not yet decoded
    blob = shoal.compress(data, preset=primed_preset(fish_file, lanes, fallback))
    assert shoal.decompress(blob) == data


PROSE = (b"A compressor that has read some English before it starts knows that a space is often followed by "
         b"the letter t, that sentences end with a full stop, and that the word which comes after 'of the' is "
         b"usually a noun. Such knowledge is worth most on short inputs, where the model has little time to "
         b"learn it from the data itself, and it costs nothing to send, since the decoder reads the same text "
         b"before it begins. Every lane of a neural school starts from it.\n")


def test_the_primer_teaches_the_lanes(fish_file):
    text = PROSE
    primed = shoal.school.from_dict(primed_preset(fish_file, 4, False))
    bare = shoal.school.from_dict(neural_preset(fish_file, 4))
    assert len(shoal.school.compress_block(text, primed.text)) < len(shoal.school.compress_block(text, bare.text))


def test_fallback_keeps_the_smaller_coding(fish_file):
    # a random fish only adds noise: the block is coded without it, as the
    # level alone codes it, behind the byte that says so (0)
    preset = shoal.school.with_neural(6, fish=fish_file)
    assert preset.neural_fallback and preset.primer == shoal.school.level(6).primer
    assert preset.classic.digest == shoal.school.level(6).digest
    payload = shoal.school.compress_block(TEXT, preset.text)
    assert payload == b"\0" + shoal.school.compress_block(TEXT, shoal.school.level(6).text)
    assert shoal.school.decompress_block(payload, len(TEXT), preset.text) == TEXT
    assert shoal.decompress(shoal.compress(TEXT, preset=preset)) == TEXT
    # both schools the primer left are kept (one in lanes), so the next
    # block reads neither primer again
    kept = list(shoal.school._primed)
    assert len(kept) == 2 and sorted(key[-1] == "lanes" for key in kept) == [False, True]


def test_fallback_keeps_the_fish_where_it_pays():
    # the shipped fish knows English better than level 1 does: coded with it (1)
    text = PROSE
    preset = shoal.school.with_neural(1)
    payload = shoal.school.compress_block(text, preset.text)
    assert payload[0] == 1 and len(payload) - 1 < len(shoal.school.compress_block(text, shoal.school.level(1).text))
    assert shoal.school.decompress_block(payload, len(text), preset.text) == text


def test_fallback_byte_is_checked(fish_file):
    preset = shoal.school.with_neural(6, fish=fish_file)
    payload = shoal.school.compress_block(TEXT, preset.text)
    for damaged in (b"\2" + payload[1:], b""):
        with pytest.raises(shoal.ShoalError, match="corrupted"):
            shoal.school.decompress_block(damaged, len(TEXT), preset.text)


def test_a_primer_needs_one_lane_without_a_neural_fish():
    spec = {"lanes": 2, "fish": [{"kind": "order", "arg": 2, "bits": 16}], "primer": "text-1"}
    with pytest.raises(shoal.ShoalError, match="one lane"):
        shoal.school.from_dict(spec)


def test_the_kept_primed_lanes_are_as_read(fish_file):
    # the school the primer left is read once and copied for each block of
    # its fit: a block coded after another codes to the same bytes, and
    # scoring (which reads the primer afresh) agrees with the coder
    preset = shoal.school.from_dict(primed_preset(fish_file, 3, False)).text
    first = shoal.school.compress_block(PROSE, preset)
    shoal.school.compress_block(TEXT, preset)
    assert shoal.school.decompress_block(first, len(PROSE), preset) == PROSE
    assert shoal.school.compress_block(PROSE, preset) == first
    costs, size = shoal.school.score_block(PROSE, preset)
    assert size == len(first) and costs.sum() <= 8 * size


@pytest.mark.parametrize("lanes", [1, 3])
def test_capped_tables_serve_blocks_of_every_size_from_one_kept_school(fish_file, tmp_path, monkeypatch, lanes):
    # `tables: 12` holds the school with the fish to the tables of fit 12
    # (and the school without it, the fallback, to none): a small block and
    # one of another fit start from the same kept school, and a large block
    # codes the same whether a small one read it first or not (in memory
    # only here, so that each reads the primer)
    monkeypatch.setattr(shoal.school.primed_cache, "path_for", lambda key: None)
    spec = primed_preset(fish_file, lanes, True)
    spec["fish"][-1]["tables"] = 12
    preset = shoal.school.from_dict(spec)
    assert preset.fish[:, 2].max() == 12 and preset.classic.fish[:, 2].max() == 16
    large = TEXT * 3
    shoal.school._primed.clear()
    alone = shoal.school.compress_block(large, preset.text)
    shoal.school._primed.clear()
    shoal.school.compress_block(PROSE, preset.text)
    assert shoal.school.compress_block(large, preset.text) == alone
    assert [key[3] for key in shoal.school._primed if key[-1] == "lanes"] == [12]
    (tmp_path / "large.shoal").write_bytes(shoal.compress(large, preset=spec))
    back = subprocess.run([sys.executable, "-m", "shoal", "-dc", str(tmp_path / "large.shoal")], capture_output=True,
                          env=dict(os.environ, SHOAL_FISH_PATH=str(fish_file.parent)))
    assert back.returncode == 0 and back.stdout == large
    with pytest.raises(shoal.ShoalError, match="tables"):
        shoal.school.from_dict(dict(spec, fish=spec["fish"][:-1] + [dict(spec["fish"][-1], tables=40)]))


def test_neural_levels_are_named_not_carried():
    # --neural's presets have one-byte ids: an archive costs at most the
    # payload's byte more than the level's, whichever coding was kept
    for n in (1, 6):
        neural_archive = shoal.compress(PROSE, preset=shoal.school.with_neural(n))
        assert len(neural_archive) <= len(shoal.compress(PROSE, n)) + 1
        assert shoal.decompress(neural_archive) == PROSE
    assert shoal.school.levels.find_neural_level(6, shoal.school.with_neural(6).digest) is not None
    assert shoal.school.levels.find_neural_level(6, bytes(16)) is None
