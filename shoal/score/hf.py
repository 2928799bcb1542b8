"""A local Hugging Face causal LM as a scorer (MODEL = hf:DIR).

Bits per byte the way lm-eval's bits_per_byte counts them: the text is
tokenised, every token's log-probability is summed, and the sum is divided
by the number of *bytes* of the text, so models with different tokenisers
are compared on the same footing.  The first token is predicted from the
tokeniser's BOS token (EOS when it has none), as lm-eval's rolling
log-likelihood does, so every byte is paid for.

Texts longer than the model's context are scored with a sliding window: a
window of `context` tokens moves `stride` tokens at a time and only the
tokens it has not scored before count, each seen with at least
context - stride tokens before it (all before it near the start).  Windows
are batched through the model on the CPU.

Only this module imports torch and transformers (the `shoal[hf]` extra), and
only local files are read (local_files_only): nothing is downloaded, and
HF_HUB_OFFLINE=1 changes nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ShoalError
from .costs import Score


def _load(path: Path):
    """(model, tokenizer) from a local directory, or a ShoalError that says what is wrong."""
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    transformers.logging.set_verbosity_error()          # no warnings about long inputs etc.
    transformers.logging.disable_progress_bar()         # ours is the one progress bar
    where = f"hf:{path}"
    if not path.is_dir():
        raise ShoalError(f"{where}: no such directory (only local models are read, nothing is downloaded)")
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ShoalError(f"{where}: not a Hugging Face model directory (no readable config.json): "
                         f"{str(error).splitlines()[0]}") from None
    if type(config) not in transformers.MODEL_FOR_CAUSAL_LM_MAPPING:
        raise ShoalError(f"{where}: not a causal language model (its config is {type(config).__name__}, "
                         "which has no causal LM head)")
    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise ShoalError(f"{where}: cannot load the model or its tokenizer: {str(error).splitlines()[0]}") from None
    return model.float().eval(), tokenizer               # float32: what CPUs compute well and exactly enough


def _context_length(model, tokenizer, asked: int | None) -> int:
    config = model.config
    limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
    if limit is None and tokenizer.model_max_length < 1 << 20:      # unset shows as a huge number
        limit = tokenizer.model_max_length
    if asked is not None:
        if asked < 2 or (limit and asked > limit):
            raise ShoalError(f"--context must be 2..{limit or 'the model maximum'}, got {asked}")
        return asked
    if limit is None:
        raise ShoalError("the model does not say its context length: give --context N")
    return limit


def windows(n_tokens: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """Sliding windows over a sequence of n_tokens (position 0 is the BOS token): (begin, end, first),
    meaning the tokens begin..end-1 go in and the targets first..end-1 are scored.  Every target
    1..n_tokens-1 is scored exactly once."""
    out, scored = [], 1
    end = min(context, n_tokens)
    while True:
        out.append((max(0, end - context), end, scored))
        scored = end
        if end == n_tokens:
            return out
        end = min(end + stride, n_tokens)


def _byte_ends(text: str, encoding, size: int) -> np.ndarray:
    """The byte offset after each token, from the fast tokenizer's character offsets."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    utf8_len = 1 + (codes >= 0x80) + (codes >= 0x800) + (codes >= 0x10000)
    char_to_byte = np.concatenate([[0], np.cumsum(utf8_len)])
    ends = char_to_byte[[end for _, end in encoding["offset_mapping"]]]
    return np.clip(np.maximum.accumulate(ends), 1, size)   # pieces of one character share its end


class HFModel:
    """A local causal LM and its tokenizer, scoring texts with a sliding window (see the module's docstring)."""

    def __init__(self, directory: str, *, context: int | None = None, stride: int | None = None,
                 batch_size: int = 2):
        self.path = Path(directory).expanduser()
        self.name = f"hf:{self.path.name or directory}"
        self.model, self.tokenizer = _load(self.path)
        self.context = _context_length(self.model, self.tokenizer, context)
        self.stride = stride or max(1, self.context // 2)
        if not 1 <= self.stride < self.context:
            raise ShoalError(f"--stride must be 1..{self.context - 1} (the context is {self.context}), "
                             f"got {self.stride}")
        self.batch_size = max(1, batch_size)
        self.start = self.tokenizer.bos_token_id
        if self.start is None:
            self.start = self.tokenizer.eos_token_id
        if self.start is None:
            raise ShoalError(f"{self.name}: the tokenizer has neither a BOS nor an EOS token to begin a text with")

    def _text(self, data: bytes, notes: list[str]) -> tuple[str, int]:
        """The text to tokenise and how many bytes of data it stands for."""
        try:
            return data.decode("utf-8"), len(data)
        except UnicodeDecodeError as error:
            if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
                # a cut (--max-bytes) inside a character: score up to the character before it
                return data[:error.start].decode("utf-8"), error.start
        notes.append("not valid UTF-8: undecodable bytes were read as U+FFFD, so this score is of a "
                     "lossy reading of the file (bytes counted: the file's)")
        return data.decode("utf-8", errors="replace"), len(data)

    def score(self, data: bytes, advance=lambda n: None) -> Score:
        import torch
        notes: list[str] = []
        text, size = self._text(data, notes)
        kwargs = {"return_offsets_mapping": True} if self.tokenizer.is_fast else {}
        encoding = self.tokenizer(text, add_special_tokens=False, **kwargs)
        ids = [self.start] + list(encoding["input_ids"])
        n = len(ids) - 1
        if size == 0 or n == 0:
            raise ShoalError("no whole character to score (raise --max-bytes)")
        if self.tokenizer.is_fast:
            ends = _byte_ends(text, encoding, size)
        else:          # no offsets: spread the tokens evenly over the bytes (position profiles only)
            ends = np.maximum(1, np.round(np.arange(1, n + 1) * size / n)).astype(np.int64)
            notes.append("slow tokenizer without offsets: positions of tokens are estimated")
        costs = np.zeros(n, dtype=np.float64)
        sequence = torch.tensor(ids, dtype=torch.long)
        plan = windows(len(ids), self.context, self.stride)
        done = 0
        with torch.inference_mode():
            # Windows all hold `context` tokens (only a text shorter than that has one,
            # shorter, window), so a batch is one stacked tensor.
            for i in range(0, len(plan), self.batch_size):
                batch = plan[i:i + self.batch_size]
                logits = self.model(torch.stack([sequence[b:e] for b, e, _ in batch])).logits
                for row, (begin, end, first) in enumerate(batch):
                    before = logits[row, first - begin - 1:end - begin - 1]     # logits before each target
                    logp = torch.log_softmax(before.float(), dim=-1)
                    nats = -logp.gather(1, sequence[first:end, None])[:, 0]
                    costs[first - 1:end - 1] = nats.double().numpy() / np.log(2)
                reached = int(ends[batch[-1][1] - 2])
                advance(reached - done)
                done = reached
        advance(size - done)
        return Score(size, costs, ends=ends, notes=notes)
