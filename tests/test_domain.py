"""Domain adaptation: sktransfer embedders in skada's DA pipelines (feature-level
CORAL), and the fine-tuning estimators' ``domain_loss`` (Deep CORAL).

skada routes ``sample_domain`` through scikit-learn's metadata routing, which
importing skada switches on for the whole process. sktransfer imports it with
the configuration put back, and its DA pipelines switch routing on inside their
own methods only. skada's own pipelines (used as-is in some tests here) need it
on: every test here runs inside a config context that switches it on (the tests
of the configuration itself switch it off first), and the root conftest puts
the configuration back after each test.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from sktransfer import ImageClassifier, TextClassifier, TextEmbedder, TransferClassifier
from sktransfer.adapt import coral_gap, make_coral_pipeline

with sklearn.config_context():  # skada's import switches routing on for the process
    skada = pytest.importorskip("skada")


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def shifted(n=60, seed=0):
    """Source rows and target rows with another covariance and mean; the label is
    the sign of the first two columns' sum in both (the same task)."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(n, 4))
    mix = np.array([[2.0, 0.5, 0, 0], [0, 0.5, 0, 0], [0, 0, 3.0, 1.0], [0, 0, 0, 0.2]])
    target = rng.normal(size=(n, 4)) @ mix + 1.0
    label = lambda rows: (rows[:, 0] + rows[:, 1] > rows[:, :2].sum(1).mean()).astype(int)  # noqa: E731
    return source, label(source), target, label(target)


def da_rows(source, y_source, target):
    """``X, y, sample_domain`` as skada takes them: target labels masked as -1."""
    X = np.concatenate([source, target])
    y = np.concatenate([y_source, np.full(len(target), -1)])
    domain = np.concatenate([np.ones(len(source), int), np.full(len(target), -2)])
    return X, y, domain


# ------------------------------------------------------------- feature level
def test_coral_pipeline_aligns_covariances():
    source, y, target, _ = shifted(n=80)
    X, y_masked, domain = da_rows(source, y, target)
    pipe = make_coral_pipeline(FunctionTransformer(), reg=0.01)
    pipe.fit(X, y_masked, sample_domain=domain)
    coral = pipe.named_steps["coraladapter"].get_estimator()
    aligned = coral.transform(source, sample_domain=np.ones(len(source)), allow_source=True)
    before, after = coral_gap(source, target), coral_gap(aligned, target)
    # Measured: 0.49 -> 0.00004.
    assert after < 0.01 * before
    np.testing.assert_allclose(coral.mean_source_, source.mean(0))
    # The classifier learned from source rows only: the masked -1 never became a class.
    assert list(pipe.named_steps["logisticregression"].get_estimator().classes_) == [0, 1]
    # Rows without sample_domain are target rows: the same predictions as with it.
    np.testing.assert_array_equal(
        pipe.predict(target), pipe.predict(target, sample_domain=np.full(len(target), -2))
    )


@pytest.fixture(scope="module")
def tiny_text_model(tmp_path_factory):
    """A one-layer BERT of width 32 with MiniLM's tokenizer and random weights:
    these tests are about the plumbing around a backbone, not its weights."""
    from random_models import write_tiny_text_model

    return write_tiny_text_model(tmp_path_factory.mktemp("tiny_text"))


