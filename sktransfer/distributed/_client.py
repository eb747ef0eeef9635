"""A client for a block of work, and the workers that hold a resource.

Worker processes must not be forks of a process that may have initialised CUDA
(a forked child cannot use the parent's CUDA context, and torch's thread pools
do not survive a fork either). ``distributed`` starts worker processes through
its nanny with the ``multiprocessing`` start method named by the
``distributed.worker.multiprocessing-method`` setting, ``"spawn"`` by default;
:func:`client_context` refuses ``"fork"``.
"""

from __future__ import annotations

from contextlib import contextmanager

SAFE_START_METHODS = ("spawn", "forkserver")


def check_start_method() -> str:
    """The start method new local worker processes get; raise if it is ``fork``."""
    import dask
    import distributed  # noqa: F401  (registers the distributed.* settings)

    method = dask.config.get("distributed.worker.multiprocessing-method")
    if method not in SAFE_START_METHODS:
        raise ValueError(
            f"distributed.worker.multiprocessing-method={method!r}: worker processes would be "
            "forks of this one and cannot use CUDA (nor torch's threads) safely. Use 'spawn' "
            "(the default) or 'forkserver': dask.config.set({'distributed.worker."
            "multiprocessing-method': 'spawn'})."
        )
    return method


@contextmanager
def client_context(address=None, **cluster_kwargs):
    """A ``dask.distributed.Client`` for a ``with`` block.

    Parameters
    ----------
    address : str, Client or None
        A scheduler address (``"tcp://host:8786"``) to connect to; an existing
        ``Client``, used as it is and left open; or ``None``: start a
        ``LocalCluster`` for the block and close it at the end.
    **cluster_kwargs
        ``LocalCluster`` arguments (``n_workers``, ``threads_per_worker``,
        ``processes``, ``resources`` ...) when ``address`` is ``None``. The
        defaults differ from dask's in two places: one thread per worker (a
        backbone is one copy per process; threads would share it and compete
        for its cores) and no dashboard.

    Yields
    ------
    distributed.Client

    Examples
    --------
    >>> from sktransfer.distributed import client_context
    >>> with client_context(n_workers=1, processes=False) as client:
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client, LocalCluster

    if isinstance(address, Client):
        if cluster_kwargs:
            raise TypeError(f"cluster arguments {sorted(cluster_kwargs)} given with a Client.")
        yield address
        return
    if address is not None:
        if cluster_kwargs:
            raise TypeError(
                f"cluster arguments {sorted(cluster_kwargs)} given with address={address!r}: "
                "they only apply to a LocalCluster this call starts (address=None)."
            )
        with Client(address) as client:
            yield client
        return
    if cluster_kwargs.get("processes", True):
        check_start_method()
    options = {"threads_per_worker": 1, "dashboard_address": None, **cluster_kwargs}
    with LocalCluster(**options) as cluster, Client(cluster) as client:
        yield client


def workers_with(client, resource: str) -> list[str]:
    """Addresses of the workers that declare ``resource`` (e.g. ``"GPU"``), sorted."""
    return sorted(
        address
        for address, info in client.scheduler_info(n_workers=-1)["workers"].items()
        if info.get("resources", {}).get(resource, 0) > 0
    )


def workers_without(client, resource: str) -> list[str]:
    """Addresses of the workers that do not declare ``resource``, sorted: where the
    cheap head fits go while the backbone workers embed."""
    tagged = set(workers_with(client, resource))
    return sorted(set(client.scheduler_info(n_workers=-1)["workers"]) - tagged)


@contextmanager
def joblib_backend(scheduler=None):
    """joblib's ``dask`` backend on the cluster at ``scheduler`` (an address or a
    ``Client``) for the block; ``None``: joblib as configured, nothing changed."""
    if scheduler is None:
        yield None
        return
    from joblib import parallel_config

    with client_context(scheduler) as client, parallel_config(backend="dask", client=client):
        yield client
