"""Fine-tuning estimators: every mode on the shipped models, at small scale."""

from __future__ import annotations

import doctest
import pickle
import warnings
from typing import ClassVar

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from torch import nn

from sktransfer import (
    EmbeddingCache,
    ImageClassifier,
    ImageEmbedder,
    ImageRegressor,
    SetFitClassifier,
    TextClassifier,
    TextEmbedder,
    TextRegressor,
)
from sktransfer.finetune import _presets
from sktransfer.finetune._blocks import freeze, named_blocks, timm_blocks
from sktransfer.finetune._image import ImageBackbonePlan, augmentation
from sktransfer.finetune._net import Schedule, collate
from sktransfer.finetune._setfit import (
    MAX_ITERATIONS,
    PairDataset,
    PairSimilarity,
    distinct_rows,
    fused_adamw,
    sentence_pairs,
)
from sktransfer.finetune._text import SentenceBody, TokenizedTexts

POS = [
    "I loved this place",
    "great food and friendly staff",
    "a wonderful experience",
    "the best meal I have ever had",
    "excellent service, we will come back",
    "delicious and fresh",
    "we really enjoyed it",
    "fantastic value for money",
]
NEG = [
    "I hated this place",
    "terrible food and rude staff",
    "an awful experience",
    "the worst meal I have ever had",
    "horrible service, never again",
    "stale and bland",
    "we were really disappointed",
    "a waste of money",
]
TEXTS = POS + NEG
LABELS = np.array(["pos"] * len(POS) + ["neg"] * len(NEG))


class CountingTextEmbedder(TextEmbedder):
    """Logs how many texts each backbone pass embeds."""

    log: ClassVar[list] = []

    def _embed(self, rows, positions):
        CountingTextEmbedder.log.append(len(positions))
        return super()._embed(rows, positions)


class CountingImageEmbedder(ImageEmbedder):
    log: ClassVar[list] = []

    def _embed(self, rows, positions):
        CountingImageEmbedder.log.append(len(positions))
        return super()._embed(rows, positions)