@pytest.mark.parametrize("kind", ["text", "image"])
def test_embedders_work_in_skada_pipelines(kind, request):
    """make_da_pipeline(embedder, CORALAdapter(), LogisticRegression()) as skada users
    write it: the embedder is fitted on all rows and never sees sample_domain, CORAL
    gets it, the classifier gets the source rows only."""
    if kind == "text":
        embedder = TextEmbedder(model=request.getfixturevalue("tiny_text_model"), batch_size=8)
        source = ["great coffee", "loved it", "awful", "stale and bitter", "tasty", "bland"]
        target = ["a fine film", "boring plot", "superb acting", "dull", "moving", "weak"]
    else:
        # The session's shipped Lite0, small inputs, an inner stage's 40 features:
        # CORAL's eigendecompositions of the head's 1280 take most of a minute
        # on a loaded machine.
        embedder = clone(request.getfixturevalue("image_embedder")).set_params(
            image_size=32, layer=-3, batch_size=8
        )
        rng = np.random.default_rng(0)
        source = list(rng.integers(0, 120, (6, 16, 16, 3), dtype=np.uint8))
        target = list(rng.integers(100, 255, (6, 16, 16, 3), dtype=np.uint8))
    y_masked = np.array([1, 1, 0, 0, 1, 0] + [-1] * 6)
    domain = np.array([1] * 6 + [-2] * 6)
    X = source + target
    pipe = skada.make_da_pipeline(embedder, skada.CORALAdapter(reg=0.1), LogisticRegression())
    pipe.fit(X, y_masked.copy(), sample_domain=domain)
    embedder = pipe[0].get_estimator()
    E = embedder.transform(X)
    coral = pipe[1].get_estimator()
    np.testing.assert_allclose(coral.mean_target_, E[6:].mean(0), rtol=1e-4, atol=1e-5)
    clf = pipe[-1].get_estimator()
    assert list(clf.classes_) == [0, 1]
    proba = pipe.predict_proba(target)
    assert proba.shape == (6, 2) and np.isfinite(proba).all()


def test_coral_pipeline_default_estimator_and_clone():
    source, y, target, y_target = shifted()
    X, y_masked, domain = da_rows(source, y, target)
    pipe = make_coral_pipeline(FunctionTransformer())
    assert isinstance(pipe[-1].base_estimator, LogisticRegression)
    fitted = clone(pipe).fit(X, y_masked, sample_domain=domain)
    plain = LogisticRegression().fit(source, y)
    # CORAL turns the source into the target's shape: it helps on this shift.
    assert fitted.score(target, y_target) > plain.score(target, y_target)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(target), fitted.predict(target))


def test_coral_gap_measures_covariance_distance():
    rows = np.random.default_rng(0).normal(size=(400, 3))
    assert coral_gap(rows, rows) == 0.0
    # Covariances I and 4I: ||3I||^2 / (4 * 3^2) = 27 / 36, up to sampling noise.
    assert coral_gap(rows, 2 * rows) == pytest.approx(0.75, rel=0.2)
    with pytest.raises(ValueError, match="same number of columns"):
        coral_gap(rows, rows[:, :2])


# ------------------------------------------------------------- deep alignment
DEEP = dict(
    embedder=FunctionTransformer(), head=(16,), max_epochs=15, lr=1e-2, random_state=0, device="cpu"
)


def hidden_gap(est, source, target) -> float:
    """coral_gap of the head's hidden activations (what domain_loss aligns)."""
    import torch

    hidden = est.net_.module_.head.layers[:-1]
    with torch.no_grad():
        s, t = (hidden(torch.as_tensor(r, dtype=torch.float32)).numpy() for r in (source, target))
    return coral_gap(s, t)


@pytest.fixture(scope="module")
def deep_pair():
    source, y, target, y_target = shifted()
    X, y_masked, domain = da_rows(source, y, target)
    with sklearn.config_context(enable_metadata_routing=True):
        plain = TransferClassifier(**DEEP).fit(X, y_masked, sample_domain=domain)
        coral = TransferClassifier(**DEEP, domain_loss="coral", domain_weight=10.0)
        coral.fit(X, y_masked, sample_domain=domain)
    return plain, coral, (source, y, target, y_target)


def test_deep_coral_reduces_the_covariance_gap(deep_pair):
    plain, coral, (source, y, target, _) = deep_pair
    without, with_loss = hidden_gap(plain, source, target), hidden_gap(coral, source, target)
    # Measured: 0.30 without, 0.0013 with.
    assert with_loss < 0.2 * without
    history = coral.net_.history
    assert history[-1, "domain_loss"] < history[0, "domain_loss"]
    assert coral.score(source, y) > 0.8  # still learns the labels


