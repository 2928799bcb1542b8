"""Presets: a school's whole make-up as data.

A preset is a YAML (or JSON) mapping:

    block_size: 16777216          # bytes per independent block
    lanes: 1                      # streams a block is cut into, coded in
                                  #   turn, a byte of each per step
    fish:                         # the school, one entry per fish
      - {kind: order, arg: 3, bits: 22}    # context fish: kind, argument,
      - {kind: word, arg: 1, bits: 21}     #   table of 2**bits 16-byte slots
      - {kind: word, arg: 0, bits: 20, only: text}    # sits out blocks that
      - {kind: sparse, arg: 12, bits: 20, only: binary}  # are not text / binary
      - {kind: match, min_len: 6, bits: 22}
      - {kind: column}                     # or {kind: column, integers: binary}
      - {kind: neural, file: fish.safetensors}   # named by its digest once loaded
    mixer: {gates: [c0, match], lr: 6, lr_boost: 24, lr_halflife: 15,
            final_lr: 3, counter_limit: 255, skip: 48, runs: false,
            final: gates, boost_from: primer}
    apm: {rate: 7, order2_bits: 16}
    primer: text-1                # text the school reads before each block, or
    # primer: {name: text-1, bytes: 65536, below: 1048576}   # its last 64 KiB, blocks under 1 MiB

The mixer of each gate is the gated linear mixer (school/mixer.py) unless
`mixer: {kind: attention, heads: 2, ...}` (or just `mixer: attention`) asks
for the permutation-invariant attention mixer (school/attention.py).
`boost_from: block` starts the learning rate's boost (lr_boost, halved
every 2^lr_halflife bytes) again at a primed block's first byte, instead of
counting the primer's bytes too: a block unlike its primer then relearns as
fast as an unprimed one.  `final: votes` makes the final mixer hear the match and column fish's votes
beside the gated mixers, with a weight set per match state (one gate is then
enough to learn fast what a sure fish says: the seed's number sequences).

A context fish with `only: text` swims only in blocks that look like text,
one with `only: binary` only in the others, one with `only: x86` only in
binary blocks of machine code and `only: other-binary` in binary blocks
that are not, `only: structured` only in text of records (JSON, CSV,
key-value lines) and `only: other-text` in other text (school/kinds.py
detects a block's kind; `only:` may also list several).  A preset is then
one school per kind of block it tells apart (Preset.school(kind);
Preset.text and Preset.binary), and the archive marks which one coded each
block.  Word and text-column fish help little
on executables and images and cost time there; sparse contexts help them.
The column fish's fixed-width integer predictors (fish/column.py) are the
costly part of it and rarely help text: with `integers: binary` they run
only in binary blocks, and text blocks keep its record and decimal ones.

With `primer: NAME` the text school reads a shipped primer before each
block (school/primer.py), or only its last `bytes`, only before blocks
shorter than `below`; the binary school does not, so a primed preset is
always two schools.  A primer needs one lane and no neural fish.

With `large: {fish: [...], mixer: {...}, apm: {...}}` (a learned school:
its base level's), the large text blocks, those that start from the school
the whole primer left, grown (a primer with `grow`: school/primer.py),
swim with those fish and settings instead: a learned school's own were
chosen on small pieces, and a large block gets the generalist's, with the
learned primer read first.  Their tables are fitted to the larger of the
primer and the block, not to both together, so that a block has no larger
tables than a level gives it.

With `transform: x86` the binary school codes each block x86-filtered:
relative call and jump targets made absolute where machine code is dense
(codec/x86.py), undone after decoding.  A preset with a transform always
has two schools.

`perturb` is for robustness experiments, not for archiving: school/
perturbation.py says what it does.

Context-fish kinds and their arguments are described in fish/contexts.py;
the gates in school/swim.py.  The shipped levels, preset files and retired
levels are found by levels.py.  Nothing here is compiled: choosing a
preset loads no compiled code (the engine loads when a block is coded).
Loading validates everything and fills defaults, so the canonical JSON of a
loaded preset (what archives carry) and its BLAKE2b hash identify the exact
model that coded a block.  The canonical form includes `model`, the version
of the engine's arithmetic (MODEL_VERSION, below): any change to how the
school computes its probabilities bumps it, so an archive from another
model version is refused with a clear message instead of failing its
checksums.
"""
from __future__ import annotations

