"""StaticEmbedder: a static model (one vector per token, averaged; no
transformer at inference) as an sklearn transformer.

Static models are read with ``model2vec`` from a directory in its layout
(``model.safetensors``, ``tokenizer.json``, ``config.json``): safetensors
arrays, a JSON tokenizer and a JSON config. Loading one runs no code from the
files and unpickles nothing. :func:`sktransfer.text.distill_static` writes one
from any sentence-transformers model.
"""

from __future__ import annotations

import copy
import os
import weakref
from collections import defaultdict

import numpy as np

from .._backbones import Backbone, get_backbone
from .._batching import check_batch_size
from .._registry import shared_model
from ._numpy import NumpyTextEmbedder
from ._static_family import DEFAULT_STATIC_MODEL, FAMILY


def token_ids(model, texts) -> list:
    """Per text, the ids of its tokens that have a vector (``np.int32``), as
    ``model.encode(texts, max_length=None)`` finds them: no special tokens, no
    truncation (a static model has no window), the unknown token dropped."""
    encodings = _untruncated(model).encode_batch_fast(list(texts), add_special_tokens=False)
    unk = model.unk_token_id
    ids = (np.asarray(e.ids, dtype=np.int32) for e in encodings)
    return [i if unk is None else i[i != unk] for i in ids]


def token_vectors(model, ids=None) -> np.ndarray:
    """One float32 vector per token id of a model2vec ``model`` (only those of
    ``ids``, in that order, when given): its row of the embedding (through the
    model's token mapping) times the token's weight. Always a new array: callers
    may change it."""
    rows = slice(None) if ids is None else np.asarray(ids, dtype=np.int64)
    if model.token_mapping is None:
        vectors = np.array(model.embedding[rows], dtype=np.float32)
    else:
        vectors = np.array(model.embedding[np.asarray(model.token_mapping)[rows]], dtype=np.float32)
    if model.weights is not None:
        vectors *= np.asarray(model.weights, dtype=np.float32)[rows][:, None]
    return vectors


def pool_vectors(vectors: np.ndarray, ids, normalize: bool) -> np.ndarray:
    """Texts' vectors as the mean of ``vectors[ids[i]]`` (float32; a token table
    from :func:`token_vectors`, possibly changed), unit length when
    ``normalize``; the pooling :func:`pool_tokens` does with a model's own table."""
    out = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
    for i, row in enumerate(ids):
        if len(row):
            out[i] = vectors[row].mean(axis=0)
    if normalize:
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-32
    return out


def pool_tokens(model, ids) -> np.ndarray:
    """The vectors ``model.encode`` gives texts whose token ids are ``ids``
    (see :func:`token_ids`): the mean of their vectors (scaled by the model's
    weights, through its token mapping), normalised if the model normalises,
    computed as model2vec computes them. A text with no id gets zeros."""
    dtype = np.dtype(np.float32) if model.embedding.dtype == np.int8 else model.embedding.dtype
    out = np.zeros((len(ids), model.dim), dtype=dtype)
    if model.token_mapping is None and model.weights is None:
        by_length = defaultdict(list)  # texts of one length: one gather and one mean
        for i, row in enumerate(ids):
            if len(row):
                by_length[len(row)].append(i)
        for indices in by_length.values():
            out[indices] = model.embedding[np.stack([ids[i] for i in indices])].mean(axis=1)
    else:
        for i, row in enumerate(ids):
            if len(row):
                mapped = row if model.token_mapping is None else model.token_mapping[row]
                emb = model.embedding[mapped]
                if model.weights is not None:
                    emb = emb * model.weights[row][:, None]
                out[i] = emb.mean(axis=0)
    if model.normalize:
        out32 = out.astype(np.float32)
        return (out32 / (np.linalg.norm(out32, axis=1, keepdims=True) + 1e-32)).astype(dtype)
    return out


# model -> (its tokenizer, a copy of it that does not truncate)
_UNTRUNCATED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _untruncated(model):
    """The model's tokenizer without its truncation (``encode(max_length=None)``
    lifts it for the call; a copy leaves the shared model untouched)."""
    tokenizer = model.tokenizer
    if tokenizer.truncation is None:
        return tokenizer
    source, copy_ = _UNTRUNCATED.get(model, (None, None))
    if source is not tokenizer:  # first use, or the model's tokenizer was replaced
        copy_ = copy.deepcopy(tokenizer)
        copy_.no_truncation()
        _UNTRUNCATED[model] = (tokenizer, copy_)
    return copy_


