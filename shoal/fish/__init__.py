"""fish: the small predictors of the school.

Every fish answers one question, bit by bit: what is P(next bit = 1), given
everything coded so far?  After the bit is known it learns from it.  All of
them use integer arithmetic only, so the decoder repeats the encoder's
predictions exactly.

voters.py      the voters, in the order the mixer hears them (VOTERS), and
               the contract each one keeps: its preset entry, settings,
               state, at_byte(), vote() and learn().
context_fish.py  the context fish as voters: tables, votes, learning.
contexts.py    what each context fish hashes - order-k bytes, sparse
               (skipping) bytes, words, records (tables, images), text
               columns - and the shared byte history they read.
contextmap.py  ContextMap: bounded hash tables of bit histories, one 16-byte
               slot per context and nibble, checksum-verified, with
               least-evidence replacement.
statemap.py    StateMap: turns a small context (e.g. a bit-history state)
               into a probability learnt online.
match.py       the match fish: follows the longest earlier occurrence of the
               recent bytes and bets on what came next.
column.py      the column / delta fish: predicts arithmetic progressions in
               fixed-width binary records and in decimal numbers in text.
neural_vote.py the neural fish (neural/) as a voter.
tables.py      the shared integer tables: squash/stretch (probability <->
               logit), the bit-history state machine, adaptation rates.
entry.py       checked reading of a preset's settings.

A preset (school/presets/*.yaml) lists which fish swim together; the school
(school/swim.py) runs them, mixes their votes and codes the bits.

How to add a fish that votes on its own (tests/test_voters.py does exactly
this with a toy fish, in a copy of the package):

  1. Write fish/<name>.py, one module, with the voter contract of
     voters.py: KINDS (its preset kind), FINAL (False unless the final
     mixer should hear it), read() (its preset entry, checked and in
     canonical form), settings() (its mode, 0 when absent, and up to two
     settings), inputs() (its votes), a NamedTuple state and new_state()
     (plain NumPy: a block's set-up is not compiled), and the compiled
     at_byte(), vote() and learn() (LLVM inlines them into the loop:
     shoal/jit.py).
  2. In voters.py: append it to VOTERS (appending keeps every earlier
     voter's mixer inputs where they were), give Voters a field for its
     state, and call it from new_states, at_byte, vote and learn, each call
     under `if modes[<NAME>]:` so schools without it compile to the loop
     they had.
  3. Tests: a round trip in a fresh process with a preset that uses it,
     the general loop against the loop compiled for its shape
     (tests/test_school.py), and what it carries (`shoal score --ablate`).

No other file changes: the preset reads its entry through voters.KINDS, the
cfg array grows by the voter's slots (layout.py), and the compiled loop's
shape names every voter's mode.  Presets that do not name the new kind keep
their identity, so their archives are unaffected; a change to how an
existing fish computes its probabilities bumps engine.MODEL_VERSION instead
(and leaves the old arithmetic reachable for old presets: preset._model).
"""