import functools
import hashlib
import json
import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import ShoalError
from ..fish import voters
from ..fish.contexts import KINDS, SPARSE_V1
from ..fish.entry import check_bool, check_int, check_keys
from . import kinds as block_kinds
from . import memory, neural, perturbation, primer, slots
from .kinds import swims_in


# From the first release on, bumped whenever a change alters any probability
# the school computes (the engine's arithmetic): the version is part of every
# preset's identity, so archives name it.  A preset names the oldest version
# that computes it as today (_model), so a bump that changes only some
# presets leaves the others' identity alone.  2: sparse fish that look 9 or
# more bytes back read within their lane (version 1 took a mask for the
# lane's start).
MODEL_VERSION = 2

_MIXER_DEFAULTS = {"gates": ["c0"], "lr": 6, "lr_boost": 24, "lr_halflife": 15,
                   "final_lr": 3, "counter_limit": 255, "skip": 48, "runs": False}
_APM_DEFAULTS = {"rate": 7, "order2_bits": 16}
_ATTENTION_DEFAULTS = {"kind": "gated", "heads": 2}
# mixer.final: what the final mixer hears.  gates: the gated mixers, by the
# partial byte (no final mixer with one gate); votes: the gated mixers and
# the match and column fish's votes, by the match state.
FINAL_KINDS = ("gates", "votes")
# settings the canonical form leaves out while they hold their default
OMITTED_DEFAULTS = {"mixer": {"final": "gates", "boost_from": "primer"}}
# mixer.boost_from: where the learning rate's boost (lr_boost, fading with
# lr_halflife) counts from in a primed school: the primer's first byte (the
# boost is spent by the time the block starts) or the block's
BOOST_ORIGINS = ("primer", "block")
TRANSFORMS = ("x86",)      # what the binary school may do to a block before coding it
FISH_OMITTED_DEFAULTS = {"only": "any", "integers": "any"}
MIXER_KINDS = ("gated", "attention")
# Bounds on what a preset (and so an archive) may ask for.  Memory is
# bounded by the reader's limit (school.decode_memory); these bound the work
# per byte: every fish costs a table lookup per bit (and each fish's own
# bounds: fish/context_fish.py, fish/match.py).
MAX_LANES = 1024
MAX_FISH = 64


