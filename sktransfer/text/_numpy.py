"""The base of text encoders that compute with NumPy on the CPU (static token
vectors, word vectors): no device to choose, and torch is never imported."""

from __future__ import annotations

import functools
import os
from numbers import Integral

from ..base import BaseEmbedder
from ..io import check_text_row, text_row_key, text_rows


class NumpyTextEmbedder(BaseEmbedder):
    """A text encoder whose vectors are looked up and averaged with NumPy."""

    def _resolve_device(self):
        return "cpu"

    def _device_after_unpickle(self, saved: str):
        return "cpu"

    def _rows(self, X, check_each=True):
        rows = text_rows(X, check_each=False)
        if check_each:  # _check_row may check more than the type (known words)
            for i, value in enumerate(rows.values):
                self._check_row(value, rows.name(i))
        return rows

    def _check_row(self, value, name):
        check_text_row(value, name)

    def _row_key(self, value) -> bytes:
        return text_row_key(value)

    def _output_dim(self) -> int:
        return int(self.model_.dim)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


def check_rows_per_step(batch_size) -> None:
    """Raise unless ``batch_size`` is a positive int (no ``"auto"``: there is no
    device memory to size it for)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}; use a positive number of texts, e.g. 1024.")


def files_digest(paths) -> list:
    """``[(name, SHA-256)]`` of the files a model is read from: the same bytes give
    the same cache namespace wherever the files lie (a copy, another machine)."""
    return [(os.path.basename(p), _file_digest(*_stat(p))) for p in paths]


def _stat(path) -> tuple:
    st = os.stat(path)
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime too: a file rewritten in place is hashed again.
    from .._weights import file_digest

    return file_digest(path)
