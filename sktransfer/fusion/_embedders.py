"""What early and late fusion share: the named embedders they take, and "drop"."""

from __future__ import annotations


def check_pairs(embedders) -> None:
    """Raise unless ``embedders`` is a list of (name, embedder) pairs."""
    if not isinstance(embedders, (list, tuple)) or not all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in embedders
    ):
        raise TypeError(
            f"embedders={embedders!r} must be a list of (name, embedder) pairs, e.g. "
            "[('text', TextEmbedder()), ('image', ImageEmbedder())]."
        )


def is_drop(enc) -> bool:
    """Whether ``enc`` switches its block off (``"drop"`` or ``None``)."""
    return enc is None or (isinstance(enc, str) and enc == "drop")