@dataclass(frozen=True)
class Preset:
    """A validated preset: its canonical form, identity and compiled arrays."""
    spec: dict
    canonical: bytes          # canonical JSON, stored in archives
    digest: bytes             # BLAKE2b-128 of canonical
    fish: np.ndarray          # int64[n, 3]: kind, arg, table bits (context fish)
    cfg: np.ndarray           # int64[slots.CFG_SIZE]
    unprimed: bool = False    # the binary school of a primed preset
    # coded by a loop compiled for its shape (school._code_primed): the
    # shipped levels and preset files the user loads, never a preset that
    # arrives in an archive, which must not make its reader compile
    own_loop: bool = False
    x86: bool = False         # its blocks are x86-filtered (`transform: x86`, binary school)
    kind: str = "text"        # the kind of block it codes (school(kind)), when the preset tells kinds apart
    # a large block's school (Preset.large): its tables fitted to the larger
    # of primer and block, not to both together (school._code_after_primer)
    fits_block: bool = False

    @property
    def block_size(self) -> int:
        return self.spec["block_size"]

    @property
    def neural(self) -> str | None:
        """The neural fish's digest (hex), if the school has one."""
        return next((f["digest"] for f in self.spec["fish"] if f["kind"] == "neural"), None)

    @property
    def neural_fallback(self) -> bool:
        """Whether a block the neural fish does not help is coded without it."""
        return any(f["kind"] == "neural" and f.get("fallback") for f in self.spec["fish"])

    @functools.cached_property
    def classic(self) -> Preset | None:
        """The school a block falls back to (neural_fallback): this school
        without its neural fish, in one lane, with the same primer and
        transform; None without a fallback."""
        if not self.neural_fallback:
            return None
        spec = dict(self.spec, lanes=1, fish=[f for f in self.spec["fish"] if f["kind"] != "neural"])
        return dataclasses.replace(from_dict(spec, carried=True), own_loop=self.own_loop).school(self.kind)

    @property
    def primer(self) -> dict | None:
        """The primer this school reads before each block ({name, digest}, and
        bytes and below when the preset sets them: school/primer.py), if any."""
        return None if self.unprimed else self.spec.get("primer")

    def memory_bytes(self) -> int:
        """Model memory one block needs (what -T multiplies): the largest of
        the preset's schools, since a block swims with one of them."""
        return max(memory.model_memory(school.fish, school.cfg) for school in self.every_school())

    def every_school(self) -> list[Preset]:
        """The preset's schools (schools()), and those that code their large
        blocks (`large:`): every school a block may swim with."""
        return [s for school in self.schools().values() for s in (school, school.large) if s is not None]

    @functools.cached_property
    def large(self) -> Preset | None:
        """The school that codes this school's large blocks, when the
        preset has `large:` fish and settings (the top of this file); those
        blocks are the ones that start from the grown primer (school._code);
        None otherwise.  A part of this preset: the same identity."""
        given = self.spec.get("large")
        if given is None or self.unprimed:
            return None
        spec = {k: v for k, v in self.spec.items() if k != "large"}
        spec.update(given)
        variant = from_dict(spec, carried=True).school(self.kind)
        return dataclasses.replace(variant, canonical=self.canonical, digest=self.digest, own_loop=self.own_loop,
                                   fits_block=True)

    @functools.cached_property
    def kinds(self) -> tuple:
        """The kinds of block (kinds.KINDS) this preset codes with a school of
        their own: ("text",) for a preset that is one school; text and binary
        when its fish sit out some blocks (`only:`), it keeps its column fish's
        integers for binary blocks, or it has a primer or transform (for text
        blocks, for binary ones); x86 too when a fish tells x86 blocks from
        other binary ones, and structured when one tells structured text
        from other text."""
        told = block_kinds.told_apart(self.spec["fish"])
        if len(told) == 1 and (any("integers" in f for f in self.spec["fish"]) or "primer" in self.spec
                               or "transform" in self.spec):
            told = frozenset({"text", "binary"})
        return tuple(kind for kind in block_kinds.KINDS if kind in told)

    def schools(self) -> dict:
        """{kind: the school that codes blocks of that kind}, for each of kinds."""
        return {kind: self.school(kind) for kind in self.kinds}

    def school(self, kind: str) -> Preset:
        """The school that codes blocks of `kind` (an x86 block is a binary
        block to a preset that does not tell them apart, structured text is
        text to one that does not tell it apart, and every block is a text
        block to a preset of one school)."""
        if kind not in self.kinds:
            kind = "binary" if kind in block_kinds.BINARY and "binary" in self.kinds else "text"
        return self._schools[kind]

    @functools.cached_property
    def _schools(self) -> dict:
        return {kind: self._school(kind) for kind in self.kinds}

    @property
    def text(self) -> Preset:
        """The school that codes blocks that look like text: this preset
        without the fish that sit them out (itself when it has none)."""
        return self.school("text")

    @property
    def binary(self) -> Preset | None:
        """The school that codes binary blocks (x86 ones too, unless the
        preset tells them apart): without its text fish and its primer; None
        when the preset is one school."""
        return self.school("binary") if "binary" in self.kinds else None

    def _school(self, kind: str) -> Preset:
        """One of the preset's schools (same identity: a part of this preset)."""
        if len(self.kinds) == 1:
            return self
        fish = [f for f in self.spec["fish"] if swims_in(f, kind)]
        text = kind in block_kinds.TEXT
        unprimed = not text and "primer" in self.spec
        x86 = not text and self.spec.get("transform") == "x86"
        if len(fish) == len(self.spec["fish"]) and not unprimed and not x86 and not _drops_integers(fish, kind):
            return dataclasses.replace(self, kind=kind) if kind != self.kind else self
        return Preset(self.spec, self.canonical, self.digest, *_compile(dict(self.spec, fish=fish), kind), unprimed,
                      self.own_loop, x86, kind)


def _section(raw: dict, key: str, defaults: dict) -> dict:
    """raw[key] (a mapping, or absent) laid over its defaults."""
    given = raw.get(key) or {}
    if not isinstance(given, dict):
        raise ShoalError(f"preset: {key} must be a mapping, got {given!r}")
    check_keys(given, defaults, key)
    return dict(defaults, **given)


