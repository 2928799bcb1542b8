"""Loaders for the labelled sentiment sets in ../shared/corpus/labelled/.

Each loader returns a Labelled set: texts (str) and labels (1 positive, 0
negative).  Every file has its own trap (see that folder's README.md); the
loaders handle them so the rest of the experiment never sees raw bytes:

  blitzer2007_amazon  pseudo-XML: a regex, not an XML parser; HTML entities
                      (&quot; ...) unescaped; 147 duplicate reviews dropped
  kotzias2015_uci     sentence<TAB>label: split on the LAST tab (a csv reader
                      with quoting merges lines); imdb holds U+0085 (NEL),
                      so lines are split on '\\n' only, never str.splitlines()
  rt_polarity         Windows-1252, not UTF-8; a trailing space on most lines
  sst2                TSV with a header; train.tsv holds phrases as well as
                      sentences, dev.tsv whole sentences

Texts are stripped of surrounding whitespace; the model reads them as UTF-8.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ShoalError

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "labelled"   # ../shared beside the repo
DOMAINS = ("books", "dvd", "electronics", "kitchen_housewares")
KOTZIAS_SITES = ("amazon_cells", "imdb", "yelp")
REVIEW_TEXT = re.compile(rb"<review_text>\s*(.*?)</review_text>", re.S)


@dataclass
class Labelled:
    name: str
    texts: list[str]
    labels: np.ndarray                       # int64, 1 = positive
    groups: list[str] = field(default_factory=list)   # e.g. the Amazon domain of each review

    def __len__(self):
        return len(self.texts)

    def subset(self, index, name=None) -> "Labelled":
        index = list(index)
        return Labelled(name or self.name, [self.texts[i] for i in index], self.labels[index],
                        [self.groups[i] for i in index] if self.groups else [])


def _read(path: Path, encoding: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ShoalError(f"{path}: not found (is --data the labelled/ folder?)") from None
    return raw.decode(encoding)       # strict: a wrong encoding is an error, not mojibake


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _tab_rows(name, lines, where) -> Labelled:
    texts, labels = [], []
    for n, line in enumerate(lines, 1):
        text, sep, label = line.rpartition("\t")
        if not sep or label.strip() not in ("0", "1"):
            raise ShoalError(f"{where}: line {n}: expected text<TAB>0|1")
        texts.append(text.strip())
        labels.append(int(label))
    return Labelled(name, texts, np.array(labels, dtype=np.int64))


def kotzias(root: Path, site: str) -> Labelled:
    path = Path(root) / "kotzias2015_uci" / f"{site}_labelled.txt"
    return _tab_rows(f"kotzias/{site}", _lines(_read(path, "utf-8")), path)


def sst2(root: Path, split: str) -> Labelled:
    path = Path(root) / "sst2" / f"{split}.tsv"
    lines = _lines(_read(path, "utf-8"))
    return _tab_rows(f"sst2/{split}", lines[1:], path)        # lines[0] is the header


def rt_polarity(root: Path) -> Labelled:
    texts, labels = [], []
    for label, ext in ((1, "pos"), (0, "neg")):
        lines = _lines(_read(Path(root) / "rt_polarity" / f"rt-polarity.{ext}", "cp1252"))
        texts += [line.strip() for line in lines]
        labels += [label] * len(lines)
    return Labelled("rt_polarity", texts, np.array(labels, dtype=np.int64))


def blitzer(root: Path) -> Labelled:
    """All 8,000 reviews' text, duplicates (same text, same label) dropped."""
    texts, labels, groups, seen = [], [], [], set()
    for domain in DOMAINS:
        for label, kind in ((1, "positive"), (0, "negative")):
            path = Path(root) / "blitzer2007_amazon" / f"{domain}_{kind}.review"
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                raise ShoalError(f"{path}: not found (is --data the labelled/ folder?)") from None
            for match in REVIEW_TEXT.findall(raw):
                text = html.unescape(match.decode("utf-8")).strip()
                if text and text not in seen:
                    seen.add(text)
                    texts.append(text)
                    labels.append(label)
                    groups.append(domain)
    return Labelled("amazon", texts, np.array(labels, dtype=np.int64), groups)


def split_reviews(reviews: Labelled, test_frac: float, seed: int) -> tuple[Labelled, Labelled]:
    """A seeded split, stratified by (domain, label): the test part is held
    out of the LM's training text and of every probe's fitting."""
    rng = np.random.default_rng(seed)
    test = []
    for key in sorted({(g, int(y)) for g, y in zip(reviews.groups, reviews.labels)}):
        members = [i for i, (g, y) in enumerate(zip(reviews.groups, reviews.labels)) if (g, int(y)) == key]
        test += rng.permutation(members)[:round(len(members) * test_frac)].tolist()
    test = sorted(test)
    train = sorted(set(range(len(reviews))) - set(test))
    return reviews.subset(train, "amazon/train"), reviews.subset(test, "amazon/test")


def lm_stream(texts: list[str], start_byte: int, seed: int) -> np.ndarray:
    """The LM's training text: the reviews in a seeded order, each after a
    start byte, so that reading a labelled text from a fresh state (start
    byte first) looks like the start of a review."""
    order = np.random.default_rng(seed).permutation(len(texts))
    sep = bytes([start_byte])
    return np.frombuffer(b"".join(sep + texts[i].encode("utf-8") for i in order), dtype=np.uint8)