class StaticEmbedder(NumpyTextEmbedder):
    """Embed texts with a static model: one vector per token, averaged.

    A static model is distilled from a sentence transformer (see
    :func:`sktransfer.text.distill_static`): each token of its vocabulary is
    embedded once by the transformer, and those vectors are kept. Embedding a
    text is then a tokenizer pass and a mean, with NumPy on the CPU: tens of
    times faster than the transformer, at a small cost in accuracy (see
    ``docs/benchmarks.md``). Nothing is loaded in ``__init__``; ``fit`` loads
    the model once per process for all clones.

    Parameters
    ----------
    model : str or path, default="minishlab/potion-base-8M"
        A directory holding a static model in model2vec's layout (e.g. written
        by :func:`~sktransfer.text.distill_static`), a backbone registered with
        ``family="static"``, or a model2vec model name on the Hugging Face hub.
        Loading reads safetensors and JSON only: no code runs from the files.
    batch_size : int, default=1024
        Texts tokenized and averaged per step.
    normalize : bool, default=False
        L2-normalise each embedding. The model's own config decides whether its
        vectors are already unit length (distilled models: yes), the way a
        sentence-transformers model's ``Normalize`` module does.
    verbose : int, default=1
        ``1``: a progress line on stderr counting the rows embedded, for calls
        that run past 2 s (in a terminal, redrawn in place; elsewhere plain
        lines at most every 30 s), so short calls print nothing; ``2`` also
        prints each ``transform``'s cache statistics; ``0`` prints nothing.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of texts seen before (see :class:`~sktransfer.EmbeddingCache`).
        Keys are the model files' SHA-256, model2vec's version and each text.
    on_error : {"raise", "nan", "zero"}, default="raise"
        What an unusable row (missing, not a string, not valid Unicode, or no
        token with a vector: ``""``, or only tokens the model does not know)
        does: an error naming it, or a NaN (zero) output row named in a warning
        and listed by :func:`~sktransfer.transform_report` (as
        :class:`~sktransfer.WordVectorEmbedder` does).

    Attributes
    ----------
    model_ : model2vec.StaticModel
        The loaded model (shared with clones that use the same files).
    device_ : str
        ``"cpu"``: static models run with NumPy.
    n_features_out_ : int
        Embedding size (the distillation's ``dim``).
    vocabulary_size_ : int
        Tokens with a vector.
    embedding_id_ : str
        Digest of what determines the embeddings now (the cache namespace),
        computed when read. A ``transform`` changes nothing on the embedder: what
        it did (rows that failed, cache hits) is in :func:`~sktransfer.transform_report`.

    Examples
    --------
    >>> from sktransfer.text import StaticEmbedder, distill_static
    >>> path = distill_static(path="minilm-static")  # doctest: +SKIP
    >>> emb = StaticEmbedder(model=path).fit(["a first text"])  # doctest: +SKIP
    >>> emb.transform(["hello world", "good morning"]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        *,
        model=DEFAULT_STATIC_MODEL,
        batch_size=1024,
        normalize=False,
        verbose=1,
        cache=None,
        on_error="raise",
    ):
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache
        self.on_error = on_error

    _libraries = ("numpy", "model2vec", "tokenizers")
    _unit = "token"

    def _backbone(self) -> Backbone:
        if not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(
                f"model={self.model!r} must be a static model directory, a registered "
                "static backbone or a model2vec name on the Hugging Face hub."
            )
        return get_backbone(os.fspath(self.model), kind="text", family=FAMILY)

    def _load(self, device):
        check_batch_size(self.batch_size, auto=False)
        entry = self._backbone()
        identity = entry.identity(None) if entry.identity else {}
        # The files' digest is in the key: files rewritten in place are loaded again.
        key = ("text", FAMILY, entry.name, repr(identity))
        return shared_model(key, lambda: entry.loader(device))

    def _fit_backbone(self, device) -> None:
        super()._fit_backbone(device)
        self.vocabulary_size_ = len(self.model_.tokens)

    def _known_units(self, texts) -> list:
        return token_ids(self.model_, texts)

    def _pool(self, units):
        return pool_tokens(self.model_, units)

    def _units_of(self, text) -> list:
        return self.model_.tokenizer.encode(text, add_special_tokens=False).tokens

    def _loaded_identity(self) -> dict:
        entry = self._backbone()
        identity = entry.identity(None) if entry.identity else {"source": entry.name}
        # Rows with no known token are never stored (older versions stored zeros):
        # a cached row is one that had a vector, so cache hits are not checked again.
        return {
            "kind": FAMILY,
            **identity,
            "normalize": bool(self.model_.normalize),
            "no_token_rows": "not stored",
        }

    def _identity(self) -> dict:
        return dict(self._loaded_identity_)