def _normalise(raw, carried: bool = False) -> dict:
    if not isinstance(raw, dict):
        raise ShoalError("preset: expected a mapping at the top level")
    check_keys(raw, {"name", "description", "model", "block_size", "lanes", "fish", "mixer", "apm", "perturb",
                     "primer", "transform", "large"},
          "top level")
    spec = {"block_size": check_int(raw.get("block_size", 16 << 20), "block_size", 1 << 10, 1 << 30),
            "lanes": check_int(raw.get("lanes", 1), "lanes", 1, MAX_LANES)}
    fish_list = raw.get("fish")
    if not isinstance(fish_list, list) or not fish_list:
        raise ShoalError("preset: 'fish' must be a non-empty list")
    if len(fish_list) > MAX_FISH:
        raise ShoalError(f"preset: at most {MAX_FISH} fish, got {len(fish_list)}")
    fish = []
    for entry in fish_list:
        if not isinstance(entry, dict) or "kind" not in entry:
            raise ShoalError(f"preset: each fish needs a kind, got {entry!r}")
        if entry["kind"] not in voters.KINDS:
            raise ShoalError(f"preset: unknown fish kind {entry['kind']!r}")
        fish.append(voters.KINDS[entry["kind"]].read(entry, carried))
        if fish[-1]["kind"] == "neural":
            given = fish[-1]
            fish[-1] = {"kind": "neural", "digest": neural.identify(given)}
            # in the canonical form only when set: older presets keep their identity
            if given.get("fallback", False):
                fish[-1]["fallback"] = True
            if "tables" in given:
                fish[-1]["tables"] = given["tables"]
    # one fish of each kind but the context fish (each voter's state holds one)
    if any(sum(f["kind"] == kind for f in fish) > 1 for kind in voters.KINDS if kind not in KINDS):
        raise ShoalError("preset: at most one match fish, one column fish and one neural fish")
    if not swims_everywhere(fish):
        raise ShoalError("preset: with only:, some blocks (text, structured text, binary or x86) would have "
                         "no fish at all")
    spec["fish"] = fish
    spec["model"] = _model(raw.get("model"), fish, spec["lanes"])
    if isinstance(raw.get("mixer"), str):        # mixer: attention
        raw = dict(raw, mixer={"kind": raw["mixer"]})
    mixer = _section(raw, "mixer", dict(_MIXER_DEFAULTS, **OMITTED_DEFAULTS["mixer"], **_ATTENTION_DEFAULTS))
    if mixer["kind"] not in MIXER_KINDS:
        raise ShoalError(f"preset: mixer.kind must be one of {', '.join(MIXER_KINDS)}, got {mixer['kind']!r}")
    gates = mixer["gates"]
    if not isinstance(gates, list) or not 1 <= len(gates) <= slots.MAX_GATES or any(
            g not in slots.GATES for g in gates):
        raise ShoalError(f"preset: mixer.gates must be 1..{slots.MAX_GATES} of {sorted(slots.GATES)}")
    spec["mixer"] = {
        "gates": list(gates),
        "lr": check_int(mixer["lr"], "mixer.lr", 1, 64),
        "lr_boost": check_int(mixer["lr_boost"], "mixer.lr_boost", 0, 256),
        "lr_halflife": check_int(mixer["lr_halflife"], "mixer.lr_halflife", 8, 30),
        "final_lr": check_int(mixer["final_lr"], "mixer.final_lr", 1, 64),
        "counter_limit": check_int(mixer["counter_limit"], "mixer.counter_limit", 1, 1023),
        "skip": check_int(mixer["skip"], "mixer.skip", 0, 2048),
        "runs": check_bool(mixer["runs"], "mixer.runs"),
    }
    # Only a non-default mixer kind or final enters the canonical form, so
    # the presets of earlier archives keep their identity.
    if mixer["final"] not in FINAL_KINDS:
        raise ShoalError(f"preset: mixer.final must be one of {', '.join(FINAL_KINDS)}, got {mixer['final']!r}")
    if mixer["final"] == "votes":
        spec["mixer"]["final"] = "votes"
    if mixer["boost_from"] not in BOOST_ORIGINS:
        raise ShoalError(f"preset: mixer.boost_from must be one of {', '.join(BOOST_ORIGINS)}, "
                         f"got {mixer['boost_from']!r}")
    if mixer["boost_from"] == "block":
        spec["mixer"]["boost_from"] = "block"
    if mixer["kind"] == "attention":
        spec["mixer"].update(kind="attention", heads=check_int(mixer["heads"], "mixer.heads", 1, 8))
    elif mixer["heads"] != _ATTENTION_DEFAULTS["heads"]:
        raise ShoalError("preset: mixer.heads goes with mixer.kind: attention")
    apm = _section(raw, "apm", _APM_DEFAULTS)
    spec["apm"] = {"rate": check_int(apm["rate"], "apm.rate", 1, 14),
                   "order2_bits": check_int(apm["order2_bits"], "apm.order2_bits", 8, 24)}
    if raw.get("perturb"):
        if any("only" in f for f in fish):
            raise ShoalError("preset: perturb and fish with only: do not go together")
        spec["perturb"] = perturbation.read_perturb(raw["perturb"], len(fish))
    if raw.get("primer") is not None:
        if spec["lanes"] != 1 and not any(f["kind"] == "neural" for f in fish):
            raise ShoalError("preset: a primer goes with one lane, or with a neural fish's lanes")
        spec["primer"] = primer.identify(raw["primer"])
    if raw.get("transform") is not None:
        if raw["transform"] not in TRANSFORMS:
            raise ShoalError(f"preset: transform must be one of {', '.join(TRANSFORMS)}, got {raw['transform']!r}")
        spec["transform"] = raw["transform"]
    if raw.get("large") is not None:
        spec["large"] = _large(raw, spec, carried)
    return spec


