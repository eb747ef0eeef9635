"""Text classification with cross-validation: pretrained embeddings vs TF-IDF.

Amazon fine-food reviews are labelled ``great`` or ``other``. A pretrained
sentence embedder (all-MiniLM-L6-v2, shipped in a pip package) feeds a logistic
regression; the same head on TF-IDF features shows what transfer adds.

Run: python examples/text_classification_cv.py [--rows 600] [--cv 5]
"""

import argparse

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sktransfer import TextEmbedder
from sktransfer.datasets import load_reviews


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()

    df = load_reviews(n_rows=args.rows)
    X, y = df["review"], df["score"]
    folds = StratifiedKFold(args.cv, shuffle=True, random_state=0)

    pipelines = {
        "tf-idf + logreg": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            LogisticRegression(max_iter=2000, class_weight="balanced"),
        ),
        # The model is loaded in fit and shared by the clones of every fold.
        "MiniLM + logreg": make_pipeline(
            TextEmbedder(model="all-MiniLM-L6-v2"),
            LogisticRegression(max_iter=2000, class_weight="balanced"),
        ),
    }
    for name, pipeline in pipelines.items():
        scores = cross_val_score(pipeline, X, y, cv=folds, scoring="balanced_accuracy")
        print(f"{name:<16} balanced accuracy {scores.mean():.3f} ± {scores.std():.3f}")


if __name__ == "__main__":
    main()
