"""Image backbones: a name + weights -> a module that maps images to vectors.

Two families: torchvision (``torchvision.models.list_models()``) and timm (any
``timm`` model). Preprocessing always comes from the weights' own config
(torchvision ``weights.transforms()``, timm's data config), only the input size
may be overridden. Loaded modules are shared through the registry.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .._registry import shared_model
from .._weights import IMAGE_ALIASES, file_digest, shipped_image_weights

POOLINGS = ("auto", "avg", "max", "token", "cls")


@dataclass
class ImageBackbone:
    """A ready-to-run image encoder."""

    module: nn.Module  # (N, 3, H, W) float -> (N, D)
    preprocess: object  # PIL.Image -> (3, H, W) float tensor
    input_size: int = 224  # side of the preprocessed square image
    identity: dict = field(default_factory=dict)  # what determines the output


# ---------------------------------------------------------------- resolution
def resolve_backend(model: str, backend: str) -> tuple[str, str]:
    """Return ``(backend, architecture)`` for a model name."""
    import timm
    import torchvision

    if backend not in ("auto", "timm", "torchvision"):
        raise ValueError(f"backend={backend!r}; use 'auto', 'timm' or 'torchvision'.")
    if backend in ("auto", "timm") and model in IMAGE_ALIASES:
        return "timm", IMAGE_ALIASES[model]
    tv_names = torchvision.models.list_models(module=torchvision.models)
    if backend == "torchvision" or (backend == "auto" and model in tv_names):
        if model not in tv_names:
            raise ValueError(_unknown(model, tv_names, "torchvision"))
        return "torchvision", model
    arch = model.split(".", 1)[0]
    if not timm.is_model(arch):
        known = tv_names + timm.list_models() + list(IMAGE_ALIASES)
        raise ValueError(_unknown(model, known, "torchvision or timm"))
    return "timm", model


def _unknown(model, names, where) -> str:
    close = difflib.get_close_matches(model, names, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"model={model!r} is not a {where} model name.{hint}"


def _weights_identity(weights, backend=None, arch=None) -> str | None:
    """What identifies the weights: a file's digest, torchvision's concrete
    weights (``DEFAULT`` resolved, with the checkpoint file name, which carries
    its hash), or the name as given."""
    if weights is not None and isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return "sha256:" + file_digest(weights)
    if weights is not None and backend == "torchvision":
        enum = _tv_weights(arch, weights)
        return f"{type(enum).__name__}.{enum.name}:{os.path.basename(enum.url)}"
    return None if weights is None else str(weights)


# ---------------------------------------------------------------- loading
def load_state_dict_file(module: nn.Module, path) -> None:
    """Load a state dict file, by key names or, failing that, by position.

    Some packaged weights use other key names for the same tensors in the same
    order; they are matched one by one and every shape is checked.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    target = module.state_dict()
    if set(state) == set(target):
        module.load_state_dict(state)
        return
    if len(state) == len(target) and all(
        a.shape == b.shape for a, b in zip(state.values(), target.values(), strict=True)
    ):
        module.load_state_dict(dict(zip(target, state.values(), strict=True)))
        return
    missing = sorted(set(target) - set(state))[:3]
    raise ValueError(
        f"weights file {os.fspath(path)!r} does not fit this architecture: "
        f"{len(state)} tensors against {len(target)} expected (e.g. missing {missing}). "
        "Check that the file was saved from the same model."
    )


def _timm_module(arch: str, weights):
    import timm

    if weights is None:
        return timm.create_model(arch, pretrained=False)
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        module = timm.create_model(arch, pretrained=False)
        load_state_dict_file(module, weights)
        return module
    if weights == "DEFAULT":
        shipped = shipped_image_weights(arch)
        if shipped:
            module = timm.create_model(arch, pretrained=False)
            load_state_dict_file(module, shipped)
            return module
        name = arch
    else:
        name = f"{arch.split('.', 1)[0]}.{weights}"  # a timm pretrained tag
    try:
        return timm.create_model(name, pretrained=True)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        raise ValueError(
            f"cannot load pretrained timm weights {name!r}: {exc}. With no network, "
            "pass weights=<path to a state dict file>."
        ) from exc


