"""A sentence-transformers model run by ONNX Runtime.

The whole module chain after tokenization (transformer, pooling, normalisation)
is exported as one graph, so pooling and normalisation are the model's own;
tokenization and truncation stay with the model's tokenizer, as on torch, so
the truncation rule and its warning are the same. :class:`OnnxSentenceModel`
offers what :class:`~sktransfer.TextEmbedder` uses of a sentence-transformers
model (``encode``, ``tokenizer``, ``max_seq_length``, the output width).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._onnx import exported_model, inference_session
from .._onnx._quantize import quantize_matmuls_int8
from .._onnx._store import OPSET
from ..exceptions import ModelLoadError


class _Chain(nn.Module):
    """The sentence model after tokenization: token tensors in, sentence vectors out."""

    def __init__(self, model, names):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *tensors):
        features = dict(zip(self.names, tensors, strict=True))
        features["modality"] = "text"
        for module in self.model:
            features = module(features)
        return features["sentence_embedding"]


def _tokens(model, texts) -> dict:
    """The model's tokenizer output for ``texts``: only the tensors."""
    prepare = getattr(model, "preprocess", None) or model.tokenize
    return {k: v for k, v in prepare(list(texts)).items() if isinstance(v, torch.Tensor)}


def _eager_copy(model):
    """A CPU copy of ``model`` whose transformer computes attention with plain
    operators: the graph ONNX Runtime runs faster on long texts than torch's
    fused attention traced as is (docs/benchmarks.md, the CPU fast path). The
    shared model is left as it is."""
    import copy

    model = copy.deepcopy(model).to("cpu")
    transformer = getattr(model[0], "auto_model", None)
    if transformer is not None:
        if hasattr(transformer, "set_attn_implementation"):
            try:
                transformer.set_attn_implementation("eager")
            except (ValueError, AttributeError, TypeError):
                pass
        else:
            transformer.config._attn_implementation = "eager"
    return model


def _export(model, path: Path) -> None:
    model = _eager_copy(model)
    example = _tokens(model, ["an example sentence", "a second, somewhat longer example"])
    names = list(example)
    chain = _Chain(model, names).eval()
    dynamic = {name: {0: "rows", 1: "tokens"} for name in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes
        torch.onnx.export(
            chain,
            tuple(example[n].cpu() for n in names),
            str(path),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**dynamic, "sentence_embedding": {0: "rows"}},
            opset_version=OPSET,
            dynamo=False,
        )


class OnnxSentenceModel:
    """``model`` (a loaded sentence-transformers model) exported to ONNX and run
    by ONNX Runtime on ``device``; ``identity`` names the model's content."""

    def __init__(self, model, identity: dict, precision: str, device):
        self._model = model  # its tokenizer and settings; the graph runs in ONNX Runtime
        key = {"kind": "sentence-transformers", "model": identity, "precision": precision}
        quantize = None
        if precision == "int8":

            def probe(path):
                return _run(inference_session(path, "cpu"), model, PROBE, 16)

            def quantize(source, target):
                return quantize_matmuls_int8(source, target, probe, name="this model")

        try:
            path = exported_model(key, lambda p: _export(model, p), quantize)
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            raise ModelLoadError(
                f"cannot export this sentence-transformers model to ONNX ({type(exc).__name__}: "
                f"{exc}); use runtime='torch', which runs every model."
            ) from exc
        self._session = inference_session(path, device)

    @property
    def tokenizer(self):
        return self._model.tokenizer

    @property
    def max_seq_length(self):
        return self._model.max_seq_length

    def get_embedding_dimension(self) -> int:
        return int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts, batch_size: int = 32, **_) -> np.ndarray:
        """Vectors of ``texts`` (float32), longest first in batches of
        ``batch_size`` as sentence-transformers batches one call."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.get_embedding_dimension()), dtype=np.float32)
        return _run(self._session, self._model, texts, batch_size)


def _run(session, model, texts: list, batch_size: int) -> np.ndarray:
    """``session``'s vectors of ``texts``, tokenized by ``model``, longest first."""
    inputs = [i.name for i in session.get_inputs()]
    order = np.argsort([-len(t) for t in texts], kind="stable")
    parts = []
    for start in range(0, len(texts), batch_size):
        tokens = _tokens(model, [texts[i] for i in order[start : start + batch_size]])
        parts.append(session.run(None, {name: tokens[name].numpy() for name in inputs})[0])
    out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
    out[order] = np.concatenate(parts)
    return out


# What an int8 graph is measured on against the float32 one when it is made:
# short and long, plain and odd texts (the last is cut by most models' window).
PROBE = [
    "The coffee was fresh, strong and not bitter at all.",
    "Stale crackers. Would not buy again.",
    "Shipping took three weeks and the box arrived crushed.",
    "Introduction to Organic Chemistry",
    "Advanced Topics in Medieval European History",
    "Is this product safe for dogs with a sensitive stomach?",
    "5 stars!!! my kids love it :)",
    "I expected more flavour given the price; it is fine, nothing special.",
    "Quarterly revenue rose 4% as costs fell in the third quarter.",
    "The match was postponed because of heavy rain in the city.",
    "Thermodynamics of Small Systems",
    "neither good nor bad, just ordinary",
    "Great value for money, though the lid does not close properly.",
    "Très bon produit, je recommande.",
    "asdf qwerty 12345 ###",
    "The recipe needs two eggs, a cup of flour and a pinch of salt.",
    " ".join(
        "A long review goes on about the taste, the texture, the packaging, the price "
        "and the delivery, and then says it all again in other words.".split()
        * 12
    ),
]
