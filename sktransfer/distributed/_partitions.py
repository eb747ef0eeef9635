"""Embedding a dask collection partition by partition, on the workers.

Each partition (of a ``dask.dataframe``) or block (of a ``dask.array`` of
images) is embedded where it lives, by the worker's one fitted embedder
(:func:`~sktransfer.distributed.worker_embedder`); the result is another lazy
dask collection, so ``.to_parquet(...)`` writes the embeddings from the workers
without gathering them on one node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._workers import worker_embedder


def _width(embedder) -> tuple[int, list[str]]:
    est = worker_embedder(embedder)
    return est.n_features_out_, [str(n) for n in est.get_feature_names_out()]


def _embed_frame(part: pd.DataFrame, embedder, column: str, keep: list[str], names):
    if len(part) == 0:  # no rows: no backbone call
        out = pd.DataFrame(np.zeros((0, len(names)), np.float32), columns=names, index=part.index)
    else:
        vectors = worker_embedder(embedder).transform(part[column])
        out = pd.DataFrame(vectors, columns=names, index=part.index)
    for name in keep:
        out[name] = part[name].to_numpy()
    return out


def _embed_block(block: np.ndarray, embedder) -> np.ndarray:
    if len(block) == 0:
        return np.zeros((0, worker_embedder(embedder).n_features_out_), np.float32)
    return worker_embedder(embedder).transform(block)


def _names_on_a_worker(embedder, resources):
    """Width and column names of the embeddings, asked of a worker (which loads
    the backbone it will use anyway) rather than of this process."""
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):  # no cluster: the local process answers
        return _width(embedder)
    return client.submit(_width, embedder, resources=resources, pure=False).result()


def embed_partitions(data, embedder, *, column=None, keep=(), resources=None):
    """Embed a dask collection lazily, one fitted embedder per worker.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or dask.array.Array
        A frame with a text or image-path ``column``, or an array of images
        ``(n, height, width[, channels])`` (chunked along its first axis only;
        it is rechunked otherwise).
    embedder : TextEmbedder or ImageEmbedder
        Unfitted is fine: each worker fits its own copy once. With a directory
        ``cache`` that every worker shares, a partition computed again (a rerun,
        a worker lost mid-run) embeds only the rows not stored yet.
    column : str
        The frame's column to embed (required for a frame).
    keep : sequence of str
        Other columns of the frame carried into the output (a label, an id).
    resources : dict or None
        Worker resources the width probe needs (e.g. ``{"GPU": 1}``); give the
        same to ``compute`` / ``to_parquet(compute_kwargs={"resources": ...})``
        so the embedding tasks run there too.

    Returns
    -------
    dask.dataframe.DataFrame or dask.array.Array
        For a frame: one float32 column per embedding dimension (named as
        ``embedder.get_feature_names_out()``) plus ``keep``, on the same index
        and partitions. For an array: ``(n, n_features)`` float32, chunked
        like ``data``'s first axis.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from sktransfer import TextEmbedder
    >>> from sktransfer.distributed import embed_partitions
    >>> df = dd.from_pandas(pd.DataFrame({"text": ["a", "b", "c"], "y": [0, 1, 0]}),
    ...                     npartitions=2)
    >>> emb = embed_partitions(df, TextEmbedder(), column="text", keep=["y"])
    >>> emb.compute().shape
    (3, 385)
    """
    import dask.array as da
    import dask.dataframe as dd

    width, names = _names_on_a_worker(embedder, resources)
    if isinstance(data, da.Array):
        if column is not None or keep:
            raise TypeError("column= and keep= apply to a dask DataFrame, not to an array.")
        if data.ndim < 3:
            raise ValueError(
                f"an array of shape {data.shape} is not a stack of images; pass "
                "(n, height, width) or (n, height, width, channels)."
            )
        data = data.rechunk({axis: -1 for axis in range(1, data.ndim)})
        return data.map_blocks(
            _embed_block,
            embedder,
            dtype=np.float32,
            chunks=(data.chunks[0], (width,)),
            drop_axis=list(range(2, data.ndim)),
        )
    if not isinstance(data, dd.DataFrame):
        raise TypeError(
            f"data of type {type(data).__name__}: pass a dask.dataframe.DataFrame (with "
            "column=) or a dask.array.Array of images; for a pandas frame or a list, call "
            "the embedder's transform."
        )
    keep = list(keep)
    missing = [c for c in [column, *keep] if c not in data.columns]
    if column is None or missing:
        raise ValueError(
            f"column={column!r}, keep={keep!r}: "
            + (f"{missing} not among the columns " if missing else "name the column to embed; ")
            + f"{list(data.columns)}."
        )
    meta = pd.DataFrame(np.zeros((0, width), np.float32), columns=names)
    for name in keep:
        meta[name] = data._meta[name]
    meta.index = data._meta.index
    return data.map_partitions(_embed_frame, embedder, column, keep, names, meta=meta)


def embedding_arrays(frame, target, *, columns=None):
    """``(X, y)`` dask arrays with known chunk sizes from a frame of embeddings:
    the input of ``dask_ml`` estimators and of ``dask_ml.wrappers.Incremental``.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        Embeddings, e.g. ``dd.read_parquet`` of what :func:`embed_partitions` wrote.
    target : str
        The label column (carried there with ``keep=``).
    columns : list of str or None
        The embedding columns; default: every column but ``target``.

    Returns
    -------
    X : dask.array.Array of shape (n, n_features)
    y : dask.array.Array of shape (n,), chunked like ``X``'s rows

    Notes
    -----
    The chunk sizes are computed (one pass over the lengths) because dask may
    read a column selection in other partitions than the whole frame, so
    ``to_dask_array(lengths=True)`` cannot be trusted to align ``X`` and ``y``.
    """
    if target not in frame.columns:
        raise ValueError(f"target={target!r} is not among the columns {list(frame.columns)}.")
    columns = [c for c in frame.columns if c != target] if columns is None else list(columns)
    X = frame[columns].to_dask_array()
    X.compute_chunk_sizes()
    y = frame[target].to_dask_array()
    y.compute_chunk_sizes()
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk((X.chunks[0],))
    return X, y