def _torchvision_module(arch: str, weights):
    import torchvision

    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        module = torchvision.models.get_model(arch, weights=None)
        load_state_dict_file(module, weights)
        return module
    enum = _tv_weights(arch, weights)
    try:
        return torchvision.models.get_model(arch, weights=enum)
    except Exception as exc:
        raise ValueError(
            f"cannot load torchvision weights {enum} for {arch!r}: {exc}. With no "
            "network, put the file in $TORCH_HOME/hub/checkpoints/ (named as in "
            f"{getattr(enum, 'url', 'the weights URL')}) or pass weights=<path>."
        ) from exc


def _tv_weights(arch: str, weights):
    import torchvision

    if weights is None:
        return None
    enum_cls = torchvision.models.get_model_weights(arch)
    if isinstance(weights, enum_cls):
        return weights
    name = str(weights).split(".")[-1]
    if name == "DEFAULT":
        return enum_cls.DEFAULT
    try:
        return enum_cls[name]
    except KeyError:
        choices = ["DEFAULT", *(w.name for w in enum_cls), "None", "a file path"]
        raise ValueError(
            f"weights={weights!r} is neither a file nor one of {choices} for {arch!r}."
        ) from None


def _base_module(backend: str, arch: str, weights, weights_id, device) -> nn.Module:
    def load():
        build = _timm_module if backend == "timm" else _torchvision_module
        return build(arch, weights).eval().to(device)

    return shared_model(("image", backend, arch, weights_id, str(device)), load)


# ---------------------------------------------------------------- preprocessing
def _timm_preprocess(module, image_size):
    import timm.data

    cfg = timm.data.resolve_data_config({}, model=module)
    if image_size is not None:
        cfg["input_size"] = (3, int(image_size), int(image_size))
    return timm.data.create_transform(**cfg, is_training=False), cfg


def _torchvision_preprocess(arch, weights, image_size):
    import torchvision
    from torchvision.transforms._presets import ImageClassification

    enum = (
        None
        if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)
        else _tv_weights(arch, weights)
    )
    # Without named weights, the architecture's reference weights still define
    # the preprocessing it was designed for.
    enum = enum or torchvision.models.get_model_weights(arch).DEFAULT
    preset = enum.transforms()
    if image_size is not None and isinstance(preset, ImageClassification):
        ratio = preset.resize_size[0] / preset.crop_size[0]
        preset = ImageClassification(
            crop_size=int(image_size),
            resize_size=round(image_size * ratio),
            mean=preset.mean,
            std=preset.std,
            interpolation=preset.interpolation,
            antialias=preset.antialias,
        )
    elif image_size is not None:
        raise ValueError(
            f"image_size cannot be overridden for {arch!r} weights ({type(preset).__name__})."
        )
    cfg = {
        "crop_size": getattr(preset, "crop_size", None),
        "resize_size": getattr(preset, "resize_size", None),
        "mean": getattr(preset, "mean", None),
        "std": getattr(preset, "std", None),
        "interpolation": str(getattr(preset, "interpolation", "")),
    }
    return preset, cfg


# ---------------------------------------------------------------- pooling heads
def pool(
    features: torch.Tensor, pooling: str, *, channels_last=False, prefix_tokens=0
) -> torch.Tensor:
    """Pool a feature map (N,C,H,W), (N,H,W,C) or token sequence (N,T,C) to (N,C)."""
    if features.ndim == 2:
        return features
    if features.ndim == 4:
        if channels_last:
            features = features.permute(0, 3, 1, 2)
        if pooling in ("token", "cls"):
            raise ValueError(
                "pooling='token' needs a transformer's token sequence; this layer is a "
                "feature map, use 'avg' or 'max'."
            )
        return features.amax(dim=(2, 3)) if pooling == "max" else features.mean(dim=(2, 3))
    if features.ndim == 3:
        if pooling in ("token", "cls", "auto"):
            return features[:, 0]
        patches = features[:, prefix_tokens:]
        return patches.amax(dim=1) if pooling == "max" else patches.mean(dim=1)
    raise ValueError(f"cannot pool features of shape {tuple(features.shape)}.")


