"""Classification by similarity and fusion of backbones, side by side in one run.

1. Topics with few labels (``load_courses``: 891 university course titles, ten
   subjects). On the same draws: chance, zero-shot (label names only), a
   logistic-regression head on 8 and 32 labelled titles per subject, and the
   few-shot blend of label names and class prototypes on 8 and 32. Every draw
   takes 32 titles per subject (the 8-shot sets are their first 8) and tests on
   all the others; figures are mean ± std over draws. The log loss of the
   probabilities says whether they are calibrated (uniform: ln 10 = 2.303).
2. Fusion of two image embedders on digits (``load_digits_images``):
   EfficientNet-Lite0 embeddings and raw pixels, each alone (standardised, as in
   ``sktransfer evaluate``), fused early (:class:`FusedEmbedder`), concatenated
   plainly (standardised, no block balance) and fused late
   (:func:`make_late_fusion`), the same logistic regression on the same folds.

Every text and image is embedded once (the embedding cache); the timings are
those of the whole step. Run::

    python benchmarks/bench_similarity.py                 # the figures in docs/benchmarks.md
    python benchmarks/bench_similarity.py --draws 2 --digits 100   # quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import EmbeddingCache, ImageEmbedder, TextEmbedder
from sktransfer.datasets import load_courses, load_digits_images
from sktransfer.fusion import FusedEmbedder, make_late_fusion
from sktransfer.image import PixelFeatures
from sktransfer.similarity import ZeroShotClassifier


def topics(draws: int, cache) -> None:
    df = load_courses()
    X, y = np.asarray(df["title"], dtype=object), df["subject"].to_numpy()
    subjects = sorted(set(y))
    start = time.perf_counter()
    embedder = TextEmbedder(cache=cache)
    embedder.fit(X).transform(X)  # every title once; the rest are cache hits
    embed_s = time.perf_counter() - start
    E = embedder.transform(X)
    zero = ZeroShotClassifier(labels=subjects, embedder=embedder).fit(X[:1])
    zero_proba = zero.predict_proba(X)
    scores: dict[str, list[float]] = {}
    losses: dict[str, list[float]] = {}

    def record(name, truth, pred, proba=None):
        scores.setdefault(name, []).append(accuracy_score(truth, pred))
        if proba is not None:
            losses.setdefault(name, []).append(log_loss(truth, proba, labels=subjects))

    for seed in range(draws):
        rng = np.random.default_rng(seed)
        pools = [rng.permutation(np.flatnonzero(y == s))[:32] for s in subjects]
        test = np.setdiff1d(np.arange(len(y)), np.concatenate(pools))
        record("chance (1 / 10 subjects)", y[test], rng.choice(subjects, len(test)))
        record("zero-shot: label names only", y[test], zero.classes_[zero_proba[test].argmax(1)],
               zero_proba[test])  # fmt: skip
        for k in (8, 32):
            train = np.concatenate([p[:k] for p in pools])
            head = LogisticRegression(max_iter=2000).fit(E[train], y[train])
            record(f"logreg head, {k} per class", y[test], head.predict(E[test]),
                   head.predict_proba(E[test]))  # fmt: skip
            blend = ZeroShotClassifier(embedder=embedder).fit(X[train], y[train])
            record(f"few-shot blend, {k} per class", y[test], blend.predict(X[test]),
                   blend.predict_proba(X[test]))  # fmt: skip
    print(f"\n## Topics: {len(y)} course titles, {len(subjects)} subjects, {draws} draws "
          f"(embedding all titles: {embed_s:.1f} s)")  # fmt: skip
    ref = np.mean(scores["logreg head, 8 per class"])
    print(f"{'method':<32} {'accuracy':>15} {'vs logreg@8':>11} {'log loss':>9}")
    order = ["chance (1 / 10 subjects)", "zero-shot: label names only",
             "logreg head, 8 per class", "few-shot blend, 8 per class",
             "logreg head, 32 per class", "few-shot blend, 32 per class"]  # fmt: skip
    for name in order:
        acc = np.array(scores[name])
        loss = f"{np.mean(losses[name]):9.3f}" if name in losses else f"{'-':>9}"
        print(
            f"{name:<32} {acc.mean():.3f} ± {acc.std():.3f} {acc.mean() / ref:10.2f}x {loss}",
            flush=True,
        )
    print(f"zero-shot temperature {zero.temperature_:.3f} (default); "
          f"few-shot fitted on the last draw: {blend.temperature_:.3f}")  # fmt: skip


def fusion(n_digits: int, image_size: int, cache) -> None:
    df = load_digits_images(n_rows=n_digits)
    X, y = df["image"], df["digit"].to_numpy()
    lite0 = ImageEmbedder(image_size=image_size, cache=cache)
    pixels = PixelFeatures(image_size=16)
    start = time.perf_counter()
    lite0.fit(X).transform(X)  # every image once; the folds are cache hits
    embed_s = time.perf_counter() - start
    head = LogisticRegression(max_iter=3000)
    both = [("lite0", lite0), ("pixels", pixels)]
    models = {
        "EfficientNet-Lite0 alone": make_pipeline(lite0, StandardScaler(), head),
        "raw pixels alone": make_pipeline(pixels, StandardScaler(), head),
        "plain concatenation": make_pipeline(FusedEmbedder(embedders=both), StandardScaler(), head),
        "early fusion (FusedEmbedder)": make_pipeline(FusedEmbedder(embedders=both), head),
        "late fusion (stacked heads)": make_late_fusion(
            [
                ("lite0", make_pipeline(lite0, StandardScaler())),
                ("pixels", make_pipeline(pixels, StandardScaler())),
            ],
            head=head,
            cv=3,
        ),
    }
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    print(f"\n## Fusion: {len(y)} digits, {image_size} px, 5 folds "
          f"(embedding all images: {embed_s:.1f} s)")  # fmt: skip
    print(f"{'features':<30} {'balanced accuracy':>17} {'vs best single':>14} {'seconds':>8}")
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        s = cross_val_score(model, X, y, cv=folds, scoring="balanced_accuracy")
        results[name] = (s, time.perf_counter() - start)
        print(f"  {name}: {s.mean():.3f}", file=sys.stderr, flush=True)
    best = max(results["EfficientNet-Lite0 alone"][0].mean(), results["raw pixels alone"][0].mean())
    for name, (s, seconds) in results.items():
        print(f"{name:<30} {s.mean():.3f} ± {s.std():.3f} {s.mean() / best:13.3f}x {seconds:8.1f}")
    print(
        "(plain concatenation: both blocks standardised together, so the 1280 Lite0 "
        "columns carry 1280/2048 of the variance; early fusion gives each block half)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5, help="random labelled sets per size")
    parser.add_argument("--digits", type=int, default=300, help="digit images for fusion")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--part", choices=["all", "topics", "fusion"], default="all")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.2f}")  # fmt: skip
    cache = EmbeddingCache()
    start = time.perf_counter()
    if args.part in ("all", "topics"):
        topics(args.draws, cache)
    if args.part in ("all", "fusion"):
        fusion(args.digits, args.image_size, cache)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
