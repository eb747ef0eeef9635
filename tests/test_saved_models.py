"""Saved models load without running code from the file, and checked weight files."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import sktransfer.evaluate
from sktransfer._hub_files import check_torchvision_checkpoint
from sktransfer.cli import main
from sktransfer.evaluate import (
    Columns,
    DataError,
    build_candidates,
    detect_columns,
    load_pipeline,
    save_pipeline,
)
from sktransfer.evaluate._bundle import PICKLE_FORMAT


# ---------------------------------------------------------------- helpers
class MakesMarker:
    """Unpickling this creates ``path``: what a crafted model file does."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def review_texts(X):
    return X["review"].tolist()


def zeros(X):
    return np.zeros((len(X), 1))


class Sneaky(BaseEstimator):
    """A type sktransfer does not know."""


def nested_estimators(obj, seen=None):
    """Every estimator inside ``obj``: steps, fitted transformers_, embedder_, …"""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, BaseEstimator):
        found = [obj]
        children = vars(obj).values()
    elif isinstance(obj, (list, tuple, dict)):
        found = []
        children = obj.values() if isinstance(obj, dict) else obj
    else:
        return []
    for child in children:
        found += nested_estimators(child, seen)
    return found


def cached_params(pipeline) -> dict:
    return {
        f"{type(e).__name__}@{id(e)}": e.cache
        for e in nested_estimators(pipeline)
        if "cache" in e.get_params(deep=False)
    }


def error_of(args, capsys) -> str:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


@pytest.fixture(scope="module")
def tables(reviews, tmp_path_factory):
    """40 training reviews and 12 new rows, two of them with no text."""
    root = tmp_path_factory.mktemp("saved")
    train = pd.concat(
        [
            reviews[reviews.score == "great"].head(20),
            reviews[reviews.score == "other"].head(20),
        ]
    )
    train.to_csv(root / "train.csv", index=False)
    new = reviews.iloc[1000:1012].drop(columns="score").reset_index(drop=True)
    new.loc[[3, 7], "review"] = np.nan
    new.to_csv(root / "new.csv", index=False)
    return root


@pytest.fixture(scope="module")
def saved(tables, tmp_path_factory):
    """``sktransfer evaluate --save-best`` on the 40 rows; the pipeline it saved, kept."""
    root = tmp_path_factory.mktemp("model")
    kept = {}
    real = sktransfer.evaluate.save_pipeline

    def keep(path, pipeline, *args, **kwargs):
        kept["pipeline"] = pipeline
        return real(path, pipeline, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sktransfer.evaluate, "save_pipeline", keep)
        code = main(
            ["evaluate", str(tables / "train.csv"), "--target", "score", "--cv", "2", "-q",
             "--cache", str(root / "cache"), "--out", str(root / "report"),
             "--save-best", str(root / "best.skops")]
        )  # fmt: skip
    assert code == 0
    return root / "best.skops", kept["pipeline"], root / "cache"


# ---------------------------------------------------------------- skops files
@pytest.mark.slow
def test_saved_model_predicts_the_same(saved, tables, tmp_path, capsys):
    path, pipeline, _ = saved
    assert path.read_bytes()[:2] == b"PK"  # a skops (zip) file, not a pickle
    out = str(tmp_path / "p.csv")
    code = main(["predict", str(path), str(tables / "new.csv"), "--out", out, "--proba"])
    err = capsys.readouterr().err
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "p.csv")
    new = pd.read_csv(tables / "new.csv")
    X = new.assign(review=new["review"].fillna(""))[["review"]]
    assert list(pred["prediction"]) == list(pipeline.predict(X))
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X)
        for k, label in enumerate(pipeline.classes_):
            np.testing.assert_allclose(pred[f"proba_{label}"], proba[:, k], atol=1e-5)
    # The rows with no text are named, not silently filled.
    assert "warning" in err and "2 rows (3, 7)" in err


