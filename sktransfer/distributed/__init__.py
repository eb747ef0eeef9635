"""The same pipelines on a Dask cluster: thin helpers over ``dask.distributed``.

Nothing here schedules work: grid searches and cross-validation go through
joblib's ``dask`` backend (``joblib.parallel_config(backend="dask")``), large
data through ``dask.dataframe`` / ``dask.array`` partitions. These helpers add
what sktransfer needs on top: one loaded backbone per worker process, a cache
shared by every worker, and the counters that show each row was embedded once.
Needs the ``dask`` extra (``pip install sktransfer[dask]``); see
``docs/guide/distributed.md``.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "cache_stats": "._workers",
    "client_context": "._client",
    "embed_partitions": "._partitions",
    "embedding_arrays": "._partitions",
    "warm_cache": "._workers",
    "worker_embedder": "._workers",
    "workers_with": "._client",
    "workers_without": "._client",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._client import client_context, workers_with, workers_without
    from ._partitions import embed_partitions, embedding_arrays
    from ._workers import cache_stats, warm_cache, worker_embedder

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "cache_stats",
    "client_context",
    "embed_partitions",
    "embedding_arrays",
    "warm_cache",
    "worker_embedder",
    "workers_with",
    "workers_without",
]
