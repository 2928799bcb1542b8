"""shoal score --ablate: the rows of the ablation, the whole school against shoal score, fish alone against
shoal score of that fish, a fish with nothing to say, -j, the outputs and the errors."""
import contextlib
import csv
import io
import json
import random

import pytest

from shoal import school
from shoal.score import main as score_main
from shoal.score import ablate, ablate_report
from shoal.score.ablate import fish_labels, guess_kind, variants

# A tiny school: the default mixer and APMs, so that order2 (2**22 slots) alone is `shoal score order2`.
TINY = """\
fish:
  - {kind: order, arg: 1, bits: 16}
  - {kind: order, arg: 2, bits: 22}
  - {kind: word, arg: 0, bits: 16}
  - {kind: column}
"""
FISH = ["order1", "order2", "word0", "column"]
WORDS = ("the a school of small fish swims together and each one sees the water its own way while an old "
         "mixer weighs what they say about the next bit").split()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A tiny preset, English-like text with no digit in it, and a column of numbers."""
    folder = tmp_path_factory.mktemp("ablate")
    (folder / "tiny.yaml").write_text(TINY)
    rng = random.Random(7)
    (folder / "text.txt").write_text(" ".join(rng.choice(WORDS) for _ in range(1500)))
    (folder / "numbers.txt").write_text("".join(f"{i}\n" for i in range(1, 2001)))
    return folder


def ablate_json(folder, capsys, *extra) -> dict:
    argv = ["--ablate", str(folder / "tiny.yaml"), str(folder / "text.txt"), str(folder / "numbers.txt"),
            "-q", "--json", "-", *extra]
    assert score_main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def result(inputs):
    """The ablation of the tiny school, run once (capsys is not there for a module's fixtures)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert score_main(["--ablate", str(inputs / "tiny.yaml"), str(inputs / "text.txt"),
                           str(inputs / "numbers.txt"), "-q", "--json", "-"]) == 0
    return json.loads(out.getvalue())


def bits(data, variant, file) -> float:
    return next(r["bits"] for r in data["results"] if r["variant"] == variant and r["file"].endswith(file))


def group(data, name) -> dict:
    return next(g for g in data["groups"] if g["group"].endswith(name))


# -- the rows -------------------------------------------------------------------------------------

def test_every_variant_on_every_file(result):
    assert result["fish"] == FISH
    variants_seen = list(dict.fromkeys(r["variant"] for r in result["results"]))
    assert variants_seen == (["whole school"] + [f"{f} alone" for f in FISH] + [f"{f} without" for f in FISH])
    assert len(result["results"]) == len(variants_seen) * 2
    assert {(r["role"], r["fish"]) for r in result["results"]} == (
        {("school", None)} | {(role, f) for role in ("alone", "without") for f in FISH})
    assert all(r["coded_check"] == "ok" for r in result["results"])
    assert [g["level"] for g in result["groups"]] == ["file", "file", "kind", "kind", "total"]


def test_tables_have_a_row_per_fish(inputs, capsys):
    files = [inputs / "text.txt", inputs / "numbers.txt"]
    names = {p: p.name for p in files}
    ab = ablate.run("tiny", school.load(inputs / "tiny.yaml"), files, names, {p: "x" for p in files})
    alone, removed = ablate_report.fish_tables(ab)
    assert alone.columns == ["fish", "text.txt", "numbers.txt", "total"]
    assert [row[0] for row in alone.rows] == ["whole school", *FISH, "best alone", "gain"]
    assert [row[0] for row in removed.rows] == FISH
    kinds = ablate_report.kind_table(ab)
    assert [row[0] for row in kinds.rows] == ["x", "total"]
    assert score_main(["--ablate", str(inputs / "tiny.yaml"), str(inputs / "text.txt"), "-q"]) == 0
    out = capsys.readouterr().out
    for heading in ("tiny.yaml: bpb alone", "tiny.yaml: loss when removed", "tiny.yaml: by kind of file"):
        assert heading in out


# -- the numbers ------------------------------------------------------------------------------------

def test_whole_school_is_shoal_score_of_the_preset(inputs, result, capsys):
    assert score_main([str(inputs / "tiny.yaml"), str(inputs / "text.txt"), str(inputs / "numbers.txt"),
                       "-q", "--json", "-"]) == 0
    plain = json.loads(capsys.readouterr().out)["results"]
    for r in plain:
        assert bits(result, "whole school", r["file"]) == r["bits"]


