"""Image rows decoded on demand for a ``torch.utils.data.DataLoader``, with the
error of a bad row raised as if it had been decoded in the main process."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..exceptions import RowError
from ._image import MAX_PIXELS
from ._image_decode import load_rgb
from ._rows import Rows


class ImageDataset:
    """Map-style dataset: row ``i`` decoded and preprocessed on demand.

    Used with a ``torch.utils.data.DataLoader`` so that decoding runs in worker
    processes while the model computes the previous batch. A bad row raises a
    ``RowError`` naming it, in a worker process as in the main one.
    """

    def __init__(self, rows: Rows, preprocess, positions=None, max_pixels=MAX_PIXELS):
        self.rows = rows
        self.preprocess = preprocess
        self.positions = list(range(len(rows))) if positions is None else list(positions)
        self.max_pixels = max_pixels

    @property
    def decodes(self) -> bool:
        """Whether some row is a file or encoded bytes, which loader workers
        could decode while the model runs; arrays and PIL images are decoded
        already."""
        values = self.rows.values
        if isinstance(values, np.ndarray) and values.dtype != object:
            return False
        return not all(isinstance(values[i], (np.ndarray, Image.Image)) for i in self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, k: int):
        i = self.positions[k]
        name = self.rows.name(i)
        try:
            img = load_rgb(self.rows.values[i], name, self.max_pixels)
            try:
                return self.preprocess(img)
            except Exception as exc:
                raise RowError(
                    f"{name}: the model's preprocessing failed on this "
                    f"{img.width}×{img.height} image ({type(exc).__name__}: {exc})."
                ) from exc
        except ValueError as exc:
            if _in_worker():
                raise RowError(str(exc)) from None
            raise


def _in_worker() -> bool:
    from torch.utils.data import get_worker_info

    return get_worker_info() is not None
