"""shoal bench --per-file (shoal/bench/per_file.py): a tiny run on a temp folder at level 1 with the
installed peers, its totals, round trips, the trained zstd dictionary, and its usage errors; a run
with --school (tiny school files made here), its school table against zstd -19 -D, and --school's
usage errors."""
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shoal
from shoal import school, school_file
from shoal.bench import main as bench_main
from shoal.bench import corpus, measure, per_file, per_file_report

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO.parent / "shared" / "corpus" / "train"
PEERS = [name for name in ("xz", "zstd", "brotli") if shutil.which(name)]
WORDS = ["shoal", "fish", "school", "mixer", "context", "predict", "byte", "record", "name", "value"]


def records(folder: Path, count: int, seed: int) -> Path:
    """count small JSON-like files of ~300-700 bytes: a set of small records."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for n in range(count):
        fields = {rng.choice(WORDS) + str(i): " ".join(rng.choices(WORDS, k=rng.randint(2, 6)))
                  for i in range(rng.randint(8, 16))}
        (folder / f"r{seed}-{n:03}.json").write_text(json.dumps({"id": n, **fields}, indent=2) + "\n")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("per-file")
    test, learn = records(tmp / "set" / "test", 4, 1), records(tmp / "set" / "learn", 40, 2)
    out = tmp / "out.json"
    argv = ["--per-file", str(test), "--levels", "1", "--peers", ",".join(PEERS), "--json", str(out),
            "--markdown", str(tmp / "out.md"), "--quiet"]
    if "zstd" in PEERS:
        argv += ["--train", str(learn), "--maxdict", "4K"]
    rc = bench_main(argv)
    return rc, json.loads(out.read_text()), test, (tmp / "out.md").read_text()


def test_every_file_round_trips_and_totals_add_up(run):
    rc, data, test, _ = run
    assert rc == 0
    files = sorted(p.name for p in test.iterdir())
    tools = {r["tool"] for r in data["results"]}
    assert "shoal -1" in tools and len(tools) == 1 + len(PEERS) + ("zstd" in PEERS)
    for tool in tools:
        rows = [r for r in data["results"] if r["tool"] == tool]
        assert sorted(Path(r["file"]).name for r in rows) == files
        assert all(r["ok"] and 0 < r["compressed"] and r["comp_s"] > 0 for r in rows), tool
    results = [measure.Result(**r) for r in data["results"]]
    (info,) = data["sets"]
    members, _ = corpus.collect([str(test)], peers={})
    for total in per_file_report.totals([per_file.Set(info["name"], test, members)], results):
        assert total.compressed == sum(r.compressed for r in results if r.tool == total.tool)
        assert total.files == len(files) and total.size == sum(p.stat().st_size for p in test.iterdir())
    assert data["warmups"][0]["ok"] and data["warmups"][0]["seconds"] > 0


def test_markdown_totals_row_is_the_sum(run):
    _, data, _, markdown = run
    shoal = sum(r["compressed"] for r in data["results"] if r["tool"] == "shoal -1")
    assert f"| shoal -1 | {shoal:,} |" in markdown


@pytest.mark.skipif("zstd" not in PEERS, reason="zstd is not installed")
def test_train_adds_zstd_with_its_dictionary(run):
    _, data, _, markdown = run
    (info,) = data["sets"]
    assert info["train"].endswith("learn") and 0 < info["dictionary_bytes"] <= 4096
    plain = sum(r["compressed"] for r in data["results"] if r["tool"] == "zstd -19")
    with_dict = sum(r["compressed"] for r in data["results"] if r["tool"] == per_file.ZSTD_DICT)
    assert with_dict < plain                      # the records share their keys with the learn files
    assert "dictionary trained on" in markdown


def test_one_byte_line(run):
    _, data, _, _ = run
    assert set(data["one_byte"]) >= {"shoal -1", *(["xz -9e"] if "xz" in PEERS else [])}
    assert all(size is not None and size > 0 for size in data["one_byte"].values())


def shoal_bench(*args):
    return subprocess.run([sys.executable, "-m", "shoal", "bench", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("make, extra, message", [
    (lambda d: d.mkdir(), [], "directory has no files"),
    (lambda d: (d.parent.mkdir(exist_ok=True), d.write_text("x")), [], "wants folders"),
    (lambda d: records(d, 2, 3), ["--train", "T1", "--train", "T2"], "one folder for all DIRs or one per DIR"),
    (lambda d: records(d, 2, 3), ["--plot", "x.png"], "--plot does not go with --per-file"),
])
def test_usage_errors(tmp_path, make, extra, message):
    folder = tmp_path / "set" / "test"
    folder.parent.mkdir()
    make(folder)
    done = shoal_bench("--per-file", str(folder), "--levels", "1", "--peers", "", *extra)
    assert done.returncode == 1 and message in done.stderr, done.stderr


@pytest.mark.parametrize("option", ["--train", "--school"])
def test_train_or_school_without_per_file_is_a_usage_error(tmp_path, option):
    done = shoal_bench(str(records(tmp_path / "d", 1, 4)), option, str(tmp_path))
    assert done.returncode == 1 and "go with --per-file" in done.stderr


def test_train_on_the_measured_folder_is_refused(tmp_path):
    folder = records(tmp_path / "d", 2, 5)
    done = shoal_bench("--per-file", str(folder), "--train", str(folder), "--levels", "1", "--peers", "")
    assert done.returncode == 1 and "learn and test must differ" in done.stderr


# --------------------------------------------------------------------------- --school

def tiny_school(path: Path, primer_text: bytes) -> school_file.SchoolFile:
    """A school file of level 6's preset and a primer of a few hundred bytes."""
    return school_file.write(path, json.loads(school.level(6).canonical), primer_text, {"note": "test"})


