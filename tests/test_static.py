"""StaticEmbedder and distill_static: distillation through model2vec on a tiny
random sentence-transformers model (MiniLM takes over a minute to distil; the
benchmark does that), loading, identity, cache and errors."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from random_models import write_random_static_model, write_tiny_text_model

from sktransfer import StaticEmbedder, distill_static, transform_report

TEXTS = ["the coffee was great", "cold soup", "would buy again"]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return write_tiny_text_model(tmp_path_factory.mktemp("teacher") / "model", words=3000)


@pytest.fixture(scope="module")
def distilled(teacher, tmp_path_factory):
    return distill_static(model=teacher, path=tmp_path_factory.mktemp("static") / "m", dim=16)


def test_distillation_writes_a_static_model_and_reuses_it(teacher, distilled):
    files = sorted(os.listdir(distilled))
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(files)
    record = json.loads((Path(distilled) / "sktransfer_distill.json").read_text())
    assert record["dim"] == 16 and record["teacher"] == teacher
    assert record["libraries"]["model2vec"] and record["libraries"]["skeletoken"]
    weights = Path(distilled) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    # The same teacher and settings: found, not distilled again.
    assert distill_static(model=teacher, path=distilled, dim=16) == distilled
    assert weights.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match=r"already holds .*dim=8.*overwrite=True"):
        distill_static(model=teacher, path=distilled, dim=8)


def test_distilled_vectors_are_the_teachers_token_outputs(teacher, distilled):
    # Each token's static vector is the teacher's mean output for that token
    # alone, reduced by PCA: so texts the teacher tells apart, the static model
    # does too, and one-token texts keep the teacher's geometry.
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(teacher, device="cpu")
    vocab = sorted(st.tokenizer.get_vocab().items(), key=lambda item: item[1])
    words = [w for w, _ in vocab if w.isalpha() and len(w) > 3][:12]
    ids = st.tokenizer(words, add_special_tokens=False)["input_ids"]
    assert all(len(i) == 1 for i in ids), "one token each, so the comparison is exact"
    est = StaticEmbedder(model=distilled).fit(words)
    static = est.transform(words)
    assert static.shape == (12, 16) and est.vocabulary_size_ > 1000
    np.testing.assert_allclose(np.linalg.norm(static, axis=1), 1.0, atol=1e-3)
    sims_static = static @ static.T
    full = st.encode(words, convert_to_numpy=True, normalize_embeddings=True)
    # Not the same numbers (the teacher sees [CLS] and [SEP]; PCA halves the
    # width; SIF reweights), but the nearest neighbours largely agree.
    sims_teacher = full @ full.T
    upper = np.triu_indices(12, 1)
    # 0.56 measured; a table of unrelated vectors gives about 0.
    assert np.corrcoef(sims_static[upper], sims_teacher[upper])[0, 1] > 0.3


def test_a_sentence_transformers_directory_is_refused_with_the_fix(teacher):
    with pytest.raises(
        ValueError, match=r"sentence-transformers model, not a static one.*distill_static"
    ):
        StaticEmbedder(model=teacher).fit(["x"])
    with pytest.raises(ValueError, match=r"no model.safetensors"):
        StaticEmbedder(model=os.path.dirname(teacher)).fit(["x"])


def test_a_hub_name_offline_says_how_to_distil_one(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ValueError, match=r"cannot load static model 'nobody/no-such-static'.*distill_static"
    ):
        StaticEmbedder(model="nobody/no-such-static").fit(["x"])


def test_loading_unpickles_nothing(distilled, monkeypatch):
    import pickle as pickle_module

    from sktransfer import clear_models

    def refuse(*args, **kwargs):
        raise AssertionError("a static model was unpickled")

    clear_models()
    monkeypatch.setattr(pickle_module, "load", refuse)
    monkeypatch.setattr(pickle_module, "loads", refuse)
    monkeypatch.setattr(np, "load", refuse)
    assert StaticEmbedder(model=distilled).fit_transform(TEXTS).shape == (3, 16)


def test_identity_is_the_files_content_and_model2vec_version(distilled, tmp_path, monkeypatch):
    a = StaticEmbedder(model=distilled).fit(TEXTS)
    copy = shutil.copytree(distilled, tmp_path / "copy")
    b = StaticEmbedder(model=copy).fit(TEXTS)
    assert b.embedding_id_ == a.embedding_id_  # the same bytes elsewhere: the same vectors
    other = write_random_static_model(tmp_path / "other", dim=16)
    c = StaticEmbedder(model=other).fit(TEXTS)
    assert c.embedding_id_ != a.embedding_id_
    assert not np.allclose(c.transform(TEXTS), a.transform(TEXTS))
    # Rewriting the files in place reloads them and moves the namespace.
    shutil.copytree(other, copy, dirs_exist_ok=True)
    os.utime(Path(copy) / "model.safetensors", ns=(1, 1))
    b.fit(TEXTS)
    assert b.embedding_id_ == c.embedding_id_
    np.testing.assert_allclose(b.transform(TEXTS), c.transform(TEXTS))

    import sktransfer.base

    before = a.embedding_id_
    real = sktransfer.base.library_versions
    monkeypatch.setattr(
        sktransfer.base,
        "library_versions",
        lambda libs: {**real(libs), "model2vec": "0.0.1"} if "model2vec" in libs else real(libs),
    )
    assert a.embedding_id_ != before


def test_cache_serves_repeats_and_pickles_by_reference(distilled):
    est = StaticEmbedder(model=distilled, cache=True).fit(TEXTS)
    first = est.transform(TEXTS)
    with transform_report() as report:
        est.transform(TEXTS)
    assert report.cache_stats == {"hits": 3, "misses": 0, "rows_embedded": 0}
    blob = pickle.dumps(est)
    assert len(blob) < 5_000, "the path is pickled, not the vectors"
    np.testing.assert_array_equal(pickle.loads(blob).transform(TEXTS), first)


def test_registered_static_backbone_and_errors(distilled):
    from sktransfer._backbones import add_backbone, unregister_backbone
    from sktransfer.text._static_family import static_backbone

    add_backbone(static_backbone("my-static", source=lambda: distilled), replace=True)
    try:
        named = StaticEmbedder(model="my-static").fit(TEXTS).transform(TEXTS)
    finally:
        unregister_backbone("my-static", kind="text")
    np.testing.assert_array_equal(named, StaticEmbedder(model=distilled).fit_transform(TEXTS))
    with pytest.raises(ValueError, match="batch_size='auto': use a positive number"):
        StaticEmbedder(model=distilled, batch_size="auto").fit(TEXTS)
    with pytest.raises(TypeError, match="must be a static model directory"):
        StaticEmbedder(model=3).fit(TEXTS)
    with pytest.raises(ValueError, match=r"dim=1; use an int of at least 2"):
        distill_static(model="all-MiniLM-L6-v2", path="unused", dim=1)


def test_texts_with_no_known_token_follow_on_error_like_word_vectors(distilled):
    # "" has no token; the emoji are tokens the vocabulary lacks ([UNK], dropped).
    X = ["good coffee", "", "\U0001f642\U0001f642", "cold tea"]
    est = StaticEmbedder(model=distilled).fit(X)  # fit loads; it does not look at words
    with pytest.raises(
        ValueError, match=r"^row 1: no token of this text has a vector \(it has no tokens;"
    ):
        est.transform(X)
    with pytest.raises(ValueError, match=r"^row 0: no token .*its tokens \['\[UNK\]'"):
        est.transform(X[2:3])
    est.set_params(on_error="zero")
    with pytest.warns(UserWarning, match=r"2 of 4 rows .* zero vectors.*row 1: no token.*row 2"):
        with transform_report() as report:
            out = est.transform(X)
    assert report.oov_rows == [1, 2] and [f["row"] for f in report.failed_rows] == [1, 2]
    assert not out[[1, 2]].any() and out[0].any() and out[3].any()
    est.set_params(on_error="nan")
    with pytest.warns(UserWarning, match=r"3 of 5 rows .*NaN.*row 4: text is missing"):
        with transform_report() as report:
            out = est.transform([*X, None])
    assert np.isnan(out[[1, 2, 4]]).all() and np.isfinite(out[[0, 3]]).all()
    assert report.oov_rows == [1, 2]  # the missing row is not an out-of-vocabulary row
    np.testing.assert_allclose(
        out[[0, 3]], StaticEmbedder(model=distilled).fit_transform([X[0], X[3]])
    )


def test_a_static_directory_missing_a_file_names_it(distilled, tmp_path):
    broken = shutil.copytree(distilled, tmp_path / "broken")
    os.remove(Path(broken) / "tokenizer.json")
    with pytest.raises(ValueError, match=r"the directory lacks tokenizer\.json") as caught:
        StaticEmbedder(model=broken).fit(TEXTS)
    assert "sentence-transformers" not in str(caught.value)


def test_dim_none_keeps_the_teachers_whole_width(teacher, distilled, tmp_path):
    # The default: PCA to the teacher's width (32 here), which only rotates,
    # so the static vectors lose none of the teacher's token outputs.
    path = distill_static(model=teacher, path=tmp_path / "whole", verbose=0)
    assert StaticEmbedder(model=path).fit_transform(TEXTS).shape == (3, 32)
    assert json.loads((Path(path) / "sktransfer_distill.json").read_text())["dim"] is None
    with pytest.raises(ValueError, match=r"already holds .*dim=the teacher's width.*overwrite"):
        distill_static(model=teacher, path=distilled)


def test_dim_wider_than_the_teacher_is_refused_before_distilling(teacher, tmp_path):
    out = tmp_path / "wide"
    with pytest.raises(
        ValueError, match=r"^dim=64 is wider than the teacher: .* gives 32 numbers per token"
    ):
        distill_static(model=teacher, path=out, dim=64)
    assert not out.exists()


def test_static_and_word_embedders_never_import_torch_and_agree_across_processes(distilled):
    # They compute with NumPy: a process that uses only them stays light. And
    # word2vec trained in fit gives the same vectors in another process (whose
    # string hashes differ), so the cache namespace is the same there too.
    from sktransfer import WordVectorEmbedder

    fit = "WordVectorEmbedder(dim=4).fit(['good coffee', 'cold tea'])"
    code = (
        "import sys\n"
        "from sktransfer import StaticEmbedder, WordVectorEmbedder\n"
        f"StaticEmbedder(model={distilled!r}, cache=True).fit_transform(['good coffee'])\n"
        f"print({fit}.embedding_id_)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), *sys.path]),
        "PYTHONHASHSEED": "12345",
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    words_id, heavy = done.stdout.strip().splitlines()[-2:]
    assert heavy == "[]"
    here = WordVectorEmbedder(dim=4).fit(["good coffee", "cold tea"])
    assert words_id == here.embedding_id_


def _static_models(distilled):
    """model2vec models that take each of its pooling routes: the distilled one
    (float16, normalised), int8, per-token weights, and a token mapping."""
    from model2vec import StaticModel

    plain = StaticModel.from_pretrained(distilled, force_download=False)
    rng = np.random.default_rng(0)
    n = len(plain.tokens)
    weights = rng.uniform(0.1, 2.0, n).astype(np.float32)
    return {
        "distilled": plain,
        "int8": StaticModel.from_pretrained(distilled, force_download=False, quantize_to="int8"),
        "weighted": StaticModel(
            vectors=rng.normal(size=(n, 8)).astype(np.float32),
            tokenizer=plain.tokenizer,
            weights=weights,
        ),
        "mapped": StaticModel(
            vectors=rng.normal(size=(40, 8)).astype(np.float32),
            tokenizer=plain.tokenizer,
            weights=weights,
            token_mapping=rng.integers(0, 40, n),
            normalize=True,
        ),
    }


def test_one_tokenizer_pass_gives_model2vecs_encode_vectors(distilled, reviews):
    from sktransfer.text._static import pool_tokens, token_ids

    texts = reviews["review"].tolist()[:40]
    long = " ".join(texts[:12])  # over the model's 512 tokens: nothing is cut
    texts += [long, "\U0001f642 coffee \U0001f642", ""]
    for name, model in _static_models(distilled).items():
        ids = token_ids(model, texts)
        assert len(ids[-3]) > model.max_length and not len(ids[-1])
        expected = model.encode(texts, max_length=None, batch_size=16)
        np.testing.assert_allclose(
            pool_tokens(model, ids), expected, rtol=1e-5, atol=1e-6, err_msg=name
        )
    est = StaticEmbedder(model=distilled, batch_size=16).fit(texts[:1])
    np.testing.assert_allclose(
        est.transform(texts[:-1]),
        est.model_.encode(texts[:-1], max_length=None).astype(np.float32),
        rtol=1e-5,
        atol=1e-6,
    )


class _CountingTokenizer:
    """A tokenizer that counts the texts it is given (its copies count too)."""

    def __init__(self, inner, counted):
        self._inner, self.counted = inner, counted

    def encode(self, text, *args, **kwargs):
        self.counted.append(text)
        return self._inner.encode(text, *args, **kwargs)

    def encode_batch(self, texts, *args, **kwargs):
        self.counted.extend(texts)
        return self._inner.encode_batch(texts, *args, **kwargs)

    def encode_batch_fast(self, texts, *args, **kwargs):
        self.counted.extend(texts)
        return self._inner.encode_batch_fast(texts, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __deepcopy__(self, memo):
        import copy

        return _CountingTokenizer(copy.deepcopy(self._inner, memo), self.counted)


@pytest.mark.parametrize("on_error", ["raise", "zero"])
def test_each_text_is_tokenized_once_and_cache_hits_not_at_all(distilled, monkeypatch, on_error):
    texts = ["good coffee", "cold tea", "would buy again", "good coffee"]
    est = StaticEmbedder(model=distilled, batch_size=2, on_error=on_error).fit(texts)
    expected = est.transform(texts)
    counted = []
    monkeypatch.setattr(est.model_, "tokenizer", _CountingTokenizer(est.model_.tokenizer, counted))
    np.testing.assert_allclose(est.transform(texts), expected, rtol=1e-6)
    assert sorted(counted) == sorted(texts), "each text once"
    from sktransfer import EmbeddingCache

    est.set_params(cache=EmbeddingCache())  # in memory, empty
    for served in (False, True):
        counted.clear()
        np.testing.assert_allclose(est.transform(texts), expected, rtol=1e-6)
        if on_error == "raise":  # checked as they are embedded: cache hits never are
            assert sorted(counted) == ([] if served else sorted(set(texts)))
        else:  # every row is checked before the cache is read, once
            assert sorted(counted) == sorted(texts)
    # A text with no known token is never stored: it is checked again, and fails again.
    for _ in range(2):
        with pytest.raises(ValueError, match=r"row 1: no token of this text has a vector"):
            est.set_params(on_error="raise").transform(["good coffee", ""])


def test_distillations_in_threads_each_count_their_tokens_and_leave_model2vec_as_it_was():
    """distill_static routes model2vec's tqdm to the calling thread's display;
    two threads inside at once, one leaving first, do not leave model2vec's bar
    replaced by a closed count (as swapping the attribute in and out did)."""
    import threading

    inference = pytest.importorskip("model2vec.distill.inference")
    from tqdm import tqdm as real_tqdm

    from sktransfer.text._distill import _counted_tokens

    inside, first_left = threading.Barrier(2), threading.Event()
    counted = {}

    def distil(name, leave_first):
        with _counted_tokens():
            inside.wait()
            if not leave_first:
                first_left.wait()
            bar = inference.tqdm(total=5, desc="Encoding tokens", unit=" tokens")
            bar.update(5)
            counted[name] = type(bar).__name__
        if leave_first:
            first_left.set()

    threads = [
        threading.Thread(target=distil, args=("a", True)),
        threading.Thread(target=distil, args=("b", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert counted == {"a": "_Count", "b": "_Count"}
    outside = inference.tqdm(total=1, disable=True)
    assert isinstance(outside, real_tqdm)  # model2vec's own bar outside the blocks
    outside.close()


def test_a_text_classifier_trains_a_static_models_token_vectors(tmp_path, reviews):
    """TextClassifier(embedder=StaticEmbedder(...), unfreeze="all"): the vectors
    of the training texts' tokens train with the head (others keep theirs), the
    body starts as the embedder's exact output, and the labels are learnt far
    better than by a head on the frozen (random) vectors."""
    import torch
    from random_models import write_random_static_model

    from sktransfer import TextClassifier
    from sktransfer.finetune._static import StaticBody, TokenIds, token_vectors

    path = write_random_static_model(tmp_path / "random", dim=16)
    df = reviews.iloc[:120]
    texts, y = df["review"].tolist(), df["score"].to_numpy()
    emb = StaticEmbedder(model=path, verbose=0).fit(texts)
    ids = TokenIds(texts[:8], emb.model_)
    padded = torch.nn.utils.rnn.pad_sequence(ids.items, batch_first=True)
    body = StaticBody(token_vectors(emb.model_), padded[padded > 0].numpy(), normalize=True)
    with torch.no_grad():
        np.testing.assert_allclose(body(padded).numpy(), emb.transform(texts[:8]), atol=1e-5)

    params = dict(embedder=emb, max_epochs=30, lr=0.01, verbose=0, random_state=0)
    frozen = TextClassifier(**params).fit(texts, y)
    tuned = TextClassifier(unfreeze="all", backbone_lr=0.01, **params).fit(texts, y)
    assert tuned.score(texts, y) > frozen.score(texts, y) + 0.1
    assert set(tuned.predict(reviews["review"].iloc[200:210])) <= set(y)
    trained = tuned.net_.module_.body.token_vectors()
    seen = np.unique(np.concatenate([i.numpy() for i in TokenIds(texts, emb.model_).items]) - 1)
    seen = seen[seen >= 0]
    original = token_vectors(emb.model_)
    changed = np.flatnonzero(np.abs(trained - original).max(axis=1) > 1e-6)
    assert set(changed) <= set(seen) and len(changed) > len(seen) // 2
    np.testing.assert_allclose(emb.transform(texts[:8]), body(padded).detach().numpy(), atol=1e-5)


def test_distilling_with_a_corpus_tunes_the_vectors_and_reuses_the_distillation(
    teacher, tmp_path, reviews, monkeypatch
):
    """distill_static(corpus=...): the token vectors train on the texts against
    the teacher's sentence vectors; the plain distillation is kept in the cache
    folder, so another corpus does not distil again, and the same corpus at the
    same path is found, not tuned again."""
    import sktransfer.text._distill as distill_module
    from sktransfer.exceptions import DataError

    corpus = reviews["review"].iloc[:120].tolist()
    path = distill_static(model=teacher, path=tmp_path / "tuned", dim=16, corpus=corpus, verbose=0)
    record = json.loads((Path(path) / "sktransfer_distill.json").read_text())
    assert record["corpus"]["texts"] == 120 and len(record["corpus"]["sha256"]) == 64
    result = record["corpus_result"]
    assert result["texts_used"] == 120
    assert result["held_out_cosine_after"] >= result["held_out_cosine_before"]
    emb = StaticEmbedder(model=path, verbose=0).fit(corpus)
    assert emb.transform(corpus[:3]).shape == (3, 16)

    def no_distilling(*args, **kwargs):
        raise AssertionError("distilled again")

    monkeypatch.setattr(distill_module, "_distill", no_distilling)
    weights = Path(path) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert distill_static(model=teacher, path=path, dim=16, corpus=corpus, verbose=0) == path
    assert weights.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="already holds"):
        distill_static(model=teacher, path=path, dim=16, corpus=corpus[:60], verbose=0)
    other = distill_static(
        model=teacher, path=tmp_path / "other", dim=16, corpus=corpus[:60], verbose=0
    )
    assert (
        json.loads((Path(other) / "sktransfer_distill.json").read_text())["corpus"]["texts"] == 60
    )
    with pytest.raises(DataError, match=r"corpus holds 3 texts .*needs 10"):
        distill_static(model=teacher, path=tmp_path / "few", dim=16, corpus=corpus[:3], verbose=0)


def test_corpus_tuned_tables_keep_the_mapped_geometry(monkeypatch):
    """With no epoch of training, the new table is the old one through the
    ridge map fitted on the training texts, expressed in an orthonormal basis of
    the map's range: every inner product of the mapped vectors is kept, at the
    static model's width."""
    import sktransfer.text._static_corpus as sc

    monkeypatch.setattr(sc, "MAX_EPOCHS", 0)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 4)).astype(np.float32)
    ids = [rng.integers(0, 50, size=rng.integers(1, 6)) for _ in range(40)]
    targets = rng.normal(size=(40, 6)).astype(np.float32)
    table, before, after = sc.corpus_tuned_vectors(vectors, ids, targets, seed=0)
    assert table.shape == (50, 4) and after == before
    order = np.random.default_rng(0).permutation(40)  # the split the function makes
    means = np.stack([vectors[i].mean(axis=0) for i in ids])
    mapped = vectors @ sc._ridge(means[order[4:]], targets[order[4:]])
    np.testing.assert_allclose(table @ table.T, mapped @ mapped.T, rtol=1e-3, atol=1e-3)
