"""The voter contract (fish/voters.py): one table orders the mixer's inputs,
and a new fish is one new module plus its place in that table.

The last test adds a toy fish to a copy of the package as the recipe in
fish/__init__.py says: one new module and a few lines of voters.py (this
test is the third file), and codes with it in fresh processes.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import shoal
from shoal.fish import voters
from shoal.school import layout, preset

ROOT = Path(shoal.__file__).resolve().parent

ALL_KINDS = {"fish": [{"kind": "order", "arg": 1, "bits": 12}, {"kind": "neural", "digest": "0" * 32},
                      {"kind": "column"}, {"kind": "word", "arg": 0, "bits": 12},
                      {"kind": "match", "min_len": 5, "bits": 12}],
             "mixer": {"runs": True}, "lanes": 16}


def test_the_table_orders_the_mixer_inputs():
    """Each voter's votes follow those of the voters before it in VOTERS,
    whatever order the preset lists its fish in; the bias comes last."""
    p = preset.from_dict(ALL_KINDS)
    firsts = [int(p.cfg[voters.slot(i, voters.AT)]) for i in range(len(voters.VOTERS))]
    counts = [v.inputs(int(p.cfg[voters.slot(i, voters.MODE)]), 2) for i, v in enumerate(voters.VOTERS)]
    assert firsts == list(np.cumsum([0] + counts[:-1]))
    assert p.cfg[layout.C_VOTES] == sum(counts) == 2 * 2 + 2 + 2 + 1
    # the fish as the preset lists them: order-1 (inputs 0, 1), neural (the
    # last vote), column, word (2, 3), match (after the context fish)
    assert [preset._mixer_inputs(p.spec, p.cfg, i) for i in range(5)] == [(0, 2), (8, 1), (6, 2), (2, 2), (4, 2)]
    # the final mixer's extra inputs (mixer.final: votes) are the FINAL voters'
    assert (p.cfg[layout.C_FINAL_AT], p.cfg[layout.C_FINAL_COUNT]) == (4, 4)


def test_a_school_without_a_voter_sets_its_mode_to_zero():
    p = preset.from_dict({"fish": [{"kind": "order", "arg": 2}]})
    assert layout.modes(p.cfg) == (1, 0, 0, 0)
    assert p.cfg[layout.C_VOTES] == 1


ECHO = '''"""Echo fish (a toy): bets that the byte `distance` back comes again.

