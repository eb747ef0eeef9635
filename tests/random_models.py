"""Backbones with the shipped models' architectures and random weights.

A machine that lacks the weight packages (a rented GPU with no package index,
say) still builds these: the MiniLM configuration and tokenizer files are
small and live in ``tests/assets/minilm_config``; the weights are drawn from a
fixed seed. Embeddings of random weights mean nothing, but they exercise every
code path (devices, precision, batching, fine-tuning) at the real sizes.

Run as a script to write the text model to a directory:
``python tests/random_models.py DIR``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets" / "minilm_config"

IMAGE_ARCH = "tf_efficientnet_lite0"


def write_minilm(directory, seed: int = 0) -> str:
    """Write a sentence-transformers model with all-MiniLM-L6-v2's architecture
    (6 layers, hidden size 384, 12 heads) and seeded random weights to
    ``directory``; return its path, ready for ``TextEmbedder(model=path)``."""
    import torch
    from transformers import BertConfig, BertModel

    directory = Path(directory)
    shutil.copytree(ASSETS, directory, dirs_exist_ok=True)
    config = BertConfig.from_json_file(str(ASSETS / "config.json"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    model.save_pretrained(str(directory), safe_serialization=True)
    return str(directory)


def write_tiny_text_model(directory, seed: int = 0, hidden: int = 32, layers: int = 1) -> str:
    """Write a sentence-transformers model with MiniLM's tokenizer and a tiny BERT
    (``layers`` layers of width ``hidden``, seeded random weights) to ``directory``;
    return its path. It loads and embeds in milliseconds: for tests where what
    matters is the plumbing around a backbone (processes, caches), not its weights."""
    import json

    import torch
    from transformers import BertConfig, BertModel

    directory = Path(directory)
    shutil.copytree(ASSETS, directory, dirs_exist_ok=True)
    config = BertConfig.from_json_file(str(ASSETS / "config.json"))
    config.hidden_size, config.num_hidden_layers = hidden, layers
    config.num_attention_heads, config.intermediate_size = 2, 2 * hidden
    pooling = directory / "1_Pooling" / "config.json"
    settings = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**settings, "word_embedding_dimension": hidden}))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    model.save_pretrained(str(directory), safe_serialization=True)
    return str(directory)


def write_efficientnet_lite0(path, seed: int = 0) -> str:
    """Save a state dict of timm's ``tf_efficientnet_lite0`` with seeded random
    weights to ``path``; return the path.

    A file, unlike ``weights=None``, gives the same weights on every device and
    after unpickling, so outputs can be compared across them. Use it as
    ``ImageEmbedder(model="tf_efficientnet_lite0", weights=path, backend="timm")``.
    """
    import timm
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = timm.create_model(IMAGE_ARCH, pretrained=False)
    torch.save(module.state_dict(), path)
    return str(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/random_models.py DIR")
    print(write_minilm(sys.argv[1]))
