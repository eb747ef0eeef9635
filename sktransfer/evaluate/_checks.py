"""Checks made before any candidate trains: every row is usable, every model loads.

A bad row or a model that cannot be loaded would otherwise be found inside
cross-validation, after other candidates had spent their time, and would
abort the whole run. Here each image row is decoded once with the io layer's
decoder (cheap next to embedding it) and each text row validated; each
backbone is loaded once by fitting its embedder on one row (the loaded copy is
shared process-wide, so the candidates' own fits reuse it).
"""

from __future__ import annotations

import pandas as pd

from .._plain import one_line
from .._row_policy import UNUSABLE_ROWS, check_row_policy
from .._warn import PartFailedWarning, warn
from ..exceptions import Named, ParameterError, RowError
from ..io import MAX_PIXELS, check_image_row
from ..io._text import check_encodable
from ._crossval import failure
from ._data import Columns

SKIPPED_COLUMNS = ["row", "column", "path", "cause"]


def check_rows(
    X: pd.DataFrame, cols: Columns, *, unusable_rows: str = "raise", max_pixels=MAX_PIXELS
) -> pd.DataFrame:
    """The unusable rows of ``X``: one record each (row, column, path, cause).

    ``unusable_rows="raise"``: the first unusable row is a :class:`RowError` naming
    the row, the file and the cause. ``unusable_rows="skip"``: every row is checked
    and the unusable ones are returned, for the caller to leave out.
    """
    check_row_policy(unusable_rows, UNUSABLE_ROWS)
    skipped = []
    for kind, names in (("image", cols.image), ("text", cols.text)):
        for name in names:
            for label, value in X[name].items():
                where = (
                    f"row {label}"
                    if len(cols.image) + len(cols.text) == 1
                    else (f"row {label}, column {name!r}")
                )
                try:
                    if kind == "image":
                        check_image_row(value, where, max_pixels)
                    else:
                        check_encodable(value, where)
                except (ValueError, TypeError) as exc:
                    cause = one_line(exc)
                    if unusable_rows == "raise":
                        raise RowError(
                            f"{cause} To leave unusable rows out of the evaluation and list "
                            "them (skipped_rows.csv), pass ",
                            Named("unusable_rows", "skip"),
                            ".",
                        ) from exc
                    path = str(value) if kind == "image" and isinstance(value, str) else ""
                    skipped.append({"row": label, "column": name, "path": path, "cause": cause})
    return pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)


def check_settings(*, cv, repeats, image_size) -> None:
    """The run's numeric settings, checked before any row is read or decoded."""
    from .._whole import is_whole

    for name, value, least in (
        ("cv", cv, 2),
        ("repeats", repeats, 1),
        ("image_size", image_size, 1),
    ):
        if value is None and name == "image_size":
            continue  # each backbone's own
        if not is_whole(value, least):
            why = {
                "cv": "cross-validation needs at least 2 folds",
                "repeats": "1 is plain k-fold",
                "image_size": "the side length images are resized to, in pixels; None: "
                "each backbone's own",
            }[name]
            raise ParameterError(name, value, f"use a whole number of at least {least} ({why}).")


def check_embedder_params(embedder_params: dict) -> None:
    """A bad device, batch size or runtime (or one not installed) is the run's
    problem, not one model's."""
    from .._batching import check_batch_size
    from .._device import resolve_device
    from .._onnx import check_runtime
    from .._onnx._session import onnxruntime

    resolve_device(embedder_params.get("device", "auto"))
    if "batch_size" in embedder_params:
        check_batch_size(embedder_params["batch_size"])
    if "runtime" in embedder_params:
        check_runtime(embedder_params["runtime"], embedder_params.get("precision", "float32"))
        if embedder_params["runtime"] == "onnx":
            onnxruntime()


def load_models(
    X: pd.DataFrame,
    cols: Columns,
    models: dict,
    *,
    image_size=None,
    embedder_params=None,
    sizes: dict | None = None,
) -> dict:
    """Load every backbone of ``models`` (``{"text": [...], "image": [...]}``).

    Returns ``{(kind, model): cause}`` for those that cannot be loaded, each
    also reported as a warning; the others are loaded and shared. ``sizes``,
    when given, receives ``{(kind, model): number of parameters}`` of those loaded.
    """
    from ._candidates import make_embedder

    params = {**(embedder_params or {}), "verbose": 0}
    failed = {}
    for kind, names in models.items():
        columns = cols.text if kind == "text" else cols.image
        if not columns:
            continue
        row = X[columns[0]].iloc[:1]
        for model in dict.fromkeys(names):
            try:
                embedder = make_embedder(kind, model, image_size=image_size, **params).fit(row)
                if sizes is not None:
                    sizes[(kind, model)] = _parameters(embedder)
            except Exception as exc:  # whatever the cause, that model's candidates cannot run
                failed[(kind, model)] = cause = failure(exc)
                warn(
                    f"{kind} model {model!r} cannot be loaded ({cause}); "
                    "its candidates are skipped.",
                    PartFailedWarning,
                )
    return failed


def _parameters(embedder) -> int:
    """Parameters of a fitted embedder's backbone (0 when it is not a torch module)."""
    module = getattr(embedder.model_, "module", embedder.model_)
    params = getattr(module, "parameters", None)
    return int(sum(p.numel() for p in params())) if callable(params) else 0
