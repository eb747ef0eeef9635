"""The shared embedder base: ``fit`` loads a backbone, ``transform`` embeds rows.

Subclasses describe only what differs between text and images:

* ``_rows(X, check_each)`` validate ``X`` and return :class:`sktransfer.io.Rows`;
* ``_check_row(v, name)`` raise naming the row unless one row is usable;
* ``_load(device)``       return the loaded backbone (shared via the registry);
* ``_embed(rows, idx)``   embed the rows at positions ``idx``, float32 (n, d);
* ``_loaded_identity()``  what ``_load`` just loaded (model files or revision,
                          resolved weights, preprocessing, pooling, layer);
* ``_identity()``         that, plus what ``_embed`` reads live (precision);
                          with the library versions, the cache namespace;
* ``_libraries``          the distributions whose versions enter that namespace;
* ``_row_key(value)``     bytes identifying one row's content, for the cache.

``transform`` never changes the fitted embedder (one embedder serves several
threads): what a call learns travels in a :class:`~sktransfer._report.TransformCall`
passed down from ``_transform_usable`` and handed to the open
:func:`~sktransfer.transform_report` blocks.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._cache import digest, library_versions, namespace_of, resolve_cache
from ._normalize import l2_normalize
from ._report import TransformCall, record
from ._row_policy import ON_ERROR, check_row_policy
from ._warn import warn


def fitted_without_data(embedder):
    """A fitted clone of ``embedder``, whose ``fit`` would only load its backbone
    (what any rows would give), so no rows are needed: how a Dask worker turns
    the parameters it receives into an embedder."""
    from sklearn.base import clone

    if embedder._fit_learns_from_rows:
        raise TypeError(
            f"{type(embedder).__name__} learns from the rows given to fit; fit it on "
            "them, it cannot be fitted from its parameters alone."
        )
    est = clone(embedder)
    est._fit_backbone(est._resolve_device())
    return est


class BaseEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Common machinery of :class:`TextEmbedder` and :class:`ImageEmbedder`.

    Nothing is loaded in ``__init__``: the backbone is resolved in ``fit``, so
    ``clone`` is cheap and ``set_params(model=...)`` followed by ``fit`` really
    changes the model. Loaded backbones are shared process-wide between clones
    (see :func:`sktransfer.clear_models`).
    """

    # Fitted attributes that hold torch objects; they are rebuilt on unpickling
    # from the parameters instead of being pickled.
    _unpicklable = ("model_",)
    # Libraries whose versions can change the numbers (see ``library_versions``).
    _libraries: tuple[str, ...] = ("torch", "numpy")
    # Rows per stored batch when ``batch_size="auto"`` (the size that fits is
    # found inside ``_embed``).
    _auto_store_rows = 256
    # Whether fit learns from the rows' content (not only loads the backbone).
    _fit_learns_from_rows = False

    def fit(self, X, y=None):
        """Load the backbone. ``X`` is validated; its content does not matter.

        Parameters
        ----------
        X : list, array, pandas Series or one-column DataFrame
            Input rows, validated so that bad data fails early.
        y : ignored

        Returns
        -------
        self
        """
        self._fit_rows(self._usable_rows(X)[0])
        return self

    def _fit_rows(self, rows) -> None:
        """Fit on the usable ``rows``: load the backbone (an embedder whose fit
        learns from the rows, e.g. int8 calibration, overrides this)."""
        self._fit_backbone(self._resolve_device())

    def _resolve_device(self):
        """Where ``_load`` puts the backbone (embedders that compute with NumPy
        override it, and never import torch)."""
        from ._device import resolve_device

        return resolve_device(self.device)

    def _device_after_unpickle(self, saved: str):
        """The device to reload on after unpickling (``saved``: where it ran)."""
        import torch

        from ._device import device_after_unpickle

        return device_after_unpickle(self.device, torch.device(saved))

    def _usable_rows(self, X):
        """The rows of ``X`` to embed, their positions in ``X`` (None: all), the
        unusable rows (records) and the number of rows of ``X``.

        ``on_error="raise"``: the first unusable row is an error naming it;
        otherwise each row is checked (images are decoded once) and the unusable
        ones are set aside."""
        check_row_policy(self.on_error, ON_ERROR)
        if self.on_error == "raise":
            rows = self._rows(X)
            return rows, None, [], len(rows)
        from .io import split_usable

        rows = self._rows(X, check_each=False)
        usable, positions, failed = split_usable(rows, self._check_row)
        return usable, positions, failed, len(rows)

    def _transform_usable(self, usable, positions, failed, n):
        """Embed the usable rows; the others get the ``on_error`` vector."""
        call = self._new_call(failed, n)
        if not failed:
            out = self._transform_rows(usable, call)
        else:
            out = np.full(
                (n, self.n_features_out_), ON_ERROR.choices[self.on_error], dtype=np.float32
            )
            if positions:
                out[positions] = self._transform_rows(usable, call)
            shown = "; ".join(f["cause"].rstrip(".") for f in failed[:3])
            more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
            warn(
                f"{len(failed)} of {n} rows could not be embedded and are "
                f"{'NaN' if self.on_error == 'nan' else 'zero'} vectors (on_error="
                f"{self.on_error!r}): {shown}{more}. sktransfer.transform_report() "
                "lists them."
            )
        record(call)
        return out

    def _new_call(self, failed, n) -> TransformCall:
        """The record of one transform of ``n`` rows, ``failed`` of them unusable."""
        return TransformCall(type(self).__name__, n, failed_rows=failed)

    def _fit_backbone(self, device) -> None:
        store = resolve_cache(self.cache)  # a bad cache value fails in fit, not later
        if store is not None:
            store.check_location()
        self.device_ = device
        self.model_ = self._load(device)
        self._loaded_identity_ = self._loaded_identity()
        self.n_features_out_ = int(self._output_dim())

    def _cache_label(self) -> str:
        """The estimator and model that write a namespace, as ``sktransfer cache
        info`` names it (not part of the namespace: two names of one model
        share their vectors)."""
        model = getattr(self, "model", None)
        if isinstance(model, os.PathLike):
            model = os.fspath(model)
        shown = (
            f"model={model!r}"
            if isinstance(model, str)
            else f"model of type {type(model).__name__}"
        )
        return f"{type(self).__name__}({shown})"

    @property
    def embedding_id_(self) -> str:
        """The cache namespace of the vectors ``transform`` computes now: a digest
        of what determines them (model, weights, preprocessing, live parameters
        such as ``precision``, library versions)."""
        if not self.__sklearn_is_fitted__():
            raise AttributeError(f"{type(self).__name__} is not fitted: no embedding_id_ yet.")
        return self._embedding_id()

    def _embedding_id(self) -> str:
        """The cache namespace of the vectors ``_embed`` computes now.

        Read at every transform, not frozen at fit: a parameter that ``_embed``
        reads live (precision) or a library upgrade moves the vectors to
        another namespace.
        """
        return namespace_of({**self._identity(), "libraries": library_versions(self._libraries)})

    def transform(self, X):
        """Embed each row of ``X``.

        Returns
        -------
        ndarray of shape (n_rows, n_features_out_), dtype float32
        """
        check_is_fitted(self)
        self._check_loaded()
        return self._transform_usable(*self._usable_rows(X))

    def _check_loaded(self) -> None:
        """Raise when a parameter changed since fit needs another loaded model
        (embedders with such parameters override this)."""

    def _transform_rows(self, rows, call):
        store = resolve_cache(self.cache)
        if store is None:
            start = time.perf_counter()
            with self._counting(len(rows)):
                out = self._embed(rows, list(range(len(rows))))
            call.seconds += time.perf_counter() - start
            call.rows_embedded += len(rows)
            self._embedded(rows, range(len(rows)), call)
        else:
            out = self._embed_cached(store, rows, call)
        out = np.ascontiguousarray(out, dtype=np.float32)
        if self.normalize:
            out = l2_normalize(out)
        return out

    def _embedded(self, rows, positions, call) -> None:
        """Note in ``call`` what embedding the rows at ``positions`` showed
        (nothing here; the window cuts for text models)."""

    def _embed_cached(self, store, rows, call):
        """Look every row up; embed only the distinct rows not found, storing
        each batch as soon as it is computed."""
        namespace = self._embedding_id()  # of the live parameters, not stored
        keys = [digest(self._row_key(value)) for value in rows.values]
        first = {}  # key -> first position holding it: duplicates are embedded once
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        distinct = list(first)
        width = self.n_features_out_
        found, have = store.get_rows(namespace, distinct, width)
        missing = np.flatnonzero(~have).tolist()
        meta = None
        todo = [first[distinct[j]] for j in missing]
        order = self._batch_order(rows, todo)  # which rows share a batch
        missing, todo = [missing[k] for k in order], [todo[k] for k in order]
        done = 0
        start = time.perf_counter()
        with self._counting(len(todo)):
            for vectors in self._embed_batches(rows, todo):
                part = missing[done : done + len(vectors)]
                meta = meta or {
                    **self._identity(),
                    "libraries": library_versions(self._libraries),
                    "written_by": self._cache_label(),  # for `sktransfer cache info`
                }
                store.put_many(namespace, [distinct[j] for j in part], vectors, meta=meta)
                found[part] = vectors
                done += len(vectors)
        if missing:
            store.flush(namespace)
        call.seconds += time.perf_counter() - start
        self._embedded(rows, todo, call)
        call.hits += len(first) - len(missing)
        call.misses += len(missing)
        call.rows_embedded += len(missing)
        if self.verbose >= 2:
            print(
                f"[{type(self).__name__}] cache {store!r}: {len(rows)} rows, "
                f"{len(first) - len(missing)} found, {len(missing)} embedded",
                file=sys.stderr,
            )
        if len(distinct) == len(keys):
            return found
        where = {key: j for j, key in enumerate(distinct)}
        return found[np.fromiter((where[k] for k in keys), np.int64, len(keys))]

    def _counting(self, n_rows: int):
        """A progress count of the ``n_rows`` rows to embed: shown in the open
        display (a fine-tuning fit, an evaluation), or in one of its own with
        ``verbose``. The embedding loops advance it."""
        from ._progress import counting

        return counting(
            "embedding", n_rows, "rows", verbose=self.verbose, title=type(self).__name__
        )

    def _batch_order(self, rows, positions):
        """The order in which the rows at ``positions`` are cut into batches
        (indices into ``positions``); as given unless an embedder knows better."""
        return range(len(positions))

    def _embed_batches(self, rows, positions):
        """Embed the rows at ``positions`` batch by batch, yielding each batch's
        float32 vectors as soon as it is computed: the cache stores it before the
        next one starts, so an interrupted transform loses at most one batch."""
        step = self.batch_size if isinstance(self.batch_size, int) else self._auto_store_rows
        for start in range(0, len(positions), step):
            part = positions[start : start + step]
            yield np.asarray(self._embed(rows, part), np.float32)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then embed ``X`` (validated once)."""
        usable = self._usable_rows(X)
        self._fit_rows(usable[0])
        return self._transform_usable(*usable)

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def get_feature_names_out(self, input_features=None):
        """Output names: the lower-cased class name and a number, e.g.
        ``textembedder0 … textembedder383``."""
        check_is_fitted(self)
        return super().get_feature_names_out()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_out_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # Pickling stores a reference to the weights (the parameters), not the weights:
    # small pickles, and an embedder fitted on a GPU unpickles on a CPU-only machine.
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never strip the live object
        for name in self._unpicklable:
            state.pop(name, None)
        if "device_" in state:
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "device_" in state:
            device = self._device_after_unpickle(state["device_"])
            self.device_ = device
            self.model_ = self._load(device)
            self._loaded_identity_ = self._loaded_identity()
