"""WordVectorEmbedder: texts as pooled word vectors (word2vec, GloVe, fastText),
the classic transfer recipe, as an sklearn transformer."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._batching import check_batch_size
from .._cache import digest, model_fingerprint, namespace_of
from .._registry import shared_model
from ._numpy import NumpyTextEmbedder
from ._word_vectors import (
    check_vectors_file,
    file_format,
    load_vectors,
    pooling_weights,
    tokenizer,
    train_word2vec,
)


class WordVectorEmbedder(NumpyTextEmbedder):
    """Embed texts as the weighted mean of their words' vectors.

    The vectors come from a file (word2vec binary or text, GloVe text, fastText
    ``.vec``), read as numbers and words only, or are trained on the texts given
    to ``fit`` (word2vec with one worker and a fixed seed: the same texts give
    the same vectors). Words are found by a regular expression; a word with no
    vector is skipped. The pooling weights (TF-IDF or SIF) are learned from the
    texts given to ``fit``.

    A text none of whose words has a vector (``""``, or only unknown words) is
    an unusable row: with ``on_error="raise"`` an error names it; with
    ``"nan"`` / ``"zero"`` its output row is NaN (zeros), a warning names it and
    :func:`~sktransfer.transform_report` lists it (``oov_rows``).

    Parameters
    ----------
    model : None, str or path, default=None
        ``None``: train word2vec on the texts given to ``fit``. A path: a
        word-vector file (see ``format``).
    format : {"auto", "binary", "text", "glove", "pickle"}, default="auto"
        How to read ``model``. ``"auto"``: ``.bin`` is word2vec binary, a text
        file whose first line is "<words> <dim>" is word2vec text (fastText's
        ``.vec`` too), another text file is GloVe. gensim's own ``.model`` /
        ``.kv`` files are pickles: ``"auto"`` refuses them, and ``"pickle"``
        loads them, running code from the file (only for files you made).
    pooling : {"mean", "tfidf", "sif"}, default="mean"
        How the words' vectors are averaged: equally; by inverse document
        frequency (each occurrence counts, so by TF-IDF); or by SIF weights
        ``1e-3 / (1e-3 + p(word))``, ``p`` the word's share of the fit texts.
        Words the fit texts lack get the largest weight.
    dim : int, default=100
        Width of the word vectors trained when ``model=None`` (gensim's
        ``vector_size``).
    window, min_count, epochs : int, default=5, 1, 5
        word2vec's other settings when ``model=None`` (gensim's names and meaning).
    lowercase : bool, default=True
        Lower-case texts before finding words (GloVe and trained vectors are
        lower-case; word2vec's GoogleNews vectors are not).
    token_pattern : str, default=r"(?u)\\b\\w+\\b"
        The regular expression of a word.
    random_state : int, RandomState or None, default=0
        Seed of word2vec's training (``model=None``).
    batch_size : int, default=1024
        Texts pooled per step (and stored in the cache together).
    normalize : bool, default=False
        L2-normalise each embedding.
    verbose : int, default=1
        ``1``: a progress line on stderr counting the rows embedded, for calls
        that run past 2 s (in a terminal, redrawn in place; elsewhere plain
        lines at most every 30 s), so short calls print nothing; ``2`` also
        prints each ``transform``'s cache statistics; ``0`` prints nothing.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of texts seen before (see :class:`~sktransfer.EmbeddingCache`).
        Keys are the vectors' digest, the pooling weights and each text.
    on_error : {"raise", "nan", "zero"}, default="raise"
        What an unusable row (missing, not a string, or no word with a vector)
        does: an error naming it, or a NaN (zero) output row named in a warning
        and listed by :func:`~sktransfer.transform_report`.

    Attributes
    ----------
    model_ : WordVectors
        The words and their vectors (``words``, ``vectors``); shared with clones
        that read the same file. Vectors trained in ``fit`` are pickled with the
        embedder; a file's vectors are not (the path is).
    vocabulary_size_ : int
        Words with a vector.
    corpus_coverage_ : float
        Share of the word occurrences in the fit texts that have a vector.
    device_ : str
        ``"cpu"``: word vectors are pooled with NumPy.
    n_features_out_ : int
        Vector size.
    embedding_id_ : str
        Digest of what determines the embeddings now (the cache namespace),
        computed when read. A ``transform`` changes nothing on the embedder: what
        it did (rows that failed, cache hits) is in :func:`~sktransfer.transform_report`.

    Examples
    --------
    >>> from sktransfer.text import WordVectorEmbedder
    >>> texts = ["the coffee was great", "the tea was cold", "great tea"]
    >>> emb = WordVectorEmbedder(dim=8, pooling="sif").fit(texts)
    >>> emb.transform(["cold coffee"]).shape, emb.vocabulary_size_
    ((1, 8), 6)
    """

    def __init__(
        self,
        *,
        model=None,
        format="auto",
        pooling="mean",
        dim=100,
        window=5,
        min_count=1,
        epochs=5,
        lowercase=True,
        token_pattern=r"(?u)\b\w+\b",
        random_state=0,
        batch_size=1024,
        normalize=False,
        verbose=1,
        cache=None,
        on_error="raise",
    ):
        self.model = model
        self.format = format
        self.pooling = pooling
        self.dim = dim
        self.window = window
        self.min_count = min_count
        self.epochs = epochs
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.random_state = random_state
        self.batch_size = batch_size
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache
        self.on_error = on_error

    _libraries = ("numpy", "gensim")

    @property
    def _unpicklable(self):
        # Vectors trained in fit are learned state (like TfidfVectorizer's
        # vocabulary_), kept as arrays; a file's vectors are reread from the path.
        return () if self.model is None else ("model_",)

    _fit_learns_from_rows = True  # the pooling weights, and trained vectors

    def fit(self, X, y=None):
        """Learn the pooling weights from ``X``, and read (or train) the vectors.

        Parameters
        ----------
        X : list, array, pandas Series or one-column DataFrame of str
        y : ignored

        Returns
        -------
        self
        """
        rows = self._fit_rows(X)  # unusable rows are left out of the corpus
        words_of = self._words_of()
        corpus = [words_of(text) for text in rows.values]
        self._weights_, self._default_weight_ = pooling_weights(self.pooling, corpus)
        self._weights_id_ = namespace_of(
            {"weights": sorted(self._weights_.items()), "default": self._default_weight_}
        )
        self._corpus = corpus
        try:
            self._fit_backbone(self._resolve_device())
        finally:
            del self._corpus
        index = self.model_.index
        total = sum(len(words) for words in corpus)
        known = sum(w in index for words in corpus for w in words)
        self.vocabulary_size_ = len(self.model_.words)
        self.corpus_coverage_ = known / total if total else 0.0
        return self

    def _words_of(self):
        return tokenizer(self.token_pattern, bool(self.lowercase))

    def _load(self, device):
        check_batch_size(self.batch_size, auto=False)
        if self.model is None:
            corpus = getattr(self, "_corpus", None)
            if corpus is None:  # unpickling: the trained vectors came with the pickle
                return self.model_
            seed = self.random_state
            if not isinstance(seed, Integral):
                seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
            return train_word2vec(
                corpus,
                vector_size=self.dim,
                window=self.window,
                min_count=self.min_count,
                epochs=self.epochs,
                seed=int(seed),
            )
        path = self._path()
        kind = file_format(path, self.format)
        key = ("text", "word-vectors", kind, model_fingerprint(path))
        return shared_model(key, lambda: load_vectors(path, kind))

    def _path(self) -> str:
        if not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(
                f"model={self.model!r} must be None (train word2vec on the fit texts) or "
                "the path of a word-vector file."
            )
        return check_vectors_file(os.path.abspath(os.fspath(self.model)))

    def _loaded_identity(self) -> dict:
        if self.model is None:
            vectors = self.model_
            words = "\n".join(vectors.words).encode("utf-8", "surrogatepass")
            return {
                "kind": "word2vec-on-fit-texts",
                "vectors": digest(words, vectors.vectors.tobytes()),
            }
        path = self._path()
        # The file's content names the vectors, wherever it lies.
        return {
            "kind": "word-vectors",
            "format": file_format(path, self.format),
            "files": model_fingerprint(path),
        }

    def _identity(self) -> dict:
        return {
            **self._loaded_identity_,
            "pooling": self.pooling,
            "weights": self._weights_id_,
            "lowercase": bool(self.lowercase),
            "token_pattern": self.token_pattern,
        }

    _unit = "word"

    def _units_of(self, text) -> list:
        return self._words_of()(text)

    def _known_units(self, texts) -> list:
        words_of, index = self._words_of(), self.model_.index
        return [[w for w in words_of(text) if w in index] for text in texts]

    def _pool(self, units) -> np.ndarray:
        index, vectors = self.model_.index, self.model_.vectors
        weights, default = self._weights_, self._default_weight_
        out = np.zeros((len(units), vectors.shape[1]), dtype=np.float32)
        for j, words in enumerate(units):
            if not words:  # checked before; kept zero rather than dividing by zero
                continue
            w = np.fromiter((weights.get(t, default) for t in words), np.float32, len(words))
            out[j] = w @ vectors[[index[t] for t in words]] / w.sum()
        return out