class CountingTransform:
    """An augmentation that counts the images it sees (picklable, for workers)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return image.rotate(5)


def numeric(**params):
    """An estimator on a numeric embedder: fast tests of the training machinery."""
    defaults = dict(embedder=FunctionTransformer(), device="cpu", random_state=0)
    return TextClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])  # 3 linearly separable classes
    return X, y


@pytest.fixture(scope="module")
def digits(digits_images):
    X, y = digits_images
    idx = np.random.default_rng(0).permutation(len(X))
    return X[idx], y[idx]


def small_images(**params):
    return ImageEmbedder(image_size=32, device="cpu", **params)


@pytest.fixture(scope="module")
def cached_images():
    """Small images, each embedded once for the whole module."""
    return small_images(cache="memory")


def frozen_reference(embedder, X_train, y_train, X_test, y_test) -> float:
    """Accuracy of frozen embeddings + LogisticRegression: the bar a trained head meets."""
    features = clone(embedder).fit(X_train)
    model = LogisticRegression(max_iter=2000).fit(features.transform(X_train), y_train)
    return model.score(features.transform(X_test), y_test)


def state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ---------------------------------------------------------------- text
def test_text_fast_path_embeds_each_row_once():
    CountingTextEmbedder.log.clear()
    clf = TextClassifier(
        embedder=CountingTextEmbedder(), max_epochs=15, lr=1e-2, random_state=0, device="cpu"
    )
    clf.fit(TEXTS, LABELS)
    assert CountingTextEmbedder.log == [len(TEXTS)]  # 15 epochs, one backbone pass
    assert isinstance(clf.net_.module_.body, nn.Identity)
    assert clf.predict(["the staff were lovely", "rude and terrible"]).tolist() == ["pos", "neg"]
    assert CountingTextEmbedder.log == [len(TEXTS), 2]


def test_text_unfreeze_trains_last_layer_on_a_copy(text_embedder):
    shared = text_embedder.model_
    before = state(shared)
    clf = TextClassifier(unfreeze=1, max_epochs=1, backbone_lr=1e-3, random_state=0, device="cpu")
    clf.fit(TEXTS, LABELS)

    after = state(shared)
    assert all(torch.equal(before[k], after[k]) for k in before), "the shared model changed"
    tuned = {k.removeprefix("body.model."): v for k, v in clf.net_.module_.state_dict().items()}
    changed = {k for k in before if not torch.equal(before[k], tuned[k].cpu())}
    assert changed and all(".layer.5." in k or "pooler" in k for k in changed), changed

    module = clf.net_.module_.train()  # what skorch does before each step
    layers = module.body.model[0].auto_model.encoder.layer
    assert [layer.training for layer in layers] == [False] * 5 + [True]
    assert not module.body.model[0].auto_model.embeddings.training


def test_text_regressor_unfreeze_all():
    y = np.where(LABELS == "pos", 1500.0, 500.0)  # far from 0 and 1: standardised inside
    reg = TextRegressor(unfreeze="all", max_epochs=3, lr=1e-2, random_state=0, device="cpu")
    reg.fit(TEXTS, y)
    assert all(p.requires_grad for p in reg.net_.module_.body.parameters())
    assert reg.score(TEXTS, y) > 0.5  # DummyRegressor (the mean): 0
    # In the targets' own units, on texts it has not seen.
    nice, nasty = reg.predict(["the staff were lovely", "rude and terrible"])
    assert 1000 < nice < 2000 and 0 < nasty < 1000


def test_text_unfreeze_too_many_blocks_is_explained():
    with pytest.raises(ValueError, match="has 6 blocks"):
        TextClassifier(unfreeze=7, device="cpu").fit(TEXTS, LABELS)


@pytest.mark.slow
def test_reviews_head_and_last_layer_beat_chance(reviews):
    from sklearn.metrics import balanced_accuracy_score

    # Enough test rows that "above chance" is measured, not drawn: on 80 of them
    # the frozen reference itself scored 0.58.
    sample = reviews.sample(400, random_state=0)
    train, test = sample.iloc[:240], sample.iloc[240:]
    # One cache: the reference and the head-only fit embed each review once.
    features = TextEmbedder(device="cpu", cache=EmbeddingCache()).fit(train.review)
    reference = LogisticRegression(max_iter=2000, class_weight="balanced")
    reference.fit(features.transform(train.review), train.score)
    bar = balanced_accuracy_score(test.score, reference.predict(features.transform(test.review)))
    for params in (dict(unfreeze=0), dict(unfreeze=1, max_epochs=4)):
        clf = TextClassifier(
            embedder=features, class_weight="balanced", random_state=0, device="cpu", **params
        )
        clf.fit(train.review, train.score)
        score = balanced_accuracy_score(test.score, clf.predict(test.review))
        # Clearly above chance (0.5), and no worse than the frozen reference.
        assert score > max(0.6, bar - 0.05), (params, score, bar)


def test_default_head_keeps_up_with_logistic_regression_cv_on_150_reviews(reviews, text_embedder):
    """The default head (what TextClassifier() trains on the fast path, here on
    the same embeddings through an identity embedder) scores within 0.03 balanced
    accuracy of LogisticRegressionCV on the same folds. With 20 epochs (5
    optimizer steps each) it underfit: 0.07 below."""
    sample = reviews.sample(150, random_state=0)
    X, y = text_embedder.transform(sample.review), sample.score.to_numpy()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)

    def score(model):
        return cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy").mean()

    head = score(TextClassifier(embedder=FunctionTransformer(), random_state=0, device="cpu"))
    bar = score(LogisticRegressionCV(max_iter=5000))
    assert head > bar - 0.03, (head, bar)


def test_auto_epochs_count_optimizer_steps_on_the_fast_path(blobs):
    X, y = blobs  # 150 rows: 5 steps per epoch of 32
    assert len(numeric().fit(X, y).net_.history) == 200  # 1,000 steps
    assert len(numeric(batch_size=100).fit(X, y).net_.history) == 500
    assert len(numeric(max_epochs=3).fit(X, y).net_.history) == 3  # a number is kept
    big = np.tile(X, (30, 1))  # 4,500 rows: 141 steps per epoch
    assert len(numeric().fit(big, np.tile(y, 30)).net_.history) == 20  # at least 20


def test_setfit_tunes_a_copy_and_pickles(text_embedder):
    before = state(text_embedder.model_)
    clf = SetFitClassifier(n_iterations=2, random_state=0, device="cpu")
    clf.fit(TEXTS, LABELS)
    assert all(torch.equal(v, text_embedder.model_.state_dict()[k]) for k, v in before.items())
    tuned = clf.plan_.model.state_dict()
    assert any(not torch.equal(v, tuned[k]) for k, v in before.items())

    new = ["the food was great", "what a terrible evening"]
    assert clf.predict(new).tolist() == ["pos", "neg"]
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(new), clf.predict_proba(new))


def test_setfit_embeds_through_the_embedder(text_embedder):
    """The tuned model embeds through the embedder's own path: batch_size="auto",
    normalize and precision apply; the cache does not (the weights are new)."""
    embedder = TextEmbedder(batch_size="auto", normalize=True, cache="memory", device="cpu")
    clf = SetFitClassifier(embedder=embedder, n_iterations=1, random_state=0, device="cpu")
    clf.fit(TEXTS, LABELS)
    tuned = clf.plan_.tuned
    assert tuned.cache is None and tuned.embedding_id_ != text_embedder.embedding_id_
    new = ["the food was great", "what a terrible evening"]
    assert clf.predict(new).tolist() == ["pos", "neg"]
    raw = clf.plan_.model.encode(new, convert_to_numpy=True)
    expected = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.plan_.inputs(new).numpy(), expected, atol=1e-5)
    assert not np.allclose(expected, text_embedder.transform(new), atol=1e-3)  # tuned


def test_setfit_pairs():
    labels = np.array([0, 0, 1, 1, 2])
    pairs = sentence_pairs(labels, 3, np.random.default_rng(0))
    # every row: one negative per iteration; a positive unless it is alone in its class
    assert len(pairs) == 3 * (5 + 4)
    for i, j, target in pairs:
        assert i != j and target == float(labels[i] == labels[j])


def test_setfit_default_pairs_are_the_distinct_pairs_oversampled():
    """n_iterations=None: every pair of two different texts once, the rarer kind
    repeated to match the other (setfit's "oversampling", without self-pairs)."""
    labels = np.array([0] * 8 + [1] * 8)
    pairs = sentence_pairs(labels, None, np.random.default_rng(0))
    alike = [(i, j) for i, j, t in pairs if t == 1.0]
    other = [(i, j) for i, j, t in pairs if t == 0.0]
    assert len(alike) == len(other) == 64 and len(pairs) == 128  # not 640 (n_iterations=20)
    assert all(i < j and (labels[i] == labels[j]) == (t == 1.0) for i, j, t in pairs)
    assert set(other) == {(i, j) for i in range(8) for j in range(8, 16)}  # each once
    assert len(set(alike)) == 56  # all 2 * C(8, 2) same-class pairs, 8 of them twice
    again = sentence_pairs(labels, None, np.random.default_rng(0))
    assert again == pairs  # seeded


def test_setfit_default_pairs_are_capped_and_survive_a_missing_kind():
    ten = np.repeat(np.arange(10), 30)  # 300 texts, ten classes: 40,500 distinct others
    pairs = sentence_pairs(ten, None, np.random.default_rng(0))
    assert len(pairs) == 2 * MAX_ITERATIONS * 300  # what n_iterations=20 draws
    alone = np.array([0, 1, 2])  # no two texts share a class: only other-class pairs
    assert sorted(sentence_pairs(alone, None, np.random.default_rng(0))) == [
        (0, 1, 0.0),
        (0, 2, 0.0),
        (1, 2, 0.0),
    ]


def test_setfit_embeds_each_distinct_text_of_a_batch_once(text_embedder):
    """The similarities of a batch are those of embedding each pair's two texts
    apart (the model in eval mode: no dropout), from fewer texts embedded."""
    model = text_embedder.model_
    texts = ["great food", "awful service", "never again", "I loved it"]
    pairs = [(0, 1, 0.0), (1, 0, 0.0), (0, 3, 1.0), (2, 1, 1.0), (3, 3, 1.0)]
    data = PairDataset(TokenizedTexts(texts, model), pairs)
    x, _ = collate([data[k] for k in range(len(pairs))])
    tokens, a, b = distinct_rows(x["x"])
    assert tokens["input_ids"].shape[0] == 4  # not 10
    assert a.tolist() == [0, 1, 0, 2, 3] and b.tolist() == [1, 0, 3, 1, 3]
    body = SentenceBody(model).eval()
    with torch.no_grad():
        expected = nn.functional.cosine_similarity(body(x["x"]["a"]), body(x["x"]["b"]))
        got = PairSimilarity(model).eval()(x["x"])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_setfit_uses_a_fused_adamw_where_torch_has_one():
    assert fused_adamw(torch.device("cpu"), torch.float32) == {"optimizer__fused": True}
    assert fused_adamw(torch.device("cpu"), torch.int64) == {}  # no such kernel: plain AdamW


def test_setfit_rejects_multilabel_and_other_embedders():
    with pytest.raises(ValueError, match="one label per text"):
        SetFitClassifier(device="cpu").fit(TEXTS[:4], np.eye(4, 3, dtype=int))
    with pytest.raises(ValueError, match="must be a TextEmbedder"):
        SetFitClassifier(embedder=FunctionTransformer()).fit(np.eye(4), [0, 1, 0, 1])


# ---------------------------------------------------------------- images
def test_image_fast_path_embeds_each_row_once(digits):
    X, y = digits
    CountingImageEmbedder.log.clear()
    clf = ImageClassifier(
        embedder=CountingImageEmbedder(image_size=32, device="cpu"),
        max_epochs=30,
        lr=1e-2,
        random_state=0,
        device="cpu",
    )
    clf.fit(X[:40], y[:40])
    assert CountingImageEmbedder.log == [40]
    majority = np.bincount(y[40:140]).max() / 100
    assert clf.score(X[40:140], y[40:140]) > majority + 0.2
    assert CountingImageEmbedder.log == [40, 100]


@pytest.fixture
def uncached():
    ImageBackbonePlan.cache_prefix = False
    yield
    ImageBackbonePlan.cache_prefix = True


def fit_last_blocks(X, y, **params):
    clf = ImageClassifier(
        embedder=small_images(), unfreeze=2, max_epochs=2, random_state=0, device="cpu", **params
    )
    return clf.fit(X, y)


def test_image_cached_prefix_trains_like_the_full_backbone(digits, request):
    X, y = digits[0][:64], digits[1][:64]
    cached = fit_last_blocks(X, y)
    assert cached.plan_.start == 14  # EfficientNet-Lite0: 16 blocks, the last two train
    request.getfixturevalue("uncached")
    full = fit_last_blocks(X, y)
    assert full.plan_.start is None
    np.testing.assert_allclose(
        cached.net_.history[:, "train_loss"], full.net_.history[:, "train_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(cached.predict_proba(X), full.predict_proba(X), atol=1e-3)
    n_cached = sum(p.numel() for p in cached.net_.module_.parameters())
    n_full = sum(p.numel() for p in full.net_.module_.parameters())
    assert n_cached < n_full  # the frozen prefix is not kept twice


def test_frozen_batchnorm_statistics_do_not_move(digits, uncached):
    X, y = digits[0][:64], digits[1][:64]
    clf = fit_last_blocks(X, y)
    original = clf.embedder_.model_.module.model
    tuned = clf.net_.module_.body.model
    frozen_bn, trained_bn = original.blocks[0][0].bn1, tuned.blocks[0][0].bn1
    torch.testing.assert_close(frozen_bn.running_mean, trained_bn.running_mean)
    last_orig, last_tuned = original.blocks[6][0].bn1, tuned.blocks[6][0].bn1
    assert not torch.allclose(last_orig.running_mean, last_tuned.running_mean)


def test_augmentation_runs_on_training_batches_only(digits):
    X, y = digits[0][:24], digits[1][:24]
    aug = CountingTransform()
    clf = ImageClassifier(
        embedder=small_images(), augment=aug, max_epochs=2, random_state=0, device="cpu"
    )
    clf.fit(X, y)
    assert aug.calls == 2 * 24  # every image of every epoch
    assert not isinstance(clf.net_.module_.body, nn.Identity)  # no fast path
    assert clf.net_.module_.frozen == [""]  # the whole backbone stays frozen, in eval mode
    clf.predict(X[:5])
    assert aug.calls == 2 * 24


@pytest.mark.parametrize("preset", ["light", "strong"])
def test_augmentation_presets(preset):
    from PIL import Image

    image = Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8))
    assert augmentation(preset)(image).size == (30, 20)
    with pytest.raises(ValueError, match="augment='wild'"):
        augmentation("wild")


def test_torchvision_backbone_unfreezes_its_last_blocks(digits):
    X, y = digits[0][:16], digits[1][:16]
    clf = ImageClassifier(
        # 64 px: at 32 px the last stage's map is 1x1 and the embedder stops at layer3.
        embedder=ImageEmbedder(model="resnet18", weights=None, image_size=64, device="cpu"),
        unfreeze=2,
        max_epochs=1,
        random_state=0,
        device="cpu",
    )
    clf.fit(X, y)
    assert clf.plan_.start is None  # a ResNet forward is not a plain block sequence
    trained = {n for n, p in clf.net_.module_.body.named_parameters() if p.requires_grad}
    assert trained and all(".layer4." in f".{n}" for n in trained)
    assert any(".layer4.0." in f".{n}" for n in trained)


def test_image_regressor_multi_output(digits, cached_images):
    X = digits[0][:300]
    y = np.stack([X.mean(axis=(1, 2)), X.std(axis=(1, 2))], axis=1)  # ink, contrast
    reg = ImageRegressor(
        embedder=cached_images, random_state=0, device="cpu", max_epochs=30, lr=1e-2
    )
    reg.fit(X[:200], y[:200])
    assert reg.predict(X[200:204]).shape == (4, 2)
    assert reg.score(X[200:], y[200:]) > 0.3  # DummyRegressor: about 0 (at most 0)


class TwoLayerHead(nn.Module):
    """A user's own head: sktransfer builds it with in_features and out_features."""

    def __init__(self, in_features, out_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def test_own_head_module_with_routed_params(digits, cached_images):
    X, y = digits
    clf = ImageClassifier(
        embedder=cached_images,
        head=TwoLayerHead,
        head__hidden=64,
        max_epochs=30,
        lr=1e-2,
        random_state=0,
        device="cpu",
    )
    assert clf.get_params()["head__hidden"] == 64 and clone(clf).head__hidden == 64
    clf.fit(X[:200], y[:200])
    head = clf.net_.module_.head
    assert isinstance(head, TwoLayerHead)
    assert (head.hidden.in_features, head.hidden.out_features, head.out.out_features) == (
        1280,
        64,
        10,
    )
    reference = frozen_reference(cached_images, X[:200], y[:200], X[200:300], y[200:300])
    assert clf.score(X[200:300], y[200:300]) > reference - 0.1
    clf.set_params(head__hidden=8).fit(X[:50], y[:50])
    assert clf.net_.module_.head.hidden.out_features == 8
    with pytest.raises(ValueError, match="head__hidden configure a head given as"):
        ImageClassifier(embedder=cached_images, head__hidden=8).fit(X[:20], y[:20])


def test_frozen_prefix_runs_through_the_embedders_batching(digits, monkeypatch):
    import torch.utils.data

    sizes = []
    real = torch.utils.data.DataLoader

    def counting(*args, **kwargs):
        sizes.append(kwargs["batch_size"])
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.utils.data, "DataLoader", counting)
    X, y = digits[0][:40], digits[1][:40]
    clf = ImageClassifier(
        embedder=small_images(batch_size="auto"), unfreeze=1, max_epochs=1, device="cpu"
    )
    clf.fit(X, y)
    assert clf.plan_.start is not None and sizes == [32]  # "auto" starts at 32 on a CPU
    clf.predict_proba(X[:3])
    assert sizes == [32, 32]  # predicting runs the prefix through the same loop


@pytest.mark.slow
def test_digits_head_and_last_blocks_learn(digits):
    X, y = digits
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:500], y[300:500]
    embedder = ImageEmbedder(image_size=64, device="cpu", cache="memory")
    bar = frozen_reference(embedder, X_train, y_train, X_test, y_test)
    assert bar > 0.6  # chance: about 0.1
    for params in (dict(unfreeze=0, lr=1e-2), dict(unfreeze=2, max_epochs=4, lr=1e-2)):
        clf = ImageClassifier(embedder=embedder, random_state=0, device="cpu", **params)
        score = clf.fit(X_train, y_train).score(X_test, y_test)
        assert score > bar - 0.1, (params, score, bar)


