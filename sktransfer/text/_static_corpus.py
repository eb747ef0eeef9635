"""Train a static model's token vectors on a corpus against its teacher.

A distilled static model gives each token the vector the teacher gives that
token alone; in a sentence the teacher reads tokens in context. Given texts of
the user's domain (no labels), the vectors of the tokens they contain are
trained so that the mean of a text's token vectors, through a linear map,
points where the teacher's sentence vector does (cosine loss; Tulkens & van
Dongen's ``tokenlearn`` trains this way). A tenth of the texts is held out and
training stops when their cosine stops improving. The map is then folded into
the table and the table expressed in an orthonormal basis of the map's range, which
is as wide as the static model: no information is lost. Tokens absent from the corpus keep their
distilled vectors through the same map.
"""

from __future__ import annotations

import numpy as np

from ._static import pool_vectors

# Epochs at most; training stops earlier when the held-out texts stop improving.
MAX_EPOCHS = 30
PATIENCE = 2
BATCH = 64
LR = 1e-3
HELD_OUT = 0.1
RIDGE = 0.1


def _ridge(X, Y, strength: float | None = None):
    """Least squares from ``X`` to ``Y`` with a ridge penalty (``strength`` times
    the mean eigenvalue of ``X.T @ X``): a few hundred texts do not pin down a
    map of the table's width by the teacher's, and an exact fit of them maps
    other texts anywhere."""
    strength = RIDGE if strength is None else strength
    gram = X.T @ X
    penalty = strength * np.trace(gram) / len(gram)
    return np.linalg.solve(gram + penalty * np.eye(len(gram)), X.T @ Y)


def corpus_tuned_vectors(vectors, ids, targets, *, seed: int = 0, count=None):
    """A new token table (``vectors.shape``, float32), trained on the corpus.

    ``vectors``: the static model's table (weights folded in); ``ids``: per
    corpus text, its known token ids (texts with none left out by the
    caller); ``targets``: the teacher's vectors of those texts. ``count``
    advances by one per batch. Returns ``(table, held-out cosine before,
    held-out cosine after)``.
    """
    import torch
    from torch import nn

    from ..finetune._training import seeded

    vectors = np.asarray(vectors, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    seen, compact = np.unique(np.concatenate(ids), return_inverse=True)
    lengths = np.array([len(i) for i in ids])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_held = max(1, round(HELD_OUT * len(ids))) if len(ids) >= 10 else 0
    held, train = order[:n_held], order[n_held:]
    # The linear map's start: least squares from the frozen means to the targets.
    means = pool_vectors(vectors, ids, normalize=False)
    start = _ridge(means[train], targets[train])

    with seeded(seed, torch.device("cpu")):
        table = nn.EmbeddingBag.from_pretrained(
            torch.from_numpy(vectors[seen]), freeze=False, mode="mean"
        )
        project = nn.Linear(vectors.shape[1], targets.shape[1], bias=False)
        with torch.no_grad():
            project.weight.copy_(torch.from_numpy(start.T.astype(np.float32)))
        flat = torch.from_numpy(compact.astype(np.int64))
        starts = torch.from_numpy(offsets.astype(np.int64))
        sizes = torch.from_numpy(lengths.astype(np.int64))
        goal = torch.from_numpy(targets)

        def batch(rows):
            rows = torch.as_tensor(rows, dtype=torch.long)
            pieces = [flat[starts[r] : starts[r] + sizes[r]] for r in rows.tolist()]
            bag_offsets = torch.cumsum(
                torch.cat([torch.zeros(1, dtype=torch.long), sizes[rows]]), 0
            )
            return project(table(torch.cat(pieces), bag_offsets[:-1])), goal[rows]

        def held_cosine():
            if not len(held):
                return float("nan")
            with torch.no_grad():
                out, want = batch(held)
                return float(nn.functional.cosine_similarity(out, want).mean())

        optimizer = torch.optim.Adam([*table.parameters(), *project.parameters()], lr=LR)
        before = best = held_cosine()
        best_state, since = None, 0
        for _ in range(MAX_EPOCHS):
            shuffled = rng.permutation(train)
            for i in range(0, len(shuffled), BATCH):
                out, want = batch(shuffled[i : i + BATCH])
                loss = (1 - nn.functional.cosine_similarity(out, want)).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if count is not None:
                    count.update(1)
            if not len(held):
                continue
            now = held_cosine()
            if now > best:
                best, since = now, 0
                best_state = (table.weight.detach().clone(), project.weight.detach().clone())
            else:
                since += 1
                if since >= PATIENCE:
                    break
        if best_state is not None:
            tuned, mapping = (t.numpy() for t in best_state)
        elif len(held):  # no epoch beat the start: the distilled table, mapped
            tuned, mapping = vectors[seen], start.T.astype(np.float32)
        else:
            tuned, mapping = table.weight.detach().numpy(), project.weight.detach().numpy()
    full = vectors.copy()
    full[seen] = tuned
    # The map's rows span a subspace of the teacher's space as wide as the table;
    # its orthonormal basis turns the mapped vectors back to that width exactly.
    _, _, basis = np.linalg.svd(mapping.T, full_matrices=False)
    out = (full @ mapping.T) @ basis.T
    return out.astype(np.float32), before, best
