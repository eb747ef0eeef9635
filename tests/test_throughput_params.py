"""Speed switches change speed, not results: batch sizes, loader workers, precision,
layout and compilation all give the same embeddings (within a stated tolerance),
in input order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer._batching import resolve_num_workers, start_batch_size, with_batch_size

# Smallest cosine to the float32 embedding allowed for each precision; the
# figures measured on the shipped models are in docs/benchmarks.md.
MIN_COSINE = {"bfloat16": 0.99, "float16": 0.999}


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def texts(reviews):
    """24 real reviews of very different lengths (shortest to the 80th percentile),
    in a shuffled order."""
    by_length = reviews["review"].astype(str).iloc[np.argsort(reviews["review"].str.len())]
    picked = by_length.iloc[np.linspace(0, 0.8 * len(by_length), 24).astype(int)].tolist()
    return [picked[i] for i in np.random.default_rng(0).permutation(len(picked))]


@pytest.fixture(scope="module")
def text_reference(texts):
    return TextEmbedder(batch_size=24, device="cpu").fit(texts).transform(texts)


@pytest.fixture(scope="module")
def images(photo_dir, digits_images):
    """Real photos as files plus digits as arrays: 13 rows of mixed kinds and sizes."""
    return photo_dir + list(digits_images[0][:8])


@pytest.fixture(scope="module")
def image_reference(images):
    return ImageEmbedder(image_size=96, batch_size=13, num_workers=0, device="cpu").fit_transform(
        images
    )


# ------------------------------------------------------------------------ text
@pytest.mark.parametrize("batch_size", [2, 7, "auto"])
def test_text_same_embeddings_across_batch_sizes(texts, text_reference, batch_size):
    got = TextEmbedder(batch_size=batch_size, device="cpu").fit(texts).transform(texts)
    np.testing.assert_allclose(got, text_reference, atol=2e-5)


def test_text_order_preserved_under_length_sorting(texts, text_reference):
    # Batches are formed from length-sorted texts; every row must still land in
    # its own place, whatever the input order.
    emb = TextEmbedder(batch_size=8, device="cpu").fit(texts)
    order = np.random.default_rng(1).permutation(len(texts))
    shuffled = emb.transform([texts[i] for i in order])
    np.testing.assert_allclose(shuffled, text_reference[order], atol=2e-5)
    alone = np.vstack([emb.transform([texts[i]]) for i in (0, 11, 23)])
    np.testing.assert_allclose(alone, text_reference[[0, 11, 23]], atol=2e-5)


# float16 arithmetic is emulated on most CPUs: slow, but the same code path as CUDA.
@pytest.mark.parametrize("precision", ["bfloat16", pytest.param("float16", marks=pytest.mark.slow)])
def test_text_reduced_precision_within_tolerance(texts, text_reference, precision):
    got = TextEmbedder(precision=precision, device="cpu").fit(texts).transform(texts)
    assert got.dtype == np.float32
    assert np.abs(got - text_reference).max() > 0, "autocast did not change the arithmetic"
    assert cosines(got, text_reference).min() >= MIN_COSINE[precision]


# ---------------------------------------------------------------------- images
@pytest.mark.parametrize(
    "params",
    [
        {"batch_size": 2, "num_workers": 0},
        {"batch_size": 5, "num_workers": 2},
        {"batch_size": 4, "num_workers": "auto"},
        {"batch_size": "auto", "num_workers": 0},
        {"batch_size": 13, "channels_last": True},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()),
)
def test_image_same_embeddings_across_loader_settings(images, image_reference, params):
    emb = ImageEmbedder(image_size=96, device="cpu", **params).fit(images[:1])
    np.testing.assert_allclose(emb.transform(images), image_reference, atol=1e-4)


def test_image_bfloat16_within_tolerance(images, image_reference):
    got = ImageEmbedder(image_size=96, precision="bfloat16", device="cpu").fit_transform(images)
    assert got.dtype == np.float32
    assert np.abs(got - image_reference).max() > 0, "autocast did not change the arithmetic"
    assert cosines(got, image_reference).min() >= MIN_COSINE["bfloat16"]


def test_channels_last_copy_leaves_the_shared_module_alone(images):
    plain = ImageEmbedder(image_size=96, device="cpu").fit(images[:1])
    laid_out = ImageEmbedder(image_size=96, channels_last=True, device="cpu").fit(images[:1])
    assert laid_out.model_.module is not plain.model_.module
    conv = next(m for m in plain.model_.module.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()  # still NCHW


def test_precision_is_part_of_the_image_identity(images):
    a = ImageEmbedder(image_size=96, device="cpu").fit(images[:1])
    b = ImageEmbedder(image_size=96, precision="bfloat16", device="cpu").fit(images[:1])
    assert a.model_.identity != b.model_.identity


# torch.compile's graph capture, without inductor's C++ code generation (minutes
# on a small CPU); compile=True runs the same path with the default backend.
EAGER_COMPILE = {"backend": "aot_eager"}


@pytest.mark.slow
def test_image_compile_same_embeddings(images, image_reference):
    emb = ImageEmbedder(image_size=96, compile=EAGER_COMPILE, device="cpu").fit(images[:1])
    assert isinstance(emb.model_.module, torch._dynamo.eval_frame.OptimizedModule)
    np.testing.assert_allclose(emb.transform(images), image_reference, atol=1e-4)


@pytest.mark.slow
def test_text_compile_same_embeddings(texts, text_reference):
    emb = TextEmbedder(compile=EAGER_COMPILE, device="cpu").fit(texts[:1])
    assert isinstance(emb.model_[0].model, torch._dynamo.eval_frame.OptimizedModule)
    np.testing.assert_allclose(emb.transform(texts[:8]), text_reference[:8], atol=1e-4)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("cls", "params", "match"),
    [
        (TextEmbedder, {"precision": "half"}, "precision='half'"),
        (TextEmbedder, {"batch_size": 0}, "batch_size=0"),
        (TextEmbedder, {"compile": "yes"}, "compile='yes'"),
        (ImageEmbedder, {"compile": {"modes": "x"}}, "not torch.compile arguments"),
        (TextEmbedder, {"runtime": "tensorrt"}, "runtime='tensorrt'"),
        (ImageEmbedder, {"precision": "int8"}, "precision='int8'"),
        (ImageEmbedder, {"num_workers": -1}, "num_workers=-1"),
        (ImageEmbedder, {"batch_size": "big"}, "batch_size='big'"),
        (ImageEmbedder, {"channels_last": 1}, "channels_last=1"),
    ],
)
def test_bad_speed_params_fail_in_fit_naming_the_value(cls, params, match):
    est = cls(device="cpu", **params)  # stored as given, not validated yet
    assert est.get_params()[next(iter(params))] == next(iter(params.values()))
    with pytest.raises(ValueError, match=match.replace("(", r"\(")):
        est.fit(["x"] if cls is TextEmbedder else np.zeros((1, 8, 8, 3), np.uint8))


@pytest.mark.parametrize("cls", [TextEmbedder, ImageEmbedder])
def test_unknown_runtimes_are_refused_naming_those_offered(cls):
    est = cls(runtime="openvino", device="cpu")
    with pytest.raises(ValueError, match="runtime='openvino': use 'torch' or 'onnx'"):
        est.fit(["x"] if cls is TextEmbedder else np.zeros((1, 8, 8, 3), np.uint8))


def test_precisions_are_those_of_the_runtime():
    with pytest.raises(ValueError, match=r"precision='int8': with runtime='torch'.*runtime='onnx'"):
        TextEmbedder(precision="int8", device="cpu").fit(["x"])
    with pytest.raises(ValueError, match="precision='bfloat16': with runtime='onnx'"):
        TextEmbedder(runtime="onnx", precision="bfloat16", device="cpu").fit(["x"])
    with pytest.raises(ValueError, match=r"precision='int8': with runtime='torch'.*'onnx'"):
        ImageEmbedder(precision="int8", device="cpu").fit(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"compile=True: torch.compile compiles torch models"):
        TextEmbedder(runtime="onnx", compile=True, device="cpu").fit(["x"])


# ------------------------------------------------------------ batching helpers
def fake_oom_above(limit, calls):
    def run(size):
        calls.append(size)
        if size > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return size

    return run


def test_auto_batch_size_halves_on_out_of_memory_and_remembers():
    cuda = torch.device("cuda")  # only a label here: nothing runs on it
    calls = []
    key = ("test-model", "halving")
    assert with_batch_size(fake_oom_above(50, calls), "auto", cuda, "image", key) == 32
    assert calls == [256, 128, 64, 32]
    assert start_batch_size("auto", cuda, "image", key) == 32
    calls.clear()
    with_batch_size(fake_oom_above(50, calls), "auto", cuda, "image", key)
    assert calls == [32]


def test_explicit_batch_size_is_kept_and_oom_says_what_to_do():
    with pytest.raises(RuntimeError, match="batch_size=64 does not fit"):
        with_batch_size(fake_oom_above(50, []), 64, torch.device("cuda"), "text")


def test_other_errors_are_not_mistaken_for_out_of_memory():
    def run(size):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        with_batch_size(run, "auto", torch.device("cuda"), "text")


@pytest.fixture
def fork_machine(monkeypatch):
    """A machine where processes start by fork, in a non-daemonic process, with a
    core count the test sets: ``fork_machine(cores)``."""
    import multiprocessing

    import sktransfer._batching as batching

    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: "fork")
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", False)

    def set_cores(cores):
        monkeypatch.setattr(batching, "_usable_cores", lambda: cores)

    return set_cores


@pytest.mark.parametrize(
    ("cores", "device", "expected"),
    [
        (1, "cpu", 0),  # no spare core
        (2, "cpu", 1),  # on a CPU half the cores decode...
        (3, "cpu", 1),
        (8, "cpu", 4),
        (32, "cpu", 8),  # ...at most 8
        (2, "cuda", 1),  # on a GPU all but one core decode
        (5, "cuda", 4),
        (64, "cuda", 8),
    ],
)
def test_auto_workers_from_the_core_count(fork_machine, cores, device, expected):
    fork_machine(cores)
    got = resolve_num_workers("auto", torch.device(device), n_rows=1000, batch_size=32)
    assert got == expected


def test_auto_workers_none_for_a_single_batch(fork_machine):
    fork_machine(8)
    cpu = torch.device("cpu")
    assert resolve_num_workers("auto", cpu, n_rows=32, batch_size=32) == 0
    assert resolve_num_workers("auto", cpu, n_rows=33, batch_size=32) == 4
    assert resolve_num_workers(3, cpu, n_rows=10, batch_size=32) == 3  # explicit: kept


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_auto_workers_none_where_processes_do_not_fork(fork_machine, monkeypatch, method):
    import multiprocessing

    fork_machine(8)
    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: method)
    assert resolve_num_workers("auto", torch.device("cpu"), n_rows=1000, batch_size=32) == 0
    assert resolve_num_workers(2, torch.device("cpu"), n_rows=1000, batch_size=32) == 2


def _auto_workers(_):
    return resolve_num_workers("auto", torch.device("cpu"), n_rows=1000, batch_size=32)


def test_auto_workers_none_inside_a_daemonic_pool_worker(fork_machine):
    import multiprocessing

    fork_machine(8)  # the forked worker inherits this machine
    assert _auto_workers(0) == 4
    # Pool workers are daemonic and may not start DataLoader workers of their own.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map(_auto_workers, [0]) == [0]


def test_auto_workers_none_for_rows_already_in_memory(fork_machine, photo_dir):
    """Arrays and PIL images have nothing to decode: "auto" starts no worker for
    them (benchmarks/bench_parallel.py measures why), and does for files and bytes."""
    from PIL import Image

    from sktransfer.io import ImageDataset, image_rows

    fork_machine(8)
    cpu = torch.device("cpu")

    def auto(X):
        dataset = ImageDataset(image_rows(X), preprocess=None)
        return resolve_num_workers("auto", cpu, 1000, 32, dataset.decodes)

    arrays = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    pil = [Image.fromarray(a) for a in arrays]
    with open(photo_dir[0], "rb") as f:
        encoded = f.read()
    assert auto(arrays) == 0
    assert auto(list(arrays)) == 0
    assert auto(pil) == 0
    assert auto(photo_dir) == 4
    assert auto([encoded, *pil]) == 4  # one row to decode is enough
    assert resolve_num_workers(2, cpu, 1000, 32, decodes=False) == 2  # explicit: kept


def test_in_memory_arrays_are_embedded_without_workers(fork_machine, monkeypatch):
    """The loop asks the dataset: no worker process starts for an array batch."""
    from torch.utils import data

    fork_machine(8)
    started = []
    real = data.DataLoader.__init__

    def spy(self, *args, **kwargs):
        started.append(kwargs.get("num_workers", 0))
        real(self, *args, **kwargs)

    monkeypatch.setattr(data.DataLoader, "__init__", spy)
    embedder = ImageEmbedder(image_size=32, device="cpu", batch_size=2)
    embedder.fit(np.zeros((1, 8, 8, 3), dtype=np.uint8))
    embedder.transform(np.zeros((5, 8, 8, 3), dtype=np.uint8))
    assert started == [0]
