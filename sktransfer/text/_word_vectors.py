"""Word vectors as plain arrays: read from a file with gensim's text and binary
readers, or trained on a corpus with gensim's word2vec; and the per-word
weights (TF-IDF, SIF) that pool them.

Files are read with ``KeyedVectors.load_word2vec_format``, which parses numbers
and words: word2vec binary (``.bin``), word2vec text (``.txt``, ``.vec`` as
fastText publishes them) and GloVe text (no header line). gensim's own
``.model`` / ``.kv`` files are pickles, and are loaded only with
``format="pickle"`` (running code from the file: only for files you made).
"""

from __future__ import annotations

import math
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..exceptions import MissingDependencyError

FORMATS = ("auto", "binary", "text", "glove", "pickle")
POOLINGS = ("mean", "tfidf", "sif")
PICKLE_SUFFIXES = (".model", ".kv", ".pkl", ".pickle", ".wv")
# SIF's smoothing constant (Arora, Liang and Ma, 2017): weight a / (a + p(word)).
SIF_A = 1e-3


@dataclass
class WordVectors:
    """One row of ``vectors`` per word of ``words``; ``index`` maps back."""

    words: list
    vectors: np.ndarray
    index: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __getstate__(self):  # the index is rebuilt, not stored
        return {"words": self.words, "vectors": self.vectors}

    def __setstate__(self, state):
        self.words, self.vectors = state["words"], state["vectors"]
        self.__post_init__()


@lru_cache(maxsize=16)
def tokenizer(pattern: str, lowercase: bool):
    """A function text -> list of words, by regular expression."""
    find = re.compile(pattern).findall
    return (lambda text: find(text.lower())) if lowercase else find


def file_format(path: str, format: str) -> str:
    """The format to read ``path`` with: ``format`` unless ``"auto"``; refuses
    gensim's pickles unless they are asked for by name."""
    if format not in FORMATS:
        raise ValueError(f"format={format!r}; use one of {FORMATS}.")
    lower = path.lower()
    if format != "auto":
        return format
    if lower.endswith(PICKLE_SUFFIXES):
        raise ValueError(
            f"{path!r} looks like a gensim model saved with .save(), which is a pickle: "
            "loading it runs code from the file. Convert it once where you trust it, "
            "KeyedVectors.load(path).save_word2vec_format('vectors.bin', binary=True), "
            "or pass format='pickle' if you made this file yourself."
        )
    if lower.endswith((".bin", ".bin.gz")):
        return "binary"
    return "text" if _has_header(path) else "glove"


def _has_header(path: str) -> bool:
    """word2vec text files start with "<words> <dim>"; GloVe files with a word."""
    import gzip

    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        first = f.readline().split()
    return len(first) == 2 and all(part.isdigit() for part in first)


def load_vectors(path: str, format: str) -> WordVectors:
    """Read a word-vector file (see the module docstring for the formats)."""
    try:
        from gensim.models import KeyedVectors
    except ImportError as exc:  # an optional dependency
        raise MissingDependencyError(
            "word vectors need gensim: pip install 'sktransfer[words]'"
        ) from exc
    check_vectors_file(path)
    kind = file_format(path, format)
    try:
        if kind == "pickle":
            kv = KeyedVectors.load(path)  # the user said they trust this file
            kv = getattr(kv, "wv", kv)  # a whole Word2Vec model holds its vectors in .wv
        else:
            kv = KeyedVectors.load_word2vec_format(
                path, binary=kind == "binary", no_header=kind == "glove", unicode_errors="replace"
            )
    except Exception as exc:  # gensim raises many types for a malformed file
        raise ValueError(
            f"cannot read {path!r} as {kind} word vectors ({exc}). Name the format with "
            f"format= (one of {FORMATS[1:]})."
        ) from exc
    return WordVectors(list(kv.index_to_key), kv.vectors)


def check_vectors_file(path: str) -> str:
    """Return ``path``, or raise naming it when it is not a file."""
    if not os.path.isfile(path):
        raise ValueError(
            f"model={path!r}: no such word-vector file. Give a word2vec (.bin, .txt), "
            "GloVe (.txt) or fastText (.vec) file, or model=None to train word2vec on "
            "the texts given to fit."
        )
    return path


def _stable_hash(text: str) -> int:
    # gensim seeds each word's initial vector with hash(word + seed); Python's
    # hash of a str changes with every process, so the vectors would too.
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def train_word2vec(
    corpus, *, vector_size: int, window: int, min_count: int, epochs: int, seed: int
) -> WordVectors:
    """word2vec (CBOW) trained on ``corpus`` (lists of words) with one worker
    and a fixed seed, so the same corpus gives the same vectors."""
    try:
        from gensim.models import Word2Vec
    except ImportError as exc:
        raise MissingDependencyError(
            "word vectors need gensim: pip install 'sktransfer[words]'"
        ) from exc
    counts = Counter(w for words in corpus for w in words)
    if not any(n >= min_count for n in counts.values()):
        raise ValueError(
            f"no word occurs min_count={min_count} times in the {len(corpus)} texts given "
            "to fit; lower min_count, or fit on more text."
        )
    model = Word2Vec(
        sentences=[words for words in corpus if words],
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        epochs=epochs,
        seed=seed,
        workers=1,
        hashfxn=_stable_hash,
    )
    return WordVectors(list(model.wv.index_to_key), model.wv.vectors)


def pooling_weights(pooling: str, corpus) -> tuple[dict, float]:
    """``({word: weight}, weight of any other word)`` learned from ``corpus``.

    ``"mean"``: every word 1. ``"tfidf"``: smoothed inverse document frequency,
    ``ln((1 + n) / (1 + df)) + 1`` as in scikit-learn (a word repeated in a text
    counts each time, which is its term frequency). ``"sif"``: ``a / (a + p)``
    with ``p`` the word's share of the corpus and ``a = 1e-3``.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
    if pooling == "mean":
        return {}, 1.0
    if pooling == "tfidf":
        n = len(corpus)
        df = Counter(w for words in corpus for w in set(words))
        return {w: math.log((1 + n) / (1 + d)) + 1 for w, d in df.items()}, math.log(1 + n) + 1
    counts = Counter(w for words in corpus for w in words)
    total = sum(counts.values()) or 1
    return {w: SIF_A / (SIF_A + c / total) for w, c in counts.items()}, 1.0