# ---------------------------------------------------------------- blocks
def test_named_blocks_group_stem_blocks_and_neck():
    names = [
        "conv1.weight",
        "bn1.weight",
        "layer1.0.conv.weight",
        "layer1.1.conv.weight",
        "layer2.0.conv.weight",
        "norm.weight",
    ]
    blocks = named_blocks((n, None) for n in names)
    assert blocks == [
        ["conv1.weight", "bn1.weight", "layer1.0.conv.weight"],
        ["layer1.1.conv.weight"],
        ["layer2.0.conv.weight", "norm.weight"],
    ]
    vit = ["encoder.encoder_layer_0.w", "encoder.encoder_layer_1.w"]
    assert named_blocks((n, None) for n in vit) == [[vit[0]], [vit[1]]]


def test_timm_blocks_and_freeze(image_embedder):
    model = image_embedder.model_.module.model
    blocks = timm_blocks(model)
    assert len(blocks) == 17  # the stem and 16 blocks; the classifier is not a block
    assert not any(n.startswith("classifier") for b in blocks for n in b)
    copy = __import__("copy").deepcopy(model)
    trained = freeze(copy, blocks, 1)
    assert trained == set(blocks[-1])
    assert {n for n, p in copy.named_parameters() if p.requires_grad} == trained
    with pytest.raises(ValueError, match="has 17 blocks"):
        freeze(copy, blocks, 18)


