"""sktransfer: transfer learning as scikit-learn estimators.

Pretrained text and image backbones become sklearn transformers that emit
embeddings, ready for ``Pipeline``, ``ColumnTransformer``, ``GridSearchCV`` and
``cross_val_score``; classifiers and regressors train a head on them, and
optionally fine-tune the backbone's last blocks. Importing the package loads no
model.
"""

from ._cache import EmbeddingCache
from ._registry import clear_models, loaded_models
from .finetune import (
    ImageClassifier,
    ImageRegressor,
    SetFitClassifier,
    TextClassifier,
    TextRegressor,
)
from .image import ImageEmbedder
from .text import TextEmbedder

__version__ = "0.1.0"

__all__ = [
    "EmbeddingCache",
    "ImageClassifier",
    "ImageEmbedder",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextEmbedder",
    "TextRegressor",
    "__version__",
    "clear_models",
    "loaded_models",
]
