"""The base of text embedders that compute with NumPy on the CPU (static token
vectors, word vectors): no device to choose, and torch is never imported."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._progress import advance
from .._row_policy import ON_ERROR, check_row_policy
from ..base import BaseEmbedder
from ..exceptions import RowError
from ..io import Rows, check_text_row, failure, split_usable, text_row_key, text_rows

# In every "nothing in this text has a vector" message, so a report's oov_rows
# can pick those rows out of its failed_rows.
OOV = "of this text has a vector"


@dataclass
class SplitRows(Rows):
    """Rows with the units of each text that have a vector (``units[i]``), found
    while checking them, so that ``_embed`` pools them without splitting again."""

    units: list | None = None


class NumpyTextEmbedder(BaseEmbedder):
    """A text embedder whose vectors are looked up and averaged with NumPy.

    Its model holds a vector per unit (``_unit``: a word, a token). A text none
    of whose units has a vector (``""``, or only unknown ones) is an unusable
    row: ``on_error="raise"`` is an error naming it; ``"nan"`` / ``"zero"`` give
    it a NaN (zero) output row, a warning names it, and the ``oov_rows`` of
    :func:`~sktransfer.transform_report` list it.

    Subclasses say what a unit is: ``_unit``, ``_known_units(texts)`` (per text,
    its units that have a vector; all texts at once), ``_pool(units)`` (texts'
    vectors from those units) and ``_units_of(text)`` (its units, known or not,
    for messages). Each text is split into units once per ``transform``.
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
        check_row_policy(self.on_error, ON_ERROR)
        rows = text_rows(X, check_each=self.on_error == "raise")
        if self.on_error != "raise":
            rows = split_usable(rows, check_text_row)[0]
        return rows

    def fit_transform(self, X, y=None, **fit_params):
        """Fit on ``X``, then embed it."""
        return self.fit(X, y).transform(X)

    def _new_call(self, failed, n):
        call = super()._new_call(failed, n)
        call.oov_rows = [f["row"] for f in failed if OOV in f["cause"]]
        return call

    def _usable_rows(self, X):
        """The rows to embed (see :meth:`BaseEmbedder._usable_rows`).

        Each text is split into units once per ``transform``, and the units found
        are the ones pooled. ``on_error="raise"``: texts are checked here, their
        units in ``_embed``, only for the rows not served from the cache (a row
        is stored only once it had a vector). Otherwise every text is split here,
        at once; those without a unit that has a vector are set aside, and the
        units of the others travel with the rows to ``_embed``."""
        check_row_policy(self.on_error, ON_ERROR)
        if self.on_error == "raise":
            rows = text_rows(X)
            return rows, None, [], len(rows)
        rows = text_rows(X, check_each=False)
        texts, positions, failed = split_usable(rows, check_text_row)
        units = self._known_units(texts.values)
        keep = [j for j, found in enumerate(units) if len(found)]
        if len(keep) < len(texts):
            for j in (j for j, found in enumerate(units) if not len(found)):
                error = self._no_vector_error(texts.values[j], texts.name(j))
                failed.append(failure(positions[j], texts.name(j), error))
            failed.sort(key=lambda record: record["row"])
            positions = [positions[j] for j in keep]
        index = None if texts.index is None else [texts.index[j] for j in keep]
        usable = SplitRows(
            [texts.values[j] for j in keep], index, positions, units=[units[j] for j in keep]
        )
        return usable, positions, failed, len(rows)

    def _embed(self, rows, positions):
        units = getattr(rows, "units", None)
        out = np.zeros((len(positions), self.n_features_out_), dtype=np.float32)
        step = int(self.batch_size)
        for start in range(0, len(positions), step):
            part = positions[start : start + step]
            if units is None:  # on_error="raise": split and checked here
                found = self._known_units([rows.values[i] for i in part])
                for i, known in zip(part, found, strict=True):
                    if not len(known):
                        raise self._no_vector_error(rows.values[i], rows.name(i))
            else:
                found = [units[i] for i in part]
            out[start : start + len(part)] = self._pool(found)
            advance(len(part))
        return out

    def _known_units(self, texts) -> list:
        """Per text, its units that have a vector (as ``_pool`` reads them), in order."""
        raise NotImplementedError

    def _pool(self, units) -> np.ndarray:
        """The vectors of texts given their known units (each non-empty), (n, d)."""
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
