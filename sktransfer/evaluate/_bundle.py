"""Saving a fitted pipeline with what it needs to predict on new rows.

The file is a `skops <https://skops.readthedocs.io>`_ file of a plain dict:
the fitted pipeline, the column roles it was trained with, the task and the
versions. Unlike a pickle, loading it runs no code from the file: skops
rebuilds only the types it is told to trust, and :data:`TRUSTED_TYPES` lists
the ones sktransfer's own pipelines are made of. Encoders store a reference to
their weights, not the weights, so the file stays small; a fine-tuned head is
stored as plain arrays. Loading drops any cache location the file names
(every estimator gets ``cache=None``): a file cannot choose where embeddings
are read from or written to.

Files written by older versions are pickles (joblib). They load only with
``trusted=True`` (``--trust-pickle``): unpickling runs code from the file.
"""

from __future__ import annotations

import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .._warn import warn
from ._data import FOLDER_IMAGE, Columns, DataError, list_images, prepare_features, read_table

FORMAT = "sktransfer-pipeline/2"
PICKLE_FORMAT = "sktransfer-pipeline/1"  # joblib pickles of older versions

# Types a saved pipeline may hold beyond what skops trusts by default. Each is
# rebuilt from its stored attributes without calling anything the file names;
# none takes a callable from the file (FunctionTransformer's ``func`` is None in
# the pipelines sktransfer builds, and a file that sets it to a function names
# that function, which is not on this list).
TRUSTED_TYPES = frozenset(
    {
        # sktransfer's own estimators: encoders store a model name, not code.
        "sktransfer.text._sentence.TextEmbedder",
        "sktransfer.image._embedder.ImageEmbedder",
        "sktransfer.image._pixels.PixelFeatures",
        "sktransfer.evaluate._tfidf.TfidfBaseline",
        "sktransfer.fusion._early.FusedEmbedder",
        "sktransfer.similarity._zero_shot.ZeroShotClassifier",
        "sktransfer.finetune._presets.TextClassifier",
        "sktransfer.finetune._presets.TextRegressor",
        "sktransfer.finetune._presets.ImageClassifier",
        "sktransfer.finetune._presets.ImageRegressor",
        # scikit-learn pieces of the leaderboard's pipelines.
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.compose._column_transformer._RemainderColsList",
        "sklearn.dummy.DummyClassifier",
        "sklearn.dummy.DummyRegressor",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._ridge.RidgeCV",
        "sklearn.linear_model._ridge._RidgeGCV",
        "sklearn.model_selection._search.GridSearchCV",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.model_selection._split.KFold",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.metrics._classification.balanced_accuracy_score",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
        "numpy.dtype",
    }
)
PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x04\x22\x4d\x18")
TRUST_HINT = (
    "If you made this file yourself, pass --trust-pickle (Python: load_pipeline(path, "
    "trusted=True)), which runs code from the file; only for files you made."
)


def save_pipeline(path, pipeline, columns: Columns, task: str, *, candidate: str = "") -> Path:
    """Write ``pipeline`` (fitted) and its column roles to ``path`` with skops.

    Every estimator in the file, however deeply nested (the fitted encoders
    inside a ``ColumnTransformer`` or a fine-tuning estimator), is saved with
    ``cache=None``, so the file does not depend on a cache folder of the
    machine that wrote it. ``pipeline`` itself is left as it was.
    """
    import skops.io

    from .. import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bundle = {
        "format": FORMAT,
        "pipeline": pipeline,
        "columns": columns.to_dict(),
        "task": task,
        "candidate": candidate,
        "sktransfer_version": __version__,
    }
    with _as_data(pipeline):
        skops.io.dump(bundle, path, compression=zipfile.ZIP_DEFLATED)
    return path


