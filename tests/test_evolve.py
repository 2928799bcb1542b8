"""shoal evolve school: the space's mapping, reproducible and resumable runs,
pools that agree, an evolved preset that compresses, and clear errors.

Runs are tiny (two 2 KiB pieces, 6 candidates, a few generations, measured
in this process) so the file stays well under a minute; the Ray test starts
a one-CPU local Ray (about 10 s) and is skipped when ray is not installed.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal import api, arguments, cli, school
from shoal.errors import ShoalError
from shoal.evolve import pools, search
from shoal.evolve.fitness import Budget, TrainingSet, measure, shrink_tables, time_cost, time_costs
from shoal.evolve.space import Space, fold

SPACE = Space.load()
TEXT = b"".join(b"%d: the quick brown fox jumps over the lazy dog, %d times\n" % (i, i * i) for i in range(60))
CODE = b"".join(b"def f%d(x):\n    return x * %d + f%d(x - 1)\n\n" % (i, i, i - 1) for i in range(80))


@pytest.fixture
def training(tmp_path):
    paths = [tmp_path / "text.txt", tmp_path / "code.py"]
    for path, data in zip(paths, (TEXT, CODE)):
        path.write_bytes(data)
    return [str(p) for p in paths]


def evolve(*args):
    return cli.main(["evolve", "school", "-q", "-j", "0", "--popsize", "6", "--sample", "2K",
                     "--no-time-check", *map(str, args)])


def candidates(run_dir):
    """What a run tried and what it scored, in order (times left out: they vary)."""
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [(r["generation"], r["index"], r["digest"], r["fitness"]) for r in lines if r["event"] == "candidate"]


# -- the space ------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=SPACE.dimension,
                max_size=SPACE.dimension))
def test_every_vector_maps_to_a_valid_preset(x):
    spec = SPACE.decode(x)
    preset = school.from_dict(spec)                      # raises if invalid
    assert 1 <= len(preset.spec["mixer"]["gates"]) <= 6
    assert preset.spec["fish"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=SPACE.dimension, max_size=SPACE.dimension))
def test_folding_is_a_reflection(x):
    """Period 2, mirror at 0 (and so at 1): nearby vectors stay nearby."""
    x = np.array(x)
    u = fold(x)
    assert ((0 <= u) & (u <= 1)).all()
    assert np.allclose(u, fold(x + 2.0)) and np.allclose(u, fold(-x)) and np.allclose(u, fold(2.0 - x))


def test_fold():
    assert np.allclose(fold([0.3, 1.2, -0.1, 2.3, np.nan, np.inf, 1e300]), [0.3, 0.8, 0.1, 0.3, 0.5, 0.5, 0.0])


def test_start_is_the_default_level():
    x0, notes = SPACE.start()
    assert notes == [], "space.yaml cannot express the base level any more: update it"
    assert school.from_dict(SPACE.decode(x0)).canonical == school.level(school.DEFAULT_LEVEL).canonical


@pytest.mark.parametrize("level", range(1, 8))
def test_levels_encode_and_decode_exactly(level):
    x, notes = SPACE.encode(school.level(level).spec)
    assert notes == []
    assert school.from_dict(SPACE.decode(x)).canonical == school.level(level).canonical


def test_a_bad_space_is_a_clear_error(tmp_path):
    for text, message in (("fish: []", "non-empty 'fish'"), ("fish: [{kind: order, bits: [20, 10]}]", "lo <= hi"),
                          ("fish: [{kind: order, bits: [4, 40]}]", "does not decode"),
                          ("fish: [{kind: match}, {kind: match}]", "at most one match")):
        path = tmp_path / "space.yaml"
        path.write_text(text)
        with pytest.raises(ShoalError, match=message):
            Space.load(path)
    with pytest.raises(ShoalError, match="cannot read"):
        Space.load(tmp_path / "missing.yaml")


def test_tables_shrink_for_slices_but_not_below_the_floor():
    spec = {"fish": [{"kind": "order", "arg": 1, "bits": 14}, {"kind": "order", "arg": 3, "bits": 22},
                     {"kind": "column"}]}
    assert [f.get("bits") for f in shrink_tables(spec, 6)["fish"]] == [12, 16, None]
    assert spec["fish"][1]["bits"] == 22                  # the original is left alone


def test_the_time_proxy_prices_each_school_by_its_share_of_the_bytes():
    mixer = {"gates": ["c0"], "skip": 48}
    both = {"fish": [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 20}],
            "mixer": mixer}
    split = {"fish": [{"kind": "order", "arg": 1, "bits": 16},
                      {"kind": "order", "arg": 2, "bits": 20, "only": "binary"}], "mixer": mixer}
    one = {"fish": both["fish"][:1], "mixer": mixer}
    model = SPACE.time_model
    # a fish kept to binary blocks costs nothing on text, all of itself on binary
    assert time_cost(split, model, 1.0) == pytest.approx(time_cost(one, model))
    assert time_cost(split, model, 0.0) == pytest.approx(time_cost(both, model))
    assert time_cost(split, model, 0.25) == pytest.approx(0.25 * time_cost(one, model) + 0.75 * time_cost(both, model))
    assert time_cost(both, model, 0.3) == time_cost(both, model)       # one school: no share to weigh
    # judged per school: a binary-only fish is over a budget the binary school reaches
    budget = Budget(memory=1 << 40, time=time_costs(one, model), penalty=3, time_model=model)
    assert budget.judge(split, 1000)["time"] > 1 and not budget.judge(split, 1000)["feasible"]
    assert budget.judge(one, 1000) == {"fitness": 1000, "bits": 1000, "memory": school.from_dict(one).memory_bytes(),
                                       "time": 1.0, "feasible": True}
    binary = b"\x00\x01" * 500
    assert TrainingSet((TEXT, binary), ("t", "b")).text_share == pytest.approx(len(TEXT) / (len(TEXT) + len(binary)))


# -- pools ------------------------------------------------------------------------

def some_specs(n=3):
    rng = np.random.default_rng(7)
    return [SPACE.decode(rng.random(SPACE.dimension)) for _ in range(n)]


def test_local_pools_agree():
    pieces = TrainingSet((TEXT, CODE), ("text", "code")).pieces
    specs = some_specs()
    in_process = pools.LocalPool(pieces, 0).evaluate(specs, 4)
    workers = pools.LocalPool(pieces, 1)
    try:
        in_worker = workers.evaluate(specs, 4)
    finally:
        workers.close()
    assert [r["bits"] for r in in_process] == [r["bits"] for r in in_worker]
    assert [r["bits"] for r in in_process] == [measure(pieces, s, 4)["bits"] for s in specs]


def test_ray_pool_agrees_with_the_local_pool():
    pytest.importorskip("ray")
    from shoal.evolve.ray_pool import RayPool
    pieces = (TEXT, CODE)
    specs = some_specs()
    local = pools.LocalPool(pieces, 0).evaluate(specs, 4)
    ray_pool = RayPool(pieces, workers=1)
    try:
        remote = ray_pool.evaluate(specs, 4)
    finally:
        ray_pool.close()
    assert [r["bits"] for r in remote] == [r["bits"] for r in local]
    assert all(r["seconds"] > 0 for r in remote)


# -- runs ---------------------------------------------------------------------------

def test_a_seed_gives_the_same_run(tmp_path, training):
    assert evolve(*training, "-g", 2, "--seed", 5, "-o", tmp_path / "a") == 0
    assert evolve(*training, "-g", 2, "--seed", 5, "-o", tmp_path / "b") == 0
    assert evolve(*training, "-g", 2, "--seed", 6, "-o", tmp_path / "c") == 0
    a, b, c = (candidates(tmp_path / name) for name in "abc")
    assert len(a) == 12 and a == b
    assert [d for *_, d, _ in a] != [d for *_, d, _ in c]
    assert school.load(tmp_path / "a" / "best.yaml").digest == school.load(tmp_path / "b" / "best.yaml").digest


def test_resume_gives_the_uninterrupted_result(tmp_path, training, monkeypatch):
    whole, stopped, crashed = tmp_path / "whole", tmp_path / "stopped", tmp_path / "crashed"
    assert evolve(*training, "-g", 4, "-o", whole) == 0
    # stopped cleanly after 2 generations, then extended to 4
    assert evolve(*training, "-g", 2, "-o", stopped) == 0
    assert evolve("--resume", "-g", 4, "-o", stopped) == 0
    # Ctrl-C in the middle of generation 3
    calls = {"n": 0}

    def interrupted(*args):
        calls["n"] += 1
        if calls["n"] == 16:
            raise KeyboardInterrupt
        return measure(*args)
    monkeypatch.setattr(pools, "measure", interrupted)
    assert evolve(*training, "-g", 4, "-o", crashed) == 130
    monkeypatch.setattr(pools, "measure", measure)
    assert search.load(crashed).generation < 4
    assert evolve("--resume", "-o", crashed) == 0
    expected = candidates(whole)
    assert len(expected) == 24
    assert candidates(stopped) == expected and candidates(crashed) == expected
    best = {search.load(run).best["digest"] for run in (whole, stopped, crashed)}
    assert len(best) == 1
    assert np.array_equal(search.load(crashed).es.mean, search.load(whole).es.mean)


SMALL_SPACE = """
base: 6
fish:
  - {kind: order, arg: 1, bits: [12, 16]}
  - {kind: order, arg: [2, 3], bits: [16, 20]}
  - {kind: match, min_len: [4, 8], bits: [16, 20]}
