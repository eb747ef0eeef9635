"""``image_size``: the side of the square an image is resized to."""

from __future__ import annotations

from .._whole import is_whole
from ..exceptions import ParameterError


def check_image_size(image_size, *, allow_none: bool = True) -> None:
    """Raise a :class:`ParameterError` unless ``image_size`` is a positive int
    (or None, where the weights' own size is the default)."""
    if image_size is None and allow_none:
        return
    if not is_whole(image_size, 1):
        raise ParameterError(
            "image_size",
            image_size,
            "use a positive number of pixels, the side of the square the model sees "
            "(e.g. 224, or 96 to run faster)"
            + (", or None for the weights' own size." if allow_none else "."),
        )
