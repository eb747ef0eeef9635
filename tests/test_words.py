"""WordVectorEmbedder: word2vec trained on the fit texts, word-vector files in
every format gensim reads without unpickling, pooling weights, rows with no
known word, cache and pickling."""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest
from sklearn.base import clone

from sktransfer import WordVectorEmbedder, transform_report
from sktransfer.text._word_vectors import pooling_weights


@pytest.fixture(scope="module")
def texts(reviews):
    return reviews["review"][:60].tolist()


@pytest.fixture(scope="module")
def trained(texts):
    return WordVectorEmbedder(dim=16).fit(texts)


@pytest.fixture(scope="module")
def files(trained, tmp_path_factory):
    """The trained vectors written in each format: {format name: path}."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=trained.n_features_out_)
    kv.add_vectors(trained.model_.words, trained.model_.vectors)
    root = tmp_path_factory.mktemp("vectors")
    paths = {
        "word2vec binary": root / "vectors.bin",
        "word2vec text": root / "vectors.txt",
        "fastText .vec": root / "vectors.vec",
    }
    kv.save_word2vec_format(str(paths["word2vec binary"]), binary=True)
    kv.save_word2vec_format(str(paths["word2vec text"]))
    kv.save_word2vec_format(str(paths["fastText .vec"]))
    paths["GloVe text"] = root / "glove.txt"
    paths["GloVe text"].write_text(
        "".join(f"{line}\n" for line in paths["word2vec text"].read_text().splitlines()[1:])
    )
    paths["gensim pickle"] = root / "vectors.kv"
    kv.save(str(paths["gensim pickle"]))
    return {name: str(path) for name, path in paths.items()}


def test_trained_vectors_are_deterministic_and_cover_the_corpus(texts, trained):
    assert trained.corpus_coverage_ == 1.0  # min_count=1: every fit word has a vector
    assert trained.vocabulary_size_ == len(trained.model_.words) > 500
    again = WordVectorEmbedder(dim=16).fit(texts)
    np.testing.assert_array_equal(again.model_.vectors, trained.model_.vectors)
    assert again.embedding_id_ == trained.embedding_id_
    other = WordVectorEmbedder(dim=16, random_state=1).fit(texts)
    assert other.embedding_id_ != trained.embedding_id_
    assert "the" in trained.model_.words[:10]  # gensim orders words by frequency


def test_mean_pooling_is_the_mean_of_the_known_words(trained):
    out = trained.transform(["the coffee zzzqqq the"])[0]
    v = trained.model_.vectors
    i = trained.model_.index
    np.testing.assert_allclose(out, (2 * v[i["the"]] + v[i["coffee"]]) / 3, rtol=1e-5)


def test_tfidf_and_sif_weights():
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = [["a", "b", "a"], ["b", "c"], ["b"]]
    idf, unseen = pooling_weights("tfidf", corpus)
    ref = TfidfVectorizer(analyzer=lambda words: words).fit(corpus)
    assert idf == pytest.approx(dict(zip(ref.get_feature_names_out(), ref.idf_, strict=True)))
    assert unseen == pytest.approx(np.log(4) + 1)  # as if in no document
    sif, unseen = pooling_weights("sif", corpus)
    assert sif["b"] == pytest.approx(1e-3 / (1e-3 + 3 / 6)) and sif["b"] < sif["c"] < 1 == unseen
    with pytest.raises(ValueError, match="pooling='max'"):
        pooling_weights("max", corpus)


def test_pooling_changes_the_vectors_and_their_namespace(texts, trained):
    rows = texts[:5]
    tfidf = WordVectorEmbedder(dim=16, pooling="tfidf").fit(texts)
    np.testing.assert_array_equal(tfidf.model_.vectors, trained.model_.vectors)
    assert not np.allclose(tfidf.transform(rows), trained.transform(rows))
    assert tfidf.embedding_id_ != trained.embedding_id_
    # The weights come from the fit texts: other texts, other weights.
    refit = WordVectorEmbedder(model=None, dim=16, pooling="sif").fit(texts)
    half = clone(refit).fit(texts[:30])
    assert refit.embedding_id_ != half.embedding_id_


@pytest.mark.parametrize(
    "name", ["word2vec binary", "word2vec text", "fastText .vec", "GloVe text"]
)
def test_each_file_format_reads_the_same_vectors(files, texts, trained, name, monkeypatch):
    import pickle as pickle_module

    def refuse(*args, **kwargs):
        raise AssertionError("a word-vector file was unpickled")

    monkeypatch.setattr(pickle_module, "load", refuse)
    monkeypatch.setattr(pickle_module, "loads", refuse)
    est = WordVectorEmbedder(model=files[name]).fit(texts)
    assert est.vocabulary_size_ == trained.vocabulary_size_
    assert est.corpus_coverage_ == 1.0
    np.testing.assert_allclose(est.transform(texts[:5]), trained.transform(texts[:5]), atol=1e-5)
    assert est._loaded_identity_["format"] == {"GloVe text": "glove"}.get(
        name, "binary" if name.endswith("binary") else "text"
    )


def test_a_copied_vector_file_is_the_same_model(files, texts, tmp_path):
    # Named by content, not path: a copy elsewhere shares the cache namespace.
    original = files["word2vec binary"]
    copy = tmp_path / "elsewhere" / "copy.bin"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    a = WordVectorEmbedder(model=original).fit(texts)
    b = WordVectorEmbedder(model=copy).fit(texts)
    assert b.embedding_id_ == a.embedding_id_
    with open(copy, "r+b") as f:  # one byte of the last vector
        f.seek(-2, os.SEEK_END)
        byte = f.read(1)
        f.seek(-2, os.SEEK_END)
        f.write(bytes([byte[0] ^ 1]))
    assert WordVectorEmbedder(model=copy).fit(texts).embedding_id_ != a.embedding_id_


def test_a_gensim_pickle_loads_only_when_asked_for(files, texts, trained):
    with pytest.raises(ValueError, match=r"is a pickle.*save_word2vec_format.*format='pickle'"):
        WordVectorEmbedder(model=files["gensim pickle"]).fit(texts)
    est = WordVectorEmbedder(model=files["gensim pickle"], format="pickle").fit(texts)
    np.testing.assert_array_equal(est.transform(texts[:3]), trained.transform(texts[:3]))


def test_file_errors_name_the_file(tmp_path, texts):
    with pytest.raises(ValueError, match=r"no such word-vector file"):
        WordVectorEmbedder(model=str(tmp_path / "missing.bin")).fit(texts)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"3 4\nnot vectors")
    with pytest.raises(ValueError, match=r"cannot read .*bad.bin.* as binary word vectors"):
        WordVectorEmbedder(model=str(bad)).fit(texts)
    with pytest.raises(ValueError, match=r"format='npy'"):
        WordVectorEmbedder(model=str(bad), format="npy").fit(texts)
    with pytest.raises(ValueError, match=r"no word occurs min_count=5 times"):
        WordVectorEmbedder(min_count=5).fit(["one text only"])


def test_rows_with_no_known_word_follow_on_error(files, texts):
    X = ["great coffee", "zzzqqq xxyyzz", "", "the tea"]
    est = WordVectorEmbedder(model=files["word2vec binary"]).fit(texts)
    assert est.corpus_coverage_ == 1.0
    with pytest.raises(
        ValueError, match=r"row 1: no word of this text has a vector.*on_error='zero'"
    ):
        est.transform(X)
    est.set_params(on_error="zero")
    with pytest.warns(
        UserWarning, match=r"2 of 4 rows .* zero vectors.*row 1: no word.*row 2: no word"
    ):
        with transform_report() as report:
            out = est.transform(X)
    assert report.oov_rows == [1, 2]
    assert not out[1].any() and not out[2].any() and out[0].any() and out[3].any()
    est.set_params(on_error="nan")
    with pytest.warns(UserWarning, match="are NaN vectors"), transform_report() as report:
        out = est.transform([*X, None])
    assert np.isnan(out[[1, 2, 4]]).all() and report.oov_rows == [1, 2]
    # Partly known rows are pooled over their known words only.
    partly = est.transform(["great zzzqqq"])
    np.testing.assert_allclose(partly, est.transform(["great"]))
    # Coverage of a corpus the vectors were not trained on.
    other = WordVectorEmbedder(model=files["word2vec binary"]).fit(["great zzzqqq"])
    assert other.corpus_coverage_ == 0.5


def test_cache_pickle_and_clone(files, texts, trained):
    est = WordVectorEmbedder(model=files["word2vec binary"], cache=True).fit(texts)
    first = est.transform(texts[:10])
    with transform_report() as report:
        est.transform(texts[:10])
    assert report.cache_stats["hits"] >= 10 and report.cache_stats["rows_embedded"] == 0
    blob = pickle.dumps(est)
    assert len(blob) < 50_000, "a file's vectors are reread from its path, not pickled"
    np.testing.assert_array_equal(pickle.loads(blob).transform(texts[:10]), first)
    # Vectors trained in fit are learned state: they travel with the pickle.
    again = pickle.loads(pickle.dumps(trained))
    np.testing.assert_array_equal(again.transform(texts[:5]), trained.transform(texts[:5]))
    assert again.embedding_id_ == trained.embedding_id_
    fresh = clone(trained)
    assert not hasattr(fresh, "model_") and fresh.get_params() == trained.get_params()


def test_in_a_pipeline_with_a_head(texts, reviews):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    y = reviews["score"][: len(texts)]
    pipe = make_pipeline(
        WordVectorEmbedder(dim=16, pooling="sif", on_error="zero"),
        LogisticRegression(max_iter=1000),
    )
    # Each fold trains its own word2vec on its training texts.
    scores = cross_val_score(pipe, texts, y, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_batch_size_is_a_positive_number_of_texts(texts):
    """No "auto" without device memory to size it for (as for static models)."""
    for bad in ("auto", 0, True):
        with pytest.raises(
            ValueError, match=rf"batch_size={bad!r}: use a positive number of texts"
        ):
            WordVectorEmbedder(dim=4, batch_size=bad).fit(texts[:5])
