"""Values as a message shows them: ``4``, not ``np.int64(4)``."""

from __future__ import annotations


def plain(value):
    """``value`` as the Python scalar it stands for (a numpy scalar's ``.item()``);
    anything else unchanged. Use it on every value a message formats with ``!r``."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value
