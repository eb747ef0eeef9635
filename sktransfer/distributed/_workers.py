"""One fitted embedder per worker, a cache warmed across the workers, and the
per-worker counters that show how many rows each one embedded.

A task receives an unfitted embedder (its parameters); :func:`worker_embedder`
turns it into a fitted one the first time a worker process sees those
parameters and reuses it afterwards, in every thread: a ``transform`` changes
nothing on the embedder, so threads share it. The backbone itself is one copy
per process (:mod:`sktransfer._registry`): a worker loads it once, not once per
partition or per task.
"""

from __future__ import annotations

import threading

import numpy as np

_EMBEDDERS: dict = {}  # parameters -> the fitted embedder this process shares
_LOCK = threading.Lock()


def worker_embedder(embedder):
    """A fitted copy of ``embedder`` for this worker process, made once per parameter set.

    The copy is fitted without data (fitting an embedder only loads its backbone,
    shared process-wide), so every task on the worker that asks for the same
    parameters, in any of its threads, gets the same fitted embedder back.
    """
    import joblib

    from ..base import fitted_without_data

    kind = type(embedder)
    key = (kind.__module__, kind.__qualname__, joblib.hash(embedder.get_params()))
    with _LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = fitted_without_data(embedder)
        return _EMBEDDERS[key]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:  # not in a worker: the local process
        return "local"


def _embed_chunk(embedder, rows) -> tuple[str, int]:
    from .._report import transform_report

    with transform_report() as report:
        worker_embedder(embedder).transform(rows)
    return _worker_name(), report.cache_stats["rows_embedded"]


def warm_cache(embedder, X, *, client=None, chunk_size: int = 256, resources=None) -> dict:
    """Embed the distinct rows of ``X`` into ``embedder``'s cache, spread over the workers.

    After it, every fit and transform of a search whose embedder has the same
    parameters finds its rows in the cache, whichever worker runs it: each
    distinct row is embedded once cluster-wide. Without it, folds that run at
    the same time on different workers can embed the rows they share twice.

    Parameters
    ----------
    embedder : TextEmbedder or ImageEmbedder
        Its ``cache`` must be a directory every worker can read and write.
    X : list, array or pandas Series
        Texts or image paths (image arrays too; duplicates of those are not
        removed before the split).
    client : distributed.Client or None
        Default: the current client (``distributed.get_client()``).
    chunk_size : int, default=256
        Rows per task.
    resources : dict or None
        Worker resources each task needs, e.g. ``{"GPU": 1}``.

    Returns
    -------
    dict
        Worker address -> rows it embedded (rows found in the cache are not
        counted).
    """
    from distributed import get_client

    from .._cache import resolve_cache

    store = resolve_cache(embedder.cache)
    if store is None or store.directory is None:
        raise ValueError(
            f"cache={embedder.cache!r}: warming needs a directory that every worker shares "
            "(e.g. cache='/shared/embeddings'); a memory cache stays in one process."
        )
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r}; use a positive int.")
    client = client or get_client()
    rows = list(X)
    try:
        rows = list(dict.fromkeys(rows))  # texts and paths: each distinct value once
    except TypeError:  # arrays are not hashable; the cache still embeds each once per chunk
        pass
    chunks = [rows[i : i + chunk_size] for i in range(0, len(rows), chunk_size)]
    if chunks and isinstance(rows[0], np.ndarray):
        chunks = [np.stack(c) for c in chunks]
    futures = client.map(_embed_chunk, [embedder] * len(chunks), chunks, resources=resources)
    embedded: dict[str, int] = {}
    for worker, n in client.gather(futures):
        embedded[worker] = embedded.get(worker, 0) + n
    return embedded


def _stats_here(directory) -> dict:
    from .._cache import resolve_cache

    return dict(resolve_cache(directory).stats)


def cache_stats(cache, client=None) -> dict:
    """``hits``, ``misses`` and ``rows_embedded`` of a directory cache, per worker.

    Each worker process counts in its own handle of the directory (see
    :attr:`sktransfer.EmbeddingCache.stats`); this gathers them. Summing
    ``rows_embedded`` over the workers gives the rows embedded cluster-wide.
    A worker that was restarted starts again from zero.

    Parameters
    ----------
    cache : str, path or EmbeddingCache
        The shared directory cache.
    client : distributed.Client or None
        Default: the current client.

    Returns
    -------
    dict
        Worker address -> ``{"hits": ..., "misses": ..., "rows_embedded": ...}``.
    """
    from distributed import get_client

    from .._cache import resolve_cache

    store = resolve_cache(cache)
    if store is None or store.directory is None:
        raise ValueError(f"cache={cache!r}: per-worker counts need a directory cache.")
    client = client or get_client()
    return client.run(_stats_here, str(store.directory))
