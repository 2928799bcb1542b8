"""Where a neural fish comes from: its float weights and its ancestors.

Merging fish (shoal evolve merge) works on float weights and needs fish that
were fine-tuned from one base, so a trained model carries a lineage:

  weights    the digest of its float parameters (BLAKE2b-128, hex, of every
             parameter's name, shape and float32 bytes, in name order): the
             identity of a point in weight space, whatever was exported from it
  ancestors  the `weights` digests of the models it descends from, nearest
             first: `shoal train --init BASE` puts BASE's digest in front of
             BASE's own ancestors; a merged fish lists its parents, then the
             base they were merged on

shoal train keeps the ancestors (and the path it was initialised from, as a
hint for finding the base again) in ckpt.pt, and writes
{"weights": ..., "ancestors": [...]} as JSON under "lineage" in the exported
fish's safetensors metadata.  Observers (activation ranges) are not part of
the identity: they are recalibrated after any change of weights anyway.

What --init BASE and merge's FISH and --base accept (Trained.load):
  a directory           holding ckpt.pt (a `shoal train --out` directory)
  a checkpoint file     ckpt.pt (any torch file written by shoal train or merge)
  a fish file           fish.safetensors, with the ckpt.pt it was exported
                        from in the same directory; when the fish records its
                        weights digest, the checkpoint must match it (a
                        checkpoint trained further since the export is refused)
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import torch
from safetensors import safe_open

from shoal.errors import ShoalError
from shoal.fish.neural import NeuralConfig

from .model import ByteTransformer

CHECKPOINT = "ckpt.pt"
ZIP_MAGIC = b"PK"          # torch.save writes a zip archive; a safetensors file starts with its header length


class LineageError(ShoalError):
    """A base or parent model is missing, unreadable, or of the wrong family."""


def weights_digest(model: ByteTransformer) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, p in sorted(model.named_parameters()):
        t = p.detach().to("cpu", torch.float32).contiguous()
        h.update(f"{name}:{list(t.shape)};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def fish_lineage(path: str) -> dict | None:
    """The lineage recorded in a fish file's metadata (None: it records none)."""
    try:
        with safe_open(path, "np") as f:
            text = (f.metadata() or {}).get("lineage")
    except Exception as e:        # safetensors raises its own error types
        raise LineageError(f"{path}: not a readable neural fish ({e})") from None
    if text is None:
        return None
    try:
        lineage = json.loads(text)
        assert isinstance(lineage.get("weights"), str) and isinstance(lineage.get("ancestors"), list)
    except (ValueError, AssertionError, AttributeError):
        raise LineageError(f"{path}: unreadable lineage in its metadata") from None
    return lineage


@dataclass
class Trained:
    """A model as shoal train (or merge) left it: config, float state, lineage."""
    checkpoint: str                  # absolute path of its ckpt.pt
    config: NeuralConfig
    state: dict                      # the state_dict: parameters and observers
    weights: str                     # weights_digest of the parameters
    ancestors: list = field(default_factory=list)
    init: str | None = None          # the checkpoint it was initialised from (a hint)
    name: str = ""                   # as the user named it, for messages

    @property
    def line(self) -> list[str]:
        """Itself, then its ancestors: what 'descends from' is checked against."""
        return [self.weights] + list(self.ancestors)

    def model(self) -> ByteTransformer:
        model = ByteTransformer(self.config)
        model.load_state_dict(self.state)
        return model

    @classmethod
    def load(cls, path: str) -> "Trained":
        fish, ckpt_path = None, path
        if not os.path.exists(path):
            raise LineageError(f"{path}: no such file or directory")
        if os.path.isdir(path):
            ckpt_path = os.path.join(path, CHECKPOINT)
        elif os.path.isfile(path) and not _is_checkpoint(path):
            fish, ckpt_path = path, os.path.join(os.path.dirname(os.path.abspath(path)), CHECKPOINT)
        if not os.path.isfile(ckpt_path):
            hint = f" (the float weights of {fish} live in the ckpt.pt it was exported from)" if fish else ""
            raise LineageError(f"{path}: no checkpoint {ckpt_path}{hint}; merging and --init need the "
                               "float weights that shoal train keeps in DIR/ckpt.pt")
        trained = cls.from_checkpoint(ckpt_path, name=path)
        recorded = fish_lineage(fish) if fish else None
        if recorded and recorded["weights"] != trained.weights:
            raise LineageError(f"{fish}: {ckpt_path} is not the checkpoint this fish was exported from "
                               f"(its weights are {trained.weights[:12]}…, the fish records "
                               f"{recorded['weights'][:12]}…; trained further since?): name the checkpoint "
                               "itself, or re-export with shoal train --resume")
        return trained

    @classmethod
    def from_checkpoint(cls, path: str, name: str = "") -> "Trained":
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            cfg = NeuralConfig(**ckpt["config"])
            model = ByteTransformer(cfg)
            model.load_state_dict(ckpt["model"])
        except OSError as e:
            raise LineageError(f"{path}: cannot read checkpoint: {e.strerror or e}") from None
        except Exception as e:      # not a zip, not ours, a missing key or a shape that disagrees with its config
            raise LineageError(f"{path}: not a shoal train checkpoint ({type(e).__name__}: {e})") from None
        lineage = ckpt.get("lineage") or {}
        return cls(os.path.abspath(path), cfg, model.state_dict(), weights_digest(model),
                   list(lineage.get("ancestors", [])), lineage.get("init"), name or path)


def _is_checkpoint(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == ZIP_MAGIC


def init_lineage(base: Trained) -> dict:
    """The lineage a model fine-tuned from base starts with (kept in its ckpt.pt)."""
    return {"ancestors": base.line, "init": base.checkpoint}


def export_lineage(model: ByteTransformer, lineage: dict) -> dict:
    """What goes into the exported fish's metadata."""
    return {"weights": weights_digest(model), "ancestors": list(lineage.get("ancestors", []))}


def check_init(base_path: str, out_dir: str, resumed: dict | None) -> Trained:
    """BASE for `shoal train --init`: loaded, not the output directory itself,
    and (with --resume) the base the resumed run started from."""
    base = Trained.load(base_path)
    if os.path.abspath(os.path.join(out_dir, CHECKPOINT)) == base.checkpoint:
        raise LineageError(f"--init {base_path}: that is --out's own checkpoint, which training would "
                           "overwrite; fine-tune into another --out directory")
    if resumed is not None and resumed.get("ancestors", [None])[:1] != [base.weights]:
        raise LineageError(f"--init {base_path}: the run in {out_dir} was not started from it "
                           "(--resume keeps the run's own base; leave out --init)")
    return base
