"""The SetFit plan: few-shot text classification, SetFit style.

Tunstall et al. (2022): with 8-64 labelled texts per class, first fine-tune the
sentence embedder contrastively on pairs of texts (same class: cosine similarity
towards 1; different classes: towards 0), then train a head on the tuned
embedder's embeddings. Both stages train through skorch; the progress display
counts the pairs, then the rows embedded and the head's batches.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .._onnx import needs_torch
from .._progress import counting
from ..io import text_rows
from ..text import TextEmbedder
from ._net import CountBatches, Net, collate
from ._plans import as_features
from ._text import SentenceBody, TokenizedTexts
from ._training import seeded, table_verbosity


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
    """Cosine similarity of the embeddings of two texts (a siamese embedder)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.body = SentenceBody(model)

    def forward(self, x, w=None):
        return nn.functional.cosine_similarity(self.body(x["a"]), self.body(x["b"]))


class TunedTextEmbedder(TextEmbedder):
    """A :class:`TextEmbedder` whose model is a tuned copy held here instead of
    one loaded by name: it embeds through the embedder's own path (batches,
    ``batch_size="auto"``, precision, ``normalize``), uncached (the tuned
    weights have no name a cache key could hold), and pickles the weights."""

    @classmethod
    def around(cls, embedder: TextEmbedder, model: nn.Module) -> TunedTextEmbedder:
        params = {**embedder.get_params(), "cache": None, "runtime": "torch", "compile": False}
        tuned = cls(**params)
        tuned._tuned = model
        return tuned.fit(["a text"])  # fit loads (here: adopts) the model

    def _load(self, device):
        return self._tuned.to(device)

    def _identity(self) -> dict:
        return {**super()._identity(), "tuned": True}

    def __getstate__(self):
        state = super().__getstate__()
        state["_tuned"] = copy.deepcopy(self._tuned).cpu()  # loads on CPU-only machines
        return state


class SetFitPlan:
    """Tune a copy of the sentence model on pairs; the head trains on its embeddings."""

    num_workers = 0
    head_only = True  # the head trains on embeddings (see _training.epochs_for)

    def __init__(self, embedder: TextEmbedder, settings: dict, seed: int, device):
        self.embedder, self.settings, self.seed, self.device = embedder, settings, seed, device
        self.tuned = None

    @property
    def model(self):
        """The tuned sentence model."""
        return self.tuned.model_

    def fit(self, X, targets):
        if targets.ndim != 1:
            raise ValueError("SetFitClassifier needs one label per text, not multi-label targets.")
        enc = self.embedder.fit(X)
        model = copy.deepcopy(enc.model_).train()
        s = self.settings
        pairs = sentence_pairs(targets, s["n_iterations"], np.random.default_rng(self.seed))
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
            verbose=table_verbosity(s["verbose"]),
            device=str(self.device),
        )
        if s["contrastive_epochs"]:
            total = s["contrastive_epochs"] * len(pairs)
            with seeded(self.seed, self.device), counting("contrastive", total, "pairs") as count:
                net.set_params(callbacks=[("progress", CountBatches(count, rows=True))])
                net.fit(PairDataset(TokenizedTexts(text_rows(X).values, model), pairs))
        self.tuned = TunedTextEmbedder.around(enc, model.eval())
        return self.inputs(X), None, enc.n_features_out_

    def inputs(self, X, training=False):
        return as_features(self.tuned.transform(X))


def make_setfit_plan(est, embedder, seed, device) -> SetFitPlan:
    if not isinstance(embedder, TextEmbedder):
        raise ValueError(
            "SetFitClassifier tunes a sentence embedder; embedder must be a TextEmbedder "
            f"or a model name, not {type(embedder).__name__}."
        )
    needs_torch(embedder, "SetFit's contrastive stage (it trains the sentence model)")
    settings = {
        "n_iterations": est.n_iterations,
        "contrastive_epochs": est.contrastive_epochs,
        "contrastive_lr": est.contrastive_lr,
        "contrastive_batch_size": est.contrastive_batch_size,
        "verbose": int(est.verbose),
    }
    return SetFitPlan(embedder, settings, seed, device)