@pytest.mark.slow
def test_saved_model_holds_no_cache_folder(saved, reviews, tmp_path):
    from sktransfer import TextEmbedder
    from sktransfer.finetune import TextClassifier

    path = saved[0]
    assert set(cached_params(load_pipeline(path)["pipeline"]).values()) <= {None}
    # The best of a leaderboard may be the baseline, which has no embedder: save a
    # transfer candidate and a fine-tuner with their embedders caching to a folder.
    df = reviews.head(40)
    cols = detect_columns(df, "score")
    cache = tmp_path / "cache"
    transfer = build_candidates(cols, "classification", cache=cache, min_class_rows=10)[-1]
    tuner = TextClassifier(embedder=TextEmbedder(cache=cache), max_epochs=2, random_state=0)
    for fitted in (
        transfer.pipeline.fit(df[cols.features], df["score"]),
        Pipeline([("pick", FunctionTransformer(review_texts)), ("head", tuner)]).fit(
            df, df["score"]
        ),
    ):
        before = cached_params(fitted)
        assert str(cache) in str(before.values())  # nested fitted embedders cache to the folder
        saved_path = save_pipeline(tmp_path / "m.skops", fitted, cols, "classification")
        caches = cached_params(load_pipeline(saved_path, trusted=True)["pipeline"])
        assert len(caches) == len(before) >= 2  # the template and the fitted copy
        assert set(caches.values()) == {None}, caches
        assert cached_params(fitted) == before  # the writer's pipeline is left as it was


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_finetuned_head_saves_as_arrays(reviews, tmp_path, task):
    df = reviews.head(40).assign(stars=np.linspace(1, 5, 40))
    target = "score" if task == "classification" else "stars"
    cols = detect_columns(df, target, ignore=["stars" if target == "score" else "score"])
    mlp = build_candidates(cols, task, heads=("mlp",), cache="memory", min_class_rows=10)[-1]
    fitted = mlp.pipeline.fit(df[cols.features], df[target])
    path = save_pipeline(tmp_path / "m.skops", fitted, cols, task)
    loaded = load_pipeline(path)["pipeline"]
    X = df[cols.features].head(8)
    if task == "classification":
        np.testing.assert_allclose(
            loaded.predict_proba(X), fitted.predict_proba(X), rtol=1e-5, atol=1e-6
        )
    else:
        np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-5)
    assert set(cached_params(loaded).values()) == {None}
    assert fitted.predict(X).shape == (8,)  # the writer's head still works after saving


def test_finetuned_image_head_saves_and_backbone_training_is_refused(tmp_path):
    from sktransfer import ImageEmbedder
    from sktransfer.finetune import ImageClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, size=(12, 32, 32, 3), dtype=np.uint8)
    y = np.array(["cat", "dog", "owl"] * 4)
    embedder = ImageEmbedder(image_size=32, cache=tmp_path / "cache")
    columns = Columns(target="y", image=["image"])
    head_only = ImageClassifier(embedder=embedder, max_epochs=2, random_state=0).fit(X, y)
    path = save_pipeline(tmp_path / "m.skops", head_only, columns, "classification")
    loaded = load_pipeline(path)["pipeline"]
    np.testing.assert_allclose(loaded.predict_proba(X), head_only.predict_proba(X), atol=1e-6)
    assert loaded.embedder_.cache is None and head_only.embedder_.cache is not None
    tuned = ImageClassifier(embedder=embedder, unfreeze=1, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="unfreeze=1"):
        save_pipeline(tmp_path / "t.skops", tuned, columns, "classification")
    assert tuned.embedder_.cache is not None  # nothing was changed by the failed save


def _bundle(pipeline) -> dict:
    columns = Columns(target="score", text=["review"])
    return {"format": "sktransfer-pipeline/2", "pipeline": pipeline,
            "columns": columns.to_dict(), "task": "classification", "candidate": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "named"),
    [(Sneaky(), "Sneaky"), (FunctionTransformer(func=os.system), "system")],
    ids=["unknown class", "function from the file"],
)
def test_skops_file_with_untrusted_type_is_refused(tmp_path, capsys, payload, named):
    import skops.io

    path = tmp_path / "m.skops"
    skops.io.dump(_bundle(Pipeline([("step", payload)])), path)
    with pytest.raises(DataError, match=named) as info:
        load_pipeline(path)
    assert "--trust-pickle" in str(info.value)
    err = error_of(["predict", path, tmp_path / "rows.csv"], capsys)
    assert named in err and "refusing" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- pickles