mixer:
  gates: {subset: [c0, c1], min: 1, max: 2}
  lr: [2, 10]
"""


def test_evolved_preset_round_trips_through_the_cli(tmp_path, training, capsys):
    # A space that cannot express level 6, so the result is a preset of its
    # own, which the archive must carry in full.
    space, run, evolved = tmp_path / "space.yaml", tmp_path / "run", tmp_path / "evolved.yaml"
    space.write_text(SMALL_SPACE)
    assert evolve(*training, "-g", 2, "--space", space, "-o", run, "--best", evolved,
                  "--plot", tmp_path / "fitness.png") == 0
    best = school.load(evolved)
    assert best.digest not in {school.level(n).digest for n in range(1, 10)}
    assert len(best.spec["fish"]) <= 3 and best.spec["mixer"]["gates"] in (["c0"], ["c1"], ["c0", "c1"])
    assert (tmp_path / "fitness.png").stat().st_size > 1000
    source = tmp_path / "data.txt"
    source.write_bytes(TEXT * 3)
    assert cli.main(["compress", "-k", "--preset", str(evolved), str(source)]) == 0
    archive = tmp_path / "data.txt.shoal"
    assert arguments.pack(best.canonical) in archive.read_bytes()     # the archive carries the preset
    source.unlink()                                  # decompress needs nothing but the archive
    assert cli.main(["decompress", "-k", str(archive)]) == 0
    assert source.read_bytes() == TEXT * 3


# -- the command line ------------------------------------------------------------------

def test_help_and_merge(capsys):
    assert cli.main(["evolve", "--help"]) == 0
    assert cli.main(["evolve", "school", "--help"]) == 0
    assert "--resume" in capsys.readouterr().out
    assert cli.main(["evolve", "merge", "a", "b"]) == 1
    assert "--dev" in capsys.readouterr().err
    assert cli.main(["evolve", "merge", "--help"]) == 0
    assert "--ties" in capsys.readouterr().out
    assert cli.main(["evolve", "check", "--help"]) == 0
    assert cli.main(["evolve", "school", "--show-space"]) == 0
    assert f"{SPACE.dimension} genes" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--sample", "lots"], "invalid size"),
    (["--seed", "0"], "expected a whole number >= 1"),
    (["--table-shift", "x"], "auto"),
    (["nosuchfile"], "cannot read training file"),
    ([], "no training files"),
    (["--resume"], "no run to resume"),
    (["nosuch", "--space", "nosuch.yaml"], "cannot read search space"),
    (["--memory-budget", "lots"], "memory budget"),
])
def test_bad_arguments_are_clear_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert evolve(*args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_checkpoint_problems_are_clear_errors(tmp_path, training, capsys):
    run = tmp_path / "run"
    assert evolve(*training, "-g", 1, "-o", run) == 0
    assert evolve(*training, "-g", 1, "-o", run) == 1                  # would replace a run
    assert "already holds a run" in capsys.readouterr().err
    assert evolve("--resume", "--seed", 9, "-o", run) == 1             # a result-deciding option changed
    assert "keeps the run's settings" in capsys.readouterr().err
    (run / "checkpoint.pkl").write_bytes(b"not a pickle at all")
    assert evolve("--resume", "-o", run) == 1
    err = capsys.readouterr().err
    assert "not a readable checkpoint" in err and "Traceback" not in err
    assert evolve(*training, "-g", 1, "-f", "-o", run) == 0            # -f starts afresh


def test_check_compares_a_preset_with_a_level(tmp_path, capsys):
    spec = school.level(6).spec
    preset = tmp_path / "tuned.yaml"
    preset.write_text(search.preset_yaml(dict(spec, mixer=dict(spec["mixer"], lr=4)), ["a test preset"]))
    source = tmp_path / "held_back.txt"
    source.write_bytes(TEXT)
    assert cli.main(["evolve", "check", str(preset), str(source), "--repeats", "1"]) in (0, 2)
    out = capsys.readouterr().out
    assert "| **total** | 3," in out and "round trips exact" in out and "acceptance" in out
    assert cli.main(["evolve", "check", str(preset), str(tmp_path / "missing")]) == 1
    assert "cannot read" in capsys.readouterr().err