def test_target_rows_are_left_out_without_a_domain_loss(deep_pair):
    plain, _, (source, y, target, _) = deep_pair
    assert "domain_loss" not in plain.net_.history[-1]
    # Two epochs show it as well as fifteen: the target rows change nothing.
    X, y_masked, domain = da_rows(source, y, target)
    short = clone(plain).set_params(max_epochs=2)
    with_target = clone(short).fit(X, y_masked, sample_domain=domain)
    only_source = clone(short).fit(source, y)
    np.testing.assert_allclose(
        only_source.predict_proba(source), with_target.predict_proba(source), atol=1e-6
    )


def test_masked_labels_mark_target_rows_like_sample_domain(deep_pair):
    _, coral, (source, y, target, _) = deep_pair
    X, y_masked, domain = da_rows(source, y, target)
    short = clone(coral).set_params(max_epochs=2)
    by_domain = clone(short).fit(X, y_masked, sample_domain=domain)
    by_label = clone(short).fit(X, y_masked)  # no sample_domain: -1 marks the target rows
    assert by_label.net_.history[-1, "domain_loss"] > 0
    np.testing.assert_allclose(
        by_label.predict_proba(target), by_domain.predict_proba(target), atol=1e-6
    )


def test_domain_loss_params_clone_and_pickle(deep_pair):
    _, coral, (_, _, target, _) = deep_pair
    params = coral.get_params()
    assert params["domain_loss"] == "coral" and params["domain_weight"] == 10.0
    twin = clone(coral).get_params()
    assert {k: v for k, v in twin.items() if k != "embedder"} == {
        k: v for k, v in params.items() if k != "embedder"
    }
    again = pickle.loads(pickle.dumps(coral))
    np.testing.assert_array_equal(again.predict_proba(target), coral.predict_proba(target))
    for cls in (ImageClassifier, TextClassifier):
        assert cls().get_params()["domain_loss"] is None
        assert cls(domain_loss="coral", domain_weight=0.5).get_params()["domain_weight"] == 0.5


def test_deep_coral_as_the_last_step_of_a_skada_pipeline():
    """The fine-tuning estimators ask for sample_domain, so skada routes it to them."""
    source, y, target, _ = shifted(n=30)
    X, y_masked, domain = da_rows(source, y, target)
    est = TransferClassifier(**{**DEEP, "max_epochs": 2}, domain_loss="coral")
    pipe = skada.make_da_pipeline(FunctionTransformer(), est).fit(X, y_masked, sample_domain=domain)
    net = pipe[-1].get_estimator().net_
    assert len(net.history) == 2 and net.history[-1, "domain_loss"] > 0
    assert pipe.predict(target).shape == (30,)


def test_domain_loss_errors_name_the_fix():
    source, y, target, _ = shifted(n=20)
    X, y_masked, domain = da_rows(source, y, target)
    with pytest.raises(ValueError, match="head='mlp'"):
        TransferClassifier(**{**DEEP, "head": "linear"}, domain_loss="coral").fit(
            X, y_masked, sample_domain=domain
        )
    with pytest.raises(ValueError, match="needs at least 2 target rows; got 0 of 20 rows"):
        TransferClassifier(**DEEP, domain_loss="coral").fit(source, y)
    with pytest.raises(ValueError, match="sample_domain has 2 labels but X has 40 rows"):
        TransferClassifier(**DEEP, domain_loss="coral").fit(X, y_masked, sample_domain=[1, -2])
    with pytest.raises(ValueError, match="all 40 rows are target rows"):
        TransferClassifier(**DEEP).fit(X, y_masked, sample_domain=-np.ones(len(X)))
    with pytest.raises(ValueError, match=r"got 1 \(row 20\) of 21 rows"):
        TransferClassifier(**DEEP, domain_loss="coral").fit(X[:21], y_masked[:21])
    with pytest.raises(ValueError, match="domain_loss"):
        TransferClassifier(**DEEP, domain_loss="mmd").fit(X, y_masked, sample_domain=domain)


