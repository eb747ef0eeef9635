"""What the transforms inside a ``with`` block did: rows that failed, cache use.

A ``transform`` never changes the fitted embedder, so one embedder can serve
several threads at once. What a call found out (the rows it could not embed,
the rows served from the cache, the texts the window cut) is a
:class:`TransformCall`, built in the call and handed to every
:func:`transform_report` open in the thread that runs it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_OPEN: ContextVar[tuple] = ContextVar("sktransfer_transform_reports", default=())


@dataclass
class TransformCall:
    """What one embedder ``transform`` (or ``fit_transform``) did.

    Attributes
    ----------
    estimator : str
        The embedder's class name, e.g. ``"TextEmbedder"``.
    n_rows : int
        Rows of the input.
    failed_rows : list of dict
        The rows that could not be embedded (``on_error`` other than
        ``"raise"``): ``row`` (position), ``name`` and ``cause``.
    oov_rows : list of int
        Of those, the rows none of whose words (tokens) has a vector
        (:class:`~sktransfer.StaticEmbedder`, :class:`~sktransfer.WordVectorEmbedder`).
    truncated_rows : list of int
        Positions of the texts the model's window cut (:class:`~sktransfer.TextEmbedder`).
    hits, misses : int
        Distinct rows found (not found) in the cache.
    rows_embedded : int
        Rows the backbone computed (misses, or every row without a cache).
    seconds : float
        Wall time spent computing (and storing) those rows.
    """

    estimator: str
    n_rows: int
    failed_rows: list = field(default_factory=list)
    oov_rows: list = field(default_factory=list)
    truncated_rows: list = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    rows_embedded: int = 0
    seconds: float = 0.0


class TransformReport:
    """The embedder calls made inside one :func:`transform_report` block.

    Attributes
    ----------
    calls : list of TransformCall
        Every embedder ``transform`` / ``fit_transform`` the block ran, in order.
    """

    def __init__(self):
        self.calls: list[TransformCall] = []
        self._lock = threading.Lock()

    def _add(self, call: TransformCall) -> None:
        with self._lock:
            self.calls.append(call)

    def _of_last(self, name: str) -> list:
        return list(getattr(self.calls[-1], name)) if self.calls else []

    @property
    def failed_rows(self) -> list:
        """The rows the last call could not embed (``row``, ``name``, ``cause``)."""
        return self._of_last("failed_rows")

    @property
    def oov_rows(self) -> list:
        """Positions of the last call's rows none of whose words has a vector."""
        return self._of_last("oov_rows")

    @property
    def truncated_rows(self) -> list:
        """Positions of the last call's texts that the model's window cut."""
        return self._of_last("truncated_rows")

    @property
    def cache_stats(self) -> dict:
        """``hits``, ``misses`` and ``rows_embedded``, summed over every call."""
        with self._lock:
            calls = list(self.calls)
        return {
            name: sum(getattr(call, name) for call in calls)
            for name in ("hits", "misses", "rows_embedded")
        }

    def __repr__(self) -> str:
        stats = ", ".join(f"{k}={v}" for k, v in self.cache_stats.items())
        return f"TransformReport(calls={len(self.calls)}, {stats})"


@contextmanager
def transform_report():
    """Record what the embedder transforms inside the block do.

    Embedders keep nothing of a ``transform`` on themselves (one fitted embedder
    can serve several threads at once); the report is where to read which rows
    failed, how the cache served them and which texts were cut. It records the
    calls made by the thread that opened it, directly or through a pipeline, a
    fine-tuning ``fit`` or a ``predict``; blocks may nest (each records).

    Yields
    ------
    TransformReport
        ``failed_rows`` (``row``, ``name``, ``cause``), ``oov_rows`` and
        ``truncated_rows`` (positions) of the last call in the block;
        ``cache_stats``: ``hits``, ``misses`` and ``rows_embedded`` summed over
        its calls; ``calls``: one :class:`TransformCall` per embedder call.

    Examples
    --------
    >>> import warnings
    >>> from sktransfer import TextEmbedder, transform_report
    >>> emb = TextEmbedder(on_error="zero", verbose=0).fit(["a text"])
    >>> with transform_report() as report, warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the warning names the failed row too
    ...     out = emb.transform(["hello", None])
    >>> [(f["row"], f["cause"][:22]) for f in report.failed_rows]
    [(1, 'row 1: text is missing')]
    >>> report.cache_stats
    {'hits': 0, 'misses': 0, 'rows_embedded': 1}
    """
    report = TransformReport()
    token = _OPEN.set((*_OPEN.get(), report))
    try:
        yield report
    finally:
        _OPEN.reset(token)


def record(call: TransformCall) -> None:
    """Hand ``call`` to every report open in this context."""
    for report in _OPEN.get():
        report._add(call)