def load_pipeline(path, trusted=False) -> dict:
    """Read a file written by :func:`save_pipeline`, without running code from it.

    Parameters
    ----------
    path : str or Path
    trusted : bool or sequence of str, default=False
        ``False``: load only the types in :data:`TRUSTED_TYPES` (and those skops
        trusts by default) and refuse pickles. A list of type names: trust
        those as well. ``True``: trust the whole file, including a pickle
        written by an older version; unpickling runs code from the file, so
        pass it only for files you made.

    Returns
    -------
    dict
        ``pipeline``, ``columns``, ``task``, ``candidate`` and versions.

    Notes
    -----
    Where embeddings are cached is the choice of whoever predicts, never of
    the file: every estimator in the loaded pipeline, however deeply nested,
    gets ``cache=None``, whatever the file says (a file :func:`save_pipeline`
    wrote says ``None`` already; one that names a folder was edited) and
    however much it is trusted.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read model {str(path)!r}: no such file.")
    if zipfile.is_zipfile(path):
        bundle = _load_skops(path, trusted)
    else:
        bundle = _load_pickle(path, trusted)
    if (
        not isinstance(bundle, dict)
        or bundle.get("format") not in (FORMAT, PICKLE_FORMAT)
        or not hasattr(bundle.get("pipeline"), "predict")
        or not isinstance(bundle.get("columns"), dict)
    ):
        raise DataError(
            f"{str(path)!r} is not a saved sktransfer pipeline; pass a file written by "
            "'sktransfer evaluate --save-best PATH'."
        )
    _drop_caches(bundle["pipeline"])
    _rebuild_nets(bundle["pipeline"])
    return bundle


def _load_skops(path: Path, trusted):
    import skops.io

    try:
        found = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a zip that is not a skops file
        raise _unreadable(path, exc) from exc
    extra = () if isinstance(trusted, bool) else tuple(trusted)
    untrusted = sorted(t for t in found if t not in TRUSTED_TYPES and t not in extra)
    if untrusted and trusted is not True:
        raise DataError(
            f"refusing to load model {str(path)!r}: it holds types sktransfer does not "
            f"trust, and loading them could run code from the file: {', '.join(untrusted)}. "
            + TRUST_HINT.replace("trusted=True", "trusted=[...the type names]")
        )
    try:
        return skops.io.load(path, trusted=found)
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def _load_pickle(path: Path, trusted):
    if trusted is not True:
        with open(path, "rb") as f:
            head = f.read(6)
        if head.startswith(PICKLE_MAGIC):
            raise DataError(
                f"refusing to load model {str(path)!r}: it is a pickle (joblib) file, and "
                f"unpickling runs code from the file. {TRUST_HINT} Save it again with "
                "'sktransfer evaluate --save-best PATH' to get a file that loads safely."
            )
        raise _unreadable(path, "it is not a saved sktransfer pipeline")
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling raises many types; all mean "not our file"
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, why) -> DataError:
    return DataError(
        f"cannot read model {str(path)!r}: {' '.join(str(why).split())}. Pass a file written by "
        "'sktransfer evaluate --save-best PATH'."
    )


# ------------------------------------------------------------ what goes in the file
def _estimators(obj, seen=None):
    """Every estimator reachable from ``obj``: steps, fitted ``transformers_``,
    ``best_estimator_``, a fine-tuner's ``encoder_``, and their templates."""
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
        yield from _estimators(child, seen)


def _cache_holders(pipeline):
    """Every estimator in ``pipeline`` that has a ``cache`` parameter."""
    for est in list(_estimators(pipeline)):
        if "cache" in est.get_params(deep=False):
            yield est


def _drop_caches(pipeline) -> None:
    """Loading: no cache location from the file is kept (see :func:`load_pipeline`)."""
    for est in _cache_holders(pipeline):
        est.cache = None


@contextmanager
def _as_data(pipeline):
    """While saving: no embedding cache anywhere, fine-tuned nets as arrays.

    Every change is undone afterwards, so the caller's pipeline keeps working.
    """
    from ..finetune._core import FineTuner

    undo = []
    try:
        for est in list(_cache_holders(pipeline)):
            if est.cache is not None:
                undo.append((est, "cache", est.cache))
                est.cache = None
        for est in list(_estimators(pipeline)):
            if isinstance(est, FineTuner) and hasattr(est, "net_"):
                state = _net_as_arrays(est)
                for name in ("net_", "plan_"):
                    undo.append((est, name, est.__dict__.pop(name)))
                est._saved_net = state
                undo.append((est, "_saved_net", None))
        yield
    finally:
        for est, name, value in reversed(undo):
            if value is None:
                est.__dict__.pop(name, None)
            else:
                setattr(est, name, value)


