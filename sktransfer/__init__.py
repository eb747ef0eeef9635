"""sktransfer: transfer learning as scikit-learn estimators.

Pretrained text and image backbones become sklearn transformers that emit
embeddings, ready for ``Pipeline``, ``ColumnTransformer``, ``GridSearchCV`` and
``cross_val_score``. Importing the package loads no model.
"""

from ._cache import EmbeddingCache
from ._registry import clear_models, loaded_models
from .image import ImageEmbedder
from .text import TextEmbedder

__version__ = "0.1.0"

__all__ = [
    "EmbeddingCache",
    "ImageEmbedder",
    "TextEmbedder",
    "__version__",
    "clear_models",
    "loaded_models",
]
