"""Values as a message shows them: ``4``, not ``np.int64(4)``; another error's
message quoted in one line."""

from __future__ import annotations


def plain(value):
    """``value`` as the Python scalar it stands for (a numpy scalar's ``.item()``);
    anything else unchanged. Use it on every value a message formats with ``!r``."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message ("" when it has none), to quote a
    library's error inside one of ours."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def one_line(exc: BaseException) -> str:
    """``exc``'s whole message on one line (its line breaks and runs of spaces
    made single spaces), for a table or a record of unusable rows."""
    return " ".join(str(exc).split())