def test_deep_coral_trains_text_layers(tiny_text_model):
    """Through the backbone path: token batches for both domains, padded apart."""
    model = tiny_text_model
    source = ["great coffee", "loved it a lot", "awful", "stale and bitter"]
    target = ["a fine film indeed", "boring", "superb acting all round", "dull"]
    X = np.array(source + target, dtype=object)
    y = np.array([1, 1, 0, 0, -1, -1, -1, -1])
    clf = TextClassifier(
        embedder=TextEmbedder(model=model),
        unfreeze=1,
        domain_loss="coral",
        max_epochs=2,
        batch_size=4,
        random_state=0,
        device="cpu",
    ).fit(X, y, sample_domain=np.r_[[1] * 4, [-2] * 4])
    assert len(clf.net_.history) == 2 and np.isfinite(clf.net_.history[:, "domain_loss"]).all()
    assert clf.predict_proba(target).shape == (4, 2)


# ------------------------------------------------------------- input rules
def _coral_rows(n_target):
    source, y, target, _ = shifted(n=30)
    return da_rows(source, y, target[:n_target])


REFUSED = {
    "one target row": r"CORALAdapter .* needs at least 2 target rows; got 1 \(row 30\)",
    "no target rows": r"needs at least 2 target rows; got 0 of 30 rows.*fit the estimator",
    "only target rows": r"all 30 rows are target rows .*positive sample_domain",
    "sample_domain too short": r"sample_domain has 59 labels but X has 60 rows",
    "y too short": r"y has 59 labels but X has 60 rows",
}


@pytest.mark.parametrize(
    ("case", "by"),
    [
        (case, by)
        for case in REFUSED
        for by in ("sample_domain", "label -1")
        if not (by == "label -1" and case == "sample_domain too short")
    ],
)
def test_coral_pipeline_refuses_rows_it_cannot_use(case, by):
    """Before any work, naming the parameter, the count and the fix (one target row
    used to give a constant model, the others a bare NumPy error)."""
    X, y, domain = _coral_rows(1 if case == "one target row" else 30)
    if case == "no target rows":
        X, y, domain = X[:30], y[:30], domain[:30]
    elif case == "only target rows":
        X, y, domain = X[30:], y[30:], domain[30:]
    elif case == "sample_domain too short":
        domain = domain[:-1]
    elif case == "y too short":
        y = y[:-1]
    params = {"sample_domain": domain} if by == "sample_domain" else {}
    with pytest.raises(ValueError, match=REFUSED[case]):
        make_coral_pipeline(FunctionTransformer()).fit(X, y, **params)


def test_a_label_of_minus_one_alone_marks_the_target_rows():
    """The documented rule, in the pipeline and the fine-tuners: no sample_domain,
    the same model as with it."""
    source, y, target, _ = shifted(n=40)
    X, y_masked, domain = da_rows(source, y, target)
    with sklearn.config_context(enable_metadata_routing=False):
        by_domain = make_coral_pipeline(FunctionTransformer()).fit(
            X, y_masked, sample_domain=domain
        )
        by_label = make_coral_pipeline(FunctionTransformer()).fit(X, y_masked)
        np.testing.assert_allclose(
            by_label.predict_proba(target), by_domain.predict_proba(target), atol=1e-12
        )


def test_y_may_be_a_list_and_is_never_written_to():
    """skada masks target labels in place; the pipeline gives it a copy."""
    source, y, target, _ = shifted(n=30)
    X, y_masked, domain = da_rows(source, y, target)
    as_array = make_coral_pipeline(FunctionTransformer()).fit(X, y_masked, sample_domain=domain)
    as_list = make_coral_pipeline(FunctionTransformer()).fit(
        X, list(y_masked), sample_domain=domain
    )
    np.testing.assert_array_equal(as_list.predict(target), as_array.predict(target))
    y_target_known = np.r_[y, y[:30]]  # target labels the caller holds: never masked
    make_coral_pipeline(FunctionTransformer()).fit(X, y_target_known, sample_domain=domain)
    np.testing.assert_array_equal(y_target_known, np.r_[y, y[:30]])


