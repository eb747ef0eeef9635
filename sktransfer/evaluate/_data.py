"""Reading the data to evaluate on and deciding what each column is.

A table (CSV, TSV, Parquet, JSON Lines) or an image folder in ImageFolder
layout (``root/<class>/<image>``) becomes one DataFrame plus a
:class:`Columns` record: the target, and which columns are text, image paths,
numeric or categorical features. Every problem is a :class:`DataError` that
names the column, row or value and says what to do.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._plain import plain
from ..exceptions import DataError, Named, ParameterError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
TABLE_READERS = {
    ".csv": lambda p, enc="utf-8": pd.read_csv(p, encoding=enc),
    ".tsv": lambda p, enc="utf-8": pd.read_csv(p, sep="\t", encoding=enc),
    ".parquet": lambda p, enc="utf-8": pd.read_parquet(p),
    ".pq": lambda p, enc="utf-8": pd.read_parquet(p),
    ".jsonl": lambda p, enc="utf-8": pd.read_json(p, lines=True, encoding=enc),
    ".ndjson": lambda p, enc="utf-8": pd.read_json(p, lines=True, encoding=enc),
    ".json": lambda p, enc="utf-8": pd.read_json(p, encoding=enc),
}
# Predictions are written in the format the file's suffix names, the same as the readers'.
TABLE_WRITERS = {
    ".csv": lambda df, p: df.to_csv(p, index=False),
    ".tsv": lambda df, p: df.to_csv(p, sep="\t", index=False),
    ".parquet": lambda df, p: df.to_parquet(p, index=False),
    ".pq": lambda df, p: df.to_parquet(p, index=False),
    ".jsonl": lambda df, p: df.to_json(p, orient="records", lines=True),
    ".ndjson": lambda df, p: df.to_json(p, orient="records", lines=True),
    ".json": lambda df, p: df.to_json(p, orient="records"),
}
# Name of the target column of a table built from an image folder.
FOLDER_TARGET = "label"
FOLDER_IMAGE = "image"


@dataclass
class Columns:
    """What each column of the table is used for.

    ``ignored`` maps a column left out to the reason, so a report can say why.
    """

    target: str
    text: list[str] = field(default_factory=list)
    image: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.text + self.image + self.numeric + self.categorical

    @property
    def tabular(self) -> list[str]:
        return self.numeric + self.categorical

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "text": self.text,
            "image": self.image,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "ignored": self.ignored,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Columns:
        return cls(**d)


# ---------------------------------------------------------------- reading
def read_data(path, *, encoding: str = "utf-8") -> tuple[pd.DataFrame, str | None]:
    """Read a table file or an image folder.

    Returns the DataFrame and, for an image folder, the name of its target
    column (``"label"``); ``None`` for a table, whose target is named by the user.
    """
    path = Path(path)
    if path.is_dir():
        return read_image_folder(path), FOLDER_TARGET
    return read_table(path, encoding=encoding), None


def read_table(path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV / TSV / Parquet / JSON Lines file into a DataFrame.

    Text files are decoded with ``encoding``; a file in another encoding is a
    :class:`DataError` naming the first byte that does not decode.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"cannot read {str(path)!r}: no such file or folder.")
    reader = TABLE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"cannot read {str(path)!r}: unknown file type {path.suffix!r}. Use a table "
            f"({', '.join(TABLE_READERS)}) or an image folder laid out as root/<class>/<image>."
        )
    try:
        df = reader(path, encoding)
    except UnicodeDecodeError as exc:
        raise DataError(_decode_error(path, encoding, exc)) from exc
    except LookupError as exc:  # an unknown encoding name
        raise DataError(
            f"cannot read {str(path)!r}: {exc}. Pass an encoding Python knows, such as "
            "--encoding utf-8 or --encoding latin-1."
        ) from exc
    except ImportError as exc:
        raise DataError(
            f"cannot read {str(path)!r}: {exc}. Install the missing package (for Parquet: "
            "pip install pyarrow) or save the table as CSV."
        ) from exc
    except Exception as exc:  # pandas raises many types; all mean "unreadable"
        raise DataError(
            f"cannot read {str(path)!r} as {path.suffix.lstrip('.').upper()}: {exc}. "
            "Check that the file is a valid table of that type."
        ) from exc
    if df.empty:
        raise DataError(f"{str(path)!r} holds no rows.")
    df.columns = [str(c) for c in df.columns]
    return df


def check_table_suffix(path, flag: str = "path") -> None:
    """Refuse a file name whose suffix names no format :func:`write_table` writes."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_WRITERS:
        named = f"unknown file type {suffix!r}" if suffix else "no file type (suffix)"
        raise DataError(
            f"{flag} {str(path)!r}: {named}; the suffix says the format, one of "
            f"{', '.join(TABLE_WRITERS)}, e.g. {str(Path(path).with_suffix('.csv'))!r}."
        )


