"""Validation of text rows, and how many of them the model's window cuts.

A row is a ``str``. Rules, checked for every row before anything is embedded:

* a missing value (``None``, NaN, ``pd.NA``) is an error naming the row;
* ``X`` with more than one column (a 2-D array, a list of lists) is an error
  giving its shape and the column to pass (``X[:, 0]``, ``df["col"]``); an
  ``N×1`` array of strings is its one column;
* anything else that is not a ``str`` (bytes, numbers, a list) is an error naming
  the row and the conversion to make (``b.decode("utf-8")``, ``X.astype(str)``);
* a string that is not valid Unicode text (a lone surrogate such as
  ``"\\ud800"``, left by decoding with ``errors="surrogateescape"`` or by a
  broken JSON file) is an error naming the row: tokenizers cannot encode it.

Other strings are valid as they are: an empty or blank string embeds as the
model's empty input, and control characters (NUL included) are dropped by the
tokenizer, so ``"a\\x00b"`` embeds like ``"ab"``. A text longer than the model's
window (``max_seq_length`` tokens, special tokens included) is cut at the
window; :func:`count_truncated` finds those rows so the embedder can say so.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DataError, RowError
from ._rows import Rows, is_missing, to_rows


def text_rows(X, *, check_each: bool = True) -> Rows:
    """Rows of ``X`` checked to be strings, with the row named on failure
    (``check_each=False``: only ``X`` as a whole is checked; see
    :func:`check_text_row` for each row)."""
    _check_one_column(X)
    rows = to_rows(X, what="texts")
    if len(rows) == 0:
        raise DataError("X holds no texts: at least one row is needed.")
    if rows.values and all(_is_sequence(v) for v in rows.values):
        first = rows.values[0]
        raise DataError(
            f"X is 2-D: a {type(X).__name__} of {len(rows)} {type(first).__name__}s (the "
            f"first holds {len(first)} items), where one text per row is expected. Pass "
            "one column of texts, e.g. [row[0] for row in X], or df['col'] for a "
            "DataFrame column."
        )
    if check_each:
        for i, value in enumerate(rows.values):
            check_text_row(value, rows.name(i))
    return rows


def _check_one_column(X) -> None:
    """Refuse an array of more than one column (an ``N×1`` column of strings is
    read as its one column)."""
    if not isinstance(X, np.ndarray) or X.ndim < 2:
        return
    if X.ndim == 2 and X.shape[1] == 1 and X.dtype.kind in "OUS":
        return
    column = "e.g. X[:, 0]" if X.ndim == 2 else "a 1-D array"
    raise DataError(
        f"X is a {X.ndim}-D array of shape {X.shape}, where one text per row is "
        f"expected. Pass one column of texts, {column}, or df['col'] for a DataFrame "
        "column."
    )


def _is_sequence(value) -> bool:
    """A row that is itself several values (a list, tuple or array), not one text."""
    return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0)


def check_text_row(value, name: str) -> None:
    """Raise ``ValueError`` / ``TypeError`` naming the row unless ``value`` is a
    text the model can embed."""
    if isinstance(value, str):
        check_encodable(value, name)
        return
    if is_missing(value):
        raise RowError(
            f"{name}: text is missing ({value!r}). Drop or fill missing "
            "values first, e.g. X.fillna('') or X.dropna()."
        )
    if isinstance(value, (bytes, bytearray)):
        raise RowError(
            f"{name}: expected a string, got {type(value).__name__} "
            f"({value!r:.60}). Decode it first, e.g. value.decode('utf-8')."
        )
    if _is_sequence(value):
        raise RowError(
            f"{name}: expected a string, got a {type(value).__name__} of {len(value)} "
            f"values ({value!r:.60}); each row is one text. Pass one column of texts, or "
            "join the parts, e.g. ' '.join(parts)."
        )
    raise RowError(
        f"{name}: expected a string, got {type(value).__name__} "
        f"({value!r:.60}). Convert the column first, e.g. X.astype(str), if "
        "that is what you mean."
    )


def check_encodable(value: str, name: str) -> None:
    if value.isascii():  # the common case, without encoding a copy
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end]
        raise RowError(
            f"{name}: the text holds {bad!r} at position {exc.start}, which is not "
            "valid Unicode (a lone surrogate) and cannot be tokenized. Replace it, "
            "e.g. text.encode('utf-8', errors='replace').decode('utf-8'), or fix "
            "how the text was decoded."
        ) from None


def count_truncated(texts, tokenizer, max_seq_length: int) -> list[int]:
    """Positions of the ``texts`` longer than ``max_seq_length`` tokens.

    Tokens are counted the way the model sees them, special tokens included.
    Tokenizing stops one token past the window, so a very long text costs no
    more to count than to embed.

    Parameters
    ----------
    texts : list of str
        Already validated rows (see :func:`text_rows`).
    tokenizer : transformers tokenizer
        The model's own tokenizer, e.g. ``TextEmbedder().fit(X).model_.tokenizer``.
    max_seq_length : int
        The model's window, e.g. ``model_.max_seq_length``.

    Returns
    -------
    list of int
        Positions (not index labels) of the rows the window cuts, in order.
    """
    if not texts:
        return []
    ids = tokenizer(
        list(texts),
        add_special_tokens=True,
        truncation=True,
        max_length=int(max_seq_length) + 1,
    )["input_ids"]
    return [i for i, row in enumerate(ids) if len(row) > max_seq_length]


def truncation_message(rows: Rows, positions: list[int], max_seq_length: int, shown=5) -> str:
    """One line saying which rows the window cuts, e.g. for a warning."""
    return (
        f"{len(positions)} of {len(rows)} texts are longer than the model's window "
        f"and were cut to {max_seq_length} tokens ({rows.describe(positions, shown)}); only their "
        "beginning is embedded. Split long texts into passages to embed all of them."
    )


def text_row_key(value: str) -> bytes:
    """Bytes that identify a text row: its UTF-8 encoding."""
    return b"text:" + value.encode("utf-8", "surrogatepass")