# ---------------------------------------------------------------- targets and training
@pytest.mark.parametrize(
    "labels", [np.array(["a", "b", "c"]), np.array([3, 7, 9]), np.array([-1.0, 0.0, 2.0])]
)
def test_label_types_round_trip(blobs, labels):
    X, y = blobs
    clf = numeric(lr=1e-2, max_epochs=50).fit(X, labels[y])
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype and set(pred) <= set(labels)
    assert clf.score(X, labels[y]) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    assert clf.decision_function(X).shape == (len(X), 3)


def test_binary_decision_function_and_pandas_labels(blobs):
    import pandas as pd

    X, y = blobs
    target = pd.Series(np.where(y > 0, "yes", "no"))
    clf = numeric(lr=1e-2, max_epochs=30).fit(X, target)
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    assert ((scores > 0) == (clf.predict(X) == "yes")).all()


def test_multilabel(blobs):
    X, y = blobs
    Y = np.stack([y == 0, y == 1, y > 0], axis=1).astype(int)
    clf = numeric(lr=1e-2, max_epochs=50, head=(16,)).fit(X, Y)
    assert clf.multilabel_ and clf.classes_.tolist() == [0, 1, 2]
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype and (pred == Y).mean() > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    with pytest.raises(ValueError, match="multi-label"):
        numeric(class_weight="balanced").fit(X, Y)