# ------------------------------------------------------------- sklearn's config
ORDINARY_CALLS = """
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
y, w = (X[:, 0] > 0).astype(int), np.ones(40)
make_pipeline(LogisticRegression()).fit(X, y, logisticregression__sample_weight=w)
GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y, sample_weight=w)
cross_val_score(LogisticRegression(), X, y, cv=2, params={"sample_weight": w})
"""


def test_domain_adaptation_leaves_sklearn_config_alone():
    """Building, fitting, using, cloning and pickling a DA pipeline, and a fine-tuner's
    domain loss: scikit-learn's configuration is what it was, and ordinary calls that
    routing would break still work."""
    source, y, target, y_target = shifted(n=30)
    X, y_masked, domain = da_rows(source, y, target)
    with sklearn.config_context(enable_metadata_routing=False):
        before = sklearn.get_config()
        pipe = make_coral_pipeline(FunctionTransformer())
        assert sklearn.get_config() == before
        pipe.fit(X, y_masked, sample_domain=domain)
        pipe.predict(target), pipe.predict_proba(target), pipe.score(target, y_target)
        pickle.loads(pickle.dumps(clone(pipe).fit(X, y_masked))).decision_function(target)
        from sktransfer.adapt import CORALAdapter, make_da_pipeline

        make_da_pipeline(FunctionTransformer(), CORALAdapter(reg=0.1), LogisticRegression()).fit(
            X, y_masked, sample_domain=domain
        ).predict(target)
        TransferClassifier(**{**DEEP, "max_epochs": 1}, domain_loss="coral").fit(
            X, y_masked, sample_domain=domain
        )
        assert sklearn.get_config() == before
        exec(ORDINARY_CALLS, {})


def test_importing_skada_through_sktransfer_leaves_sklearn_config_alone(tmp_path):
    """In a fresh process, where skada's import is not done yet: building and
    fitting a pipeline, and loading a saved one."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source, y, target, _ = shifted(n=20)
    X, y_masked, _ = da_rows(source, y, target)
    saved = tmp_path / "pipe.pkl"
    saved.write_bytes(pickle.dumps(make_coral_pipeline(FunctionTransformer()).fit(X, y_masked)))
    load = (
        "import pickle, sklearn, numpy as np\n"
        "before = sklearn.get_config()\n"
        f"pipe = pickle.loads(open({str(saved)!r}, 'rb').read())\n"
        "assert sklearn.get_config() == before, 'loading changed the config'\n"
        "pipe.predict(np.zeros((2, 4)))\n"
        "assert sklearn.get_config() == before, 'predict changed the config'\n"
        "import sys; assert 'skada' in sys.modules\n" + ORDINARY_CALLS + "print('config kept')\n"
    )
    code = (
        "import sklearn, numpy as np\n"
        "before = sklearn.get_config()\n"
        "from sklearn.preprocessing import FunctionTransformer\n"
        "from sktransfer.adapt import CORALAdapter, make_coral_pipeline\n"
        "rng = np.random.default_rng(0)\n"
        "X = np.r_[rng.normal(size=(20, 3)), 3 * rng.normal(size=(20, 3))]\n"
        "y = np.r_[(X[:20, 0] > 0).astype(int), [-1] * 20]\n"
        "make_coral_pipeline(FunctionTransformer()).fit(X, y).predict(X[20:])\n"
        "assert sklearn.get_config() == before, sklearn.get_config()\n"
        "import sys; assert 'skada' in sys.modules\n" + ORDINARY_CALLS + "print('config kept')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    for script in (code, load):
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=root
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "config kept" in result.stdout
