"""The shape of a neural fish as shoal train's flags give it (--layers, --width, ...).

SHAPE lists the flags; the command line (cli.py) adds them, and the training
(train.py) turns them into a NeuralConfig with shape_config().  Apart from
both so that neither imports the other; importing it loads no torch and no
engine (NeuralConfig is imported where a config is made).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoal.fish.neural import NeuralConfig

# the shape flags: flag, NeuralConfig field, default, help
SHAPE = [("--layers", "n_layer", 2, "transformer blocks"), ("--width", "n_embd", 128, "model width (n_embd)"),
         ("--heads", "n_head", 4, "query heads"),
         ("--kv-heads", "n_kv_head", 1, "key/value heads, shared by groups of query heads"),
         ("--segment", "seg_len", 64, "segment length in bytes"),
         ("--memory", "mem_len", 64, "XL memory: positions kept from before the segment"),
         ("--mlp-ratio", "mlp_ratio", 4, "MLP hidden width / width")]


def shape_config(args, given: NeuralConfig | None = None) -> NeuralConfig:
    """The shape flags as a config; with a given config (--init, --resume), a flag
    that disagrees with it is an error rather than silently ignored."""
    from shoal.fish.neural import NeuralConfig
    flags = {flag: (field, getattr(args, flag[2:].replace("-", "_"), None)) for flag, field, _, _ in SHAPE}
    if given is None:
        return NeuralConfig(**{field: default if flags[flag][1] is None else flags[flag][1]
                               for flag, field, default, _ in SHAPE})
    wrong = [f"{flag} {value} (it is {getattr(given, field)})" for flag, (field, value) in flags.items()
             if value is not None and value != getattr(given, field)]
    if wrong:
        raise ValueError(f"the shape comes from {'--init BASE' if args.init else 'the checkpoint'}: "
                         f"leave out {', '.join(wrong)}")
    return given