def test_regression_targets_are_standardised():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 1000 + 300 * X[:, 0]
    reg = TextRegressor(embedder=FunctionTransformer(), lr=1e-2, max_epochs=50, random_state=0)
    reg.fit(X, y)
    assert reg.score(X, y) > 0.98
    reg.fit(X, np.stack([y, -y], axis=1))
    assert reg.predict(X).shape == (200, 2) and reg.score(X, np.stack([y, -y], axis=1)) > 0.98


def test_same_seed_same_model_other_seed_other_model(blobs):
    X, y = blobs
    a = numeric(random_state=1, head=(8,), dropout=0.2).fit(X, y).predict_proba(X)
    b = numeric(random_state=1, head=(8,), dropout=0.2).fit(X, y).predict_proba(X)
    c = numeric(random_state=2, head=(8,), dropout=0.2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    numeric(random_state=1).fit(X, y)
    assert torch.rand(1) == expected  # the caller's torch RNG is left alone


def test_same_seed_same_model_real_backbone(digits):
    X, y = digits[0][:32], digits[1][:32]
    a = fit_last_blocks(X, y).predict_proba(X)
    b = fit_last_blocks(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_zero_sample_weight_rows_are_ignored(blobs):
    X, y = blobs
    noisy = np.concatenate([y, (y + 1) % 3])  # the same rows again, mislabelled
    weights = np.r_[np.ones(len(y)), np.zeros(len(y))]
    clf = numeric(lr=1e-2, max_epochs=50).fit(np.r_[X, X], noisy, sample_weight=weights)
    assert clf.score(X, y) > 0.9


def test_class_weight_shifts_predictions(blobs):
    X, y = blobs
    plain = numeric(max_epochs=5).fit(X, y).predict(X)
    heavy = numeric(max_epochs=5, class_weight={0: 1.0, 1: 1.0, 2: 50.0}).fit(X, y).predict(X)
    assert (heavy == 2).sum() > (plain == 2).sum()
    balanced = numeric(class_weight="balanced", lr=1e-2, max_epochs=30).fit(X, y)
    majority = np.bincount(y).max() / len(y)
    assert balanced.score(X, y) > majority + 0.3


def test_early_stopping_restores_the_best_epoch(blobs):
    X, y = blobs
    clf = numeric(
        early_stopping=True,
        patience=3,
        max_epochs=300,
        lr=0.05,
        head=(64,),
        validation_fraction=0.3,
    )
    clf.fit(X, y)
    history = clf.net_.history
    assert len(history) < 300  # it stopped
    valid_losses = history[:, "valid_loss"]
    # Recompute the loss on the same validation rows with the final weights.
    targets = torch.from_numpy(clf._encode_targets(y))
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    _, valid = clf._split(len(y), targets.numpy(), seed)
    logits = torch.from_numpy(clf.decision_function(X[valid])).float()
    loss = nn.functional.cross_entropy(logits, targets[valid]).item()
    assert loss == pytest.approx(min(valid_losses), rel=1e-4)
    assert np.argmin(valid_losses) < len(valid_losses) - 1


@pytest.mark.parametrize("kind", ["cosine", "onecycle"])
def test_schedules(kind, blobs):
    schedule = Schedule(kind, total_steps=100, warmup=0.1)
    factors = [schedule(step) for step in range(101)]
    assert np.argmax(factors) == 10 and factors[10] == pytest.approx(1.0)
    assert factors[0] == (0.0 if kind == "cosine" else pytest.approx(1 / 25))
    assert factors[-1] < 1e-3
    X, y = blobs
    clf = numeric(lr_schedule=kind, max_epochs=3).fit(X, y)
    groups = clf.net_.optimizer_.param_groups
    assert [g["lr"] for g in groups] == [3e-3] and "initial_lr" not in groups[0]


def test_warm_start_and_partial_fit(blobs):
    X, y = blobs
    clf = numeric(warm_start=True, max_epochs=3).fit(X, y)
    first = clf.predict_proba(X)
    clf.fit(X, y)
    assert len(clf.net_.history) == 6 and not np.allclose(first, clf.predict_proba(X))

    online = numeric()
    online.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    online.partial_fit(X, y)
    assert len(online.net_.history) == 2 and online.classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="not among the classes"):
        numeric().partial_fit(X[y < 2], y[y < 2]).partial_fit(X, y)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        numeric(class_weight="balanced").partial_fit(X, y)


def test_clear_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="1 class"):
        numeric().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="X has 150 rows but y has 10"):
        numeric().fit(X, y[:10])
    with pytest.raises(ValueError, match="must be a TextEmbedder"):
        numeric(unfreeze=1).fit(X, y)
    with pytest.raises(ValueError, match="must be a ImageEmbedder"):
        ImageClassifier(embedder=FunctionTransformer(), augment="light").fit(X, y)
    with pytest.raises(ValueError, match="unfreeze='some'"):
        numeric(unfreeze="some").fit(X, y)
    with pytest.raises(ValueError, match="head=0"):
        numeric(head=0).fit(X, y)
    with pytest.raises(ValueError, match="leave none to train on"):
        TextRegressor(embedder=FunctionTransformer(), early_stopping=True).fit(X[:1], [1.0])
    with pytest.raises(ValueError, match="Unknown label type"):
        numeric().fit(X, X[:, 0])


