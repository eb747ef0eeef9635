"""Saving and loading fitted estimators and pipelines as data: :func:`save` and :func:`load`.

A saved file is a `skops <https://skops.readthedocs.io>`_ file: a zip of a
JSON description and NumPy arrays. Loading it rebuilds objects from their
stored attributes and runs no code from the file: skops rebuilds only the
types it is told to trust, and :data:`TRUSTED_TYPES` lists sktransfer's own
estimators and the few scikit-learn pieces skops does not trust by default.
Embedders store a reference to their weights, not the weights, so files stay
small; a fine-tuned head is stored as plain arrays (``sktransfer.finetune``
says how). Loading drops any cache location the file names (every estimator
gets ``cache=None``): a file cannot choose where embeddings are read from or
written to. Pickles (joblib) load only with ``trusted=True``.
"""

from __future__ import annotations

import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from .exceptions import UntrustedFileError

# Types a saved file may hold beyond what skops trusts by default (built-in
# containers, NumPy arrays, scikit-learn's public estimators). Each is rebuilt
# from its stored attributes without calling anything the file names; none
# takes a callable from the file (a ``FunctionTransformer`` whose ``func`` is a
# function names that function, which is not on this list).
TRUSTED_TYPES = frozenset(
    {
        # sktransfer's estimators: embedders store a model name, not code.
        "sktransfer.text._sentence.TextEmbedder",
        "sktransfer.text._static.StaticEmbedder",
        "sktransfer.text._words.WordVectorEmbedder",
        "sktransfer.image._embedder.ImageEmbedder",
        "sktransfer.image._pixels.PixelFeatures",
        "sktransfer.evaluate._tfidf.TfidfBaseline",
        "sktransfer.fusion._early.FusedEmbedder",
        "sktransfer.fusion._late.LateFusionClassifier",
        "sktransfer.similarity._prototype.PrototypeClassifier",
        "sktransfer.similarity._zero_shot.ZeroShotClassifier",
        "sktransfer.distill._distilled.DistilledClassifier",
        "sktransfer.finetune._core.TransferClassifier",
        "sktransfer.finetune._core.TransferRegressor",
        "sktransfer.finetune._presets.TextClassifier",
        "sktransfer.finetune._presets.TextRegressor",
        "sktransfer.finetune._presets.ImageClassifier",
        "sktransfer.finetune._presets.ImageRegressor",
        "sktransfer.adapt.DAPipeline",
        # skada's pieces of make_coral_pipeline (arrays and parameters only).
        "skada.base.Shared",
        "skada._mapping.CORALAdapter",
        "sklearn.utils._metadata_requests.MetadataRequest",
        "sklearn.utils._metadata_requests.MethodMetadataRequest",
        # scikit-learn pieces that skops does not trust by default.
        "sklearn.compose._column_transformer._RemainderColsList",
        "sklearn.linear_model._ridge._RidgeGCV",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.model_selection._split.KFold",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.metrics._classification.balanced_accuracy_score",
        "sklearn.utils._bunch.Bunch",
        "numpy.dtype",
    }
)
PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x04\x22\x4d\x18")


def save(obj, path) -> Path:
    """Write ``obj`` (any fitted estimator or pipeline, or a dict or list of them
    and plain values) to ``path`` as a skops file; returns the path.

    The file holds data only: embedders store the name or path of their
    weights, a fine-tuned head its weights as arrays. Every estimator in the
    file, however deeply nested, is written with ``cache=None``, so the file
    does not depend on a cache folder of the machine that wrote it. ``obj``
    itself is left as it was.

    Raises ``ValueError`` for an estimator that cannot be stored as data: a
    fine-tuner that trained backbone weights (``unfreeze > 0`` or ``augment``).
    """
    import skops.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _as_data(obj):
        skops.io.dump(obj, path, compression=zipfile.ZIP_DEFLATED)
    return path


