"""The backbone registry: user-registered text and image backbones work end to
end, the shipped weights are entries, unknown names name close matches."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from torch import nn

import sktransfer
from sktransfer import ImageEmbedder, TextEmbedder


class TinyCNN(nn.Module):
    """Two convolutions; returns a feature map that the embedder pools."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2), nn.ReLU(), nn.Conv2d(6, 5, 3))

    def forward(self, x):
        return self.body(x)


class CharCounts:
    """A text model with sentence-transformers' ``encode``: letter counts."""

    def encode(self, texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False):
        letters = "abcdefghijklmnopqrstuvwxyz"
        return np.array([[t.lower().count(c) for c in letters] for t in texts], np.float32)


@pytest.fixture
def tiny_backbones():
    sktransfer.register_backbone(
        "test-tiny-cnn", lambda weights: TinyCNN(), preprocess={"input_size": 32}
    )

    @sktransfer.register_backbone("test-char-counts", kind="text")
    def char_counts(device):
        return CharCounts()

    yield
    from sktransfer._backbones import unregister_backbone

    unregister_backbone("test-tiny-cnn")
    unregister_backbone("test-char-counts", kind="text")


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 40, 40, 3), dtype=np.uint8)


def test_user_image_backbone_end_to_end(tiny_backbones):
    X, y = _images(8), np.array([0, 1] * 4)
    emb = ImageEmbedder(model="test-tiny-cnn", device="cpu", num_workers=0)
    feats = emb.fit_transform(X)
    assert feats.shape == (8, 5) and emb.n_features_out_ == 5
    assert emb.model_.identity["family"] == "user"
    # The pooled map is what the module computes, after the registered preprocessing.
    batch = torch.stack([emb.model_.preprocess(_pil(x)) for x in X[:2]])
    assert batch.shape[-1] == 32
    with torch.inference_mode():
        expected = TinyCNN()(batch).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(feats[:2], expected, rtol=1e-4, atol=1e-5)

    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_allclose(again.transform(X[:3]), feats[:3], rtol=1e-5, atol=1e-6)
    fresh = clone(emb).fit(X[:1])
    np.testing.assert_allclose(fresh.transform(X[:3]), feats[:3], rtol=1e-5, atol=1e-6)
    pipe = make_pipeline(clone(emb), LogisticRegression()).fit(X, y)
    assert pipe.predict(X).shape == (8,)
    with pytest.raises(ValueError, match="no stages"):
        ImageEmbedder(model="test-tiny-cnn", layer=-2, device="cpu").fit(X[:1])


def _pil(array):
    from PIL import Image

    return Image.fromarray(array)


def test_user_text_backbone_end_to_end(tiny_backbones):
    texts = ["aaa b", "bbb a", "zzz", "abc"]
    emb = TextEmbedder(model="test-char-counts", device="cpu")
    X = emb.fit_transform(texts)
    assert X.shape == (4, 26) and emb.n_features_out_ == 26
    assert X[0, 0] == 3 and X[2, 25] == 3
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(again.transform(texts), X)
    np.testing.assert_array_equal(clone(emb).fit(texts).transform(texts), X)
    assert emb._identity()["kind"] == "user"


def test_list_backbones_shows_shipped_entries(tiny_backbones):
    image = sktransfer.list_backbones("image")
    text = sktransfer.list_backbones("text")
    assert {"efficientnet_lite0", "tf_efficientnet_lite0", "test-tiny-cnn"} <= set(image)
    assert {"all-MiniLM-L6-v2", "test-char-counts"} <= set(text)
    assert "all-MiniLM-L6-v2" not in image
    assert set(sktransfer.list_backbones()) == set(image) | set(text)
    assert "resnet18" in sktransfer.list_backbones("image", family="torchvision")
    entry = sktransfer.get_backbone("efficientnet_lite0", kind="image")
    assert entry.family == "timm"
    assert entry.identity("DEFAULT")["weights"].startswith("sha256:")  # the packaged file


def test_registering_a_name_twice_needs_replace(tiny_backbones):
    with pytest.raises(ValueError, match=r"already registered.*replace=True"):
        sktransfer.register_backbone("test-tiny-cnn", lambda weights: TinyCNN())
    with pytest.raises(ValueError, match="kind="):
        sktransfer.register_backbone("x", lambda weights: TinyCNN(), kind="audio")


def test_unknown_name_lists_close_matches(tiny_backbones):
    with pytest.raises(ValueError, match=r"'resnet181'.*Did you mean 'resnet18'.*list_backbones"):
        sktransfer.get_backbone("resnet181", kind="image")
    with pytest.raises(ValueError, match=r"Did you mean 'test-tiny-cnn'"):
        ImageEmbedder(model="test-tiny-cn", device="cpu").fit(_images(1))
    with pytest.raises(ValueError, match=r"family='keras'"):
        ImageEmbedder(model="resnet18", family="keras", device="cpu").fit(_images(1))


def test_user_family_resolves_a_whole_library():
    from sktransfer import Backbone
    from sktransfer._backbone_table import _FAMILIES

    def resolve(name):
        if not name.startswith("tiny/"):
            return None
        return Backbone(name, "image", lambda weights: TinyCNN(), family="tiny")

    sktransfer.register_family("tiny", resolve, kind="image", names=lambda: ["tiny/a"])
    try:
        emb = ImageEmbedder(model="tiny/anything", family="tiny", device="cpu", num_workers=0)
        assert emb.fit_transform(_images(2)).shape == (2, 5)
        assert sktransfer.list_backbones("image", family="tiny") == ["tiny/a"]
    finally:
        _FAMILIES[:] = [f for f in _FAMILIES if f.name != "tiny"]


def test_family_order_does_not_depend_on_import_order():
    # A doctest run or a user's own import may load the timm module first;
    # "auto" must still try torchvision before timm (both know resnet18).
    import subprocess
    import sys

    code = (
        "import sktransfer.image._timm, sktransfer.image._torchvision, sktransfer; "
        "print(sktransfer.get_backbone('resnet18', kind='image').family)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "torchvision"


def test_family_registered_in_a_fresh_process_comes_after_the_built_in_ones():
    # Registered before anything else used the registry, a user's family is still
    # tried after the built-in families, as register_family documents.
    import subprocess
    import sys

    code = (
        "import sktransfer\n"
        "def resolve(name):\n"
        "    return sktransfer.Backbone(name, 'image', lambda weights: None, family='mine')\n"
        "sktransfer.register_family('mine', resolve, kind='image')\n"
        "from sktransfer._backbones import families\n"
        "print(families('image')[-1])\n"
        "print(sktransfer.get_backbone('resnet18', kind='image').family)\n"
        "print(sktransfer.get_backbone('no-such-net', kind='image').family)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["mine", "torchvision", "mine"]
