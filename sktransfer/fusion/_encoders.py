"""What early and late fusion share: the named encoders they take, and "drop"."""

from __future__ import annotations


def check_pairs(encoders) -> None:
    """Raise unless ``encoders`` is a list of (name, encoder) pairs."""
    if not isinstance(encoders, (list, tuple)) or not all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in encoders
    ):
        raise TypeError(
            f"encoders={encoders!r} must be a list of (name, encoder) pairs, e.g. "
            "[('text', TextEmbedder()), ('image', ImageEmbedder())]."
        )


def is_drop(enc) -> bool:
    """Whether ``enc`` switches its block off (``"drop"`` or ``None``)."""
    return enc is None or (isinstance(enc, str) and enc == "drop")