LARGE_KEYS = ("fish", "mixer", "apm")


def _large(raw: dict, spec: dict, carried: bool) -> dict:
    """The normalised `large:` section: fish and settings for the large
    blocks of a preset whose primer grows (see the top of this file)."""
    given = raw["large"]
    if not isinstance(given, dict) or "fish" not in given:
        raise ShoalError("preset: large must be a mapping with fish (and mixer and apm)")
    check_keys(given, dict.fromkeys(LARGE_KEYS), "large")
    if not (spec.get("primer") or {}).get("grow") or any(f["kind"] == "neural" for f in spec["fish"]):
        raise ShoalError("preset: large goes with a primer that grows, and no neural fish")
    whole = {k: v for k, v in raw.items() if k not in ("large", "name", "description")}
    whole.update({k: given[k] for k in LARGE_KEYS if k in given})
    normal = _normalise(whole, carried)
    if any(f["kind"] == "neural" for f in normal["fish"]):
        raise ShoalError("preset: large blocks' fish cannot be neural")
    return {k: normal[k] for k in LARGE_KEYS}


def _far_sparse(fish: list[dict]) -> bool:
    """Whether a sparse fish looks 9 or more bytes back: the only fish
    model version 1 computed otherwise (contexts.SPARSE_V1)."""
    return any(f["kind"] == "sparse" and f["arg"] >= 256 for f in fish)


def _model(given, fish: list[dict], lanes: int) -> int:
    """The model version a preset names: the oldest that computes it as this
    shoal does (so every preset that model 2 left alone keeps its identity),
    unless the preset names one.  Model 1 is model 2 but for sparse fish
    that look 9 or more bytes back, whose archives of one lane it still
    decodes; with more lanes those never decoded."""
    model = given if given is not None else 2 if _far_sparse(fish) else 1
    if isinstance(model, bool) or model not in range(1, MODEL_VERSION + 1):
        raise ShoalError(f"preset is for model version {model!r}; this shoal computes model versions 1.."
                         f"{MODEL_VERSION}: use the shoal version that wrote it")
    if model == 1 and lanes > 1 and _far_sparse(fish):
        raise ShoalError("preset: model 1 with a sparse fish that looks 9 or more bytes back and several lanes "
                         "read across the lanes' starts (a bug of shoal before model 2): its archives cannot be "
                         "decoded; for new archives, leave model out")
    return model


def _drops_integers(fish: list[dict], kind: str) -> bool:
    """Whether the column fish of a school for `kind` blocks runs without its
    fixed-width integer predictors."""
    return kind in block_kinds.TEXT and any(f.get("integers") == "binary" for f in fish)


def swims_everywhere(fish: list[dict]) -> bool:
    """Whether some fish swims in each kind of block."""
    return all(any(swims_in(f, kind) for f in fish) for kind in block_kinds.KINDS)


def unmark_if_stranded(fish: list[dict]) -> list[dict]:
    """fish as they are, or, when their only: marks would leave some kind of
    block without any fish, the same fish unmarked (swimming in
    every block): how tools that pick fish (ablation, evolution) keep a
    school valid."""
    if swims_everywhere(fish):
        return fish
    return [{k: v for k, v in f.items() if k != "only"} for f in fish]


