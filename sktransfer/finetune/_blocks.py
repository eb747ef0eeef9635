"""What ``unfreeze=N`` means for a backbone: its parameters grouped into blocks.

timm describes its own blocks (``model.group_matcher``, the grouping timm uses
for layer-wise learning-rate decay); that description is used as is. Other
backbones (torchvision models, Hugging Face transformers) are grouped by
parameter name: a block is the path up to the first numbered component
(``layer4.1``, ``features.5``, ``encoder.layer.3``); parameters before the
first block join it (the stem), parameters after the last join it (the neck).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from torch import nn

from .._whole import is_whole
from ..exceptions import ParameterError

_NUMBERED = re.compile(r"^\d+$|_\d+$")


def timm_blocks(model: nn.Module, prefix: str = "") -> list[list[str]]:
    """Parameter names of a timm model by block, stem first; the classifier is left out."""
    from timm.models import group_parameters

    classifier = model.get_classifier()
    skip = {id(p) for p in classifier.parameters()} if isinstance(classifier, nn.Module) else set()
    groups = group_parameters(model, model.group_matcher(coarse=False))
    blocks = []
    for names in groups.values():
        kept = [prefix + n for n in names if id(model.get_parameter(n)) not in skip]
        if kept:
            blocks.append(kept)
    return blocks


def _block_key(name: str) -> str | None:
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if _NUMBERED.search(part):
            return ".".join(parts[: i + 1])
    return None


def named_blocks(named_parameters: Iterable[tuple[str, object]], prefix: str = ""):
    """Parameter names grouped into blocks by their numbered path component."""
    blocks: list[list[str]] = []
    keys: list[str] = []
    stem: list[str] = []
    for name, _ in named_parameters:
        key = _block_key(name)
        if key is None:
            (blocks[-1] if blocks else stem).append(prefix + name)
        elif keys and keys[-1] == key:
            blocks[-1].append(prefix + name)
        else:
            keys.append(key)
            blocks.append([prefix + name])
    if not blocks:
        return [stem] if stem else []
    blocks[0] = stem + blocks[0]
    return blocks


def check_unfreeze(unfreeze):
    """``unfreeze`` as 0 (head only), a positive int or ``"all"``."""
    if unfreeze in (None, "head", 0):
        return 0
    if unfreeze == "all":
        return "all"
    if not is_whole(unfreeze, 1):
        raise ParameterError(
            "unfreeze",
            unfreeze,
            "use 0 or 'head' (train the head only), a number N "
            "(also train the last N blocks of the backbone) or 'all'.",
        )
    return int(unfreeze)


def freeze(module: nn.Module, blocks: list[list[str]], unfreeze) -> set[str]:
    """Let the last ``unfreeze`` blocks of ``module`` train (``"all"``: every block);
    freeze every other parameter. Returns the names of the parameters that train."""
    if unfreeze == "all":
        train = {n for block in blocks for n in block}
    elif unfreeze > len(blocks):
        raise ParameterError(
            "unfreeze",
            unfreeze,
            f"this backbone has {len(blocks)} blocks; use a number from 1 to "
            f"{len(blocks)}, or 'all'.",
        )
    else:
        train = {n for block in blocks[len(blocks) - unfreeze :] for n in block}
    for name, param in module.named_parameters():
        param.requires_grad_(name in train)
    return train
