"""The fuzz campaign's report (bench/fuzz.py): outcome counts by kind, the
slowest cases, the error messages met, and whether the campaign failed.
"""
from __future__ import annotations

import re

from bench.fuzz_run import BAD, CLASSES


# ---- the report --------------------------------------------------------------------

def _table(rows: list[list], header: list[str]) -> str:
    """Plain text: the first column and text columns (message, what) to the left, numbers to the right."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    left = {0} | {k for k, h in enumerate(header) if h in ("message", "what", "outcome", "kind")}

    def line(r):
        return "  ".join(c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def summary_table(results: list[dict], title: str) -> str:
    kinds = sorted({r["kind"] for r in results})
    rows = []
    for kind in kinds + ["TOTAL"]:
        rs = [r for r in results if kind == "TOTAL" or r["kind"] == kind]
        counts = [sum(r["outcome"] == c for r in rs) for c in CLASSES]
        secs = max((r["seconds"] or 0) for r in rs)
        rss = max((r.get("peak_rss_kb") or 0) for r in rs) / 1024
        unmet = sum("unmet" in r for r in rs)
        rows.append([kind, len(rs)] + [c if c else "." for c in counts] + [f"{secs:.2f}", f"{rss:.0f}"]
                    + ([unmet if unmet else "."] if any("expect" in r for r in rs) else []))
    header = ["kind", "cases"] + list(CLASSES) + ["max s", "peak RSS MB"]
    if any("expect" in r for r in results):
        header.append("unmet")
    return f"{title}\n{_table(rows, header)}"


def _elide(message: str) -> str:
    return re.sub(r"0x[0-9a-f]+|[0-9a-f]{16,}|\d[\d,]*", "N", message or "")[:100]


def messages_table(results: list[dict], top: int = 5) -> str:
    """Which checks the cases reached: the `top` error messages (numbers
    elided) of each kind and how many cases met each."""
    count: dict = {}
    for r in results:
        if r["outcome"] in ("ShoalError", "EOFError"):
            key = (r["kind"], _elide(r.get("message")))
            count[key] = count.get(key, 0) + 1
    rows, shown = [], {}
    for (kind, message), n in sorted(count.items(), key=lambda kv: (kv[0][0], -kv[1])):
        shown[kind] = shown.get(kind, 0) + 1
        if shown[kind] <= top:
            rows.append(((kind, message), n))
    return "errors met, by kind (numbers elided):\n" + _table([[k, n, m] for (k, m), n in rows],
                                                              ["kind", "cases", "message"])


def report(results: list[dict], info: dict, wall: float, slowest: int = 10, messages: bool = False) -> str:
    out = []
    mut = [r for r in results if r["id"].startswith("m")]
    cra = [r for r in results if r["id"].startswith("c")]
    if mut:
        out.append(summary_table(mut, f"mutated cases ({len(mut)})"))
    if cra:
        out.append(summary_table(cra, f"crafted cases ({len(cra)})"))
    out.append(f"all: {len(results)} cases{f' in {wall:.1f} s' if wall else ''}; "
               + ", ".join(f"{c} {sum(r['outcome'] == c for r in results)}" for c in CLASSES))
    b = info["baseline"]
    peak = max([info.get("children_peak_rss_kb", 0)] + [r.get("peak_rss_kb") or 0 for r in results])
    if b:
        out.append("worker baseline after import and warm-up decodes: "
                   + "; ".join(f"VSZ {x.get('VmSize', 0) / 1024:.0f} MB (peak {x.get('VmPeak', 0) / 1024:.0f}), "
                               f"RSS {x.get('VmRSS', 0) / 1024:.0f} MB"
                               for x in b[:1])
                   + f"; peak RSS of any worker {peak / 1024:.0f} MB"
                   + f"; restarts {info['restarts']}")
    if messages:
        out.append(messages_table(results))
    slow = sorted(results, key=lambda r: -(r["seconds"] or 0))[:slowest]
    out.append("slowest cases:\n" + _table(
        [[r["id"], r["kind"], f"{r['seconds']:.2f}", f"{(r.get('peak_rss_kb') or 0) / 1024:.0f}", r["outcome"],
          r["desc"][:90]] for r in slow], ["case", "kind", "s", "RSS MB", "outcome", "what"]))
    odd = {}
    for r in results:
        if r["outcome"] in BAD:
            key = (r["outcome"], r.get("exc", ""), (r.get("message") or "")[:60])
            odd.setdefault(key, []).append(r)
    if odd:
        lines = []
        for (outcome, exc, _), rs in sorted(odd.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            r = rs[0]
            lines.append(f"  {outcome} {exc} x{len(rs)}: e.g. {r['id']} [{r['kind']}] {r['desc'][:100]}\n"
                         f"      {(r.get('message') or '(no message)')[:200]}"
                         + (f"\n      at {r['where'][-300:]}" if r.get("where") else ""))
        out.append("cases that are not ShoalError / EOFError / exact (one example each):\n" + "\n".join(lines))
    unmet = [r for r in cra if "unmet" in r]
    if unmet:
        by = {}
        for r in unmet:
            by.setdefault(r["kind"], []).append(r)
        out.append("crafted expectations not met:\n" + "\n".join(
            f"  {k} x{len(rs)}: e.g. {rs[0]['id']} {rs[0]['desc'][:90]}\n      {rs[0]['unmet'][:200]}"
            for k, rs in sorted(by.items())))
    return "\n\n".join(out)


def failed(results: list[dict]) -> bool:
    return any(r["outcome"] in BAD or "unmet" in r for r in results)
