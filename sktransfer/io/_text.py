"""Validation of text rows."""

from __future__ import annotations

from ._rows import Rows, is_missing, to_rows


def text_rows(X) -> Rows:
    """Rows of ``X`` checked to be strings, with the row named on failure."""
    rows = to_rows(X, what="texts")
    if len(rows) == 0:
        raise ValueError("X holds no texts: at least one row is needed.")
    for i, value in enumerate(rows.values):
        if isinstance(value, str):
            continue
        if is_missing(value):
            raise ValueError(
                f"{rows.name(i)}: text is missing ({value!r}). Drop or fill missing "
                "values first, e.g. X.fillna('') or X.dropna()."
            )
        raise TypeError(
            f"{rows.name(i)}: expected a string, got {type(value).__name__} "
            f"({value!r:.60}). Convert the column first, e.g. X.astype(str), if "
            "that is what you mean."
        )
    return rows


def text_row_key(value: str) -> bytes:
    """Bytes that identify a text row: its UTF-8 encoding."""
    return b"text:" + value.encode("utf-8", "surrogatepass")
