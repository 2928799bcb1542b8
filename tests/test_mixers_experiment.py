"""shoal score --mixers: the variants, the losses it reports, its outputs and its errors."""
import json
import random

import pytest

from shoal import school
from shoal.score import main as score_main
from shoal.score import mixers

TINY = """\
fish:
  - {kind: order, arg: 1, bits: 16}
  - {kind: order, arg: 3, bits: 18}
  - {kind: word, arg: 0, bits: 16}
  - {kind: match, min_len: 6, bits: 16}
mixer: {gates: [c0, match]}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixers")
    (folder / "tiny.yaml").write_text(TINY)
    rng = random.Random(3)
    words = "a school of small fish swims together and each one sees the water its own way".split()
    (folder / "text.txt").write_text(" ".join(rng.choice(words) for _ in range(2500)))
    (folder / "numbers.txt").write_text("".join(f"{i}\n" for i in range(1, 3001)))
    return folder


def test_variants_cover_both_mixers_and_every_perturbation(folder):
    preset = school.load(folder / "tiny.yaml")
    files = [folder / "text.txt"]
    todo, roles = mixers.variants(preset, files, blind="word0", blind_at=0.25, shuffle=1000)
    assert sorted(roles.values()) == sorted((m, p) for m in mixers.MIXERS for p in mixers.PERTURBATIONS)
    by_role = {roles[name]: p for name, p, _ in todo}
    assert "kind" not in by_role["gated", "clean"].spec["mixer"]
    assert by_role["attention", "clean"].spec["mixer"]["kind"] == "attention"
    assert by_role["gated", "blind"].spec["perturb"] == {
        "shuffle": 0, "blind": 2, "blind_at": files[0].stat().st_size // 4, "blind_value": "noise"}
    assert by_role["attention", "stuck"].spec["perturb"]["blind_value"] == mixers.STUCK_VALUE
    assert by_role["gated", "shuffled"].spec["perturb"] == {"shuffle": 1000}
    # every variant keeps the school's fish, gates and APMs
    for p in by_role.values():
        assert p.spec["fish"] == preset.spec["fish"] and p.spec["apm"] == preset.spec["apm"]
        assert p.spec["mixer"]["gates"] == ["c0", "match"]


def test_the_command_reports_what_it_scored(folder, capsys, tmp_path):
    out = tmp_path / "m.json"
    plot = tmp_path / "m.png"
    code = score_main(["--mixers", str(folder / "tiny.yaml"), "-q", "--blind", "order3", "--shuffle", "4K",
                       "--json", str(out), "--plot", str(plot), str(folder / "text.txt"),
                       str(folder / "numbers.txt")])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["blind_fish"] == "order3" and data["options"]["shuffle"] == 4096
    assert len(data["results"]) == 2 * 4 * 2
    bits = {}
    for r in data["results"]:
        bits[r["mixer"], r["perturbation"]] = bits.get((r["mixer"], r["perturbation"]), 0) + r["bits"]
        assert r["seconds"] > 0
    for row in data["summary"]:
        clean = bits[row["mixer"], "clean"]
        assert row["bits"] == pytest.approx(clean)
        for p in mixers.PERTURBATIONS[1:]:
            assert row["loss"][p] == pytest.approx(bits[row["mixer"], p] / clean - 1)
        assert row["loss"]["blind"] > 0            # noise in place of a fish always costs something
    assert plot.stat().st_size > 10_000
    assert "loss: order3 blind" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--blind", "order3", "-6", "x"], "go with --mixers"),
    (["--mixers", "-6", "--ablate", "-6", "x"], "one at a time"),
    (["--mixers", "-6", "--blind-at", "2", "x"], "fraction"),
    (["--mixers", "-6", "--kind", "code=x", "x"], "--kind goes with --ablate"),
])
def test_usage_errors(argv, message, capsys):
    assert score_main(argv) == 1
    assert message in capsys.readouterr().err


def test_an_unknown_fish_is_named(folder, capsys):
    assert score_main(["--mixers", str(folder / "tiny.yaml"), "--blind", "order9", str(folder / "text.txt")]) == 1
    err = capsys.readouterr().err
    assert "order9" in err and "order1, order3, word0, match" in err