def load(path, *, trusted=False):
    """Read a file written by :func:`save` (or by ``skops.io.dump``), without
    running code from it.

    Parameters
    ----------
    path : str or Path
    trusted : bool or sequence of str, default=False
        ``False``: rebuild only the types skops trusts by default and those in
        :data:`TRUSTED_TYPES`; a file holding any other type is refused, and
        the error names them (``UntrustedFileError.types``), as
        ``skops.io.get_untrusted_types`` does. A list of type names: trust those
        as well (check them first: say, your own transformer class). ``True``:
        trust the whole file, and also load a pickle (joblib) file; unpickling
        runs code from the file, so pass it only for files you made.

    Returns
    -------
    object
        What was saved. Every estimator in it, however deeply nested, has
        ``cache=None``, whatever the file says and however much it is trusted:
        where embeddings are cached is the choice of whoever loads.

    Raises
    ------
    UntrustedFileError (a DataError, so a ValueError)
        The file holds untrusted types, or is a pickle and ``trusted`` is not True.
    FileNotFoundError, ValueError
        No such file; not a skops file nor (with ``trusted=True``) a pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {str(path)!r}: no such file.")
    if zipfile.is_zipfile(path):
        obj = _load_skops(path, trusted)
    else:
        obj = _load_pickle(path, trusted)
    _drop_caches(obj)
    from .finetune import nets_from_data

    nets_from_data(estimators(obj))
    return obj


def _load_skops(path: Path, trusted):
    import skops.io

    if not (trusted is True or trusted is False):
        if isinstance(trusted, str):  # one name, not its letters
            trusted = [trusted]
        extra = set(trusted)
    else:
        extra = set()
    try:
        found = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a zip that is not a skops file
        raise unreadable(path, exc) from exc
    untrusted = sorted(t for t in found if t not in TRUSTED_TYPES and t not in extra)
    if untrusted and trusted is not True:
        raise UntrustedFileError(
            path,
            untrusted,
            "If you made this file yourself or checked these types, pass them: "
            "sktransfer.load(path, trusted=[...the type names]).",
        )
    try:
        return skops.io.load(path, trusted=found)
    except Exception as exc:
        raise unreadable(path, exc) from exc


def _load_pickle(path: Path, trusted):
    if trusted is not True:
        with open(path, "rb") as f:
            head = f.read(6)
        if head.startswith(PICKLE_MAGIC):
            raise UntrustedFileError(
                path,
                [],
                "If you made this file yourself, pass sktransfer.load(path, trusted=True), "
                "which runs code from the file; then sktransfer.save it again to get a "
                "file that loads safely.",
            )
        raise unreadable(path, "it is neither a skops file nor a pickle")
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling raises many types; all mean "not a model file"
        raise unreadable(path, exc) from exc


def unreadable(path: Path, why) -> ValueError:
    return ValueError(f"cannot read {str(path)!r}: {' '.join(str(why).split())}.")


# ------------------------------------------------------------ what goes in the file
def estimators(obj, seen=None):
    """Every estimator reachable from ``obj``: steps, fitted ``transformers_``,
    ``best_estimator_``, a fine-tuner's ``embedder_``, and their templates."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseEstimator):
        yield obj
        children = list(vars(obj).values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = obj
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        children = obj.ravel().tolist()
    else:
        return
    for child in children:
        yield from estimators(child, seen)


def _cache_holders(obj):
    """Every estimator in ``obj`` whose own ``__init__`` takes ``cache`` (not one
    that only passes its wrapped estimator's parameters on, as skada's
    selectors do: the wrapped estimator is found on its own)."""
    for est in list(estimators(obj)):
        if "cache" in est._get_param_names():
            yield est


def _drop_caches(obj) -> None:
    """Loading: no cache location from the file is kept (see :func:`load`)."""
    for est in _cache_holders(obj):
        est.cache = None


@contextmanager
def _as_data(obj):
    """While saving: no embedding cache anywhere, fine-tuned nets as arrays.

    Every change is undone afterwards, so the caller's objects keep working.
    """
    from .finetune import nets_as_data

    undo = []
    try:
        for est in list(_cache_holders(obj)):
            if est.cache is not None:
                undo.append((est, est.cache))
                est.cache = None
        with nets_as_data(list(estimators(obj))):
            yield
    finally:
        for est, cache in reversed(undo):
            est.cache = cache
