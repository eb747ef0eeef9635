"""Making the embedders faster on a CPU: each option the library offers, side by
side in one run, with its speed and what it does to accuracy.

Text (the shipped all-MiniLM-L6-v2 on two offline sets: Amazon fine-food
reviews, great / other, and UCLA course titles, ten subjects):

* torch float32 (the default), batch 32 and batch 128;
* torch bfloat16 (autocast; fast only where the CPU has bfloat16 instructions);
* ONNX Runtime float32 and int8 (``runtime="onnx"``, ``precision="int8"``);
* a static model distilled from MiniLM (``distill_static``, 256-d).

The stronger all-mpnet-base-v2 (the ``mpnet`` extra), on ``--mpnet-rows`` rows of
the same two sets: torch float32, ONNX Runtime float32 and int8.

Images (the shipped EfficientNet-Lite0 on two digit sets read from PNG files:
MNIST and scikit-learn's scans): torch float32, ONNX Runtime float32 and int8
(static, its activation ranges calibrated on the rows given to ``fit``, without
their labels).

* speed: rows per second of ``transform`` on the same rows (cache off, an
  untimed warm-up each, the median of ``--repeats`` interleaved runs), and
  its ratio to torch float32 measured in the same run;
* accuracy: accuracy of the same head (``LogisticRegressionCV``) in stratified
  5-fold cross-validation on each option's vectors, and its ratio to torch
  float32's;
* agreement: cosine of each row's vector with torch float32's (mean, min).

``--profile`` instead prints where ONNX Runtime spends its time on MiniLM
(float32, 128 reviews): each operator type's share of the time of the graph's
nodes, from ONNX Runtime's own profiler.

Run::

    python benchmarks/bench_cpu.py                         # about 15 minutes on 2 cores
    python benchmarks/bench_cpu.py --profile               # under a minute
    python benchmarks/bench_cpu.py --rows 200 --image-rows 100 --repeats 1 --no-static  # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sktransfer import ImageEmbedder, StaticEmbedder, TextEmbedder, distill_static
from sktransfer.datasets import load_courses, load_digit_scans, load_digits_images, load_reviews


def head():
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6), cv=3, max_iter=3000, use_legacy_attributes=False
    )


def accuracy(X, y, seed=0) -> float:
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(head(), X, y, cv=folds).mean())


def timed(fitted: dict, rows, repeats: int) -> tuple[dict, dict]:
    """Vectors of every embedder, and the median rows per second of ``transform``."""
    vectors = {}
    for est in fitted.values():
        est.transform(rows[:16])  # warm-up, untimed (and any export happens here)
    times = {name: [] for name in fitted}
    for _ in range(repeats):
        for name, est in fitted.items():
            start = time.perf_counter()
            vectors[name] = est.transform(rows)
            times[name].append(time.perf_counter() - start)
    return vectors, {name: len(rows) / statistics.median(t) for name, t in times.items()}


def cosines(a, b) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def report(title: str, vectors: dict, speed: dict, y, base: str) -> None:
    acc = {name: accuracy(v, y) for name, v in vectors.items()}
    print(f"\n{title}")
    print(
        f"| option | rows/s | speed vs {base} | accuracy | accuracy vs {base} | "
        "cosine to it (mean / min) |"
    )
    print("|---|---|---|---|---|---|")
    for name, v in vectors.items():
        if v.shape == vectors[base].shape:
            cos = cosines(v, vectors[base])
            agree = f"{cos.mean():.4f} / {cos.min():.4f}"
        else:
            agree = "other space"
        print(
            f"| {name} | {speed[name]:.0f} | {speed[name] / speed[base]:.2f}× | "
            f"{acc[name]:.3f} | {acc[name] / acc[base]:.3f} | {agree} |"
        )


def profile(rows: list) -> None:
    """Each operator type's share of ONNX Runtime's node time on ``rows``."""
    import json
    from collections import Counter

    import onnxruntime

    from sktransfer._location import default_cache_dir
    from sktransfer.text._onnx_model import _run

    est = TextEmbedder(device="cpu", runtime="onnx", verbose=0).fit(rows[:2])
    for manifest in (default_cache_dir() / "onnx").glob("*/manifest.json"):
        key = json.loads(manifest.read_text())["key"]
        if key["kind"] == "sentence-transformers" and key["precision"] == "float32":
            path = manifest.parent / "model.onnx"
    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    _run(session, est.model_._model, rows[:16], 32)  # warm-up
    _run(session, est.model_._model, rows, 32)
    written = Path(session.end_profiling())
    events = json.loads(written.read_text())
    shutil.rmtree(written.parent, ignore_errors=True)
    spent = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values())
    print(f"\nONNX Runtime float32, MiniLM, {len(rows)} reviews: share of node time by operator")
    print("| operator | share |\n|---|---|")
    for op, dur in spent.most_common(8):
        print(f"| {op} | {dur / total:.1%} |")


def text_options(args, static_dir) -> dict:
    quiet = {"device": "cpu", "verbose": 0}
    options = {
        "torch float32": TextEmbedder(**quiet),
        "torch float32, batch 128": TextEmbedder(batch_size=128, **quiet),
        "torch bfloat16": TextEmbedder(precision="bfloat16", **quiet),
        "onnx float32": TextEmbedder(runtime="onnx", **quiet),
        "onnx int8": TextEmbedder(runtime="onnx", precision="int8", **quiet),
    }
    if static_dir is not None:
        options["static 256-d (distilled)"] = StaticEmbedder(model=static_dir, verbose=0)
    return options


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600, help="rows of each text set")
    parser.add_argument("--mpnet-rows", type=int, default=300, help="0: leave MPNet out")
    parser.add_argument("--image-rows", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--static", help="a static model directory (default: distil one now)")
    parser.add_argument("--no-static", action="store_true", help="leave the static model out")
    parser.add_argument("--profile", action="store_true", help="only ONNX Runtime's profile")
    parser.add_argument("--images-only", action="store_true", help="leave the text sets out")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # truncation notes: the same on every option
    if args.profile:
        profile(load_reviews(n_rows=128)["review"].tolist())
        return
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        static_dir = None if args.no_static else args.static
        if static_dir is None and not args.no_static and not args.images_only:
            start = time.perf_counter()
            static_dir = distill_static(path=Path(tmp) / "minilm-static", dim=256, verbose=0)
            print(f"distilled the static model in {time.perf_counter() - start:.0f} s")
        sets = {
            "reviews (Amazon fine food, great / other)": load_reviews(n_rows=args.rows),
            "course titles (UCLA, ten subjects)": load_courses(n_rows=min(args.rows, 891)),
        }
        for title, df in sets.items() if not args.images_only else ():
            text, label = df.columns[0], df.columns[1]
            rows, y = df[text].tolist(), df[label].to_numpy()
            fitted = {n: est.fit(rows[:2]) for n, est in text_options(args, static_dir).items()}
            vectors, speed = timed(fitted, rows, args.repeats)
            report(f"Text: {title}, {len(rows)} rows", vectors, speed, y, "torch float32")

        from sktransfer._weights import MPNET

        if args.images_only:
            pass
        elif args.mpnet_rows and MPNET.part_paths() is not None:
            quiet = {"device": "cpu", "verbose": 0, "model": "all-mpnet-base-v2"}
            smaller = {
                title: loader(n_rows=args.mpnet_rows)
                for title, loader in zip(sets, (load_reviews, load_courses), strict=True)
            }
            for title, df in smaller.items():
                rows, y = df[df.columns[0]].tolist(), df[df.columns[1]].to_numpy()
                fitted = {
                    "MPNet torch float32": TextEmbedder(**quiet).fit(rows[:2]),
                    "MPNet onnx float32": TextEmbedder(runtime="onnx", **quiet).fit(rows[:2]),
                    "MPNet onnx int8": TextEmbedder(runtime="onnx", precision="int8", **quiet).fit(
                        rows[:2]
                    ),
                }
                vectors, speed = timed(fitted, rows, args.repeats)
                report(
                    f"Text, all-mpnet-base-v2: {title}, {len(rows)} rows",
                    vectors,
                    speed,
                    y,
                    "MPNet torch float32",
                )
        elif args.mpnet_rows:
            print("\nall-mpnet-base-v2: not measured (pip install 'sktransfer[mpnet]')")

        from PIL import Image

        quiet = {"device": "cpu", "verbose": 0, "num_workers": 0}
        image_sets = {
            "MNIST digits": load_digits_images(n_rows=args.image_rows),
            "scikit-learn's digit scans": load_digit_scans(n_rows=args.image_rows),
        }
        for title, digits in image_sets.items():
            folder = Path(tmp) / title.replace(" ", "-").replace("'", "")
            folder.mkdir()
            paths = []
            for i, img in enumerate(digits["image"]):
                paths.append(str(folder / f"{i}.png"))
                Image.fromarray(img).save(paths[-1])
            # int8 measures its activation ranges on the rows given to fit (no labels)
            fitted = {
                "torch float32": ImageEmbedder(**quiet).fit(paths[:1]),
                "onnx float32": ImageEmbedder(runtime="onnx", **quiet).fit(paths[:1]),
                "onnx int8": ImageEmbedder(runtime="onnx", precision="int8", **quiet).fit(paths),
            }
            vectors, speed = timed(fitted, paths, args.repeats)
            report(
                f"Images: {title} from PNG files, {len(paths)} rows, EfficientNet-Lite0 at 224 px",
                vectors,
                speed,
                digits["digit"].to_numpy(),
                "torch float32",
            )
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