def _write_pickle(path, kind, marker):
    bundle = {"format": PICKLE_FORMAT, "pipeline": MakesMarker(marker)}
    if kind == "pickle":
        path.write_bytes(pickle.dumps(bundle))
    else:
        joblib.dump(bundle, path, compress=3 if kind == "joblib-compressed" else 0)


@pytest.mark.parametrize("kind", ["pickle", "joblib", "joblib-compressed"])
def test_crafted_pickle_is_refused_without_running(tmp_path, capsys, kind, small_rows):
    marker = tmp_path / "ran"
    path = tmp_path / "model.joblib"
    _write_pickle(path, kind, marker)
    err = error_of(["predict", path, small_rows, "--out", tmp_path / "p.csv"], capsys)
    assert "refusing" in err and "pickle" in err and "--trust-pickle" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(DataError, match="trusted=True"):
        load_pipeline(path)
    assert not marker.exists()
    # The file really runs code when it is trusted: the refusal above is what stopped it.
    with pytest.raises(DataError, match="not a saved sktransfer pipeline"):
        load_pipeline(path, trusted=True)
    assert marker.exists()


@pytest.fixture
def small_rows(tmp_path):
    path = tmp_path / "rows.csv"
    pd.DataFrame({"review": ["a tasty snack, would buy again"] * 3}).to_csv(path, index=False)
    return path


def test_legacy_pickle_loads_when_trusted(tmp_path, capsys, small_rows):
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit([[0]] * 4, ["great", "great", "great", "other"])
    pipeline = Pipeline([("pick", FunctionTransformer(zeros)),
                         ("head", model)])  # fmt: skip
    path = tmp_path / "old.joblib"
    joblib.dump({**_bundle(pipeline), "format": PICKLE_FORMAT}, path)
    error_of(["predict", path, small_rows], capsys)
    out = tmp_path / "p.csv"
    assert main(["predict", str(path), str(small_rows), "--out", str(out), "--trust-pickle"]) == 0
    assert list(pd.read_csv(out)["prediction"]) == ["great"] * 3


# ---------------------------------------------------------------- predict's data errors
@pytest.mark.slow
def test_predict_out_under_a_file(saved, tables, tmp_path, capsys):
    blocker = tmp_path / "report"
    blocker.write_text("a file")
    err = error_of(["predict", saved[0], tables / "new.csv", "--out", blocker / "p.csv"], capsys)
    assert len(err.strip().splitlines()) == 1
    assert str(blocker / "p.csv") in err and "is a file, not a folder" in err
    assert "File exists" not in err


