"""The public fine-tuning estimators: presets of the core (``_core``).

A preset names its default encoder and, where it differs, its parameter list;
everything else is the core's. Docstrings are generated from the signatures
(``_docs``).
"""

from __future__ import annotations

import numbers
from typing import ClassVar

from sklearn.utils._param_validation import Interval

from ._core import TransferClassifier, TransferRegressor
from ._docs import documented
from ._params import CONTRASTIVE, DOMAIN, keyword_init

_IMAGE_DOC = dict(
    encoder="ImageEmbedder",
    example='model="resnet18", image_size=160',
    blocks="timm's own block grouping for timm models; stages' blocks such as "
    "``layer4.1`` for torchvision models",
)
_TEXT_DOC = dict(
    encoder="TextEmbedder",
    example='model="path/to/a/sentence-transformers/model"',
    blocks="the last N transformer layers; the embeddings join the first layer",
)


@documented(
    "Classify images with a pretrained backbone, a trained head and, optionally, "
    "its last blocks fine-tuned.",
    examples=""">>> import numpy as np
>>> from sktransfer import ImageClassifier, ImageEmbedder
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> labels = ["cat", "dog"] * 4
>>> clf = ImageClassifier(encoder=ImageEmbedder(image_size=64), unfreeze=1,
...                       max_epochs=2, random_state=0)
>>> clf.fit(images, labels).predict_proba(images).shape
(8, 2)
""",
    **_IMAGE_DOC,
)
class ImageClassifier(TransferClassifier):
    _encoder_name = "ImageEmbedder"


@documented(
    "Predict numbers from images with a pretrained backbone and a trained head.",
    examples=""">>> import numpy as np
>>> from sktransfer import ImageEmbedder, ImageRegressor
>>> images = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> reg = ImageRegressor(encoder=ImageEmbedder(image_size=64), random_state=0)
>>> reg.fit(images, images.mean(axis=(1, 2, 3))).predict(images[:2]).shape
(2,)
""",
    **_IMAGE_DOC,
)
class ImageRegressor(TransferRegressor):
    _encoder_name = "ImageEmbedder"


@documented(
    "Classify texts with a pretrained sentence encoder, a trained head and, "
    "optionally, its last transformer layers fine-tuned.",
    examples=""">>> from sktransfer import TextClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = TextClassifier(max_epochs=30, lr=1e-2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
    **_TEXT_DOC,
)
class TextClassifier(TransferClassifier):
    _encoder_name = "TextEmbedder"
    __init__ = keyword_init(drop=(*CONTRASTIVE, "augment"))  # augmentation is for images


@documented(
    "Predict numbers from texts with a pretrained sentence encoder and a trained head.",
    examples=""">>> from sktransfer import TextRegressor
>>> texts = ["terrible", "bad", "fine", "good", "great", "superb"]
>>> reg = TextRegressor(max_epochs=50, lr=1e-2, random_state=0)
>>> reg.fit(texts, [0, 1, 2, 3, 4, 5]).predict(["excellent"]).shape
(1,)
""",
    **_TEXT_DOC,
)
class TextRegressor(TransferRegressor):
    _encoder_name = "TextEmbedder"
    __init__ = keyword_init(drop=(*CONTRASTIVE, "augment", "class_weight"))


@documented(
    "Few-shot text classification (SetFit): contrastive fine-tuning of the sentence "
    "encoder on pairs of labelled texts, then a head on its embeddings. Meant for "
    "8 to 64 labelled texts per class.",
    extra={
        "n_iterations": ("int", "Pairs drawn per text and per kind (same class, other class)."),
        "contrastive_epochs": ("int", "Epochs over the pairs (0: no contrastive stage)."),
        "contrastive_lr": ("float", "Learning rate of the encoder in the contrastive stage."),
        "contrastive_batch_size": ("int", "Pairs per step in the contrastive stage."),
    },
    encoder="TextEmbedder",
    example='model="path/to/a/sentence-transformers/model"',
    notes="""The contrastive stage fine-tunes the whole encoder for ``contrastive_epochs``
over ``2 * n_iterations`` pairs per text (one of the same class, one of
another); the head then trains on the tuned embeddings as in
:class:`TextClassifier` with ``unfreeze=0``. The tuned encoder embeds with
the encoder's own settings (``batch_size``, ``precision``, ``normalize``),
without its cache. With a few dozen texts an epoch of the head is one or two
steps, hence more epochs and a larger ``lr`` by default than the other
estimators.
""",
    examples=""">>> from sktransfer import SetFitClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = SetFitClassifier(n_iterations=2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
)
class SetFitClassifier(TransferClassifier):
    _encoder_name = "TextEmbedder"
    _parameter_constraints: ClassVar[dict] = {
        **TransferClassifier._parameter_constraints,
        "n_iterations": [Interval(numbers.Integral, 1, None, closed="left")],
        "contrastive_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "contrastive_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "contrastive_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }
    # The contrastive stage tunes the whole encoder; the head needs nothing else.
    __init__ = keyword_init(
        drop=("augment", "unfreeze", "backbone_lr", *DOMAIN), lr=1e-2, max_epochs=100
    )
    unfreeze = 0
    backbone_lr = 0.0

    def _make_plan(self, encoder, seed, device):
        from ._setfit import make_setfit_plan

        return make_setfit_plan(self, encoder, seed, device)
