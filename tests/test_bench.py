"""shoal bench (shoal/bench/) and bench/run.py: one tiny end-to-end run (shoal -1 plus the installed
peers plus a broken peer), the thin script with its goals, and the pieces on their own."""
import json
import random
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import goals, run  # noqa: E402
from shoal.bench import corpus, main as bench_main, measure, plot, report  # noqa: E402

BROKEN = "broken=cat {src};sh -c 'tr a b < \"$0\"' {src}"     # "decompresses" a into b
INSTALLED = [name for name in ("xz", "zstd", "bzip2", "brotli") if shutil.which(name)]


def tiny_text(path: Path) -> Path:
    rng = random.Random(3)
    words = ["shoal", "fish", "school", "a", "banana", "mixer", "context", "predict", "byte"]
    path.write_text(" ".join(rng.choice(words) for _ in range(700)) + "\n")
    return path


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    sample = tiny_text(tmp / "sample.txt")
    out_json, out_md, out_png = tmp / "out.json", tmp / "out.md", tmp / "out.png"
    rc = bench_main([str(sample), "--levels", "1", "--peers", ",".join(INSTALLED), "--peer", BROKEN,
                     "--json", str(out_json), "--markdown", str(out_md), "--plot", str(out_png), "--quiet"])
    return rc, json.loads(out_json.read_text()), out_md.read_text(), sample, out_png


def test_rows_and_round_trips(bench_run):
    rc, data, _, sample, _ = bench_run
    rows = {r["tool"]: r for r in data["results"]}
    assert set(rows) == {"shoal -1", "broken"} | {measure.PEERS[n].name for n in INSTALLED}
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


def test_tables_and_plot(bench_run):
    _, _, markdown, _, png = bench_run
    for title in ("### Per file", "### Totals", "### shoal larger than xz -9e"):
        assert title in markdown
    assert "| warm-up s | round trip |" in markdown          # Markdown has every column
    if "xz" in INSTALLED:
        assert "| 1.00 |" in markdown        # xz's own ratio to itself
        assert "### shoal larger than xz -9e\n\nnone: every shoal result" in markdown   # no empty table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def widest(text: str) -> int:
    from rich.cells import cell_len
    return max(cell_len(line.rstrip()) for line in text.splitlines())


@pytest.mark.skipif("xz" not in INSTALLED, reason="xz not installed")
def test_printed_tables_fit_80_columns_unless_wide(tmp_path, capsys):
    """No shoal level here (quick): xz and a failing peer on a file with a long name."""
    sample = tiny_text(tmp_path / "a_rather_long_file_name_for_the_table.txt")
    argv = [str(sample), "--levels", "", "--peers", "xz", "--peer", BROKEN, "--quiet"]
    assert bench_main(argv) == 1
    out = capsys.readouterr().out
    assert widest(out) <= 80
    head = next(line for line in out.splitlines() if "file, tool" in line)
    assert "bytes" in head and "round trip" not in head and "warm-up s" not in out
    assert "broken FAIL" in out and "FAIL: broken on" in out
    assert "shoal larger than xz -9e: not compared: no shoal level ran" in out
    assert "┃" not in out and "│" not in out
    assert bench_main(argv + ["--wide"]) == 1
    wide = capsys.readouterr().out
    assert widest(wide) > 80 and "warm-up s" in wide and "round trip" in wide


def test_run_script_keeps_its_goals(tmp_path):
    """bench/run.py: the same run plus the goals table (no shoal level here, so it is quick)."""
    sample = tiny_text(tmp_path / "sample.txt")
    out_json, out_md = tmp_path / "out.json", tmp_path / "out.md"
    rc = run.main([str(sample), "--levels", "", "--peers", ",".join(INSTALLED[:1]),
                   "--json", str(out_json), "--markdown", str(out_md), "--quiet"])
    assert rc == 0
    assert "### Goals (issue 3)" in out_md.read_text()
    data = json.loads(out_json.read_text())
    assert any(g["goal"].startswith("-T 2") and g["result"] == "not measured" for g in data["goals"])


