"""SetFitClassifier: few-shot text classification, SetFit style.

Tunstall et al. (2022): with 8-64 labelled texts per class, first fine-tune the
sentence encoder contrastively on pairs of texts (same class: cosine similarity
towards 1; different classes: towards 0), then train a head on the tuned
encoder's embeddings. Both stages train through skorch.
"""

from __future__ import annotations

import copy
import numbers
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn
from torch.utils.data import Dataset

from .._device import device_after_unpickle
from ..io import text_rows
from ..text import TextEmbedder
from ._base import BaseFineTuner, TunedClassifierMixin, as_features, seeded
from ._docs import documented
from ._net import Net, collate
from ._text import SentenceBody, TokenizedTexts


def sentence_pairs(labels: np.ndarray, n_iterations: int, rng) -> list[tuple[int, int, float]]:
    """SetFit's pairs: for every row, ``n_iterations`` times, one row of the same
    class (target 1) and one of another class (target 0)."""
    same = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    other = {c: np.flatnonzero(labels != c) for c in same}
    pairs = []
    for _ in range(n_iterations):
        for i, label in enumerate(labels):
            mates = same[label][same[label] != i]
            if len(mates):
                pairs.append((i, int(rng.choice(mates)), 1.0))
            pairs.append((i, int(rng.choice(other[label])), 0.0))
    return pairs


class PairDataset(Dataset):
    """Items ``({"x": {"a": tokens, "b": tokens}, "w": 1}, similarity target)``."""

    def __init__(self, tokens: TokenizedTexts, pairs):
        self.tokens, self.pairs = tokens, pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k):
        i, j, target = self.pairs[k]
        x = {"a": self.tokens[i], "b": self.tokens[j]}
        return {"x": x, "w": torch.tensor(1.0)}, torch.tensor(target)


class PairSimilarity(nn.Module):
    """Cosine similarity of the embeddings of two texts (a siamese encoder)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.body = SentenceBody(model)

    def forward(self, x, w=None):
        return nn.functional.cosine_similarity(self.body(x["a"]), self.body(x["b"]))


class SetFitPlan:
    """Tune a copy of the sentence model on pairs; the head trains on its embeddings."""

    num_workers = 0

    def __init__(self, encoder: TextEmbedder, settings: dict, seed: int, device):
        self.encoder, self.settings, self.seed, self.device = encoder, settings, seed, device
        self.model = None

    def fit(self, X, targets):
        if targets.ndim != 1:
            raise ValueError("SetFitClassifier needs one label per text, not multi-label targets.")
        enc = self.encoder.fit(X)
        model = copy.deepcopy(enc.model_).train()
        s = self.settings
        pairs = sentence_pairs(targets.numpy(), s["n_iterations"], np.random.default_rng(self.seed))
        net = Net(
            module=PairSimilarity(model),
            criterion=nn.MSELoss,
            criterion__reduction="none",
            optimizer=torch.optim.AdamW,
            lr=s["contrastive_lr"],
            max_epochs=s["contrastive_epochs"],
            batch_size=s["contrastive_batch_size"],
            iterator_train__shuffle=True,
            iterator_train__collate_fn=collate,
            train_split=None,
            verbose=s["verbose"],
            device=str(self.device),
        )
        if s["contrastive_epochs"]:
            with seeded(self.seed, self.device):
                net.fit(PairDataset(TokenizedTexts(text_rows(X).values, model), pairs))
        self.model = model.eval()
        return self.inputs(X), None, enc.n_features_out_

    def inputs(self, X, training=False):
        out = self.model.encode(
            text_rows(X).values,
            batch_size=self.encoder.batch_size,
            convert_to_numpy=True,
            show_progress_bar=bool(self.encoder.verbose),
        )
        if self.encoder.normalize:
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return as_features(out)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["model"] = copy.deepcopy(self.model).cpu()  # loads on CPU-only machines
        state["device"] = str(self.device)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.device = device_after_unpickle(self.encoder.device, torch.device(state["device"]))
        self.model = self.model.to(self.device)


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
    tail="""Notes
-----
The contrastive stage fine-tunes the whole encoder for ``contrastive_epochs``
over ``2 * n_iterations`` pairs per text (one of the same class, one of
another); the head then trains on the tuned embeddings as in
:class:`TextClassifier` with ``unfreeze=0``. With a few dozen texts an epoch
of the head is one or two steps, hence more epochs and a larger ``lr`` by
default than the other estimators.

Examples
--------
>>> from sktransfer import SetFitClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = SetFitClassifier(n_iterations=2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
)
class SetFitClassifier(TunedClassifierMixin, BaseFineTuner):
    _default_encoder = TextEmbedder
    _parameter_constraints: ClassVar[dict] = {
        **BaseFineTuner._parameter_constraints,
        "n_iterations": [Interval(numbers.Integral, 1, None, closed="left")],
        "contrastive_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "contrastive_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "contrastive_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }
    unfreeze = 0  # the contrastive stage tunes the whole encoder; the head needs no other
    backbone_lr = 0.0

    def __init__(
        self,
        *,
        encoder=None,
        n_iterations=20,
        contrastive_epochs=1,
        contrastive_lr=2e-5,
        contrastive_batch_size=16,
        head="linear",
        dropout=0.0,
        lr=1e-2,
        max_epochs=100,
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
        self.encoder = encoder
        self.n_iterations = n_iterations
        self.contrastive_epochs = contrastive_epochs
        self.contrastive_lr = contrastive_lr
        self.contrastive_batch_size = contrastive_batch_size
        self.head = head
        self.dropout = dropout
        self.lr = lr
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
        self.class_weight = class_weight
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _make_plan(self, encoder, seed, device):
        if not isinstance(encoder, TextEmbedder):
            raise ValueError(
                "SetFitClassifier tunes a sentence encoder; encoder must be a TextEmbedder "
                f"or a model name, not {type(encoder).__name__}."
            )
        settings = {
            "n_iterations": self.n_iterations,
            "contrastive_epochs": self.contrastive_epochs,
            "contrastive_lr": self.contrastive_lr,
            "contrastive_batch_size": self.contrastive_batch_size,
            "verbose": int(self.verbose),
        }
        return SetFitPlan(encoder, settings, seed, device)
