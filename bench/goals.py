"""The goals of issue 3, computed from a bench run's numbers (never written in by hand),
and the thread check one of them needs.

- -6 at least 20% smaller than xz -9e over the text files, and no larger than
  xz on any file;
- -9 within 5% of paq8px -8 (PEERS.md) over the Canterbury + Calgary text files;
- -6 at least 1 MB/s compress and decompress on enwik_4m and large/, 1 thread;
- -6 peak RSS at most 1 GB;
- -T 2 at least 1.7x faster than -T 1 (threads_check: shoal -6 with threads=1
  then threads=2 on one file, same block size, outputs compared).

A goal the run has no data for reads "not measured".
"""
from __future__ import annotations

import os
from pathlib import Path

from shoal.bench import corpus, measure
from shoal.bench.report import NUMERIC, XZ, larger_than_xz, reference_total, tools_in, total
from shoal.report_table import Table, fmt, fmt_int, mbps

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
EVAL_FOLDERS = ("canterbury", "calgary", "enwik", "large")


SPEED_FILES = ("enwik/enwik_4m", "large/")


def _goal_sizes(results, files, tool, members, label, bound, against=XZ) -> tuple[str, str]:
    if not members:
        return "not measured", f"no {label} in this run"
    mine = total(results, members, tool)
    if against == XZ:
        ref = total(results, members, XZ)
        name = XZ
    else:
        ref, name = reference_total(members, against), f"{against} (PEERS.md)"
    if mine.compressed is None or ref.compressed is None:
        return "not measured", f"{tool} or {name} missing on some of the {len(members)} files"
    r = mine.compressed / ref.compressed
    detail = (f"{tool} {mine.compressed:,} vs {name} {ref.compressed:,} = {r:.3f} "
              f"over {len(members)} {label}")
    return ("met" if r <= bound else "NOT met"), detail


def goals(results, files, threads_check: dict | None = None) -> Table:
    table = Table("Goals (issue 3)", ["goal", "result", "detail"])
    names = {f.name for f in files}
    counted = [f for f in files if corpus.CONTAINED_IN.get(f.name) not in names]
    text = [f for f in counted if f.text]
    cc_text = [f for f in text if f.folder in ("canterbury", "calgary")]
    tools = tools_in(results)

    def add(goal, result, detail):
        table.add([goal, result, detail], "green" if result == "met" else "bold red" if result == "NOT met" else "dim")

    if "shoal -6" in tools:
        add("-6 >= 20% smaller than xz -9e over the text files",
            *_goal_sizes(results, files, "shoal -6", text, "text files", 0.80))
        bigger = [f"{f} ({s:,} > {x:,})" for f, t, s, x in larger_than_xz(results) if t == "shoal -6"]
        have_xz = any(r.tool == XZ for r in results)
        add("-6 not larger than xz -9e on any file",
            ("NOT met" if bigger else "met") if have_xz else "not measured",
            "; ".join(bigger) if bigger else f"checked on {len(files)} files" if have_xz else "xz not run")
        add(*_speed_goal(results))
        rss = [r.rss_mb for r in results if r.tool == "shoal -6" and r.ok]
        add("-6 peak RSS <= 1 GB (1000 MB)", ("met" if max(rss) <= 1000 else "NOT met") if rss else "not measured",
            f"largest peak RSS {max(rss):.0f} MB over {len(rss)} files" if rss else "")
    else:
        add("default level (-6) goals", "not measured",
            "run with --levels including 6" if results else "no files measured in this run")
    if "shoal -9" in tools:
        add("-9 within 5% of paq8px -8 over Canterbury + Calgary text",
            *_goal_sizes(results, files, "shoal -9", cc_text, "Canterbury + Calgary text files", 1.05,
                         against="paq8px -8"))
    else:
        add("-9 within 5% of paq8px -8", "not measured",
            "run with --levels including 9" if results else "no files measured in this run")
    add(*_threads_goal(threads_check))
    evaluation = list(corpus.parse_peers(CORPUS / "PEERS.md"))
    missing = [n for n in evaluation if n not in names]
    if results and missing:
        table.notes.append(f"partial run: {len(evaluation) - len(missing)} of {len(evaluation)} evaluation "
                           "files measured; each goal is computed over the files this run measured")
    return table


