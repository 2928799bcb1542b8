"""What a block's school takes in memory, counted in Python from the preset
alone, before anything is allocated: what -T multiplies (model_memory) and
what a reader checks against its memory limit (block_memory, by
school.decode_memory).  No compiled code: an archive is refused, or a
stored block written, without loading the engine.
"""
import numpy as np

from ..fish import voters
from ..fish.context_fish import fit_bits
from ..fish.contextmap import SLOT_BYTES
from ..fish.contexts import LANE_TABLE
from .slots import C_APM2_BITS, C_ATT_HEADS, C_FINAL_VOTES, C_GATE0, C_LANES, C_NGATES, C_VOTES, FINAL_VOTE_SETS, \
    GATE_SETS, padded


def model_memory(fish: np.ndarray, cfg: np.ndarray) -> int:
    """Bytes of the large tables one block may use (at most: see fit_bits)."""
    tables = sum((1 << int(b)) * SLOT_BYTES for b in fish[:, 2])
    match_bits = match_table_bits(cfg)
    apm = 33 * 2 * ((1 << int(cfg[C_APM2_BITS])) + 256)
    return tables + (4 << match_bits if match_bits else 0) + apm


def match_table_bits(cfg: np.ndarray) -> int:
    """The match fish's table bits (0: no match fish)."""
    return int(cfg[voters.slot(voters.MATCH, voters.SETTING0)])


def table_fit(n: int, fish: np.ndarray, cfg: np.ndarray) -> int:
    """fit_bits(n), or less where the school's tables stop growing: every
    fit from this one up gives a block of n bytes the same tables (each
    table is 2^min(bits, fit) slots, the order-2 APM's 2^min(bits, fit + 4)),
    so a school the primer left serves them all (school/neural_block.py)."""
    largest = max([int(b) for b in fish[:, 2]] + [match_table_bits(cfg), int(cfg[C_APM2_BITS]) - 4, 12])
    return min(fit_bits(n), largest)


def block_memory(n: int, fish: np.ndarray, cfg: np.ndarray) -> int:
    """Bytes that engine.new_tables and engine.open_block allocate for a
    block of n bytes.  Every array that grows with the preset or n is
    counted; the rest is a 64 KiB allowance."""
    nf, lanes, fit = fish.shape[0], int(cfg[C_LANES]), fit_bits(n)
    tables = sum((1 << min(int(b), fit)) * SLOT_BYTES for b in fish[:, 2])
    match = 4 << min(match_table_bits(cfg), fit) if match_table_bits(cfg) else 4
    width = padded(int(cfg[C_VOTES]) + 1)
    ngates, heads = int(cfg[C_NGATES]), int(cfg[C_ATT_HEADS])
    sets = sum(int(GATE_SETS[cfg[C_GATE0 + g]]) for g in range(ngates))
    if heads:       # attention.new_attention: int64 parameters, per-lane work
        # an experiment's mixer (row_width is a step of the compiled loop: its Python function here)
        from .attention import row_width
        mixer = sets * row_width.py_func(heads) * 8 + lanes * width * (5 + 18 + ngates * heads) * 8
    else:
        mixer = sets * width * 4
    final = (FINAL_VOTE_SETS if cfg[C_FINAL_VOTES] else 256) * (ngates + 1 + voters.FINAL_VOTES) * 4
    apm = 33 * 2 * (256 + (1 << min(int(cfg[C_APM2_BITS]), fit + 4)))
    per_lane = LANE_TABLE * 8 + width * (4 + 8 + 4) + nf * 24 + 1024
    return tables + match + mixer + final + apm + nf * 256 * 4 + lanes * per_lane + (64 << 10)