@pytest.fixture(scope="module")
def school_run(tmp_path_factory):
    """Two sets of 3 records, a school file per set (--school a b), zstd -19 -D trained for both."""
    tmp = tmp_path_factory.mktemp("per-file-school")
    tests = [records(tmp / f"set{n}" / "test", 3, 10 + n) for n in (1, 2)]
    learn = records(tmp / "learn", 20, 12)
    text = b"".join(p.read_bytes() for p in sorted(learn.iterdir()))
    schools = [tmp / "a.school", tmp / "b.school"]
    tiny_school(schools[0], text[:600]), tiny_school(schools[1], text[-400:])
    out = tmp / "out.json"
    argv = ["--per-file", *map(str, tests), "--levels", "", "--peers", "", "--school", *map(str, schools),
            "--json", str(out), "--markdown", str(tmp / "out.md"), "--quiet"]
    if "zstd" in PEERS:
        argv += ["--train", str(learn), "--maxdict", "4K"]
    rc = bench_main(argv)
    return rc, json.loads(out.read_text()), tests, schools, (tmp / "out.md").read_text()


def test_school_rows_round_trip_with_their_school(school_run):
    rc, data, tests, schools, markdown = school_run
    assert rc == 0
    assert [s["school_tool"] for s in data["sets"]] == ["shoal -D a", "shoal -D b"]
    assert [s["digest"] for s in data["schools"]] == [school_file.read(p).digest.hex() for p in schools]
    assert all(w["ok"] for w in data["warmups"]) and {w["tool"] for w in data["warmups"]} == {"shoal -D a",
                                                                                              "shoal -D b"}
    for test, path, info in zip(tests, schools, data["sets"]):
        rows = [r for r in data["results"] if r["folder"] == info["name"]]
        assert {r["tool"] for r in rows} == {info["school_tool"], *([per_file.ZSTD_DICT] if "zstd" in PEERS else [])}
        mine = {Path(r["file"]).name: r for r in rows if r["tool"] == info["school_tool"]}
        assert sorted(mine) == sorted(p.name for p in test.iterdir())
        for name, r in mine.items():            # the archive is the API's with that school, round trip checked
            original = (test / name).read_bytes()
            assert r["ok"] and r["comp_s"] > 0 and r["decomp_s"] > 0
            assert r["compressed"] == len(shoal.compress(original, school=path))
        assert f"| {info['school_tool']} | {sum(r['compressed'] for r in mine.values()):,} |" in markdown
    assert set(data["one_byte"]) >= {"shoal -D a", "shoal -D b"}


def test_school_table_sets_it_against_zstd_dict(school_run):
    _, data, _, _, markdown = school_run
    assert "Learned school against zstd -19 -D" in markdown and "loaded once in" in markdown
    rows = data["school_vs_zstd_dict"]
    assert [r["tool"] for r in rows] == ["shoal -D a", "shoal -D b"]
    for row in rows:
        mine = [r for r in data["results"] if r["folder"] == row["set"] and r["tool"] == row["tool"]]
        assert row["compressed"] == sum(r["compressed"] for r in mine)
        assert row["comp_ms_per_kb"] == pytest.approx(sum(r["comp_s"] for r in mine) * 1e6 / row["bytes"])
        assert row["decomp_ms_per_file"] == pytest.approx(sum(r["decomp_s"] for r in mine) * 1e3 / len(mine))
        if "zstd" in PEERS:
            dictionary = sum(r["compressed"] for r in data["results"]
                             if r["folder"] == row["set"] and r["tool"] == per_file.ZSTD_DICT)
            assert row["zstd_dict"] == dictionary
            assert row["x_zstd_dict"] == pytest.approx(row["compressed"] / dictionary)
            assert isinstance(row["meets_target"], bool) and row["target"] in markdown
        else:
            assert row["x_zstd_dict"] is None and row["target"].startswith("n/a")


