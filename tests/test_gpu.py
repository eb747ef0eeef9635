"""What only a CUDA device can show: device choice, 16-bit autocast, pinned memory,
out-of-memory halving, GPU-to-CPU unpickling and fine-tuning on the GPU.

Every test carries the ``gpu`` marker and skips, with the reason, where CUDA is
absent (as in CI). The backbones are the shipped models' architectures with
random weights (``tests/random_models.py``), so the tests need no weight
package: ``benchmarks/gpu_check.sh`` runs them on a machine that has only torch,
timm, sentence-transformers, scikit-learn and the carried skorch wheel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from random_models import IMAGE_ARCH, write_efficientnet_lite0, write_minilm

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available"),
    # sktransfer.finetune imports skorch when sktransfer is imported.
    pytest.mark.skipif(
        importlib.util.find_spec("skorch") is None,
        reason="skorch not importable (import sktransfer needs it); "
        "carry its wheel in .whl/ as benchmarks/gpu_check.sh explains",
    ),
]

WORDS = (
    "the a cat dog bird runs sleeps quickly slowly over under lazy bright red blue "
    "green house tree river mountain city road night morning very not good bad"
).split()
IMAGE_SIZE = 96


def cosines(a, b) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def text_model(tmp_path_factory) -> str:
    """A local sentence-transformers directory: MiniLM's architecture, random weights."""
    return write_minilm(tmp_path_factory.mktemp("minilm"))


@pytest.fixture(scope="module")
def image_weights(tmp_path_factory) -> str:
    """A state dict file: EfficientNet-Lite0's architecture, random weights."""
    return write_efficientnet_lite0(tmp_path_factory.mktemp("lite0") / "weights.pth")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, n)) for n in rng.integers(2, 80, 200)]


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (64, 48, 48, 3), dtype=np.uint8)


def text_embedder(text_model, **params):
    from sktransfer import TextEmbedder

    return TextEmbedder(model=text_model, **params)


def image_embedder(weights, **params):
    from sktransfer import ImageEmbedder

    params = {"image_size": IMAGE_SIZE, **params}
    return ImageEmbedder(model=IMAGE_ARCH, weights=weights, family="timm", **params)


def module_device(embedder) -> torch.device:
    model = embedder.model_
    module = model if isinstance(model, torch.nn.Module) else model.module
    return next(module.parameters()).device


# ------------------------------------------------------------------ devices
def test_auto_device_is_cuda(text_model, image_weights, texts, images):
    text = text_embedder(text_model).fit(texts[:1])
    image = image_embedder(image_weights).fit(images[:1])
    for emb in (text, image):
        assert emb.device_.type == "cuda"
        assert module_device(emb).type == "cuda"
    assert text.transform(texts).shape == (len(texts), 384)
    assert image.transform(images).shape == (len(images), 1280)


def test_explicit_cuda_index(text_model, image_weights, texts, images):
    cuda0 = torch.device("cuda:0")
    for emb, rows in (
        (text_embedder(text_model, device="cuda:0"), texts),
        (image_embedder(image_weights, device="cuda:0"), images),
    ):
        out = emb.fit_transform(rows)
        assert emb.device_ == cuda0
        assert module_device(emb) == cuda0
        assert out.dtype == np.float32 and np.isfinite(out).all()


def test_cuda_matches_cpu(text_model, image_weights, texts, images):
    for make, rows in (
        (lambda **kw: text_embedder(text_model, **kw), texts),
        (lambda **kw: image_embedder(image_weights, **kw), images),
    ):
        gpu = make(device="cuda").fit_transform(rows)
        cpu = make(device="cpu").fit_transform(rows)
        assert cosines(gpu, cpu).min() >= 0.999


# ---------------------------------------------------------------- precision
@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
@pytest.mark.parametrize("kind", ["text", "image"])
def test_autocast_precision(kind, precision, text_model, image_weights, texts, images):
    if kind == "text":
        rows, make = texts, lambda **kw: text_embedder(text_model, **kw)
    else:
        rows, make = images, lambda **kw: image_embedder(image_weights, **kw)
    full = make(device="cuda").fit_transform(rows)
    half = make(device="cuda", precision=precision).fit_transform(rows)
    assert half.dtype == np.float32
    assert np.isfinite(half).all()
    assert cosines(full, half).min() >= 0.99
    assert not np.array_equal(full, half), "autocast changed nothing: did it run?"


# ------------------------------------------------------------ pinned memory
def test_image_loader_uses_pinned_memory(monkeypatch, image_weights, images):
    import torch.utils.data

    seen = {"pin_memory": [], "pinned_batches": []}
    original = torch.utils.data.DataLoader

    class SpyLoader(original):
        def __init__(self, *args, **kwargs):
            seen["pin_memory"].append(kwargs.get("pin_memory", False))
            super().__init__(*args, **kwargs)

        def __iter__(self):
            for batch in super().__iter__():
                seen["pinned_batches"].append(batch.is_pinned())
                yield batch

    emb = image_embedder(image_weights, device="cuda", batch_size=16).fit(images[:1])
    monkeypatch.setattr(torch.utils.data, "DataLoader", SpyLoader)
    out = emb.transform(images)
    assert out.shape == (len(images), 1280)
    assert seen["pin_memory"] == [True]
    assert len(seen["pinned_batches"]) == 4 and all(seen["pinned_batches"])


