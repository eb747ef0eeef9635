"""Word vectors and static embeddings vs TF-IDF, with cross-validation.

Amazon fine-food reviews are labelled ``great`` or ``other``. The classic
transfer recipe, word2vec trained on the training texts and averaged with SIF
weights, feeds a logistic regression; so does TF-IDF, the same head without
word vectors. Give a static model distilled from MiniLM (``--static DIR``,
written by ``sktransfer.text.distill_static``) to add it to the comparison.

Run: python examples/word_vectors_and_static.py [--rows 600] [--cv 5] [--static DIR]
"""

import argparse

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sktransfer import StaticEmbedder, WordVectorEmbedder
from sktransfer.datasets import load_reviews


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--static", help="a static model directory (from distill_static)")
    args = parser.parse_args()

    df = load_reviews(n_rows=args.rows)
    X, y = df["review"], df["score"]
    folds = StratifiedKFold(args.cv, shuffle=True, random_state=0)

    def head():
        return LogisticRegression(C=10, max_iter=2000, class_weight="balanced")

    pipelines = {
        "tf-idf + logreg": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), head()
        ),
        # Each fold trains word2vec on its own training texts (one worker, fixed
        # seed); a test review with no word seen in training is a zero vector.
        "word2vec (SIF) + logreg": make_pipeline(
            WordVectorEmbedder(pooling="sif", on_error="zero"), head()
        ),
    }
    if args.static:
        pipelines["static MiniLM + logreg"] = make_pipeline(
            StaticEmbedder(model=args.static), head()
        )
    for name, pipeline in pipelines.items():
        scores = cross_val_score(pipeline, X, y, cv=folds, scoring="balanced_accuracy")
        print(f"{name:<24} balanced accuracy {scores.mean():.3f} ± {scores.std():.3f}")


if __name__ == "__main__":
    main()
