"""shoal train --init and shoal evolve merge: lineage, the merge arithmetic,
determinism, a merged fish that compresses and decompresses exactly, and
clear refusals.  The fish are tiny and trained for a few steps: this is the
plumbing, not the quality (examples/merge_example.py is the quality)."""
import json

import numpy as np
import pytest
import torch

import shoal
from shoal import cli
from shoal.evolve.merge_recipe import Merger, RecipeSpace, trim
from shoal.train import cli as train_cli
from shoal.train.lineage import Trained, fish_lineage

TINY = ["--layers", "1", "--width", "16", "--heads", "2", "--kv-heads", "1", "--segment", "8", "--memory", "8",
        "--mlp-ratio", "2", "--batch", "4", "--segments", "2", "--eval-every", "1000", "--eval-bytes", "256",
        "--eval-lanes", "4", "--no-progress", "--threads", "1"]
PROSE = b"The school swims together; each fish predicts the next byte of the story. " * 60
CODE = b"def swim(fish):\n    return [f.predict(b) for b in fish.bytes]\n\n" * 60


def _train(out, data, *extra):
    assert train_cli.main([str(data), "--out", str(out), *TINY, *extra]) == 0
    return out


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    """A base, two specialists fine-tuned from it, an unrelated fish, and dev files."""
    d = tmp_path_factory.mktemp("merge")
    (d / "prose.txt").write_bytes(PROSE)
    (d / "code.txt").write_bytes(CODE)
    (d / "mix.txt").write_bytes(PROSE + CODE)
    base = _train(d / "base", d / "mix.txt", "--steps", "4", "--seed", "1")
    prose = _train(d / "prose", d / "prose.txt", "--steps", "3", "--init", str(base), "--lr", "1e-2")
    code = _train(d / "code", d / "code.txt", "--steps", "3", "--init", str(base / "fish.safetensors"),
                  "--lr", "1e-2")
    stranger = _train(d / "stranger", d / "mix.txt", "--steps", "2", "--seed", "2")
    return {"dir": d, "base": base, "prose": prose, "code": code, "stranger": stranger,
            "dev": [str(d / "prose.txt"), str(d / "code.txt")]}


def _merge(family, out, *extra, parents=("prose", "code")):
    return cli.main(["evolve", "merge", *(str(family[p]) for p in parents), "--dev", *family["dev"],
                     "-o", str(out), "--dev-bytes", "512", "--dev-lanes", "4", "-q", "--threads", "1", *extra])


def test_init_records_the_ancestor(family):
    base = Trained.load(str(family["base"]))
    for name in ("prose", "code"):
        recorded = fish_lineage(str(family[name] / "fish.safetensors"))
        trained = Trained.load(str(family[name]))
        assert recorded == {"weights": trained.weights, "ancestors": [base.weights]}
        assert trained.init == base.checkpoint and trained.config == base.config
    assert fish_lineage(str(family["base"] / "fish.safetensors"))["ancestors"] == []


def test_init_refuses_another_shape_and_a_missing_checkpoint(family, tmp_path, capsys):
    data = family["dev"][0]
    assert train_cli.main([data, "--out", str(tmp_path / "x"), "--init", str(family["base"]), "--width", "32",
                           "--steps", "1"]) == 1
    assert "--width 32 (it is 16)" in capsys.readouterr().err
    (tmp_path / "lonely").mkdir()
    assert train_cli.main([data, "--out", str(tmp_path / "y"), "--init", str(tmp_path / "lonely"), "--steps", "1"]) == 1
    assert "no checkpoint" in capsys.readouterr().err


def _space_and_merger(family, ties, dare, seed=1, grouping="part"):
    base, prose, code = (Trained.load(str(family[k])) for k in ("base", "prose", "code"))
    names = [n for n, _ in base.model().named_parameters()]
    space = RecipeSpace(names, 2, grouping, ties, dare)
    return space, Merger(base.state, [prose.state, code.state], space, seed), [prose, code]


@pytest.mark.parametrize("ties, dare", [(False, False), (True, False), (False, True), (True, True)])
def test_all_of_one_parent_is_that_parent(family, ties, dare):
    space, merger, parents = _space_and_merger(family, ties, dare)
    for i, parent in enumerate(parents):
        merged = merger.merge(space.only(i))
        for name in space.names:
            assert torch.equal(merged[name], parent.state[name]), name


