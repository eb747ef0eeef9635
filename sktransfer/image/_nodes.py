"""torchvision graph nodes: where a model's feature body ends, and its stages.

A torchvision model is cut at a node of its FX graph; the shapes of every node,
probed once with a small batch, tell the feature body from the classifier head
and where each resolution stage ends.
"""

from __future__ import annotations

import difflib

import torch
from torch import nn

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


def torchvision_node(module, layer, size) -> tuple[str, int]:
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