def _mixer_inputs(spec: dict, cfg: np.ndarray, index: int) -> tuple[int, int]:
    """The first mixer input of the fish at `index` in the preset's list, and
    how many it has (fish/voters.py's order, set in cfg)."""
    fish = spec["fish"]
    kind = fish[index]["kind"]
    voter = voters.VOTERS.index(voters.KINDS[kind])
    first = int(cfg[voters.slot(voter, voters.AT)])
    if kind not in KINDS:
        return first, voters.VOTERS[voter].inputs(int(cfg[voters.slot(voter, voters.MODE)]), 1)
    per_fish = voters.VOTERS[voter].inputs(int(cfg[voters.slot(voter, voters.MODE)]), 1)
    return first + per_fish * sum(f["kind"] in KINDS for f in fish[:index]), per_fish


def _compile(spec: dict, kind: str = "any") -> tuple[np.ndarray, np.ndarray]:
    """The arrays the engine runs on, for a school that codes `kind` blocks
    (any: the preset as one school)."""
    ctx = [f for f in spec["fish"] if f["kind"] in KINDS]
    legacy = spec["model"] == 1
    fish = np.array([[SPARSE_V1 if legacy and f["kind"] == "sparse" and f["arg"] >= 256 else KINDS[f["kind"]],
                      f["arg"], f["bits"]] for f in ctx], dtype=np.int64).reshape(-1, 3)
    cfg = np.zeros(slots.CFG_SIZE, dtype=np.int64)
    cfg[slots.C_VOTES], cfg[slots.C_FINAL_AT], cfg[slots.C_FINAL_COUNT] = voters.configure(
        spec, spec["fish"], kind, cfg)
    m = spec["mixer"]
    cfg[slots.C_NGATES] = len(m["gates"])
    for i, g in enumerate(m["gates"]):
        cfg[slots.C_GATE0 + i] = slots.GATES[g]
    cfg[slots.C_LR] = m["lr"]
    cfg[slots.C_LR_BOOST] = m["lr_boost"]
    cfg[slots.C_LR_HALFLIFE] = m["lr_halflife"]
    cfg[slots.C_FINAL_LR] = m["final_lr"]
    cfg[slots.C_COUNTER_LIMIT] = m["counter_limit"]
    cfg[slots.C_LEARN_SKIP] = m["skip"]
    cfg[slots.C_APM_RATE] = spec["apm"]["rate"]
    cfg[slots.C_APM2_BITS] = spec["apm"]["order2_bits"]
    cfg[slots.C_LANES] = spec["lanes"]
    cfg[slots.C_FINAL_VOTES] = int(m.get("final") == "votes")
    cfg[slots.C_BOOST_FROM_BLOCK] = int(m.get("boost_from") == "block")
    cfg[slots.C_ATT_HEADS] = m.get("heads", 0)
    if "perturb" in spec:
        blind = spec["perturb"].get("blind")
        perturbation.configure_perturb(spec["perturb"], cfg, _mixer_inputs(spec, cfg, blind) if blind is not None
                                       else (0, 0))
    largest = next((f["tables"] for f in spec["fish"] if f["kind"] == "neural" and "tables" in f), None)
    if largest is not None:
        # a school with a neural fish `tables: K` codes any block in the
        # tables of a block whose tables fit K (context_fish.fit_bits): each
        # table's bits at most K, the order-2 APM's at most K + 4
        fish[:, 2] = np.minimum(fish[:, 2], largest)
        match_bits = voters.slot(voters.MATCH, voters.SETTING0)
        cfg[match_bits] = min(int(cfg[match_bits]), largest)
        cfg[slots.C_APM2_BITS] = min(int(cfg[slots.C_APM2_BITS]), largest + 4)
    return fish, cfg


def from_dict(raw, carried: bool = False) -> Preset:
    """A preset from its mapping (carried: as an archive carries it, canonical)."""
    spec = _normalise(raw, carried)
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    fish, cfg = _compile(spec)
    return Preset(spec, canonical, hashlib.blake2b(canonical, digest_size=16).digest(), fish, cfg)


def from_canonical(data: bytes) -> Preset:
    """The preset an archive carries (must be canonical JSON)."""
    try:
        raw = json.loads(data.decode())
    except (ValueError, RecursionError) as e:     # not UTF-8, not JSON, nested or numbers too deep
        raise ShoalError(f"archive carries an unreadable preset: {str(e)[:100]}") from None
    preset = from_dict(raw, carried=True)
    if preset.canonical != data:
        raise ShoalError("archive carries a preset this version of shoal reads differently")
    return preset
