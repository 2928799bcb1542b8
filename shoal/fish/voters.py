"""The voters: every fish whose votes the mixer hears, in the order it hears them.

VOTERS below is the one place that order is defined: each voter's votes
take the mixer inputs after those of the voters before it (the preset
computes where each one's start, school/preset.py), then comes the bias.

A voter is a module with one shape (context_fish.py, match.py, column.py,
neural_vote.py):

  KINDS                 the preset fish kinds it swims as
  FINAL                 whether, with mixer.final: votes, the final mixer
                        hears its votes too (such voters are adjacent here)
  read(entry, carried)  its preset entry, checked, in canonical form
  settings(spec, entries, school_kind)
                        (mode, setting...): mode 0 when the school has no
                        such fish, else what its compiled code depends on;
                        up to two settings it reads at run time
  inputs(mode, nf)      how many votes it sends
  new_state(...)        its arrays for one block (a NamedTuple; plain NumPy)
  at_byte(...)          at each byte boundary, before the byte's bits
  vote(st, lane, xs, at, ...)
                        its votes into xs[at...] for the next bit (from
                        what vote() below has: the bytes so far, the bits
                        of this one); returns what it tells the mixer's
                        gates, if anything
  learn(st, lane, bit, ...)
                        after the bit is known

The compiled ones are inlined into the loop (school/swim.py), so a voter
costs no call.  The functions below call every voter in turn; they are
what the loop and the block's set-up (school/engine.py) use.  How to add a
fish: fish/__init__.py.
"""
from typing import NamedTuple

from ..jit import into_general_loop, njit
from . import column, context_fish, match, neural_vote
from .column import ColumnFish
from .context_fish import ContextFish
from .match import MatchFish

VOTERS = (context_fish, match, column, neural_vote)
CONTEXTS, MATCH, COLUMN, NEURAL = (VOTERS.index(v) for v in (context_fish, match, column, neural_vote))
KINDS = {kind: voter for voter in VOTERS for kind in voter.KINDS}

# Each voter's slots at the start of a school's cfg array (school/layout.py):
# its mode, its first mixer input, and its settings.
SLOTS = 4
MODE, AT, SETTING0 = 0, 1, 2
CFG_SLOTS = len(VOTERS) * SLOTS
# the most votes the final mixer hears from voters with FINAL (its width)
FINAL_VOTES = match.VOTES + column.COLUMN_VOTES


def slot(voter: int, what: int) -> int:
    """The cfg slot of a voter's mode (MODE), first input (AT) or setting (SETTING0 + k)."""
    return voter * SLOTS + what


_MATCH_MIN_LEN = slot(MATCH, SETTING0 + 1)


class Voters(NamedTuple):
    """The voters' state in a block (the neural fish's is passed to each step)."""
    contexts: ContextFish
    match: MatchFish
    column: ColumnFish


class Signals(NamedTuple):
    """What the voters tell the mixer's gates about the next bit."""
    known: int             # context fish that have seen their context before
    match_len: int         # the match length, 0 without a match
    match_bit: int         # the bit the match predicts, -1 for none
    column_bucket: int     # the column fish's surest voter's run bucket
    column_bit: int        # and the bit it predicts, -1 for none


def configure(spec: dict, fish: list[dict], school_kind: str, cfg) -> tuple[int, int, int]:
    """Fill each voter's cfg slots for a school of these fish (a preset's,
    for `school_kind` blocks); returns (votes, first final vote, final
    votes): where the final mixer's extra inputs lie with mixer.final: votes."""
    nf = sum(f["kind"] in context_fish.KINDS for f in fish)
    at = final_at = final_count = 0
    for i, voter in enumerate(VOTERS):
        values = voter.settings(spec, [f for f in fish if f["kind"] in voter.KINDS], school_kind)
        cfg[slot(i, MODE)], cfg[slot(i, AT)] = values[0], at
        for k, value in enumerate(values[1:]):
            cfg[slot(i, SETTING0 + k)] = value
        count = voter.inputs(values[0], nf)
        if voter.FINAL:
            if final_count == 0:
                final_at = at
            final_count += count
        at += count
    return at, final_at, final_count


def new_states(n, lanes, fish, tables, match_table):
    """Every voter's state for a block of n bytes in `lanes` lanes."""
    return Voters(context_fish.new_state(n, lanes, fish, tables), match.new_state(lanes, match_table),
                  column.new_state(lanes))


@njit(cache=True, nogil=True, inline=into_general_loop)
def at_byte(voters, modes, cfg, lane, buf, n, pos, hist, lo, origin, seg, step):
    """Every voter's work at the byte boundary before pos (context fish
    hash then too, earlier: school/swim.py's look-ahead)."""
    if modes[MATCH]:
        match.at_byte(voters.match, lane, cfg[_MATCH_MIN_LEN], buf, n, pos, hist, lo, origin, seg, step)
    if modes[COLUMN]:
        column.at_byte(voters.column, lane, modes[COLUMN], buf, pos, hist, lo)


@njit(cache=True, nogil=True, inline=into_general_loop)
def vote(voters, neural, modes, ats, cfg, nf, lane, xs, buf, pos, lo, c0, bitpos):
    """Every voter's votes for the next bit of the byte at pos of a lane that
    starts at lo (the bytes before pos are known); what they tell the gates."""
    known = context_fish.vote(voters.contexts, lane, modes[CONTEXTS], nf, xs, ats[CONTEXTS], c0, bitpos)
    match_len, match_bit = 0, -1
    if modes[MATCH]:
        match_len, match_bit = match.vote(voters.match, lane, xs, ats[MATCH], c0, bitpos)
    column_bucket, column_bit = 0, -1
    if modes[COLUMN]:
        column_bucket, column_bit = column.vote(voters.column, lane, xs, ats[COLUMN], c0, bitpos)
    if modes[NEURAL]:
        neural_vote.vote(neural, lane, xs, ats[NEURAL], c0, bitpos)
    return Signals(known, match_len, match_bit, column_bucket, column_bit)


@njit(cache=True, nogil=True, inline=into_general_loop)
def learn(voters, modes, nf, lane, bit, c0, bitpos, limit):
    """Every voter learns from the bit (the neural fish learns nothing here)."""
    context_fish.learn(voters.contexts, lane, nf, bit, c0, bitpos, limit)
    if modes[MATCH]:
        match.learn(voters.match, lane, bit)
    if modes[COLUMN]:
        column.learn(voters.column, lane, bit)