@pytest.mark.parametrize("argv, message", [
    (["/no/such/file"], "no such file or directory"),
    (["EMPTY"], "empty file"),
    (["DIR"], "directory has no files"),
    (["SAMPLE", "--levels", "12"], "--levels must be in 1..9"),
    (["SAMPLE", "--peers", "nosuch"], "unknown peer"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    names = {"EMPTY": tmp_path / "empty", "DIR": tmp_path / "dir", "SAMPLE": tiny_text(tmp_path / "s.txt")}
    assert bench_main([str(names.get(a, a)) for a in argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_peer_from_a_program_path():
    name, peer = measure.parse_peer("paq8px=/opt/paq 8/paq8px")
    assert name == "paq8px" and peer.name == "paq8px -8"
    assert peer.compress == "'/opt/paq 8/paq8px' -8 {src} {dst}" and peer.program == "/opt/paq 8/paq8px"
    with pytest.raises(Exception, match="NAME=COMMAND"):
        measure.parse_peer("mine=gzip")


def test_failing_command_is_reported(tmp_path):
    (item,), _ = corpus.collect([str(tiny_text(tmp_path / "t.txt"))], peers={})
    peer = measure.Peer("false", "false {src}", "cat {src}")
    result = measure.measure_peer(peer, item)
    assert not result.ok and "exited 1" in result.error


def test_peers_md_parser():
    rows = corpus.parse_peers(goals.CORPUS / "PEERS.md")
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


def _results():
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
    return results, files


def test_goals_are_computed_from_the_results():
    results, files = _results()
    got = {row[0]: row[1] for row in goals.goals(results, files).rows}
    assert got["-6 >= 20% smaller than xz -9e over the text files"] == "met"           # 0.70
    assert got["-6 not larger than xz -9e on any file"] == "NOT met"                   # b.so
    assert got["-6 >= 1 MB/s compress and decompress, 1 thread, on enwik_4m and large/"] == "NOT met"
    assert got["-6 peak RSS <= 1 GB (1000 MB)"] == "NOT met"
    assert report.larger_than_xz(results) == [("large/b.so", "shoal -6", 1_100, 1_000)]


def test_every_figure_has_its_ratio_to_xz():
    results, files = _results()
    table = report.totals_table(results, files)
    assert [c for c in table.columns if c != "x xz"][-4:] == ["bpb", "comp MB/s", "decomp MB/s", "peak RSS MB"]
    row = [r for r in table.rows if r[2] == "shoal -6"][-1]    # the "all files" group
    assert row[3:6] == ["1,800", "0.00360", "0.900"]           # bytes, bpb, 1,800 / xz's 2,000
    assert row[6:8] == ["0.500", "0.251"]                      # 4.001 MB in 8.01 s; xz took 2.01 s
    assert row[-2:] == ["1,200", "13.3"]                       # peak RSS 1200 MB, xz's 90 MB


def render(table, wide=False) -> str:
    from rich.console import Console
    from shoal.report_table import to_rich
    out = Console(width=200 if wide else 80, record=True, file=open("/dev/null", "w"))
    out.print(to_rich(table, wide=wide))
    return out.export_text()


def test_brief_tables_fit_80_columns():
    """By default each bench table fits 80 columns: the file or group on a row of its own, fewer
    columns; --wide (to_rich(wide=True)) has them all, as Markdown does."""
    results, files = _results()
    results[1].ok, results[1].error = False, "round trip MISMATCH"
    per_file, totals = report.file_table(results), report.totals_table(results, files)
    brief = render(per_file)
    assert widest(brief) <= 80
    head = next(line for line in brief.splitlines() if "file, tool" in line)
    assert "bytes" in head and "x xz" in head and "warm-up s" not in brief and "round trip" not in head
    assert "\n canterbury/a.txt" in brief and "\n   shoal -6" in brief     # heading row, tools indented
    assert "xz -9e FAIL" in brief and "FAIL: xz -9e on canterbury/a.txt: round trip MISMATCH" in brief
    assert "(> xz!)" not in brief and "(> xz!)" in render(per_file, wide=True)
    assert widest(render(totals)) <= 80 and "large/ all files (1 file)" in render(totals)
    wide = render(totals, wide=True)
    assert widest(wide) > 80 and "peak RSS MB" in wide


def test_no_empty_larger_table():
    results, files = _results()
    assert report.larger_table(results).rows                          # b.so: shoal > xz
    smaller = [r for r in results if r.file != "large/b.so"]
    text = render(report.larger_table(smaller))
    assert text.strip() == "shoal larger than xz -9e: none: every shoal result is at most xz -9e's size"
    no_xz = [r for r in results if r.tool != "xz -9e"]
    assert "not compared: xz -9e did not run" in render(report.larger_table(no_xz))


def test_pareto_front():
    assert plot.pareto([(1, 5), (2, 4), (3, 1), (0.5, 4), (2, 2)]) == [(1, 5), (2, 4), (3, 1)]


@pytest.mark.parametrize("gnu_time", [True, False])
def test_run_child_exit_code_and_rss(tmp_path, monkeypatch, gnu_time):
    if not gnu_time:
        monkeypatch.setattr(measure, "GNU_TIME", None)
    elif measure.GNU_TIME is None:
        pytest.skip("GNU time not installed")
    rc, seconds, rss = measure.run_child(["sh", "-c", "exit 3"], tmp_path / "out", tmp_path / "err")
    assert rc == 3 and seconds > 0 and rss > 0


def test_specialist_set_is_the_files_measured(tmp_path):
    """bench/specialist_set.py copies each named file of each named wheel,
    checked by size and SHA-256, into one folder per kind; a file whose
    package has another version installed is refused, naming the version."""
    from bench import specialist_set
    from shoal.command import UsageError
    try:
        written = specialist_set.build(tmp_path / "set")
    except UsageError as e:
        assert "pip download" in str(e)
        pytest.skip(f"another version is installed: {e}")
    assert sorted({p.parent.name for p in written}) == ["csv", "json", "source", "x86-64", "xml", "yaml"]
    assert [p.stat().st_size for p in written] == [entry[4] for entry in specialist_set.FILES]
    with pytest.raises(UsageError, match="numpy==0.0.1"):
        specialist_set.fetch("numpy", "0.0.1", specialist_set.FILES[-2][3], 1, "0" * 64)
