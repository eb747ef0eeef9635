"""Saving a fitted pipeline with what it needs to predict on new rows.

The file is a joblib dump of a plain dict: the fitted pipeline, the column
roles it was trained with, the task and the versions. Encoders pickle a
reference to their weights, not the weights, so the file stays small.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from ._data import FOLDER_IMAGE, Columns, DataError, list_images, prepare_features, read_table

FORMAT = "sktransfer-pipeline/1"


def save_pipeline(path, pipeline, columns: Columns, task: str, *, candidate: str = "") -> Path:
    """Write ``pipeline`` (fitted) and its column roles to ``path`` with joblib.

    Encoders are saved without their embedding cache, so the file does not
    depend on a cache folder of the machine that wrote it.
    """
    from .. import __version__

    pipeline.set_params(**{k: None for k in pipeline.get_params() if k.endswith("__cache")})
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
    joblib.dump(bundle, path)
    return path


def load_pipeline(path) -> dict:
    """Read a file written by :func:`save_pipeline`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read model {str(path)!r}: no such file.")
    try:
        bundle = joblib.load(path)
    except Exception as exc:  # unpickling raises many types; all mean "not our file"
        raise DataError(
            f"cannot read model {str(path)!r}: {exc}. Pass a file written by "
            "'sktransfer evaluate --save-best PATH'."
        ) from exc
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise DataError(
            f"{str(path)!r} is not a saved sktransfer pipeline; pass a file written by "
            "'sktransfer evaluate --save-best PATH'."
        )
    return bundle


def read_rows_for(bundle: dict, path) -> tuple[pd.DataFrame, Path]:
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
    return read_table(path), path.parent


def predict_rows(bundle: dict, df: pd.DataFrame, *, base_dir=None) -> pd.DataFrame:
    """``df`` with a ``prediction`` column (and ``proba_<class>`` columns when the
    model gives probabilities)."""
    columns = Columns.from_dict(bundle["columns"])
    missing = [c for c in columns.features if c not in df.columns]
    if missing:
        raise DataError(
            f"the rows lack column {missing[0]!r}, which the model was trained on "
            f"(it needs {', '.join(map(repr, columns.features))})."
        )
    X = prepare_features(df, columns, base_dir=base_dir)
    pipeline = bundle["pipeline"]
    out = df.copy()
    out["prediction"] = pipeline.predict(X)
    if bundle["task"] == "classification" and hasattr(pipeline, "predict_proba"):
        proba = np.asarray(pipeline.predict_proba(X))
        for k, label in enumerate(pipeline.classes_):
            out[f"proba_{label}"] = proba[:, k]
    return out
