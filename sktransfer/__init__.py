"""sktransfer: transfer learning as scikit-learn estimators.

Pretrained text and image backbones become sklearn transformers that emit
embeddings, ready for ``Pipeline``, ``ColumnTransformer``, ``GridSearchCV`` and
``cross_val_score``; classifiers and regressors train a head on them, and
optionally fine-tune the backbone's last blocks. Importing the package loads no
model, and no deep-learning library: each public name is imported on first use.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_names

__version__ = "0.1.0"

_WHERE = {
    "Backbone": "._backbones",
    "CacheError": ".exceptions",
    "DataError": ".exceptions",
    "MissingDependencyError": ".exceptions",
    "ModelLoadError": ".exceptions",
    "ParameterError": ".exceptions",
    "RowError": ".exceptions",
    "SktransferError": ".exceptions",
    "UntrustedFileError": ".exceptions",
    "DistilledClassifier": ".distill",
    "EmbeddingCache": "._cache",
    "FusedEmbedder": ".fusion",
    "ImageClassifier": ".finetune",
    "ImageEmbedder": ".image",
    "ImageRegressor": ".finetune",
    "PrototypeClassifier": ".similarity",
    "SetFitClassifier": ".finetune",
    "StaticClassifier": ".text",
    "StaticEmbedder": ".text",
    "TextClassifier": ".finetune",
    "TextEmbedder": ".text",
    "TextRegressor": ".finetune",
    "TransferClassifier": ".finetune",
    "TransferRegressor": ".finetune",
    "WordVectorEmbedder": ".text",
    "ZeroShotClassifier": ".similarity",
    "clear_models": "._registry",
    "coral_gap": ".adapt",
    "get_backbone": "._backbones",
    "register_family": "._backbones",
    "list_backbones": "._backbones",
    "load": "._persist",
    "loaded_models": "._registry",
    "make_coral_pipeline": ".adapt",
    "make_late_fusion": ".fusion",
    "register_backbone": "._backbones",
    "distill_static": ".text",
    "save": "._persist",
    "transform_report": "._report",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._backbones import (
        Backbone,
        get_backbone,
        list_backbones,
        register_backbone,
        register_family,
    )
    from ._cache import EmbeddingCache
    from ._persist import load, save
    from ._registry import clear_models, loaded_models
    from ._report import transform_report
    from .adapt import coral_gap, make_coral_pipeline
    from .distill import DistilledClassifier
    from .exceptions import (
        CacheError,
        DataError,
        MissingDependencyError,
        ModelLoadError,
        ParameterError,
        RowError,
        SktransferError,
        UntrustedFileError,
    )
    from .finetune import (
        ImageClassifier,
        ImageRegressor,
        SetFitClassifier,
        TextClassifier,
        TextRegressor,
        TransferClassifier,
        TransferRegressor,
    )
    from .fusion import FusedEmbedder, make_late_fusion
    from .image import ImageEmbedder
    from .similarity import PrototypeClassifier, ZeroShotClassifier
    from .text import (
        StaticClassifier,
        StaticEmbedder,
        TextEmbedder,
        WordVectorEmbedder,
        distill_static,
    )

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "Backbone",
    "CacheError",
    "DataError",
    "DistilledClassifier",
    "EmbeddingCache",
    "FusedEmbedder",
    "ImageClassifier",
    "ImageEmbedder",
    "ImageRegressor",
    "MissingDependencyError",
    "ModelLoadError",
    "ParameterError",
    "PrototypeClassifier",
    "RowError",
    "SetFitClassifier",
    "SktransferError",
    "StaticClassifier",
    "StaticEmbedder",
    "TextClassifier",
    "TextEmbedder",
    "TextRegressor",
    "TransferClassifier",
    "TransferRegressor",
    "UntrustedFileError",
    "WordVectorEmbedder",
    "ZeroShotClassifier",
    "__version__",
    "clear_models",
    "coral_gap",
    "distill_static",
    "get_backbone",
    "list_backbones",
    "load",
    "loaded_models",
    "make_coral_pipeline",
    "make_late_fusion",
    "register_backbone",
    "register_family",
    "save",
    "transform_report",
]