@pytest.mark.parametrize("x, comp, decomp, verdict", [
    (0.70, 5.0, 6.0, "met"),
    (0.80, 5.0, 6.0, "missed: 0.800 x zstd-D > 0.75"),
    (0.70, 5.0, 25.0, "missed: decomp 25.0 ms/KB > 20.0"),
    (None, 5.0, 6.0, "n/a: no zstd -19 -D (--train)"),
])
def test_school_target(x, comp, decomp, verdict):
    row = {"compressed": 100, "failed": 0, "x_zstd_dict": x, "comp_ms_per_kb": comp, "decomp_ms_per_kb": decomp}
    assert per_file_report.target(row) == verdict


def test_one_school_for_all_dirs_and_labels(tmp_path):
    folders = [records(tmp_path / f"s{n}" / "test", 1, 20 + n) for n in (1, 2)]
    (tmp_path / "x").mkdir()
    for path in (tmp_path / "a.school", tmp_path / "x" / "a.school"):
        path.write_bytes(b"")           # collect_sets only checks that it is a file; loading is later
    args = type("Args", (), {"inputs": list(map(str, folders)), "train": [], "schools": [str(tmp_path / "a.school")],
                             "maxdict": 4096})
    sets = per_file.collect_sets(args, tmp_path)
    assert [(s.school, s.school_label) for s in sets] == [(tmp_path / "a.school", "shoal -D a")] * 2
    args.schools = [str(tmp_path / "a.school"), str(tmp_path / "x" / "a.school")]
    assert [s.school_label for s in per_file.collect_sets(args, tmp_path)] == ["shoal -D a#1", "shoal -D a#2"]


@pytest.mark.parametrize("school_args, message", [
    (lambda d: [str(d / "none.school")], "--school wants a school file"),
    (lambda d: [str(d / "bad.school")], "not a usable school file"),
    (lambda d: [str(d / "ok.school")] * 2, "one school file for all DIRs or one per DIR"),
])
def test_school_usage_errors(tmp_path, school_args, message):
    folder = records(tmp_path / "set" / "test", 2, 6)
    (tmp_path / "bad.school").write_bytes(b"\x10" + b"\0" * 40)
    (tmp_path / "ok.school").write_bytes(b"")
    done = shoal_bench("--per-file", str(folder), "--levels", "", "--peers", "", "--school",
                       *school_args(tmp_path))
    assert done.returncode == 1 and message in done.stderr, done.stderr


@pytest.mark.skipif(not (TRAIN / "structured_iso_codes.json").is_file(), reason="needs ../shared/corpus/train")
def test_make_small_sets_json_is_deterministic_and_disjoint(tmp_path):
    tool = [sys.executable, str(REPO / "tools" / "make_small_sets.py")]
    for out in ("a", "b"):
        subprocess.run([*tool, str(tmp_path / out), "--sets", "json", "--per-half", "20"], check=True,
                       capture_output=True, timeout=120)
    assert (tmp_path / "a" / "SHA256SUMS").read_text() == (tmp_path / "b" / "SHA256SUMS").read_text()
    learn, test = (tmp_path / "a" / "json" / half for half in ("learn", "test"))
    assert len(list(learn.iterdir())) == len(list(test.iterdir())) == 20
    learn_bytes = {p.read_bytes() for p in learn.iterdir()}
    assert not learn_bytes & {p.read_bytes() for p in test.iterdir()}
    assert all(300 <= len(b) <= 8192 for b in learn_bytes)
    (large,) = (tmp_path / "a" / "json" / "large").iterdir()
    assert large.stat().st_size >= 1 << 20
    assert not records_of(learn_bytes) & records_of([large.read_bytes()])


def records_of(documents) -> set[str]:
    """Every iso-codes record of the JSON documents (a file may hold several, one after another)."""
    found, decoder = set(), json.JSONDecoder()
    for document in documents:
        text, i = document.decode(), 0
        while text[i:].strip():
            obj, i = decoder.raw_decode(text, len(text) - len(text[i:].lstrip()))
            found |= {json.dumps(r, sort_keys=True) for records in obj.values() for r in records}
    return found
