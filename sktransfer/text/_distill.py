"""Distil a static model from a sentence-transformers model, once, and keep it.

model2vec does the distillation: every token of the teacher's vocabulary goes
through the transformer once, the outputs are reduced by PCA to ``dim`` and
weighted (SIF), and the table is saved in model2vec's layout. model2vec's own
``distill`` extra pins ``transformers<5.4``; sktransfer depends on model2vec and
its ``skeletoken`` dependency directly instead (the ``static`` extra), which
distils with the transformers 5.x that sentence-transformers needs, and its
test suite distils a tiny model to keep that route working.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .._whole import is_whole
from ..exceptions import MissingDependencyError

RECORD = "sktransfer_distill.json"
# sentence-transformers pooling modes -> model2vec's names for the same reduction.
POOLING = {"mean": "mean", "cls": "first", "lasttoken": "last"}


def distill_static(
    model="all-MiniLM-L6-v2",
    *,
    path,
    dim=None,
    corpus=None,
    device="auto",
    overwrite: bool = False,
    verbose: int = 1,
) -> str:
    """Distil a static model from a sentence-transformers model and save it.

    The result loads with :class:`~sktransfer.text.StaticEmbedder`
    (``StaticEmbedder(model=path)``). Distilling the shipped all-MiniLM-L6-v2
    takes about 80 s on two CPU cores; a second call with the same teacher and
    settings finds the saved model and returns at once.

    Parameters
    ----------
    model : str or path, default="all-MiniLM-L6-v2"
        The teacher: anything :class:`~sktransfer.TextEmbedder` loads (a
        registered text backbone, a local sentence-transformers directory, or a
        hub name); the default is the MiniLM shipped for offline use.
    path : str or path
        Directory to write the static model to.
    dim : int or None, default=None
        Size of the static vectors (PCA of the teacher's token outputs). None:
        the teacher's width (384 for MiniLM), which keeps the most accuracy
        (384-d kept 0.95-1.03 of MiniLM's on four sets, 256-d 0.89-1.03). A
        smaller int makes a smaller table; a wider one than the teacher's is
        an error before any distilling.
    corpus : list of str, 1-D array or Series, default=None
        Texts of the domain the model is for (no labels needed: e.g. every
        text the classifier will see, labelled or not). When given, the
        teacher embeds them and the vectors of the tokens they contain are
        trained so that a text's static vector matches the teacher's sentence
        vector (see ``docs/guide/text.md``, "Keeping the teacher's accuracy").
        It pays for the texts tuned on (tune on the texts you will classify);
        on other texts it measured no gain. Costs the teacher's time on the
        texts (about 140 short texts/s for MiniLM on two CPU cores) plus
        seconds of training. At least 10 texts with a known token.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where the teacher runs during distillation.
    overwrite : bool, default=False
        Replace what ``path`` holds when it is not this distillation.
    verbose : int, default=1
        1: a progress line on stderr counting the teacher's tokens encoded,
        with the time left (plain lines at most every 30 s when stderr is not
        a terminal); 0: nothing is printed.

    Returns
    -------
    str
        ``path``, ready for ``StaticEmbedder(model=path)``.

    Examples
    --------
    >>> from sktransfer.text import StaticEmbedder, distill_static
    >>> path = distill_static(path="minilm-static")  # doctest: +SKIP
    >>> StaticEmbedder(model=path).fit_transform(["good coffee"]).shape  # doctest: +SKIP
    (1, 384)
    """
    if dim is not None and not is_whole(dim, 2):
        raise ValueError(
            f"dim={dim!r}; use an int of at least 2, e.g. 256, or None for the teacher's width."
        )
    from .._backbones import get_backbone
    from .._cache import library_versions
    from ._static_family import is_static_dir

    texts = None if corpus is None else _corpus_texts(corpus)

    out = Path(path).expanduser()
    entry = get_backbone(os.fspath(model) if isinstance(model, os.PathLike) else model, kind="text")
    teacher_id = entry.identity(None) if entry.identity else {"source": entry.name}
    record = _plain(
        {
            "teacher": entry.name,
            "teacher_identity": teacher_id,
            "dim": None if dim is None else int(dim),
            "libraries": library_versions(("model2vec", "skeletoken")),
            **({} if texts is None else {"corpus": _corpus_identity(texts)}),
        }
    )
    saved = out / RECORD
    if saved.is_file() and is_static_dir(out) and _inputs(saved) == record:
        return str(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        width = "the teacher's width" if dim is None else dim
        raise ValueError(
            f"path={str(out)!r} already holds something other than this distillation "
            f"(of {entry.name!r} to dim={width}); choose another path, or pass overwrite=True."
        )
    from .._progress import display

    with display("distill_static", enabled=verbose):
        if texts is None:
            static = _distill(entry, dim, device)
        else:
            static, result = _tune_on_corpus(
                _plain_distillation(model, dim, device), model, texts, device
            )
            record = {**record, "corpus_result": result}
    out.mkdir(parents=True, exist_ok=True)
    static.save_pretrained(out)
    saved.write_text(json.dumps(record, indent=2, sort_keys=True))
    return str(out)


def _plain_distillation(model, dim, device):
    """The distillation without a corpus, kept in sktransfer's cache folder so
    that tuning on another corpus starts from it without distilling again."""
    from model2vec import StaticModel

    from .._cache import namespace_of
    from .._location import default_cache_dir

    key = {"teacher": os.fspath(model), "dim": dim}
    folder = default_cache_dir() / "static" / namespace_of(key)
    path = distill_static(model, path=folder, dim=dim, device=device, overwrite=True, verbose=0)
    return StaticModel.from_pretrained(path)


def _inputs(saved: Path) -> dict:
    """What a saved record says the distillation was made from (its results left out)."""
    record = json.loads(saved.read_text())
    record.pop("corpus_result", None)
    return record


def _corpus_texts(corpus) -> list:
    from ..io import text_rows

    return list(text_rows(corpus).values)


def _corpus_identity(texts) -> dict:
    import hashlib

    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little") + data)
    return {"texts": len(texts), "sha256": digest.hexdigest()}


def _tune_on_corpus(static, model, texts, device):
    """``static`` with its tokens' vectors trained on ``texts`` against the
    teacher (see ``_static_corpus``), and what the training reached."""
    from model2vec import StaticModel

    from .._progress import counting
    from ..exceptions import DataError
    from ._sentence import TextEmbedder
    from ._static import token_ids, token_vectors
    from ._static_corpus import MAX_EPOCHS, corpus_tuned_vectors

    ids = token_ids(static, texts)
    usable = [i for i, found in enumerate(ids) if len(found)]
    if len(usable) < 10:
        raise DataError(
            f"corpus holds {len(usable)} texts with a token the static model knows "
            f"(of {len(texts)}); tuning on a corpus needs 10 at least. Pass more texts "
            "of your domain, or corpus=None."
        )
    kept = [texts[i] for i in usable]
    teacher = TextEmbedder(model=model, device=device, verbose=0)
    targets = teacher.fit(kept[:1]).transform(kept)
    steps = MAX_EPOCHS * -(-len(kept) // 64)
    with counting("training on the corpus", steps, "batches") as count:
        table, before, after = corpus_tuned_vectors(
            token_vectors(static), [ids[i] for i in usable], targets, count=count
        )
    tuned = StaticModel(
        vectors=table,
        tokenizer=static.tokenizer,
        config={**static.config, "hidden_dim": int(table.shape[1])},
        normalize=static.normalize,
        base_model_name=static.base_model_name,
        language=static.language,
    )
    return tuned, {
        "texts_used": len(kept),
        "held_out_cosine_before": round(float(before), 4),
        "held_out_cosine_after": round(float(after), 4),
    }


def _distill(entry, dim, device):
    try:
        from model2vec.distill import distill_from_model
    except ImportError as exc:  # an optional dependency
        raise MissingDependencyError(
            "distilling a static model needs model2vec and skeletoken: "
            "pip install 'sktransfer[static]'"
        ) from exc
    from .._device import resolve_device
    from .._progress import quiet_libraries

    device = resolve_device(device)
    # A fresh copy, not the shared one: model2vec reshapes the teacher's embeddings.
    with quiet_libraries():
        teacher = entry.loader(device)
    transformer = getattr(teacher[0], "auto_model", None)
    if transformer is None:
        raise ValueError(
            f"cannot distil {entry.name!r}: its first module is "
            f"{type(teacher[0]).__name__}, not a transformer."
        )
    width = getattr(getattr(transformer, "config", None), "hidden_size", None)
    if dim is None:
        if not isinstance(width, int):
            raise ValueError(
                f"cannot tell the width of {entry.name!r} (its config has no hidden_size); "
                "pass dim= explicitly, e.g. dim=256."
            )
        dim = width
    elif isinstance(width, int) and dim > width:
        raise ValueError(
            f"dim={dim} is wider than the teacher: {entry.name!r} gives {width} numbers "
            f"per token, and PCA can keep at most that many. Pass dim={width} or less."
        )
    with _counted_tokens():
        return distill_from_model(
            model=transformer,
            tokenizer=teacher.tokenizer,
            device=str(device),
            pca_dims=int(dim),
            pooling=_pooling(teacher),
        )


class _Count:
    """What model2vec's encoding loop takes for its tqdm bar: a progress count."""

    def __init__(self, stack, total=None, desc=None, unit=None, **_):
        from .._progress import counting

        self.count = stack.enter_context(counting("encoding", total, "tokens"))

    def update(self, n=1):
        self.count.update(n)

    def close(self):
        pass


_LOCAL = threading.local()  # the display this thread's distillation counts in
_INSTALL = threading.Lock()


@contextmanager
def _counted_tokens():
    """model2vec counts the vocabulary it encodes (the long part) with a tqdm bar
    of its own, which writes ``\r`` updates into logs and ignores ``verbose``;
    within this block, that count goes to sktransfer's display instead.

    model2vec's ``tqdm`` is replaced once by a function that asks the calling
    thread: inside this block it counts for that thread, anywhere else it is
    model2vec's own bar. Nothing is swapped back and forth, so distillations in
    several threads each count their own tokens and leave model2vec as it was
    for everyone else."""
    try:
        from model2vec.distill import inference
    except ImportError:
        yield
        return
    _route_tqdm(inference)
    with ExitStack() as stack:
        outer = getattr(_LOCAL, "stack", None)
        _LOCAL.stack = stack
        try:
            yield
        finally:
            _LOCAL.stack = outer


def _route_tqdm(inference) -> None:
    with _INSTALL:
        if getattr(inference.tqdm, "_sktransfer_route", False):
            return
        original = inference.tqdm

        def tqdm(*args, **kwargs):
            stack = getattr(_LOCAL, "stack", None)
            if stack is None:
                return original(*args, **kwargs)
            return _Count(stack, *args, **kwargs)

        tqdm._sktransfer_route = True
        inference.tqdm = tqdm


def _pooling(teacher) -> str:
    """The teacher's own pooling, in model2vec's words (mean when unknown)."""
    for module in teacher:
        mode = getattr(module, "pooling_mode", None)
        if mode is None and hasattr(module, "get_pooling_mode_str"):
            mode = module.get_pooling_mode_str()
        if isinstance(mode, str):
            return POOLING.get(mode, "mean")
    return "mean"


def _plain(value):
    """``value`` as JSON reads it back (tuples become lists), to compare records."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