def write_table(df: pd.DataFrame, path, *, flag: str = "path") -> Path:
    """Write ``df`` to ``path`` in the format its suffix names (see :data:`TABLE_WRITERS`);
    an unknown suffix is a :class:`DataError` listing the known ones. The folder is
    created."""
    path = Path(path)
    check_table_suffix(path, flag)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        TABLE_WRITERS[path.suffix.lower()](df, path)
    except ImportError as exc:
        raise DataError(
            f"cannot write {str(path)!r}: {exc}. Install the missing package (for Parquet: "
            "pip install pyarrow) or write CSV."
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot write {str(path)!r}: {exc}.") from exc
    return path


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> str:
    # The reader decodes in chunks, so its offset is not the file's: find the first bad byte.
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
        start, bad = exc.start, exc.object[exc.start : exc.start + 1]
    except UnicodeDecodeError as whole:
        start, bad = whole.start, raw[whole.start : whole.start + 1]
    line = raw.count(b"\n", 0, start) + 1
    return (
        f"cannot read {str(path)!r}: byte {start} (line {line}, {bad!r}) is not valid "
        f"{encoding}; the file is in another encoding. Pass --encoding latin-1 (or the "
        "file's encoding), or save the file as UTF-8."
    )


def read_image_folder(root) -> pd.DataFrame:
    """An ImageFolder layout ``root/<class>/<image>`` as columns ``image`` and ``label``.

    Images are found recursively inside each class folder; files whose names
    do not end in an image extension are skipped. Paths are absolute.
    """
    root = Path(root)
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"{str(root)!r} has no class folders. Lay images out as "
            f"{root}/<class>/<image> (one folder per class), or pass a table."
        )
    rows = []
    for folder in classes:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                rows.append((str(p.resolve()), folder.name))
    if not rows:
        raise DataError(
            f"found no images ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of "
            f"{str(root)!r}."
        )
    return pd.DataFrame(rows, columns=[FOLDER_IMAGE, FOLDER_TARGET])


def list_images(root) -> pd.DataFrame:
    """Every image file under ``root`` (recursively) as a column ``image``."""
    paths = sorted(
        str(p.resolve())
        for p in Path(root).rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not paths:
        raise DataError(f"found no images ({', '.join(IMAGE_EXTENSIONS)}) under {str(root)!r}.")
    return pd.DataFrame({FOLDER_IMAGE: paths})


# ---------------------------------------------------------------- column roles
def _check_named(df: pd.DataFrame, names, what: str) -> None:
    for name in names:
        if name not in df.columns:
            close = difflib.get_close_matches(name, list(df.columns), n=3)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"{what} column {name!r} is not in the table.{hint} "
                f"The columns are: {', '.join(map(repr, df.columns))}."
            )


def _as_python_strings(s: pd.Series) -> pd.Series:
    """Missing values as "", everything else ``str``, kept as Python objects.

    pandas' arrow-backed string dtype (the default when pyarrow is installed) cannot hold
    every Python string (a lone surrogate), and such a row must reach the embedder's own
    check, which names it.
    """
    return pd.Series(
        ["" if pd.isna(v) else str(v) for v in s], index=s.index, dtype=object, name=s.name
    )