@pytest.mark.slow
def test_predict_latin1_table(saved, tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("review\nun caf\xe9 tr\xe8s bon je recommande\n".encode("latin-1"))
    err = error_of(["predict", saved[0], path, "--out", tmp_path / "p.csv"], capsys)
    assert len(err.strip().splitlines()) == 1
    assert "latin.csv" in err and "byte 13" in err and "line 2" in err
    assert "--encoding latin-1" in err
    args = ["predict", str(saved[0]), str(path), "--out", str(tmp_path / "p.csv")]
    assert main([*args, "--encoding", "latin-1"]) == 0
    assert pd.read_csv(tmp_path / "p.csv")["review"][0] == "un café très bon je recommande"


def test_evaluate_latin1_table(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    rows = "".join(f"caf\xe9 number {i} is tasty,{i % 2}\n" for i in range(6))
    path.write_bytes(("review,y\n" + rows).encode("latin-1"))
    err = error_of(["evaluate", path, "--target", "y", "--no-cache", "--cv", "7"], capsys)
    assert "byte 12" in err and "--encoding latin-1" in err
    # With the encoding the file is read: the next error is about the folds.
    err = error_of(
        ["evaluate", path, "--target", "y", "--no-cache", "--cv", "7", "--encoding", "latin-1"],
        capsys,
    )
    assert "--cv" in err and "encoding" not in err


# ---------------------------------------------------------------- torchvision checkpoints
@pytest.fixture
def checkpoint(tmp_path):
    import torch

    raw = tmp_path / "raw.pth"
    torch.save({"fc.weight": torch.arange(6.0).reshape(2, 3)}, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    return raw, digest


def test_checkpoint_with_the_published_hash_loads(checkpoint):
    raw, digest = checkpoint
    path = raw.rename(raw.with_name(f"resnet18-{digest[:8]}.pth"))
    url = f"https://download.pytorch.org/models/{path.name}"
    state = check_torchvision_checkpoint(path, url)
    np.testing.assert_array_equal(state["fc.weight"].numpy(), np.arange(6.0).reshape(2, 3))
    assert check_torchvision_checkpoint(path)["fc.weight"].shape == (2, 3)


def test_checkpoint_with_another_hash_is_refused(checkpoint):
    raw, digest = checkpoint
    path = raw.rename(raw.with_name("resnet18-f37072fd.pth"))
    with pytest.raises(ValueError, match="not the published file") as info:
        check_torchvision_checkpoint(
            path, "https://download.pytorch.org/models/resnet18-f37072fd.pth"
        )
    message = str(info.value)
    assert str(path) in message and "f37072fd" in message and digest[:8] in message
    assert "download" in message


def test_checkpoint_named_unlike_its_url_is_refused(checkpoint):
    raw, digest = checkpoint
    path = raw.rename(raw.with_name(f"resnet18-{digest[:8]}.pth"))
    with pytest.raises(ValueError, match=r"resnet50-0676ba61\.pth"):
        check_torchvision_checkpoint(
            path, "https://download.pytorch.org/models/resnet50-0676ba61.pth"
        )


def test_checkpoint_with_code_is_refused_even_with_the_right_hash(tmp_path):
    import torch

    marker = tmp_path / "ran"
    raw = tmp_path / "raw.pth"
    torch.save({"fc.weight": torch.zeros(2), "extra": MakesMarker(marker)}, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    path = raw.rename(raw.with_name(f"resnet18-{digest[:10]}.pth"))
    with pytest.raises(ValueError, match="weights only") as info:
        check_torchvision_checkpoint(path)
    assert len(str(info.value).splitlines()) == 1
    assert not marker.exists()


def test_checkpoint_without_a_hash_in_its_name(tmp_path):
    import torch

    path = tmp_path / "resnet18.pth"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="no hash prefix"):
        check_torchvision_checkpoint(path)


# ---------------------------------------------------------------- cache locations
def _name_cache_folder(path, folder) -> int:
    """Edit a saved skops file so that every ``cache`` it holds names ``folder``
    (what a crafted file does); returns how many were edited."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    schema = json.loads(parts["schema.json"])
    edited = 0

    def walk(node):
        nonlocal edited
        if isinstance(node, dict):
            content = node.get("content")
            if isinstance(content, dict) and isinstance(content.get("cache"), dict):
                content["cache"]["content"] = json.dumps(str(folder))
                edited += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    parts["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return edited


def test_a_cache_folder_named_in_a_saved_file_is_dropped(text_embedder, tmp_path):
    """A file edited to name a cache folder (holding planted vectors) neither
    reads vectors from it nor writes to it: loading gives every estimator
    cache=None, the documented rule, even for a trusted pickle."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sktransfer import EmbeddingCache, TextEmbedder
    from sktransfer._cache import digest
    from sktransfer.io import text_row_key

    good = ["great food, loved it", "delicious and fresh", "wonderful taste"]
    bad = ["awful, stale and bland", "terrible, would not buy", "disgusting taste"]
    X, y = good + bad, ["great"] * 3 + ["other"] * 3
    fitted = make_pipeline(TextEmbedder(), LogisticRegression(C=10.0)).fit(X, y)
    assert list(fitted.predict(X)) == y
    # The folder holds, under the embedder's own namespace and keys, each review's
    # opposite: read from there, every prediction flips.
    folder = tmp_path / "planted"
    planted = EmbeddingCache(folder)
    namespace = fitted[0].embedding_id_
    keys = [digest(text_row_key(t)) for t in X]
    planted.put_many(namespace, keys, text_embedder.transform(bad + good))
    planted.flush(namespace)
    files = sorted(p.name for p in folder.rglob("*"))
    columns = Columns(target="y", text=["t"])
    path = save_pipeline(tmp_path / "m.skops", fitted, columns, "classification")
    assert _name_cache_folder(path, folder) >= 1
    loaded = load_pipeline(path)["pipeline"]
    assert list(loaded.predict([*X, "a new review"])[:6]) == y
    assert sorted(p.name for p in folder.rglob("*")) == files  # nothing written there
    assert set(cached_params(loaded).values()) == {None}
    # A trusted pickle that names a folder: dropped the same way.
    joblib.dump(
        {"format": PICKLE_FORMAT, "pipeline": fitted.set_params(textembedder__cache=folder),
         "columns": columns.to_dict(), "task": "classification"},
        tmp_path / "m.joblib",
    )  # fmt: skip
    fitted.set_params(textembedder__cache=None)
    loaded = load_pipeline(tmp_path / "m.joblib", trusted=True)["pipeline"]
    assert set(cached_params(loaded).values()) == {None}
    assert list(loaded.predict(X)) == y


# ---------------------------------------------------------------- sktransfer.save / load
GOOD = ["great food, loved it", "delicious and fresh", "wonderful taste"]
BAD = ["awful, stale and bland", "terrible, would not buy", "disgusting taste"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny random sentence-transformers model: fine-tuning on it takes a moment."""
    from random_models import write_tiny_text_model

    return write_tiny_text_model(tmp_path_factory.mktemp("tiny") / "model")


def test_users_own_pipeline_round_trips(tmp_path):
    """A pipeline the user built (no evaluate, no columns) saves and loads as data;
    the cache folder it used is neither written to the file nor taken from it."""
    from sklearn.linear_model import LogisticRegression

    import sktransfer

    cache = tmp_path / "cache"
    X, y = GOOD + BAD, ["great"] * 3 + ["other"] * 3
    fitted = Pipeline(
        [("embed", sktransfer.TextEmbedder(cache=cache)), ("head", LogisticRegression(C=10.0))]
    ).fit(X, y)
    path = sktransfer.save(fitted, tmp_path / "mine.skops")
    assert path.read_bytes()[:2] == b"PK"
    loaded = sktransfer.load(path)
    assert isinstance(loaded, Pipeline) and loaded is not fitted
    new = [*X, "a new review, quite good"]
    assert list(loaded.predict(new)) == list(fitted.predict(new))
    np.testing.assert_allclose(loaded.predict_proba(new), fitted.predict_proba(new), atol=1e-5)
    assert loaded[0].cache is None and fitted[0].cache == cache


def test_finetuned_text_classifier_round_trips(tiny_model, tmp_path):
    import sktransfer

    X, y = GOOD + BAD, ["great"] * 3 + ["other"] * 3
    clf = sktransfer.TextClassifier(
        embedder=sktransfer.TextEmbedder(model=tiny_model), max_epochs=3, random_state=0
    ).fit(X, y)
    loaded = sktransfer.load(sktransfer.save(clf, tmp_path / "clf.skops"))
    assert type(loaded) is type(clf) and hasattr(loaded, "net_")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert list(loaded.predict(X)) == list(clf.predict(X))
    assert clf.predict(X).shape == (6,)  # the saved estimator still works


def _every_estimator(model):
    """One fitted example of each sktransfer estimator, inside scikit-learn pieces."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import sktransfer as st

    def embed():
        return st.TextEmbedder(model=model)

    X, y = (GOOD + BAD) * 2, np.array((["great"] * 3 + ["other"] * 3) * 2)
    frame = pd.DataFrame({"review": X, "n": np.arange(12.0)})
    yield (
        "column transformer",
        make_pipeline(
            ColumnTransformer([("text", embed(), "review"), ("num", "passthrough", ["n"])]),
            LogisticRegression(),
        ).fit(frame, y),
        frame,
    )
    yield (
        "regressor",
        st.TextRegressor(embedder=embed(), max_epochs=2, random_state=0).fit(X, np.arange(12.0)),
        X,
    )
    yield "prototypes", st.PrototypeClassifier(embedder=embed()).fit(X, y), X
    yield (
        "zero-shot",
        st.ZeroShotClassifier(embedder=embed(), labels=["great", "other"]).fit(X, y),
        X,
    )
    fused = st.FusedEmbedder(embedders=[("a", embed()), ("b", embed())])
    yield "early fusion", make_pipeline(fused, LogisticRegression()).fit(X, y), X
    yield "late fusion", st.make_late_fusion([("a", embed()), ("b", embed())], cv=2).fit(X, y), X
    teacher = make_pipeline(embed(), LogisticRegression()).fit(X, y)
    student = st.TextClassifier(embedder=embed(), max_epochs=2, random_state=0)
    yield "distilled", st.DistilledClassifier(teacher=teacher, student=student).fit(X, y), X
    pytest.importorskip("skada")
    coral = st.make_coral_pipeline(embed()).fit(
        X, (y == "great").astype(int), sample_domain=np.where(np.arange(12) < 8, 1, -2)
    )
    yield "coral (skada)", coral, X


def test_every_sktransfer_estimator_round_trips(tiny_model, tmp_path):
    import sktransfer

    for name, fitted, X in _every_estimator(tiny_model):
        loaded = sktransfer.load(sktransfer.save(fitted, tmp_path / "m.skops"))  # no trusted=
        assert type(loaded) is type(fitted), name
        if hasattr(fitted, "predict_proba"):
            np.testing.assert_allclose(
                loaded.predict_proba(X), fitted.predict_proba(X), atol=1e-5, err_msg=name
            )
        else:
            np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), atol=1e-4)
        assert list(loaded.predict(X)) == list(fitted.predict(X)) or name == "regressor"


def test_untrusted_type_is_refused_by_name_and_trusted_on_request(tmp_path):
    import sktransfer
    from sktransfer.exceptions import UntrustedFileError

    path = sktransfer.save(Pipeline([("mine", Sneaky())]), tmp_path / "m.skops")
    name = f"{__name__}.Sneaky"
    with pytest.raises(UntrustedFileError, match=name) as info:
        sktransfer.load(path)
    assert info.value.types == [name] and isinstance(info.value, ValueError)
    assert "trusted=[" in str(info.value)
    loaded = sktransfer.load(path, trusted=[name])
    assert type(loaded[0]) is Sneaky
    assert type(sktransfer.load(path, trusted=True)[0]) is Sneaky


def test_plain_skops_file_loads(text_embedder, tmp_path):
    """A file written by skops itself (no sktransfer.save) loads, and the
    allow-list applies to it: its sktransfer types need no trusted=."""
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    import sktransfer

    X, y = GOOD + BAD, ["great"] * 3 + ["other"] * 3
    fitted = Pipeline(
        [("embed", sktransfer.TextEmbedder()), ("scale", StandardScaler()),
         ("head", LogisticRegression())]
    ).fit(X, y)  # fmt: skip
    skops.io.dump(fitted, tmp_path / "plain.skops")
    loaded = sktransfer.load(tmp_path / "plain.skops")
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), atol=1e-5)


def test_pickle_loads_only_when_trusted(tmp_path):
    import sktransfer
    from sktransfer.exceptions import UntrustedFileError

    marker = tmp_path / "ran"
    path = tmp_path / "m.joblib"
    joblib.dump(MakesMarker(marker), path)
    with pytest.raises(UntrustedFileError, match="pickle") as info:
        sktransfer.load(path)
    assert info.value.types == [] and "trusted=True" in str(info.value)
    assert not marker.exists()
    sktransfer.load(path, trusted=True)
    assert marker.exists()