# -------------------------------------------------------- out-of-memory halving
def _peak_bytes(run) -> int:
    """Extra device memory that ``run()`` needs at its peak."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


@pytest.mark.parametrize("kind", ["text", "image"])
def test_out_of_memory_halves_auto_batch_size(kind, monkeypatch, text_model, image_weights):
    """batch_size="auto" starts at 256 on CUDA. With the device memory capped at
    what a batch of 16 needs (measured first), 256 runs out of memory for real;
    the embedding still completes, equal to a plain small-batch run, and the
    size that fitted is remembered for the next call."""
    from sktransfer import _batching

    rng = np.random.default_rng(1)
    if kind == "text":
        # Long rows (truncated at the model's 256 tokens) make memory grow with the batch.
        rows = [" ".join(rng.choice(WORDS, 400)) for _ in range(300)]
        make = lambda **kw: text_embedder(text_model, **kw)  # noqa: E731
    else:
        rows = rng.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
        make = lambda **kw: image_embedder(image_weights, image_size=320, num_workers=0, **kw)  # noqa: E731
    reference = make(device="cuda", batch_size=16).fit(rows[:1])
    per_16 = _peak_bytes(lambda: reference.transform(rows[:16]))
    expected = reference.transform(rows)

    monkeypatch.setattr(_batching, "_WORKING", {})
    auto = make(device="cuda", batch_size="auto").fit(rows[:1])
    assert _batching.start_batch_size("auto", auto.device_, kind) == 256
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    cap = torch.cuda.memory_reserved() + 2 * per_16 + (64 << 20)
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total))
    try:
        out = auto.transform(rows)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    remembered = list(_batching._WORKING.values())
    assert remembered, "no batch size was remembered"
    assert max(remembered) < 256, f"no out-of-memory halving happened: {_batching._WORKING}"
    assert out.shape == expected.shape
    assert cosines(out, expected).min() >= 0.999


# ------------------------------------------------------ GPU -> CPU unpickling
UNPICKLE_ON_CPU = textwrap.dedent(
    """
    import json, pickle, sys, warnings
    import numpy as np
    import torch
    assert not torch.cuda.is_available()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open(sys.argv[1], "rb") as f:
            est, rows = pickle.load(f)
    if hasattr(est, "predict_proba"):
        out, device = est.predict_proba(rows), str(est.net_.device)
    else:
        out, device = est.transform(rows), str(est.device_)
    print(json.dumps({
        "device": device,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "out": np.asarray(out, dtype=np.float64).tolist(),
    }))
    """
)


def unpickle_without_cuda(est, rows, tmp_path) -> dict:
    path = tmp_path / "estimator.pkl"
    path.write_bytes(pickle.dumps((est, rows)))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", UNPICKLE_ON_CPU, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_text_embedder_fitted_on_gpu_unpickles_on_cpu(device, text_model, texts, tmp_path):
    emb = text_embedder(text_model, device=device).fit(texts[:1])
    assert emb.device_.type == "cuda"
    on_gpu = emb.transform(texts[:20])
    got = unpickle_without_cuda(emb, texts[:20], tmp_path)
    assert got["device"] == "cpu"
    if device == "cuda":  # asked for CUDA explicitly: the move to the CPU is announced
        assert any("cuda" in w and "cpu" in w for w in got["warnings"]), got["warnings"]
    assert cosines(np.asarray(got["out"]), on_gpu).min() >= 0.999


def test_image_embedder_fitted_on_gpu_unpickles_on_cpu(image_weights, images, tmp_path):
    emb = image_embedder(image_weights, device="cuda").fit(images[:1])
    rows = images[:8]
    on_gpu = emb.transform(rows)
    got = unpickle_without_cuda(emb, rows, tmp_path)
    assert got["device"] == "cpu"
    assert any("cuda" in w and "cpu" in w for w in got["warnings"]), got["warnings"]
    assert cosines(np.asarray(got["out"]), on_gpu).min() >= 0.999


# ------------------------------------------------------------ fine-tuning
@pytest.mark.parametrize("kind", ["text", "image"])
def test_finetunes_on_gpu_and_unpickles_on_cpu(
    kind, text_model, image_weights, texts, images, tmp_path
):
    """unfreeze=1 trains the last block and the head on CUDA for an epoch; the
    fitted classifier unpickles where there is no GPU and predicts the same."""
    from sktransfer import ImageClassifier, TextClassifier

    if kind == "text":
        rows, y = texts, np.array(["short" if len(t.split()) < 40 else "long" for t in texts])
        cls, embedder = TextClassifier, text_embedder(text_model, device="cuda")
    else:
        rows, y = images, np.arange(len(images)) % 2
        cls, embedder = ImageClassifier, image_embedder(image_weights, device="cuda", batch_size=16)
    clf = cls(
        embedder=embedder, unfreeze=1, max_epochs=1, batch_size=16, device="cuda", random_state=0
    ).fit(rows, y)
    assert str(clf.net_.device).startswith("cuda")
    trained = [p for p in clf.net_.module_.parameters() if p.requires_grad]
    assert trained and all(p.device.type == "cuda" for p in trained)
    assert np.isfinite(clf.net_.history[-1, "train_loss"])
    proba = clf.predict_proba(rows[:8])
    assert proba.shape == (8, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    got = unpickle_without_cuda(clf, rows[:8], tmp_path)
    assert got["device"] == "cpu"
    assert any("cuda" in w.lower() for w in got["warnings"]), got["warnings"]
    assert np.allclose(got["out"], proba, atol=1e-3)