def test_ties_and_dare_are_deterministic_with_a_seed(family):
    space, merger, _ = _space_and_merger(family, True, True, seed=5)
    x = np.random.default_rng(0).uniform(0, 1, space.dimension)
    recipe = space.decode(x)
    assert 0.05 <= recipe.density.min() and recipe.drop.max() <= 0.9
    first = merger.merge(recipe)
    again = _space_and_merger(family, True, True, seed=5)[1].merge(recipe)
    other = _space_and_merger(family, True, True, seed=6)[1].merge(recipe)
    assert all(torch.equal(first[n], again[n]) for n in space.names)
    assert any(not torch.equal(first[n], other[n]) for n in space.names)
    assert np.allclose(space.encode(recipe), x)


def test_trim_keeps_the_largest_entries():
    tau = torch.tensor([[0.1, -3.0, 0.5], [2.0, -0.2, 0.0]], dtype=torch.float64)
    assert torch.equal(trim(tau, 0.5), torch.tensor([[0.0, -3.0, 0.5], [2.0, 0.0, 0.0]], dtype=torch.float64))
    assert torch.equal(trim(tau, 1.0), tau)


def test_uniform_start_is_the_average(family, tmp_path):
    assert _merge(family, tmp_path / "u", "-g", "0") == 0
    merged = Trained.load(str(tmp_path / "u"))
    parents = [Trained.load(str(family[k])) for k in ("prose", "code")]
    for name, p in merged.model().named_parameters():
        mean = (parents[0].state[name].double() + parents[1].state[name].double()) / 2
        assert torch.allclose(p.detach(), mean.float(), rtol=1e-6, atol=1e-9), name


def test_merged_fish_round_trips_and_scores(family, tmp_path):
    out = tmp_path / "m"
    assert _merge(family, out, "-g", "2", "--popsize", "4", "--ties", "--dare", "--plot", str(tmp_path / "f.png")) == 0
    fish = out / "fish.safetensors"
    result = json.loads((out / "merge.json").read_text())
    assert result["dev_bpb"]["evolved merge"]["bpb"] <= result["dev_bpb"]["uniform average"]["bpb"] + 1.0
    assert (tmp_path / "f.png").stat().st_size > 0
    events = [json.loads(line)["event"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert events.count("generation") == 2 and events[-1] == "done"
    # its lineage: the parents, then the base; a merged fish can be merged again with its family
    lineage = fish_lineage(str(fish))
    assert lineage["ancestors"][2] == Trained.load(str(family["base"])).weights
    preset = {"lanes": 3, "fish": [{"kind": "order", "arg": 2, "bits": 16}, {"kind": "neural", "file": str(fish)}],
              "mixer": {"gates": ["c0"]}}
    data = PROSE[:500] + CODE[:300] + bytes(range(256))
    assert shoal.decompress(shoal.compress(data, preset=preset)) == data
    assert cli.main(["score", str(fish), family["dev"][0], "-q"]) == 0


def test_fish_without_a_shared_ancestor_are_refused(family, tmp_path, capsys):
    assert _merge(family, tmp_path / "s", parents=("prose", "stranger")) == 1
    err = capsys.readouterr().err
    assert "share no ancestor" in err and "shoal train --init" in err and "Traceback" not in err
    assert _merge(family, tmp_path / "b", "--base", str(family["stranger"])) == 1
    assert "is not an ancestor of" in capsys.readouterr().err


def test_clear_errors(family, tmp_path, capsys):
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "fish.safetensors").write_bytes((family["prose"] / "fish.safetensors").read_bytes())
    assert cli.main(["evolve", "merge", str(lonely / "fish.safetensors"), str(family["code"]), "--dev",
                     *family["dev"], "-o", str(tmp_path / "o")]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    wide = _train(tmp_path / "wide", family["dev"][0], "--steps", "2", "--width", "32")
    assert cli.main(["evolve", "merge", str(family["prose"]), str(wide), "--dev", *family["dev"],
                     "-o", str(tmp_path / "o")]) == 1
    assert "shape mismatch" in capsys.readouterr().err
    assert cli.main(["evolve", "merge", str(family["prose"]), "--dev", *family["dev"]]) == 1
    assert "at least two fish" in capsys.readouterr().err