class TimmFeatures(nn.Module):
    """timm model -> pooled features of the last (or an intermediate) stage."""

    def __init__(self, model: nn.Module, pooling: str, layer):
        super().__init__()
        self.model, self.pooling, self.layer = model, pooling, layer
        self.channels_last = getattr(model, "output_fmt", "NCHW") == "NHWC"
        self.prefix_tokens = getattr(model, "num_prefix_tokens", 0)

    def forward(self, x):
        if self.layer is not None:
            feats = self.model.forward_intermediates(
                x, indices=[self.layer], intermediates_only=True
            )[0]
            return pool(feats, "avg" if self.pooling == "auto" else self.pooling)
        feats = self.model.forward_features(x)
        if self.pooling == "auto":  # exactly the model's own pre-logits features
            return self.model.forward_head(feats, pre_logits=True)
        return pool(
            feats, self.pooling, channels_last=self.channels_last, prefix_tokens=self.prefix_tokens
        )


class GraphFeatures(nn.Module):
    """torchvision model cut at one graph node, then pooled."""

    def __init__(self, extractor: nn.Module, pooling: str, prefix_tokens: int):
        super().__init__()
        self.extractor, self.pooling, self.prefix_tokens = extractor, pooling, prefix_tokens

    def forward(self, x):
        feats = self.extractor(x)["features"]
        return pool(feats, self.pooling, prefix_tokens=self.prefix_tokens)


_PROBE_BATCH = 2  # a batch of 2 tells batched tensors from constants and parameters


def feature_nodes(module: nn.Module, size: int) -> dict[str, tuple]:
    """Output shape of every graph node of a torchvision model, in order."""
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    nodes = get_graph_node_names(module)[1]
    probe = create_feature_extractor(module, return_nodes=nodes)
    param = next(module.parameters())
    with torch.inference_mode():
        out = probe(
            torch.zeros(_PROBE_BATCH, 3, size, size, device=param.device, dtype=param.dtype)
        )
    return {name: tuple(t.shape) for name, t in out.items() if isinstance(t, torch.Tensor)}


def _is_global_pool(module: nn.Module, name: str) -> bool:
    if name.split(".")[-1].startswith("adaptive_"):  # functional F.adaptive_*_pool2d
        return True
    try:
        sub = module.get_submodule(name)
    except AttributeError:
        return False
    return isinstance(sub, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))


def body_nodes(module: nn.Module, shapes: dict[str, tuple]) -> dict[str, tuple]:
    """The batched nodes before the classifier head: the feature body.

    The head starts at the first global (adaptive) pool or, for models without
    one (vision transformers), after the last map or token sequence. The cut is
    by structure, not by size, so a final map that is 1x1 at a small
    `image_size` (resnet18 at 32 px) is still the final map."""
    batched = {n: s for n, s in shapes.items() if s and s[0] == _PROBE_BATCH}
    names = list(batched)
    end = next((i for i, n in enumerate(names) if _is_global_pool(module, n)), None)
    if end is None:
        seqs = [i for i, n in enumerate(names) if len(batched[n]) in (3, 4)]
        end = seqs[-1] + 1 if seqs else 0
    return {n: batched[n] for n in names[:end]}


