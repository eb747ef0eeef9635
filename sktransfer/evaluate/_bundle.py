"""Saving a fitted pipeline with what it needs to predict on new rows.

The file is what :func:`sktransfer.save` writes for a plain dict: the fitted
pipeline, and beside it the column roles it was trained with, the task and the
versions. It loads with :func:`sktransfer.load` like any saved object, under
the same rules: no code from the file runs (only the types skops trusts and
:data:`sktransfer._persist.TRUSTED_TYPES` are rebuilt), every cache location
in it is dropped, and a pickle (the format of older versions) loads only with
``trusted=True`` (``--trust-pickle``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._persist import load, save
from .._warn import warn
from ..exceptions import UntrustedFileError
from ._data import FOLDER_IMAGE, Columns, DataError, list_images, prepare_features, read_table

FORMAT = "sktransfer-pipeline/2"
PICKLE_FORMAT = "sktransfer-pipeline/1"  # joblib pickles of older versions
TRUST_HINT = (
    "If you made this file yourself, pass --trust-pickle (Python: load_pipeline(path, "
    "trusted=True)), which runs code from the file; only for files you made."
)
NOT_A_BUNDLE = "pass a file written by 'sktransfer evaluate --save-best PATH'"


def save_pipeline(path, pipeline, columns: Columns, task: str, *, candidate: str = "") -> Path:
    """Write ``pipeline`` (fitted) and its column roles to ``path`` with
    :func:`sktransfer.save`.

    Every estimator in the file, however deeply nested (the fitted embedders
    inside a ``ColumnTransformer`` or a fine-tuning estimator), is saved with
    ``cache=None``, so the file does not depend on a cache folder of the
    machine that wrote it. ``pipeline`` itself is left as it was.
    """
    from .. import __version__

    bundle = {
        "format": FORMAT,
        "pipeline": pipeline,
        "columns": columns.to_dict(),
        "task": task,
        "candidate": candidate,
        "sktransfer_version": __version__,
    }
    return save(bundle, path)


def load_pipeline(path, trusted=False) -> dict:
    """Read a file written by :func:`save_pipeline`, without running code from it.

    Parameters
    ----------
    path : str or Path
    trusted : bool or sequence of str, default=False
        As in :func:`sktransfer.load`: ``False`` loads only trusted types and
        refuses pickles; a list of type names trusts those as well; ``True``
        trusts the whole file, including a pickle written by an older version
        (unpickling runs code from the file, so pass it only for files you made).

    Returns
    -------
    dict
        ``pipeline``, ``columns``, ``task``, ``candidate`` and versions.

    Notes
    -----
    Where embeddings are cached is the choice of whoever predicts, never of
    the file: every estimator in the loaded pipeline, however deeply nested,
    gets ``cache=None``, whatever the file says and however much it is trusted.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read model {str(path)!r}: no such file.")
    try:
        bundle = load(path, trusted=trusted)
    except UntrustedFileError as exc:
        if exc.types:
            fix = TRUST_HINT.replace("trusted=True", "trusted=[...the type names]")
        else:
            fix = (
                f"{TRUST_HINT} Save it again with 'sktransfer evaluate --save-best PATH' "
                "to get a file that loads safely."
            )
        raise DataError(f"{exc.reason} {fix}") from exc
    except ValueError as exc:  # not a skops file, nor a pickle
        raise DataError(f"{exc} {NOT_A_BUNDLE[0].upper()}{NOT_A_BUNDLE[1:]}.") from exc
    if (
        not isinstance(bundle, dict)
        or bundle.get("format") not in (FORMAT, PICKLE_FORMAT)
        or not hasattr(bundle.get("pipeline"), "predict")
        or not isinstance(bundle.get("columns"), dict)
    ):
        raise DataError(
            f"{str(path)!r} is not a saved sktransfer pipeline; {NOT_A_BUNDLE} (a model "
            "saved with sktransfer.save loads with sktransfer.load)."
        )
    return bundle


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
