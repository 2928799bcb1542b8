"""fish: the small predictors of the school.

Every fish answers one question, bit by bit: what is P(next bit = 1), given
everything coded so far?  After the bit is known it learns from it.  All of
them use integer arithmetic only, so the decoder repeats the encoder's
predictions exactly.

tables.py      the shared integer tables: squash/stretch (probability <->
               logit), the bit-history state machine, adaptation rates.
statemap.py    StateMap: turns a small context (e.g. a bit-history state)
               into a probability learnt online.
contextmap.py  ContextMap: bounded hash tables of bit histories, one 16-byte
               slot per context and nibble, checksum-verified, with
               least-evidence replacement.
contexts.py    the context fish: what each one hashes - order-k bytes,
               sparse (skipping) bytes, words, records (tables, images),
               text columns - and the shared byte history they read.
match.py       the match fish: follows the longest earlier occurrence of the
               recent bytes and bets on what came next.
column.py      the column / delta fish: predicts arithmetic progressions in
               fixed-width binary records and in decimal numbers in text.

A preset (school/presets/*.yaml) lists which fish swim together; the school
(school/swim.py) runs them, mixes their votes and codes the bits.
"""