def _is_stringy(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _looks_like_images(values: pd.Series) -> bool:
    strings = [v for v in values if isinstance(v, str)]
    if not strings:
        return bool(len(values)) and all(isinstance(v, np.ndarray) for v in values)
    hits = sum(v.lower().endswith(IMAGE_EXTENSIONS) for v in strings)
    return hits >= 0.9 * len(strings)


def detect_columns(df: pd.DataFrame, target: str, *, text=(), image=(), ignore=()) -> Columns:
    """Decide the role of every column of ``df``.

    Named ``text`` / ``image`` columns are taken as given. Other columns are
    detected: strings that end in an image extension are image paths; strings
    that are mostly long and distinct are text; numbers are numeric features,
    other low-cardinality values categorical. Columns that look like row ids
    (one distinct integer or short string per row) are ignored, as are ``ignore``.
    """
    _check_named(df, [target], "target")
    _check_named(df, [*text, *image, *ignore], "named")
    cols = Columns(target=target, text=list(text), image=list(image))
    taken = {target, *text, *image}
    for name in ignore:
        cols.ignored[name] = "named to be ignored"
    n = len(df)
    for name in df.columns:
        if name in taken or name in cols.ignored:
            continue
        s = df[name].dropna()
        if s.empty:
            cols.ignored[name] = "every value is missing"
            continue
        distinct = s.nunique() if not s.map(type).eq(np.ndarray).any() else len(s)
        if _looks_like_images(s):
            cols.image.append(name)
        elif pd.api.types.is_bool_dtype(s) or (
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_integer_dtype(s)
        ):
            cols.numeric.append(name)
        elif pd.api.types.is_integer_dtype(s):
            if distinct == n and n > 20:
                cols.ignored[name] = "one distinct integer per row: looks like a row id"
            else:
                cols.numeric.append(name)
        elif _is_stringy(s):
            words = np.mean([len(str(v).split()) for v in s])
            if distinct > 0.5 * len(s) and words >= 3:
                cols.text.append(name)
            elif distinct == len(s) and n > 20:
                cols.ignored[name] = "one distinct value per row: looks like a row id"
            elif distinct > 0.5 * len(s) and n > 20:
                cols.ignored[name] = (
                    "short strings, mostly distinct: name it as a text column to embed"
                )
            else:
                cols.categorical.append(name)
        else:
            cols.ignored[name] = f"values of type {s.dtype} are not used"
    if not cols.text and not cols.image:
        raise DataError(
            "found no text or image column to transfer from (columns: "
            f"{', '.join(map(repr, df.columns))}). Name one with ",
            Named("text", ["COL"]),
            " or ",
            Named("image", ["COL"]),
            ".",
        )
    return cols


# ---------------------------------------------------------------- cleaning
def prepare_features(
    df: pd.DataFrame, cols: Columns, *, base_dir=None, predicting: bool = False
) -> pd.DataFrame:
    """The feature columns of ``df``, cleaned the same way for evaluation and prediction.

    Missing text becomes the empty string; relative image paths are taken from
    ``base_dir`` (the table's folder) when the file is there. Rows with a
    missing image are an error naming the first such row. ``predicting``: the
    rows go to a fitted model, which needs every column it was trained on, so
    an unusable column cannot be left out (the error says to fill it in).
    """
    X = df[cols.features].copy()

    def fix(name) -> tuple:
        if predicting:
            return ("Fill it in: the model was trained on this column and needs it.",)
        return "Fill it in, or leave it out with ", Named("ignore", [name]), "."

    for name in cols.features:
        if X[name].isna().all():
            raise DataError(
                f"column {name!r} has no usable rows: every value is missing. ", *fix(name)
            )
    for name in cols.text:
        X[name] = _as_python_strings(X[name])
        if not any(v.strip() for v in X[name]):
            raise DataError(
                f"text column {name!r} has no usable rows: every value is empty. ", *fix(name)
            )
    for name in cols.image:
        missing = X[name].isna()
        if missing.any():
            first = X.index[missing.to_numpy().argmax()]
            more = int(missing.sum()) - 1
            also = f" (and {more} more row{'s' * (more != 1)})" if more else ""
            raise DataError(
                f"image column {name!r}: row {plain(first)!r}{also} has no image. Drop those rows "
                "or fill in paths first."
            )
        if base_dir is not None:
            X[name] = [_resolve(v, base_dir) for v in X[name]]
    return X


def _resolve(value, base_dir):
    if isinstance(value, str) and not os.path.isabs(value):
        candidate = os.path.join(base_dir, value)
        if os.path.exists(candidate):
            return candidate
    return value


def prepare_target(df: pd.DataFrame, cols: Columns) -> tuple[pd.DataFrame, pd.Series, int]:
    """Drop rows whose target is missing; return the rows, the target, how many dropped."""
    y = df[cols.target]
    keep = y.notna()
    if not keep.any():
        raise DataError(
            f"target column {cols.target!r} has no usable rows: every value is missing."
        )
    return df[keep], y[keep], int((~keep).sum())


def infer_task(y: pd.Series, task: str = "auto") -> str:
    """``"classification"`` or ``"regression"``: numbers with many values are regression."""
    if task in ("classification", "regression"):
        return task
    if task != "auto":
        raise ParameterError("task", task, "use 'auto', 'classification' or 'regression'.")
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if numeric and y.nunique() > 20:
        return "regression"
    return "classification"


def check_folds(y: pd.Series, cv: int, task: str) -> None:
    """Every class needs at least ``cv`` rows for stratified ``cv``-fold splits."""
    if cv < 2:
        raise ParameterError("cv", cv, "cross-validation needs at least 2 folds.")
    if len(y) < cv:
        raise ParameterError(
            "cv", cv, f"only {len(y)} rows for {cv} folds; lower it: ", Named("cv", max(len(y), 2))
        )
    if task != "classification":
        return
    counts = y.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"the target has a single class {plain(counts.index[0])!r}; a classifier needs at "
            "least two. Check the target column, or use ",
            Named("task", "regression"),
            " for a numeric target.",
        )
    small = counts[counts < cv]
    if len(small):
        label, n = plain(small.index[-1]), int(small.iloc[-1])
        fix = ("lower it, ", Named("cv", n)) if n >= 2 else ("drop that class or add rows to it",)
        raise DataError(
            f"class {label!r} of {y.name!r} has {n} row{'s' * (n != 1)}, fewer than the "
            f"{cv} folds of ",
            Named("cv", cv),
            ": every fold needs one of each class. Fix: ",
            *fix,
            ".",
            param="cv",
        )
