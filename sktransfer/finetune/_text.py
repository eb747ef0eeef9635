"""Text fine-tuning: TextClassifier and TextRegressor.

When transformer layers train, a copy of the sentence-transformers model
trains (the shared loaded copy is never touched). The frozen layers still run
on every batch, without gradients: a transformer layer takes an attention-mask
format that is internal to each ``transformers`` version, so calling the
layers one by one to start from cached hidden states would break with it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import Dataset

from ..io import text_rows
from ..text import TextEmbedder
from ._base import BaseFineTuner, TunedClassifierMixin, TunedRegressorMixin
from ._blocks import freeze, named_blocks
from ._docs import documented


class SentenceBody(nn.Module):
    """A sentence-transformers model as a module: token tensors -> sentence embedding."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(dict(x))["sentence_embedding"]


def text_blocks(body: nn.Module) -> list[list[str]]:
    """The transformer layers of a sentence model (embeddings join the first)."""
    from transformers import PreTrainedModel

    for name, module in body.named_modules():
        if isinstance(module, PreTrainedModel):
            return named_blocks(module.named_parameters(), prefix=f"{name}.")
    return named_blocks(body.named_parameters())


class TokenizedTexts(Dataset):
    """Texts tokenised once by the model's own preprocessing, kept unpadded;
    :func:`collate` pads each batch to its longest row."""

    def __init__(self, texts, model, chunk: int = 256):
        self.items = []
        for start in range(0, len(texts), chunk):
            features = model.preprocess(texts[start : start + chunk])
            mask = features["attention_mask"].bool()
            keys = [
                k
                for k, v in features.items()
                if isinstance(v, torch.Tensor) and v.shape == mask.shape
            ]
            for i in range(mask.shape[0]):
                self.items.append({k: features[k][i][mask[i]] for k in keys})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class TextBackbonePlan:
    """A copy of the sentence model trains (its last layers, or all of it)."""

    num_workers = 0

    def __init__(self, encoder: TextEmbedder, unfreeze):
        self.encoder, self.unfreeze = encoder, unfreeze

    def fit(self, X, targets=None):
        enc = self.encoder.fit(X)
        body = SentenceBody(copy.deepcopy(enc.model_))
        freeze(body, text_blocks(body), self.unfreeze)
        return self.inputs(X, training=True), body, enc.n_features_out_

    def inputs(self, X, training=False):
        return TokenizedTexts(text_rows(X).values, self.encoder.model_)


class _TextFineTuner(BaseFineTuner):
    _default_encoder = TextEmbedder

    def __init__(
        self,
        *,
        encoder=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=3e-3,
        backbone_lr=1e-4,
        max_epochs=20,
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
    ):
        self.encoder = encoder
        self.head = head
        self.dropout = dropout
        self.unfreeze = unfreeze
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.restore_best = restore_best
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _backbone_plan(self, encoder, unfreeze):
        return TextBackbonePlan(encoder, unfreeze)


_TEXT_DOC = dict(
    encoder="TextEmbedder",
    example='model="path/to/a/sentence-transformers/model"',
    blocks="the last N transformer layers; the embeddings join the first layer",
)


@documented(
    "Predict numbers from texts with a pretrained sentence encoder and a trained head.",
    tail="""Examples
--------
>>> from sktransfer import TextRegressor
>>> texts = ["terrible", "bad", "fine", "good", "great", "superb"]
>>> reg = TextRegressor(max_epochs=50, lr=1e-2, random_state=0)
>>> reg.fit(texts, [0, 1, 2, 3, 4, 5]).predict(["excellent"]).shape
(1,)
""",
    **_TEXT_DOC,
)
class TextRegressor(TunedRegressorMixin, _TextFineTuner):
    pass


@documented(
    "Classify texts with a pretrained sentence encoder, a trained head and, "
    "optionally, its last transformer layers fine-tuned.",
    tail="""Examples
--------
>>> from sktransfer import TextClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = TextClassifier(max_epochs=30, lr=1e-2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
    **_TEXT_DOC,
)
class TextClassifier(TunedClassifierMixin, _TextFineTuner):
    def __init__(
        self,
        *,
        encoder=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=3e-3,
        backbone_lr=1e-4,
        max_epochs=20,
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        class_weight=None,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            encoder=encoder,
            head=head,
            dropout=dropout,
            unfreeze=unfreeze,
            lr=lr,
            backbone_lr=backbone_lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            warmup=warmup,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            restore_best=restore_best,
            random_state=random_state,
            device=device,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.class_weight = class_weight
