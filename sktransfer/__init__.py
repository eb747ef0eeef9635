"""sktransfer: transfer learning as scikit-learn estimators.

Pretrained text and image backbones become sklearn transformers that emit
embeddings, ready for ``Pipeline``, ``ColumnTransformer``, ``GridSearchCV`` and
``cross_val_score``; classifiers and regressors train a head on them, and
optionally fine-tune the backbone's last blocks. Importing the package loads no
model, and no deep-learning library: each public name is imported on first use.
"""

from ._lazy import lazy_names

__version__ = "0.1.0"

_WHERE = {
    "EmbeddingCache": "._cache",
    "ImageClassifier": ".finetune",
    "ImageEmbedder": ".image",
    "ImageRegressor": ".finetune",
    "SetFitClassifier": ".finetune",
    "TextClassifier": ".finetune",
    "TextEmbedder": ".text",
    "TextRegressor": ".finetune",
    "clear_models": "._registry",
    "get_backbone": "._backbones",
    "register_family": "._backbones",
    "list_backbones": "._backbones",
    "loaded_models": "._registry",
    "register_backbone": "._backbones",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [*_WHERE, "__version__"]