def test_in_pipeline_grid_search_and_cross_validation(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), numeric(max_epochs=10))
    grid = GridSearchCV(
        pipe,
        {"textclassifier__lr": [1e-3, 3e-2], "textclassifier__head": ["linear", (16,)]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["textclassifier__lr"] == 3e-2
    assert cross_val_score(numeric(lr=1e-2, max_epochs=30), X, y, cv=3).mean() > 0.85


def test_grid_search_over_unfreeze_on_texts():
    grid = GridSearchCV(
        TextClassifier(max_epochs=2, random_state=0, device="cpu"),
        {"unfreeze": [0, 1]},
        cv=2,
    )
    grid.fit(TEXTS, LABELS)
    assert len(grid.cv_results_["mean_test_score"]) == 2


# ---------------------------------------------------------------- persistence
def test_pickling_a_fitted_embedder_leaves_it_working(text_embedder):
    pickle.dumps(text_embedder)
    assert text_embedder.transform(["still here"]).shape == (1, 384)


def test_pickle_round_trip_real_backbone(digits):
    X, y = digits[0][:32], digits[1][:32]
    clf = fit_last_blocks(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


@pytest.fixture(scope="module")
def tiny_text_model(tmp_path_factory):
    from random_models import write_tiny_text_model

    return write_tiny_text_model(tmp_path_factory.mktemp("tiny_text") / "model")


def test_pickle_stores_the_trained_weights_once(tiny_text_model):
    """Not the net's ``module`` beside its ``module_``, nor the optimizer's copy
    of the trained parameters and its moments."""
    texts, labels = TEXTS[::2], LABELS[::2]
    clf = TextClassifier(
        embedder=TextEmbedder(model=tiny_text_model), unfreeze=1, max_epochs=2, random_state=0
    ).fit(texts, labels)
    module = clf.net_.module_
    weights = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    blob = pickle.dumps(clf)
    assert len(blob) < 1.2 * weights
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    assert again.net_.module is again.net_.module_
    again.partial_fit(texts, labels)  # training goes on, with a fresh optimizer
    assert len(again.net_.history) == 3


def test_model_saved_for_cuda_loads_on_a_cpu(blobs):
    """A net fitted on CUDA records device 'cuda'; skorch maps it to the CPU here."""
    X, y = blobs
    clf = numeric().fit(X, y)
    expected = clf.predict_proba(X)
    clf.net_.device = "cuda"
    blob = pickle.dumps(clf)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fallback is for machines without it")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = pickle.loads(blob)
    assert any("CUDA" in str(w.message) for w in caught)
    assert str(again.net_.device) == "cpu"
    np.testing.assert_allclose(again.predict_proba(X), expected)


# ---------------------------------------------------------------- documentation
def test_docstring_examples_run():
    result = doctest.testmod(_presets, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