It votes stretch(P) for the bit that byte predicts, P learnt by a StateMap
by bit position and predicted bit; silent once the byte's bits disagree.
"""
from typing import NamedTuple

import numpy as np

from ..jit import njit
from .contexts import predicted_bit
from .entry import check_int, check_keys
from .statemap import COUNT_LIMIT, new_statemap, sm_p12, sm_update
from .tables import STRETCH

KINDS = ("echo",)
FINAL = False


class EchoFish(NamedTuple):
    sm: np.ndarray        # int32[16]: by bit position and predicted bit
    sm_at: np.ndarray     # int64[lanes]: the entry this bit's vote came from (-1: none)


def read(entry, carried):
    check_keys(entry, {"kind", "distance"}, "fish echo")
    return {"kind": "echo", "distance": check_int(entry.get("distance", 1), "echo.distance", 1, 64)}


def settings(spec, entries, school_kind):
    return (1, entries[0]["distance"]) if entries else (0, 0)


def inputs(mode, nf):
    return 1 if mode else 0


def new_state(lanes):
    return EchoFish(new_statemap(np.full(16, 32768, dtype=np.int32)), np.full(lanes, -1, dtype=np.int64))


@njit(cache=True, nogil=True, inline="always")
def vote(st, lane, xs, at, buf, pos, lo, distance, c0, bitpos):
    bit = predicted_bit(buf[pos - distance], c0, bitpos) if pos - lo >= distance else -1
    if bit >= 0:
        st.sm_at[lane] = bitpos * 2 + bit
        xs[at] = STRETCH[sm_p12(st.sm, st.sm_at[lane])]
    else:
        st.sm_at[lane] = -1
        xs[at] = 0


@njit(cache=True, nogil=True, inline="always")
def learn(st, lane, bit):
    if st.sm_at[lane] >= 0:
        sm_update(st.sm, st.sm_at[lane], bit, COUNT_LIMIT)
'''

# what the recipe's step 2 adds to voters.py: (anchor, text added after it)
ECHO_IN_VOTERS = [
    ("from . import column, context_fish, match, neural_vote\n", "from . import echo\n"),
    ("VOTERS = (context_fish, match, column, neural_vote", ", echo"),
    ("_MATCH_MIN_LEN = slot(MATCH, SETTING0 + 1)\n",
     "ECHO = VOTERS.index(echo)\n_ECHO_DISTANCE = slot(ECHO, SETTING0)\n"),
    ("    column: ColumnFish\n", "    echo: echo.EchoFish\n"),
    ("                  column.new_state(lanes)", ", echo.new_state(lanes)"),
    ("        neural_vote.vote(neural, lane, xs, ats[NEURAL], c0, bitpos)\n",
     "    if modes[ECHO]:\n"
     "        echo.vote(voters.echo, lane, xs, ats[ECHO], buf, pos, lo, cfg[_ECHO_DISTANCE], c0, bitpos)\n"),
    ("        column.learn(voters.column, lane, bit)\n",
     "    if modes[ECHO]:\n        echo.learn(voters.echo, lane, bit)\n"),
]

CODE = """
import sys, shoal
from shoal.school import preset
assert "pkg" in shoal.__file__, shoal.__file__
mode, level = sys.argv[1], sys.argv[2]
data = bytes(open(sys.argv[3], "rb").read())
echo = [{"kind": "echo", "distance": 7}] if level == "echo" else []
p = preset.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 16}] + echo})
if mode == "c":
    sys.stdout.buffer.write(shoal.compress(data, preset=p))
else:
    assert shoal.decompress(open(sys.argv[4], "rb").read()) == data
"""


def _run(env, *args) -> bytes:
    # not from the repository's root: `python -c` would import its shoal first
    done = subprocess.run([sys.executable, "-c", CODE, *args], env=env, capture_output=True,
                          cwd=Path(env["PYTHONPATH"]).parent)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout


def test_a_toy_voter_is_one_module_and_its_place_in_the_table(tmp_path):
    copy = tmp_path / "pkg" / "shoal"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "presets", "primers", "shipped"))
    for folder in ("school/presets", "school/primers", "fish/neural/shipped"):
        (copy / folder).symlink_to(ROOT / folder)
    (copy / "fish" / "echo.py").write_text(ECHO)
    source = (copy / "fish" / "voters.py").read_text()
    for anchor, added in ECHO_IN_VOTERS:
        assert anchor in source, anchor
        source = source.replace(anchor, anchor + added, 1)
    (copy / "fish" / "voters.py").write_text(source)
    changed = [p.relative_to(copy).as_posix() for p in sorted(copy.rglob("*.py"))
               if not (ROOT / p.relative_to(copy)).exists()
               or (ROOT / p.relative_to(copy)).read_bytes() != p.read_bytes()]
    assert changed == ["fish/echo.py", "fish/voters.py"]

    # records of 7 bytes, each A or B (so the byte before says little), 2% flipped:
    # the byte 7 back says nearly everything
    rows = np.tile(np.frombuffer(b"ABBAABA", dtype=np.uint8), (3000, 1))
    flips = np.random.default_rng(7).random(rows.shape) < 0.02
    rows[flips] = 131 - rows[flips]
    data = tmp_path / "records"
    data.write_bytes(rows.tobytes())
    env = dict(os.environ, PYTHONPATH=str(copy.parent), SHOAL_CACHE_DIR=str(tmp_path / "cache"))
    sizes = {}
    for level in ("plain", "echo"):
        archive = tmp_path / f"{level}.shoal"
        archive.write_bytes(_run(env, "c", level, str(data)))
        _run(env, "d", level, str(data), str(archive))          # decoded in a fresh process
        sizes[level] = archive.stat().st_size
    assert sizes["echo"] < 0.6 * sizes["plain"]
