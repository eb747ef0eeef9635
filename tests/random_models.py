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


def write_tiny_text_model(
    directory, seed: int = 0, *, width: int = 32, layers: int = 1, words: int | None = None
) -> str:
    """Write a sentence-transformers model with MiniLM's tokenizer and a tiny BERT
    (``layers`` layers of ``width``, mean pooling, seeded random weights) to
    ``directory``; return its path. It loads and embeds in milliseconds: for tests
    where what matters is the plumbing around a backbone (processes, caches,
    distillation), not its weights. ``words``: keep only the first ``words``
    tokens of the vocabulary (special tokens, characters, the commonest words) plus
    the one-character continuations (``##e``), so that every word still tokenizes
    into known pieces; distilling such a model to a static one takes seconds,
    where MiniLM takes over a minute."""
    import json

    import torch
    from transformers import BertConfig, BertModel

    directory = Path(directory)
    shutil.copytree(ASSETS, directory, dirs_exist_ok=True)
    config = BertConfig.from_json_file(str(ASSETS / "config.json"))
    settings = {
        "hidden_size": width,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 2 * width,
    }
    if words is not None:
        full = (ASSETS / "vocab.txt").read_text(encoding="utf-8").splitlines()
        head = [t for t in full[:words] if not t.startswith("[unused")]
        vocab = head + [t for t in full[words:] if t.startswith("##") and len(t) == 3]
        (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        settings["vocab_size"] = len(vocab)
    config.update(settings)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    model.save_pretrained(str(directory), safe_serialization=True)
    pooling = json.loads((ASSETS / "1_Pooling" / "config.json").read_text())
    pooling["word_embedding_dimension"] = width
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))
    return str(directory)


def write_random_static_model(directory, seed: int = 0, *, dim: int = 16) -> str:
    """Write a static model (model2vec's layout) with MiniLM's tokenizer and
    seeded random token vectors to ``directory``; return its path. Instant, for
    tests where the vectors' meaning is not the point."""
    import numpy as np
    from model2vec import StaticModel
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    vocab = (ASSETS / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vectors = np.random.default_rng(seed).normal(size=(len(vocab), dim)).astype(np.float32)
    StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True).save_pretrained(directory)
    return str(directory)


def write_efficientnet_lite0(path, seed: int = 0) -> str:
    """Save a state dict of timm's ``tf_efficientnet_lite0`` with seeded random
    weights to ``path``; return the path.

    A file, unlike ``weights=None``, gives the same weights on every device and
    after unpickling, so outputs can be compared across them. Use it as
    ``ImageEmbedder(model="tf_efficientnet_lite0", weights=path, family="timm")``.
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
