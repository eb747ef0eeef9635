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

# Without ``n_iterations``, at most this many pairs of each kind per text (the
# count ``n_iterations=20`` draws): the distinct pairs grow with the square of
# the rows, most of all with many classes.
MAX_ITERATIONS = 20


def sentence_pairs(
    labels: np.ndarray, n_iterations: int | None, rng
) -> list[tuple[int, int, float]]:
    """The contrastive pairs ``(i, j, target)``: target 1 for two texts of the same
    class, 0 for two of different classes.

    ``n_iterations=None``: every pair of two different texts once, the rarer kind
    repeated (in a shuffled order) until both kinds are as many (SetFit 1.x's
    default, ``sampling_strategy="oversampling"``, without its pairs of a text with
    itself), at most :data:`MAX_ITERATIONS` pairs of each kind per text. An int:
    for every row, ``n_iterations`` times, one row of the same class (target 1) and
    one of another class (target 0)."""
    if n_iterations is None:
        return distinct_pairs(labels, rng)
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


def distinct_pairs(labels: np.ndarray, rng) -> list[tuple[int, int, float]]:
    """Every pair of two different texts, the rarer kind oversampled (see
    :func:`sentence_pairs`)."""
    first, second = np.triu_indices(len(labels), 1)
    alike = labels[first] == labels[second]
    # a kind can be missing: no two texts share a class (or only one class)
    kinds = [kind for kind in (np.flatnonzero(alike), np.flatnonzero(~alike)) if len(kind)]
    if not kinds:
        return []
    each = min(max(len(k) for k in kinds), MAX_ITERATIONS * len(labels))
    chosen = []
    for kind in kinds:
        rounds = -(-each // len(kind))  # whole shuffled rounds, the last one cut
        chosen.append(np.concatenate([rng.permutation(kind) for _ in range(rounds)])[:each])
    picked = rng.permutation(np.concatenate(chosen))
    return [(int(first[p]), int(second[p]), float(alike[p])) for p in picked]


class PairDataset(Dataset):
    """Items ``({"x": {"a": tokens, "b": tokens, "ids": (i, j)}, "w": 1}, target)``:
    the two texts of pair ``k`` and their row numbers."""

    def __init__(self, tokens: TokenizedTexts, pairs):
        self.tokens, self.pairs = tokens, pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k):
        i, j, target = self.pairs[k]
        x = {"a": self.tokens[i], "b": self.tokens[j], "ids": torch.tensor([i, j])}
        return {"x": x, "w": torch.tensor(1.0)}, torch.tensor(target)


def distinct_rows(x: dict) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The distinct texts of a batch of pairs, each once: their tokens (padded to
    the longest of them) and, for each pair, where its two texts are among them.

    A few dozen texts make hundreds of pairs, so a batch of 16 pairs names far
    fewer than 32 distinct texts: each is embedded (and back-propagated) once
    per step instead of once per pair it is in."""
    a, b, ids = x["a"], x["b"], x["ids"]
    n = ids.shape[0]
    rows, where = torch.unique(torch.cat([ids[:, 0], ids[:, 1]]), return_inverse=True)
    first = torch.full((len(rows),), 2 * n, dtype=torch.long, device=ids.device)
    first.scatter_reduce_(0, where, torch.arange(2 * n, device=ids.device), reduce="amin")
    width = max(a["attention_mask"].shape[1], b["attention_mask"].shape[1])

    def padded(t):
        return nn.functional.pad(t, (0, width - t.shape[1]))

    tokens = {k: torch.cat([padded(a[k]), padded(b[k])])[first] for k in a}
    longest = int(tokens["attention_mask"].sum(dim=1).max())
    return {k: v[:, :longest] for k, v in tokens.items()}, where[:n], where[n:]


class PairSimilarity(nn.Module):
    """Cosine similarity of the embeddings of the two texts of each pair (a
    siamese embedder), each distinct text of the batch embedded once."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.body = SentenceBody(model)

    def forward(self, x, w=None):
        tokens, a, b = distinct_rows(x)
        embedded = self.body(tokens)
        return nn.functional.cosine_similarity(embedded[a], embedded[b])


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


def fused_adamw(device, dtype) -> dict:
    """``{"optimizer__fused": True}`` where torch has a fused AdamW for this device
    and dtype: one kernel over all the parameters instead of a loop over them.
    The contrastive stage trains every weight of the sentence model (23 M for
    MiniLM, half of them its word embeddings), and a step of the plain AdamW
    over them costs a CPU about as much as embedding a batch of short texts;
    the fused one 3 to 4 times less (Hugging Face's ``Trainer``, which setfit
    uses, picks the fused one too)."""
    try:
        probe = torch.zeros(1, device=device, dtype=dtype, requires_grad=True)
        probe.grad = torch.zeros_like(probe)
        torch.optim.AdamW([probe], fused=True).step()
    except (RuntimeError, TypeError, ValueError):
        return {}
    return {"optimizer__fused": True}


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
            **fused_adamw(self.device, next(model.parameters()).dtype),
        )
        if s["contrastive_epochs"] and pairs:
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
