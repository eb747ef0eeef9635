"""The base of text encoders that compute with NumPy on the CPU (static token
vectors, word vectors): no device to choose, and torch is never imported."""

from __future__ import annotations

import functools
import os
from numbers import Integral

from sklearn.utils.validation import check_is_fitted

from ..base import BaseEmbedder, check_on_error
from ..exceptions import RowError
from ..io import check_text_row, split_usable, text_row_key, text_rows

# In every "nothing in this text has a vector" message, so oov_rows_ can pick
# those rows out of failed_rows_.
OOV = "of this text has a vector"


class NumpyTextEmbedder(BaseEmbedder):
    """A text encoder whose vectors are looked up and averaged with NumPy.

    Its model holds a vector per unit (``_unit``: a word, a token). A text none
    of whose units has a vector (``""``, or only unknown ones) is an unusable
    row: ``on_error="raise"`` is an error naming it; ``"nan"`` / ``"zero"`` give
    it a NaN (zero) output row, a warning names it, and ``oov_rows_`` lists it.

    Subclasses say what a unit is: ``_unit``, ``_has_vectors(texts)`` (per text,
    whether any of its units has a vector; all texts at once) and
    ``_units_of(text)`` (its units, known or not, for messages).
    """

    _unit = "word"

    def _resolve_device(self):
        return "cpu"

    def _device_after_unpickle(self, saved: str):
        return "cpu"

    def fit(self, X, y=None):
        """Load the model; ``X`` (texts) is validated, its words do not matter.
        Returns ``self``."""
        self._fit_rows(X)
        self._fit_backbone(self._resolve_device())
        return self

    def _fit_rows(self, X):
        """The rows of ``X`` that ``fit`` may read: each a text (``on_error="raise"``:
        the first that is not is an error naming it; else those are left out).
        Whether their units have vectors is checked in ``transform``."""
        check_on_error(self.on_error)
        rows = text_rows(X, check_each=self.on_error == "raise")
        if self.on_error != "raise":
            rows = split_usable(rows, check_text_row)[0]
        return rows

    def fit_transform(self, X, y=None, **fit_params):
        """Fit on ``X``, then embed it."""
        return self.fit(X, y).transform(X)

    def transform(self, X):
        """Embed each row of ``X`` (see the class docstring for rows none of
        whose units has a vector).

        Returns
        -------
        ndarray of shape (n_rows, n_features_out_), dtype float32
        """
        check_is_fitted(self)
        out = super().transform(X)
        self.oov_rows_ = [f["row"] for f in self.failed_rows_ if OOV in f["cause"]]
        return out

    def _fit_backbone(self, device) -> None:
        super()._fit_backbone(device)
        self.oov_rows_ = []

    def _rows(self, X, check_each=True):
        rows = text_rows(X, check_each=check_each)
        if check_each:  # every text at once: a tokenizer is fastest on a batch
            known = self._has_vectors(rows.values)
            if not all(known):
                i = known.index(False)
                raise self._no_vector_error(rows.values[i], rows.name(i))
        return rows

    def _check_row(self, value, name):
        check_text_row(value, name)
        if not self._has_vectors([value])[0]:
            raise self._no_vector_error(value, name)

    def _has_vectors(self, texts) -> list[bool]:
        raise NotImplementedError

    def _units_of(self, text) -> list:
        raise NotImplementedError

    def _no_vector_error(self, text, name) -> RowError:
        unit = self._unit
        units = self._units_of(text)
        shown = f"its {unit}s {units[:3]!r}" if units else f"it has no {unit}s"
        fix = (
            " Pass on_error='zero' or 'nan' to give such rows a zero (NaN) vector, or "
            f"use a model whose vectors cover these {unit}s."
            if self.on_error == "raise"
            else ""
        )
        return RowError(
            f"{name}: no {unit} {OOV} ({shown}; {self.vocabulary_size_} {unit}s have vectors).{fix}"
        )

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