def _speed_goal(results) -> tuple[str, str, str]:
    goal = "-6 >= 1 MB/s compress and decompress, 1 thread, on enwik_4m and large/"
    rs = [r for r in results if r.tool == "shoal -6" and r.ok and r.file.startswith(SPEED_FILES)]
    if not rs:
        return goal, "not measured", "enwik/enwik_4m and large/ not in this run"
    if any(r.extra.get("threads", 1) != 1 for r in rs):
        return goal, "not measured", "this run used --threads > 1"
    slow = [r for r in rs if min(mbps(r.size, r.comp_s), mbps(r.size, r.decomp_s)) < 1.0]
    detail = "; ".join(f"{r.file} {mbps(r.size, r.comp_s):.2f}/{mbps(r.size, r.decomp_s):.2f}" for r in rs)
    return goal, "NOT met" if slow else "met", f"comp/decomp MB/s: {detail}"


def _threads_goal(check: dict | None) -> tuple[str, str, str]:
    goal = "-T 2 >= 1.7x faster than -T 1 on a multi-block file"
    if not check:
        return goal, "not measured", "run with --threads-check FILE"
    if check.get("error"):
        return goal, "not measured", check["error"]
    speedup = check["speedup_comp"]
    detail = (f"{check['file']}, -B {check['block_size']:,} ({check['blocks']} blocks): compress "
              f"{speedup:.2f}x, decompress {check['speedup_decomp']:.2f}x, "
              f"identical output: {check['identical']}")
    return goal, "met" if speedup >= 1.7 and check["identical"] else "NOT met", detail


def threads_check(path: Path, block_size: int, repeat: int, log) -> dict:
    """shoal -6 with threads=1 then threads=2, same block size: speed-up and output identity."""
    size = path.stat().st_size
    check = {"file": str(path), "size": size, "block_size": block_size, "level": 6,
             "blocks": -(-size // block_size), "load_before": os.getloadavg()[0]}
    runs = {}
    for threads in (1, 2):
        log(f"threads check: {path.name} -6 -T {threads} -B {block_size:,} ...")
        runs[threads], rss = measure.run_worker(path, 6, repeat, threads, block_size)
        runs[threads]["rss_mb"] = rss
    one, two = runs[1], runs[2]
    check["runs"] = runs
    if not (one.get("ok") and two.get("ok")):
        check["error"] = f"a run failed: {one.get('error') or two.get('error')}"
    else:
        check.update(speedup_comp=one["comp_s"] / two["comp_s"],
                     speedup_decomp=one["decomp_s"] / two["decomp_s"],
                     identical=one["digest"] == two["digest"])
    return check


def threads_table(check: dict) -> Table:
    table = Table(f"Threads check: shoal -6 on {check['file']}, -B {check['block_size']:,} ({check['blocks']} blocks)",
                  ["threads", "bytes", "comp MB/s", "decomp MB/s", "peak RSS MB", "round trip"], numeric=NUMERIC)
    for threads, run in check.get("runs", {}).items():
        table.add([str(threads), fmt_int(run.get("compressed")), fmt(mbps(check["size"], run.get("comp_s"))),
                   fmt(mbps(check["size"], run.get("decomp_s"))), fmt(run.get("rss_mb")),
                   "ok" if run.get("ok") else f"FAIL: {run.get('error')}"])
    if "speedup_comp" in check:
        table.notes.append(f"speed-up -T 2 / -T 1: compress {check['speedup_comp']:.2f}x, decompress "
                           f"{check['speedup_decomp']:.2f}x; output identical: {check['identical']}")
    table.notes.append(f"1-minute load average before the check: {check['load_before']:.2f} on "
                       f"{os.cpu_count()} CPUs (other work on the machine lowers the -T 2 speed-up)")
    if check.get("error"):
        table.notes.append(check["error"])
    return table
