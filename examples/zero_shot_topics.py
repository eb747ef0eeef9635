"""Classify course titles by subject with no labels, then with a few.

``load_courses`` holds 891 university course titles of ten subjects whose names
are words ("Physics", "Law", ...). Three models on the same random draws:

- zero-shot: each title gets the subject whose name ("This text is about
  Physics.") its MiniLM embedding is closest to; no labelled row is used;
- logreg: a logistic regression on the embeddings of ``--shots`` labelled
  titles per subject;
- few-shot blend: the zero-shot classifier given the same labelled titles, each
  subject's vector halfway between its name and the mean of its titles.

Each draw picks ``--shots`` labelled titles per subject and tests on the rest
(``--rows`` titles in all); the figures are balanced accuracy, mean ± std over
``--cv`` draws. Run::

    python examples/zero_shot_topics.py --rows 891 --cv 5 --shots 8
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline

from sktransfer import TextEmbedder
from sktransfer.datasets import load_courses
from sktransfer.similarity import ZeroShotClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=891, help="titles to use (of 891)")
    parser.add_argument("--cv", type=int, default=5, help="random draws of labelled titles")
    parser.add_argument("--shots", type=int, default=8, help="labelled titles per subject")
    args = parser.parse_args(argv)

    df = load_courses(n_rows=args.rows)
    X, y = np.asarray(df["title"], dtype=object), df["subject"].to_numpy()
    subjects = sorted(set(y))
    embedder = TextEmbedder(cache="memory")  # each title is embedded once for all models
    models = {
        "zero-shot": lambda: ZeroShotClassifier(labels=subjects, embedder=embedder),
        "logreg": lambda: make_pipeline(embedder, LogisticRegression(max_iter=2000)),
        "few-shot blend": lambda: ZeroShotClassifier(embedder=embedder),
    }
    scores = {name: [] for name in models}
    for seed in range(args.cv):
        rng = np.random.default_rng(seed)
        train = np.concatenate(
            [rng.permutation(np.flatnonzero(y == s))[: args.shots] for s in subjects]
        )
        test = np.setdiff1d(np.arange(len(y)), train)
        for name, make in models.items():
            if name == "zero-shot":
                model = make().fit(X[train])  # the titles only: no labels
            else:
                model = make().fit(X[train], y[train])
            scores[name].append(balanced_accuracy_score(y[test], model.predict(X[test])))
    print(
        f"{len(y)} titles, {len(subjects)} subjects, {args.shots} labelled per subject, "
        f"{args.cv} draws (chance {1 / len(subjects):.3f})"
    )
    for name, values in scores.items():
        print(f"{name:<16} balanced accuracy {np.mean(values):.3f} ± {np.std(values):.3f}")


if __name__ == "__main__":
    main()
