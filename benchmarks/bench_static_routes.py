"""Routes to a static model that keeps its teacher's accuracy, side by side in one run.

The teacher is the shipped all-MiniLM-L6-v2; every static model is distilled
from it (``distill_static``). On four offline sets (Pang & Lee's 200 movie-review
sentences, UCLA course titles, Trump tweets, Amazon fine-food reviews), on the
same stratified 5 folds, each contender's mean accuracy and its ratio to the
teacher's (MiniLM + LogisticRegressionCV):

* static 256-d / 384-d + LogRegCV: the distilled model frozen (a larger
  dimension: 384 is MiniLM's whole width, PCA only rotates);
* tuned on the training folds' texts: ``distill_static(corpus=...)`` with the
  fold's training texts (no labels); the test fold's texts are never seen;
* tuned on other reviews: ``corpus=`` 2,000 Amazon reviews (not among those
  scored), for the three other sets: a larger unlabelled corpus of another
  domain;
* tuned on all the set's texts: ``corpus=`` every text of the set, the test
  folds' included (what a user who tunes on all the texts they will classify
  gets; the teacher has then seen the test texts, so this is not a held-out
  figure);
* StaticClassifier: the token vectors and a linear head trained on the labels
  (the epochs picked on held-out rows, 0 included);
* model2vec's StaticModelForClassification (``model2vec[train]``) on the same
  static model, with its defaults (a 512-unit hidden layer, its own early
  stopping), when installed.

Also printed: texts per second of the static models and of MiniLM on the same
600 tweets (one process, interleaved, median of 3; ``--throughput-only`` for
that alone).

Usage::

    python benchmarks/bench_static_routes.py            # distils two models first
    python benchmarks/bench_static_routes.py --static DIR256 --static-384 DIR384
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offline_sets import movie_sentences, tweets

from sktransfer import StaticClassifier, StaticEmbedder, TextEmbedder, distill_static
from sktransfer.datasets import load_courses, load_reviews


def head():
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6), cv=3, max_iter=3000, use_legacy_attributes=False
    )


def frame(df):
    return df[df.columns[0]].tolist(), df[df.columns[1]].to_numpy()


def embed(path, texts):
    return StaticEmbedder(model=path, verbose=0).fit(texts[:1]).transform(texts)


def score(X, y, train, test):
    return head().fit(X[train], y[train]).score(X[test], y[test])


def print_machine() -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def scored_sets(rows: int, corpus_rows: int):
    """The four sets scored, ``{title: (texts, labels)}``, and ``corpus_rows``
    Amazon reviews that are not among the scored ones (an unlabelled corpus)."""
    texts_s, positive = movie_sentences()
    sets = {
        "movie sentences": (texts_s, np.where(positive, "pos", "neg")),
        "course titles": frame(load_courses(n_rows=min(rows, 891))),
        "tweets": tweets(rows),
        "reviews": frame(load_reviews(n_rows=rows)),
    }
    scored = set(sets["reviews"][0])
    others = [t for t in load_reviews(n_rows=None)["review"] if t not in scored]
    return sets, others[:corpus_rows]


def model2vec_classifier(path, texts, y, train, test):
    try:
        from model2vec.train import StaticModelForClassification
    except ImportError:
        return None
    model = StaticModelForClassification.from_pretrained(model_name=path)
    model.fit([texts[i] for i in train], list(y[train]), device="cpu")
    return float(np.mean(np.asarray(model.predict([texts[i] for i in test])) == y[test]))


def throughput(paths, texts, repeats=3):
    embedders = {
        **{
            f"static {dim}-d": StaticEmbedder(model=path, verbose=0).fit(texts[:1])
            for dim, path in paths.items()
        },
        "MiniLM": TextEmbedder(device="cpu", verbose=0).fit(texts[:1]),
    }
    times = {name: [] for name in embedders}
    for est in embedders.values():
        est.transform(texts[:32])
    for _ in range(repeats):
        for name, est in embedders.items():
            start = time.perf_counter()
            est.transform(texts)
            times[name].append(time.perf_counter() - start)
    return {name: len(texts) / statistics.median(t) for name, t in times.items()}


def print_throughput(paths, texts):
    rates = throughput(paths, texts)
    shown = ", ".join(
        f"{name} {rate:.0f} texts/s ({rate / rates['MiniLM']:.0f}x MiniLM)"
        for name, rate in rates.items()
        if name != "MiniLM"
    )
    print(f"\nthroughput on {len(texts)} tweets: MiniLM {rates['MiniLM']:.0f} texts/s, {shown}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--static", help="MiniLM distilled to 256-d (default: distil now)")
    parser.add_argument("--static-384", help="MiniLM distilled to 384-d (default: distil now)")
    parser.add_argument("--corpus-rows", type=int, default=2000)
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print_machine()
    tmp = tempfile.TemporaryDirectory()
    paths = {}
    for dim, given in ((256, args.static), (384, args.static_384)):
        start = time.perf_counter()
        paths[dim] = given or distill_static(dim=dim, path=f"{tmp.name}/static{dim}", verbose=0)
        if not given:
            print(f"distilled MiniLM to {dim}-d in {time.perf_counter() - start:.0f} s", flush=True)
    if args.throughput_only:
        print_throughput(paths, tweets(args.rows)[0])
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        return
    sets, corpus = scored_sets(args.rows, args.corpus_rows)
    start = time.perf_counter()
    on_reviews = distill_static(
        dim=256, corpus=corpus, path=f"{tmp.name}/reviews", verbose=0
    )  # fmt: skip
    print(
        f"tuned the 256-d model on {len(corpus)} other reviews in "
        f"{time.perf_counter() - start:.0f} s (distilling included)",
        flush=True,
    )
    teacher = TextEmbedder(device="cpu", verbose=0)
    print("\n| set | contender | accuracy | vs MiniLM | seconds per fold |")
    print("|---|---|---|---|---|")
    for title, (texts, y) in sets.items():
        texts, y = list(texts), np.asarray(y)
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y))
        results = {}
        t0 = time.perf_counter()
        T = teacher.fit(texts[:1]).transform(texts)
        fixed = {
            "MiniLM + LogRegCV": (T, time.perf_counter() - t0),
            "static 256-d + LogRegCV": (embed(paths[256], texts), 0.0),
            "static 384-d + LogRegCV": (embed(paths[384], texts), 0.0),
        }
        if title != "reviews":
            fixed[f"tuned on {len(corpus):,} other reviews + LogRegCV"] = (
                embed(on_reviews, texts),
                0.0,
            )
        t0 = time.perf_counter()
        everything = distill_static(
            dim=256, corpus=texts, path=f"{tmp.name}/{title}-all", verbose=0
        )  # fmt: skip
        fixed["tuned on all the set's texts (seen) + LogRegCV"] = (
            embed(everything, texts),
            time.perf_counter() - t0,
        )
        for name, (X, seconds) in fixed.items():
            results[name] = ([score(X, y, tr, te) for tr, te in folds], seconds / 5)
        inductive, classifier, peer = [], [], []
        times = {"fold": [], "clf": [], "peer": []}
        for k, (train, test) in enumerate(folds):
            t0 = time.perf_counter()
            path = distill_static(
                dim=256,
                corpus=[texts[i] for i in train],
                path=f"{tmp.name}/{title}-fold{k}",
                verbose=0,
            )
            inductive.append(score(embed(path, texts), y, train, test))
            times["fold"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            clf = StaticClassifier(model=paths[256], random_state=0, verbose=0)
            clf.fit([texts[i] for i in train], y[train])
            times["clf"].append(time.perf_counter() - t0)
            classifier.append(clf.score([texts[i] for i in test], y[test]))
            t0 = time.perf_counter()
            got = model2vec_classifier(paths[256], texts, y, train, test)
            times["peer"].append(time.perf_counter() - t0)
            if got is not None:
                peer.append(got)
        results["tuned on the training folds' texts + LogRegCV"] = (
            inductive,
            np.mean(times["fold"]),
        )
        results["StaticClassifier (256-d)"] = (classifier, np.mean(times["clf"]))
        if peer:
            results["model2vec StaticModelForClassification"] = (peer, np.mean(times["peer"]))
        ref = np.mean(results["MiniLM + LogRegCV"][0])
        for name, (scores, seconds) in results.items():
            print(
                f"| {title} | {name} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {np.mean(scores) / ref:.3f} | {seconds:.1f} |",
                flush=True,
            )
    print_throughput(paths, sets["tweets"][0])
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
