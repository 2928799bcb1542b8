"""shoal bench --per-file (shoal/bench/per_file.py): a tiny run on a temp folder at level 1 with the
installed peers, its totals, round trips, the trained zstd dictionary, and its usage errors."""
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_train_without_per_file_is_a_usage_error(tmp_path):
    done = shoal_bench(str(records(tmp_path / "d", 1, 4)), "--train", str(tmp_path))
    assert done.returncode == 1 and "go with --per-file" in done.stderr


def test_train_on_the_measured_folder_is_refused(tmp_path):
    folder = records(tmp_path / "d", 2, 5)
    done = shoal_bench("--per-file", str(folder), "--train", str(folder), "--levels", "1", "--peers", "")
    assert done.returncode == 1 and "learn and test must differ" in done.stderr


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