def torchvision_stages(module: nn.Module, shapes: dict[str, tuple], size: int) -> list[str]:
    """Nodes that end each resolution stage (the last NCHW map at each spatial size).

    ``shapes`` are the node shapes probed at ``size``. A second probe at twice
    the size tells NCHW maps (whose last two dims grow) from channels-last
    tensors inside blocks (swin, convnext), which would otherwise look like
    stages of their own."""
    body = body_nodes(module, shapes)
    try:
        bigger = feature_nodes(module, 2 * size)
    except Exception:  # fixed-size models (vision transformers): no second probe
        bigger = {}
    stages: list[str] = []
    last_area = None
    for name, shape in list(body.items())[1:]:  # [0] is the input itself
        if len(shape) != 4:
            continue
        grown = bigger.get(name, shape)
        if bigger and not (grown[2] > shape[2] and grown[3] > shape[3]):
            continue  # channels-last, or pooled to a fixed size: not an NCHW map
        area = shape[2] * shape[3]
        if last_area is None or area < last_area:
            stages.append(name)  # resolution drops: a new stage
            last_area = area
        elif area == last_area:
            stages[-1] = name
        # a larger map is a branch still at the previous resolution (regnet's
        # residual path before its strided conv): not the end of a stage
    return stages


def _torchvision_node(module, layer, size) -> tuple[str, int]:
    shapes = feature_nodes(module, size)
    names = list(shapes)
    if isinstance(layer, str):
        if layer not in shapes:
            close = difflib.get_close_matches(layer, names, n=3)
            raise ValueError(
                f"layer={layer!r} is not a node of this model; close: {close}. "
                "See torchvision.models.feature_extraction.get_graph_node_names."
            )
        node = layer
    elif layer is None:
        # The final feature map: the last node before the classifier head, i.e.
        # what the head pools (NCHW maps and token sequences only).
        maps = [n for n, s in body_nodes(module, shapes).items() if len(s) in (3, 4)]
        if not maps:
            raise ValueError("found no feature map to pool in this torchvision model.")
        node = maps[-1]
    else:
        stages = torchvision_stages(module, shapes, size)
        try:
            node = stages[layer]
        except (IndexError, TypeError):
            raise ValueError(
                f"layer={layer!r}: this model has {len(stages)} stages {stages}; "
                "pass an index in range or a node name."
            ) from None
    prefix = 1 if len(shapes[node]) == 3 else 0
    return node, prefix


# ---------------------------------------------------------------- entry point
def build_image_backbone(
    *, model, weights, backend, pooling, layer, image_size, device
) -> ImageBackbone:
    """Load (or fetch from the registry) and wrap an image backbone."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
    if layer is not None and not isinstance(layer, (int, str)):
        raise TypeError(f"layer={layer!r} must be None, a stage index (int) or a node name (str).")
    backend, arch = resolve_backend(model, backend)
    weights_id = _weights_identity(weights, backend, arch)
    if weights == "DEFAULT" and backend == "timm" and shipped_image_weights(arch):
        weights_id = "sha256:" + file_digest(shipped_image_weights(arch))
    base = _base_module(backend, arch, weights, weights_id, device)

    if backend == "timm":
        if isinstance(layer, str):
            raise ValueError("for timm models, layer is a stage index (an int), e.g. -2.")
        preprocess, cfg = _timm_preprocess(base, image_size)
        size = int(cfg["input_size"][-1])
        module = TimmFeatures(base, pooling, layer)
    else:
        preprocess, cfg = _torchvision_preprocess(arch, weights, image_size)
        size = int((cfg.get("crop_size") or [224])[0])

        def make():
            from torchvision.models.feature_extraction import create_feature_extractor

            node, prefix = _torchvision_node(base, layer, size)
            extractor = create_feature_extractor(base, return_nodes={node: "features"})
            return extractor, prefix

        extractor, prefix = shared_model(
            ("image-node", backend, arch, weights_id, str(device), layer, size), make
        )
        module = GraphFeatures(extractor, pooling, prefix)

    identity = {
        "backend": backend,
        "arch": arch,
        "weights": weights_id,
        "pooling": pooling,
        "layer": layer,
        "preprocess": {k: str(v) for k, v in sorted(cfg.items())},
    }
    return ImageBackbone(
        module=module.eval(), preprocess=preprocess, input_size=size, identity=identity
    )
