"""bench/: one tiny end-to-end run (shoal -1 plus the installed peers plus a broken peer),
and the PEERS.md parser and totals on their own."""
import json
import random
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import corpus, measure, report, run  # noqa: E402

BROKEN = "broken=cat {src};sh -c 'tr a b < \"$0\"' {src}"     # "decompresses" a into b


def tiny_text(path: Path) -> Path:
    rng = random.Random(3)
    words = ["shoal", "fish", "school", "a", "banana", "mixer", "context", "predict", "byte"]
    path.write_text(" ".join(rng.choice(words) for _ in range(700)) + "\n")
    return path


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    sample = tiny_text(tmp / "sample.txt")
    out_json, out_md = tmp / "out.json", tmp / "out.md"
    installed = [name for name in ("xz", "zstd", "bzip2", "brotli") if shutil.which(name)]
    rc = run.main([str(sample), "--levels", "1", "--peers", ",".join(installed), "--peer", BROKEN,
                   "--json", str(out_json), "--markdown", str(out_md), "--quiet"])
    return rc, json.loads(out_json.read_text()), out_md.read_text(), installed, sample


def test_rows_and_round_trips(bench_run):
    rc, data, _, installed, sample = bench_run
    rows = {r["tool"]: r for r in data["results"]}
    expected = {"shoal -1", "broken"} | {measure.PEERS[n].name for n in installed}
    assert set(rows) == expected
    size = sample.stat().st_size
    for tool, r in rows.items():
        if tool == "broken":
            continue
        assert r["ok"], (tool, r["error"])
        assert r["size"] == size
        assert 0 < r["compressed"] < size
        assert r["comp_s"] > 0 and r["decomp_s"] > 0 and r["rss_mb"] > 0
    assert rows["shoal -1"]["warmup_s"] > 0


def test_broken_peer_is_a_loud_failure(bench_run):
    rc, data, markdown, _, _ = bench_run
    broken = next(r for r in data["results"] if r["tool"] == "broken")
    assert not broken["ok"] and "MISMATCH" in broken["error"]
    assert rc == 1
    assert "FAIL: round trip MISMATCH" in markdown


def test_markdown_has_tables_and_goals(bench_run):
    _, data, markdown, installed, _ = bench_run
    for title in ("### Per file", "### Totals", "### Goals (issue 3)"):
        assert title in markdown
    assert any(g["goal"].startswith("-T 2") and g["result"] == "not measured" for g in data["goals"])
    if "xz" in installed:
        assert "| 1.00 |" in markdown        # xz's own ratio to itself


def test_failing_command_is_reported(tmp_path):
    item = corpus.collect([str(tiny_text(tmp_path / "t.txt"))], peers={})[0]
    peer = measure.Peer("false", "false {src}", "cat {src}")
    result = measure.measure_peer(peer, item)
    assert not result.ok and "exited 1" in result.error


def test_peers_md_parser():
    rows = corpus.parse_peers()
    if not rows:
        pytest.skip("../shared/corpus/PEERS.md not present")
    assert rows["canterbury/grammar.lsp"]["text"] and not rows["calgary/geo"]["text"]
    assert rows["canterbury/alice29.txt"]["paq8px v216 -8"] == 33070
    assert rows["large/binary_libgtk3.so"]["paq8px v216 -8"] is None     # "not run"


def test_totals_leave_out_contained_files():
    def item(name, text=True):
        folder = name.split("/")[0]
        return corpus.InputFile(Path(name), name, folder, 100, text, "PEERS.md")
    files = [item("enwik/enwik_1m"), item("enwik/enwik_4m"), item("calgary/geo", text=False)]
    groups = dict(report.groups(files))
    text = next(members for name, members in groups.items() if "text files, all folders" in name)
    assert [f.name for f in text] == ["enwik/enwik_4m"]
    assert all("enwik/enwik_1m" not in [f.name for f in members] for members in groups.values())


def test_goals_are_computed_from_the_results():
    def item(name, size, text=True):
        return corpus.InputFile(Path(name), name, name.split("/")[0], size, text, "PEERS.md")
    files = [item("canterbury/a.txt", 1000), item("large/b.so", 4_000_000, text=False)]
    R = measure.Result
    results = [
        R("canterbury/a.txt", "canterbury", True, "shoal -6", 1000, 700, 0.01, 0.01, 300, 1.0, True),
        R("canterbury/a.txt", "canterbury", True, "xz -9e", 1000, 1000, 0.01, 0.01, 20, None, True),
        R("large/b.so", "large", False, "shoal -6", 4_000_000, 1_100, 8.0, 2.0, 1200, 1.0, True),
        R("large/b.so", "large", False, "xz -9e", 4_000_000, 1_000, 2.0, 0.1, 90, None, True),
    ]
    got = {row[0]: row[1] for row in report.goals(results, files).rows}
    assert got["-6 >= 20% smaller than xz -9e over the text files"] == "met"           # 0.70
    assert got["-6 not larger than xz -9e on any file"] == "NOT met"                   # b.so
    assert got["-6 >= 1 MB/s compress and decompress, 1 thread, on enwik_4m and large/"] == "NOT met"
    assert got["-6 peak RSS <= 1 GB (1000 MB)"] == "NOT met"
    assert report.larger_than_xz(results) == [("large/b.so", "shoal -6", 1_100, 1_000)]


@pytest.mark.parametrize("gnu_time", [True, False])
def test_run_child_exit_code_and_rss(tmp_path, monkeypatch, gnu_time):
    if not gnu_time:
        monkeypatch.setattr(measure, "GNU_TIME", None)
    elif measure.GNU_TIME is None:
        pytest.skip("GNU time not installed")
    rc, seconds, rss = measure.run_child(["sh", "-c", "exit 3"], tmp_path / "out", tmp_path / "err")
    assert rc == 3 and seconds > 0 and rss > 0