def _net_as_arrays(est) -> dict:
    """The trained head of a head-only fine-tuner as numpy arrays."""
    from torch import nn

    from ..finetune._plans import FeaturePlan

    if not isinstance(est.plan_, FeaturePlan):
        raise ValueError(
            f"cannot save {type(est).__name__}(unfreeze={est.unfreeze!r}, "
            f"augment={getattr(est, 'augment', None)!r}) as data: it trained backbone "
            "weights, and only a head trained on frozen features (unfreeze=0, "
            "augment=None) is saved that way so far. Pickle it yourself (joblib.dump) "
            "if you need to keep it."
        )
    module = est.net_.module_
    first = next(m for m in module.head.modules() if isinstance(m, nn.Linear))
    state = {k: v.detach().cpu().float().numpy() for k, v in module.state_dict().items()}
    return {"in_features": int(first.in_features), "state": state}


def _rebuild_nets(pipeline) -> None:
    """Turn the arrays :func:`_as_data` stored back into fine-tuners' nets."""
    from ..finetune._core import FineTuner

    for est in _estimators(pipeline):
        saved = est.__dict__.pop("_saved_net", None) if isinstance(est, FineTuner) else None
        if saved is not None:
            _rebuild_net(est, saved)


def _rebuild_net(est, saved: dict) -> None:
    import torch

    from .._device import device_after_unpickle
    from ..finetune._net import TransferModule
    from ..finetune._plans import FeaturePlan
    from ..finetune._training import head_params, make_head, make_net

    device = device_after_unpickle(est.device, torch.device("cpu"))
    plan = FeaturePlan(est.encoder_)
    head = make_head(
        est.head, saved["in_features"], est._n_outputs(), est.dropout, head_params(est)
    )
    net = make_net(est, TransferModule(None, head), device, plan)
    net.initialize()
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in saved["state"].items()}
    net.module_.load_state_dict(state)
    est.plan_, est.net_ = plan, net


# ------------------------------------------------------------ predicting
def read_rows_for(bundle: dict, path, *, encoding: str = "utf-8") -> tuple[pd.DataFrame, Path]:
    """New rows for a saved pipeline: a table, or every image under a folder.

    Returns the rows and the folder relative image paths are taken from.
    """
    path = Path(path)
    columns = Columns.from_dict(bundle["columns"])
    if path.is_dir():
        if columns.features != columns.image or len(columns.image) != 1:
            raise DataError(
                f"{str(path)!r} is a folder, but this model also needs the columns "
                f"{', '.join(c for c in columns.features if c not in columns.image)}; "
                "pass a table with them."
            )
        df = list_images(path).rename(columns={FOLDER_IMAGE: columns.image[0]})
        return df, path
    return read_table(path, encoding=encoding), path.parent


def predict_rows(bundle: dict, df: pd.DataFrame, *, base_dir=None, proba=True) -> pd.DataFrame:
    """``df`` with a ``prediction`` column (and, with ``proba``, ``proba_<class>``
    columns when the model gives probabilities).

    Each row goes through the backbones once: the pipeline's steps before the
    head compute the features, and the head predicts (and gives probabilities)
    from them. Missing text is predicted as the empty string, with a warning
    naming the rows.
    """
    columns = Columns.from_dict(bundle["columns"])
    missing = [c for c in columns.features if c not in df.columns]
    if missing:
        raise DataError(
            f"the rows lack column {missing[0]!r}, which the model was trained on "
            f"(it needs {', '.join(map(repr, columns.features))})."
        )
    for name in columns.text:
        empty = df.index[df[name].isna().to_numpy()]
        if len(empty):
            shown = ", ".join(map(str, empty[:10]))
            more = f" and {len(empty) - 10} more" if len(empty) > 10 else ""
            warn(
                f"text column {name!r} is missing in {len(empty)} row"
                f"{'s' * (len(empty) != 1)} ({shown}{more}); they are predicted as empty text."
            )
    X = prepare_features(df, columns, base_dir=base_dir, predicting=True)
    from ._crossval import predict_once

    pipeline = bundle["pipeline"]
    out = df.copy()
    pred, probs = predict_once(pipeline, X, proba=proba and bundle["task"] == "classification")
    out["prediction"] = pred
    if probs is not None:
        for k, label in enumerate(pipeline.classes_):
            out[f"proba_{label}"] = probs[:, k]
    return out