def test_a_fish_alone_is_shoal_score_of_that_fish(inputs, result, capsys):
    assert score_main(["order2", str(inputs / "text.txt"), "-q", "--json", "-"]) == 0
    assert bits(result, "order2 alone", "text.txt") == json.loads(capsys.readouterr().out)["results"][0]["bits"]


def test_removing_a_fish_with_nothing_to_say_changes_little(result):
    # The column fish predicts numbers; text without a digit gives it nothing to go on, words everything.
    text, numbers = group(result, "text.txt"), group(result, "numbers.txt")
    assert abs(text["loss"]["column"]) < 0.005
    assert text["loss"]["word0"] > 0.05
    assert numbers["loss"]["column"] > 1.0 and numbers["best_alone"] == "column"


def test_losses_and_gain_follow_from_the_bits(result):
    text = group(result, "text.txt")
    school_bits = bits(result, "whole school", "text.txt")
    assert text["loss"]["order1"] == pytest.approx(bits(result, "order1 without", "text.txt") / school_bits - 1)
    best = min(FISH, key=lambda f: bits(result, f"{f} alone", "text.txt"))
    assert text["best_alone"] == best
    assert text["gain"] == pytest.approx(1 - school_bits / bits(result, f"{best} alone", "text.txt"))
    assert text["gain"] > 0                               # the school beats each of its fish here
    total = group(result, "total")
    assert total["bytes"] == sum(g["bytes"] for g in result["groups"] if g["level"] == "file")


def test_processes_give_the_same_numbers(inputs, result, capsys):
    again = ablate_json(inputs, capsys, "-j", "2")
    assert again["results"] == result["results"]


# -- outputs ----------------------------------------------------------------------------------------

def test_kinds_are_guessed_or_given(inputs, result, capsys):
    assert {f["kind"] for f in result["files"]} == {"text", "numbers"}
    assert guess_kind(bytes(range(256)) * 4) == "binary"
    given = ablate_json(inputs, capsys, "--kind", "prose=text.txt")
    assert [f["kind"] for f in given["files"]] == ["prose", "numbers"]


def test_csv_and_plot(inputs, tmp_path, capsys):
    plot = tmp_path / "ablation.png"
    assert score_main(["--ablate", str(inputs / "tiny.yaml"), str(inputs / "numbers.txt"), "-q",
                       "--csv", "-", "--plot", str(plot)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 9 * 2 and {r["file"] for r in rows} == {"(total)", rows[0]["file"]}
    school_row = next(r for r in rows if r["variant"] == "whole school")
    assert float(school_row["vs_school"]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fish_labels_stay_distinct():
    assert fish_labels([{"kind": "order", "arg": 2, "bits": 16}, {"kind": "order", "arg": 2, "bits": 20},
                        {"kind": "match", "min_len": 6, "bits": 20}, {"kind": "match", "min_len": 4, "bits": 20}]
                       ) == ["order2:16", "order2:20", "match", "match4"]
    assert fish_labels([{"kind": "word", "arg": 1, "bits": 16}] * 2) == ["word1#1", "word1#2"]
    level6 = variants(school.level(6))
    assert len(level6) == 1 + 2 * len(school.level(6).spec["fish"])
    assert all(v.preset.spec["mixer"] == school.level(6).spec["mixer"] for v in level6)


# -- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--ablate", "order2", "{text}"], "a school of one fish has nothing to ablate"),
    (["--ablate", "uniform", "{text}"], "--ablate takes a school"),
    (["--ablate", "hf:x", "{text}"], "--ablate takes a school"),
    (["--ablate", "nosuch.yaml", "{text}"], "cannot read preset"),
    (["--ablate", "-1", "{missing}"], "no such file or directory"),
    (["--ablate", "-1", "-m", "-6", "{text}"], "give no -m with it"),
    (["--ablate", "-1", "--by-position", "{text}"], "do not go with --ablate"),
    (["-j", "2", "-1", "{text}"], "-j goes with --ablate or --mixers"),
    (["--ablate", "-1", "-j", "0", "{text}"], "expected a whole number >= 1"),
    (["--ablate", "-1", "--kind", "code", "{text}"], "write KIND=FILE"),
    (["--ablate", "-1", "--kind", "code=other.c", "{text}"], "'other.c' is not one of the input files"),
])
def test_errors_are_one_clear_line(inputs, capsys, argv, message):
    names = {"text": str(inputs / "text.txt"), "missing": str(inputs / "missing.txt")}
    assert score_main([a.format(**names) for a in argv] + ["-q"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
