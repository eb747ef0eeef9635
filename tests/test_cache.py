"""The embedding cache: each distinct row embedded once, keys that really key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import EmbeddingCache, ImageEmbedder, TextEmbedder, transform_report


@pytest.fixture(scope="module")
def small_reviews(reviews):
    sample = reviews.groupby("score").sample(n=45, random_state=1).sample(frac=1, random_state=1)
    return sample["review"].tolist(), sample["score"].to_numpy()


@pytest.fixture()
def digit_files(digits_images, tmp_path):
    images, _ = digits_images
    paths = []
    for i in range(6):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(images[i]).save(path)
        paths.append(str(path))
    return paths


def _search(cache, X, y):
    pipe = make_pipeline(TextEmbedder(cache=cache), LogisticRegression(max_iter=1000))
    grid = GridSearchCV(
        pipe,
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    return grid.fit(X, y)


@pytest.mark.slow
def test_grid_search_embeds_each_distinct_row_once(small_reviews):
    X, y = small_reviews
    X = X + X[:5]  # duplicated rows count once
    y = np.concatenate([y, y[:5]])
    cache = EmbeddingCache()
    cached = _search(cache, X, y)
    assert cache.stats["rows_embedded"] == len(set(X)) == 90
    # 3 folds x 4 candidates fit + score, then a refit: all the rest were hits.
    assert cache.stats["hits"] > 10 * len(set(X))

    plain = _search(None, X, y)
    assert cached.best_params_ == plain.best_params_
    assert cached.best_score_ == pytest.approx(plain.best_score_, abs=1e-12)
    np.testing.assert_allclose(
        cached.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], atol=1e-12
    )


def test_duplicates_in_one_call_are_embedded_once(text_embedder):
    cache = EmbeddingCache()
    est = TextEmbedder(cache=cache).fit(["x"])
    with transform_report() as report:
        out = est.transform(["good", "bad", "good", "good"])
    assert report.cache_stats == {"hits": 0, "misses": 2, "rows_embedded": 2}
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_allclose(
        out, text_embedder.transform(["good", "bad", "good", "good"]), atol=1e-6
    )
    with transform_report() as report:
        est.transform(["bad"])
    assert report.cache_stats == {"hits": 1, "misses": 0, "rows_embedded": 0}


def test_changing_the_text_model_misses(small_text_model):
    cache = EmbeddingCache()
    a = TextEmbedder(cache=cache).fit(["x"])
    b = TextEmbedder(cache=cache, model=small_text_model).fit(["x"])
    assert a.embedding_id_ != b.embedding_id_
    a.transform(["same text"])
    assert b.transform(["same text"]).shape == (1, 64)
    assert cache.stats["rows_embedded"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"pooling": "max"},
        {"image_size": 48},
        {"layer": -2},
        {"model": "resnet18", "weights": None},
        {"precision": "bfloat16"},
    ],
    ids=["pooling", "image_size", "layer", "model", "precision"],
)
def test_changing_an_image_key_ingredient_misses(digit_files, change):
    cache = EmbeddingCache()
    base = ImageEmbedder(image_size=32, cache=cache).fit(digit_files)
    base.transform(digit_files)
    other = ImageEmbedder(image_size=32, cache=cache).set_params(**change).fit(digit_files)
    assert other.embedding_id_ != base.embedding_id_
    assert _stats(other, digit_files)["hits"] == 0
    assert cache.stats["rows_embedded"] == 2 * len(digit_files)
    # The same settings again: only hits.
    again = ImageEmbedder(image_size=32, cache=cache).set_params(**change).fit(digit_files)
    assert _stats(again, digit_files) == {"hits": len(digit_files), "misses": 0, "rows_embedded": 0}


def test_new_contents_at_the_same_path_miss(digit_files, digits_images, tmp_path):
    images, _ = digits_images
    cache = EmbeddingCache(tmp_path / "cache")
    est = ImageEmbedder(image_size=32, cache=cache).fit(digit_files)
    with transform_report() as report:
        before = est.transform(digit_files[:1])
        Image.fromarray(images[100]).save(digit_files[0])  # same path, other digit
        after = est.transform(digit_files[:1])
    assert report.cache_stats["rows_embedded"] == 2
    assert not np.allclose(before, after)
    fresh = ImageEmbedder(image_size=32).fit(digit_files).transform(digit_files[:1])
    np.testing.assert_allclose(after, fresh, atol=1e-5)


def test_disk_cache_survives_the_process_and_clears(digit_files, tmp_path):
    est = ImageEmbedder(image_size=32, cache=str(tmp_path / "c")).fit(digit_files)
    out = est.transform(digit_files)
    # A new handle (as a new process would open) finds every row on disk.
    reopened = EmbeddingCache(tmp_path / "c")
    est2 = ImageEmbedder(image_size=32, cache=reopened).fit(digit_files)
    with transform_report() as report:
        np.testing.assert_array_equal(est2.transform(digit_files), out)
    assert report.cache_stats == {"hits": 6, "misses": 0, "rows_embedded": 0}
    assert len(reopened) == 6
    files = list((tmp_path / "c").rglob("*"))
    assert any(f.name == "identity.json" for f in files)
    assert not any(f.suffix == ".pkl" for f in files)
    assert not any(f.name.endswith(".tmp") for f in files)
    reopened.clear()
    assert len(reopened) == 0


def test_cache_param_forms(tmp_path):
    import joblib

    from sktransfer._cache import resolve_cache

    assert resolve_cache(None) is None
    assert resolve_cache(True) is resolve_cache("memory")
    assert resolve_cache(str(tmp_path)) is resolve_cache(tmp_path)
    memory = joblib.Memory(tmp_path / "jl", verbose=0)
    assert resolve_cache(memory).directory == (tmp_path / "jl" / "sktransfer").resolve()
    with pytest.raises(TypeError, match="cache=42"):
        TextEmbedder(cache=42).fit(["x"])


def test_cache_is_shared_by_clones_and_pickles_as_a_handle(tmp_path):
    import pickle

    from sklearn.base import clone

    cache = EmbeddingCache(tmp_path / "p")
    est = TextEmbedder(cache=cache)
    assert clone(est).cache is cache
    again = pickle.loads(pickle.dumps(cache))
    assert again.directory == cache.directory


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sktransfer import ImageEmbedder
    directory, tag, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    est = ImageEmbedder(image_size=32, batch_size=1, cache=directory).fit(paths)
    np.save(f"{directory}/out-{tag}.npy", est.transform(paths))
    """
)


@pytest.mark.slow
def test_two_processes_share_one_directory(digit_files, tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(directory), tag, *order], env=env)
        for tag, order in (("a", digit_files), ("b", digit_files[::-1]))
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    outs = [np.load(directory / f"out-{tag}.npy") for tag in "ab"]
    expected = ImageEmbedder(image_size=32).fit(digit_files).transform(digit_files)
    np.testing.assert_allclose(outs[0], expected, atol=1e-5)
    np.testing.assert_allclose(outs[1][::-1], expected, atol=1e-5)
    reader = ImageEmbedder(image_size=32, cache=EmbeddingCache(directory)).fit(digit_files)
    with transform_report() as report:
        np.testing.assert_allclose(reader.transform(digit_files), expected, atol=1e-5)
    assert report.cache_stats["rows_embedded"] == 0
    assert not list(directory.rglob("*.tmp"))


# ---------------------------------------------------------------- the disk store
def _shards(cache, namespace):
    return sorted((cache.directory / "v2" / namespace).glob("*.shard"))


def _matrix_offset(n):
    return 32 + 36 * n  # header, then 32-byte keys and 4-byte checksums per row


def _record_size(n, dim=384):
    return _matrix_offset(n) + 4 * dim * n


def _text(cache, **params):
    return TextEmbedder(cache=cache, **params).fit(["x"])


def _stats(est, X) -> dict:
    """The cache statistics of ``est.transform(X)``."""
    with transform_report() as report:
        est.transform(X)
    return report.cache_stats


TEXTS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def test_a_damaged_vector_is_reported_once_recomputed_and_replaced(text_embedder, tmp_path):
    est = _text(EmbeddingCache(tmp_path / "c"))
    expected = est.transform(TEXTS[:3])
    (shard,) = _shards(est.cache, est.embedding_id_)
    with open(shard, "r+b") as f:  # overwrite row 1's vector with inf
        f.seek(_matrix_offset(3) + 384 * 4)
        f.write(np.full(384, np.inf, np.float32).tobytes())
    reader = _text(EmbeddingCache(tmp_path / "c"))  # a new process's view
    with pytest.warns(RuntimeWarning, match="fail their checksum") as record:
        with transform_report() as report:
            out = reader.transform(TEXTS[:3])
            out2 = reader.transform(TEXTS[:3])
    assert len(record) == 1
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_array_equal(out2, out)
    assert report.cache_stats["rows_embedded"] == 1
    # The replacement is on disk: a third process finds every row intact...
    third = _text(EmbeddingCache(tmp_path / "c"))
    assert _stats(third, TEXTS[:3])["rows_embedded"] == 0
    # ...and prune drops the damaged copy.
    assert EmbeddingCache(tmp_path / "c").prune()["dropped"] == 1
    assert all(e["bad_rows"] == 0 for e in EmbeddingCache(tmp_path / "c").verify().values())


def test_damage_costs_only_the_records_it_touches(text_embedder, tmp_path):
    # Two writers (as two processes would be): one file each, one record per batch.
    a = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    expected = a.transform(TEXTS[:6])
    b = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    expected = np.vstack([expected, b.transform(TEXTS[6:])])
    first, second = _shards(a.cache, a.embedding_id_)
    assert first.stat().st_size == 3 * _record_size(2)
    with open(first, "r+b") as f:  # a byte of the second record's key table flipped
        f.seek(_record_size(2) + 40)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with open(second, "r+b") as f:  # the last record cut short
        f.truncate(_record_size(2) + _matrix_offset(2) + 384 * 4 + 100)
    (first.parent / "shards.idx").unlink()  # read the damaged tables themselves
    reader = _text(EmbeddingCache(tmp_path / "c"))
    with pytest.warns(RuntimeWarning, match="damaged at byte"), transform_report() as stats:
        out = reader.transform(TEXTS)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # the third record of the first file is found past the damaged second one
    assert stats.cache_stats["rows_embedded"] == 4
    report = EmbeddingCache(tmp_path / "c").verify()[a.embedding_id_]
    assert len(report["bad_shards"]) == 2


def test_a_planted_vector_of_the_wrong_shape_is_replaced(text_embedder, tmp_path):
    from sktransfer._cache import _shard, digest
    from sktransfer.io import text_row_key

    est = _text(EmbeddingCache(tmp_path / "c"))
    folder = tmp_path / "c" / "v2" / est.embedding_id_
    folder.mkdir(parents=True)
    key = digest(text_row_key("alpha"))
    (folder / "0-planted.shard").write_bytes(
        _shard.encode(bytes.fromhex(key), np.ones((1, 5), np.float32))
    )
    with pytest.warns(RuntimeWarning, match=r"shape \(5,\)"):
        out = est.transform(["alpha"])
    np.testing.assert_allclose(out, text_embedder.transform(["alpha"]), atol=1e-6)
    again = _text(EmbeddingCache(tmp_path / "c"))
    with transform_report() as report:
        assert again.transform(["alpha"]).shape == (1, 384)
    assert report.cache_stats["rows_embedded"] == 0  # the replacement is the newer copy


def test_the_index_is_derived_from_the_shards(text_embedder, tmp_path, monkeypatch):
    """A stale, damaged or deleted index is completed or rebuilt from the shards'
    own key tables; a deleted shard's rows are recomputed."""
    from sktransfer._cache import _index, _store

    monkeypatch.setattr(_store, "_INDEX_AFTER_RECORDS", 1)  # save it at every scan
    a = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    expected = a.transform(TEXTS[:2])
    b = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    expected = np.vstack([expected, b.transform(TEXTS[2:6])])
    folder = tmp_path / "c" / "v2" / a.embedding_id_
    index = folder / _index.NAME

    def fresh_read(n):
        reader = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
        with transform_report() as report:
            np.testing.assert_allclose(reader.transform(TEXTS[:n]), expected[:n], atol=1e-6)
        return report.cache_stats

    index.unlink()
    assert fresh_read(6)["rows_embedded"] == 0 and index.exists()
    c = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    expected = np.vstack([expected, c.transform(TEXTS[6:8])])  # not in the index yet
    b.transform(TEXTS[8:])  # appended to a file the index covers in part
    expected = np.vstack([expected, text_embedder.transform(TEXTS[8:])])
    assert fresh_read(10)["rows_embedded"] == 0
    index.write_bytes(b"SKTIDX01" + bytes(100))  # damaged
    assert fresh_read(10)["rows_embedded"] == 0
    index.unlink()
    assert fresh_read(10)["rows_embedded"] == 0
    _shards(a.cache, a.embedding_id_)[0].unlink()  # a's file: rows 0 and 1
    assert fresh_read(10) == {"hits": 8, "misses": 2, "rows_embedded": 2}


def _craft_index(folder, edit):
    """Rewrite ``folder``'s index through ``edit(meta, tables)`` (the JSON head
    and the raw bytes after it) with a valid checksum: what a stray program or
    a crafted file leaves, which the checksum cannot tell from a real index."""
    import json
    import struct
    import zlib

    from sktransfer._cache import _index

    path = folder / _index.NAME
    data = path.read_bytes()
    _, meta_len, _, _ = struct.unpack_from("<8sQII", data)
    meta = json.loads(data[24 : 24 + meta_len])
    tables = edit(meta, bytearray(data[24 + meta_len :]))
    head = json.dumps(meta).encode()
    head += b" " * (-len(head) % 8)
    body = head + bytes(tables)
    path.write_bytes(struct.pack("<8sQII", b"SKTIDX01", len(head), zlib.crc32(body), 0) + body)


def _set(dtype, at):
    """An edit that writes ``value`` at entry ``at`` of the table starting at
    byte ``start`` of the tables."""

    def edit(start, value):
        def apply(meta, tables):
            np.frombuffer(tables, dtype, 1, start + at * np.dtype(dtype).itemsize)[...] = value
            return tables

        return apply

    return edit


@pytest.mark.parametrize("damage", ["rows", "width", "offset", "row", "record count", "file name"])
def test_a_damaged_index_never_sizes_a_read(tmp_path, damage):
    """An index with a valid checksum but absurd numbers (record sizes of
    terabytes, offsets past the file, a row past its record, a file outside the
    store) is refused with one warning and rebuilt from the shards: every row
    is still found, and no read is sized by it."""
    from sktransfer._cache import _shard, digest

    rng = np.random.default_rng(0)
    keys = [digest(f"row{i}".encode()) for i in range(40)]
    vectors = rng.standard_normal((40, 16)).astype(np.float32)
    writer = EmbeddingCache(tmp_path / "c")
    for start in range(0, 40, 8):  # one file of five 8-row records
        writer.put_many("ns", keys[start : start + 8], vectors[start : start + 8])
    writer.flush("ns")
    folder = tmp_path / "c" / "v2" / "ns"
    records = 5
    # tables: rec_offset u8[5] | rec_file u4[5] | rec_n u4[5] | rec_dim u4[5] | pad | rows
    rows_at = 8 * records + 12 * records + (-(12 * records) % 8)
    if damage == "file name":  # records read from a file planted outside the namespace
        planted = b"".join(
            _shard.encode(bytes.fromhex("".join(keys[i : i + 8])), -vectors[i : i + 8])
            for i in range(0, 40, 8)
        )
        (folder.parent / "planted.shard").write_bytes(planted)
    edit = {
        "rows": _set("<u4", 1)(8 * records + 4 * records, 2**32 - 16),
        "width": _set("<u4", 1)(8 * records + 8 * records, 2**32 - 16),
        "offset": _set("<u8", 1)(0, 2**62),
        "row": _set("<u4", 3)(rows_at + 8 * 40 + 4 * 40, 2**31),
        "record count": lambda meta, t: meta.update(records=2**40) or t,
        "file name": lambda meta, t: meta.update(names=["../planted.shard"]) or t,
    }[damage]
    _craft_index(folder, edit)
    reader = EmbeddingCache(tmp_path / "c")
    with pytest.warns(RuntimeWarning, match=r"index .*shards\.idx' is damaged") as record:
        found = reader.get_many("ns", keys)
        again = reader.get_many("ns", keys)
    assert len([w for w in record if "damaged" in str(w.message)]) == 1
    for got in (found, again):
        np.testing.assert_array_equal(np.stack([got[k] for k in keys]), vectors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt index replaced the damaged one
        fresh = EmbeddingCache(tmp_path / "c").get_many("ns", keys)
    assert len(fresh) == 40


@pytest.mark.parametrize("k", [0, 3])
def test_an_interrupted_transform_loses_at_most_the_batch_in_flight(
    text_embedder, tmp_path, monkeypatch, k
):
    est = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    real = est._embed
    calls = []

    def interrupted(rows, positions):
        calls.append(len(positions))
        if len(calls) == k + 1:  # Ctrl-C while batch k+1 is computed
            raise KeyboardInterrupt
        return real(rows, positions)

    monkeypatch.setattr(est, "_embed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.transform(TEXTS)
    monkeypatch.undo()
    assert calls == [2] * (k + 1)  # one batch per call: nothing is embedded unstored
    resumed = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)  # as after a restart
    with transform_report() as report:
        out = resumed.transform(TEXTS)
    assert report.cache_stats == {
        "hits": 2 * k,
        "misses": len(TEXTS) - 2 * k,
        "rows_embedded": len(TEXTS) - 2 * k,
    }
    np.testing.assert_allclose(out, text_embedder.transform(TEXTS), atol=1e-6)


def _write_batches_then_wait(directory, k, ready):
    """Store k batches of 7 rows, start an eighth by hand, then wait to be killed."""
    from sktransfer._cache import _shard, _store, digest

    cache = EmbeddingCache(directory)
    for b in range(k):
        keys = [digest(f"killed{b}-{i}".encode()) for i in range(7)]
        cache.put_many("ns", keys, np.stack([_vector_of(key) for key in keys]))
    record = _shard.encode(bytes(32 * 7), np.zeros((7, 16), np.float32))
    writer = cache._disk._writers["ns"]
    _store._write_all(writer.fd, record[: len(record) // 2])  # killed mid-write
    ready.set()
    import time

    time.sleep(120)


def test_a_killed_writer_loses_no_stored_batch(tmp_path):
    import multiprocessing

    from sktransfer._cache import digest

    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_write_batches_then_wait, args=(tmp_path / "c", 5, ready))
    proc.start()
    assert ready.wait(60)
    proc.kill()
    proc.join(60)
    keys = [digest(f"killed{b}-{i}".encode()) for b in range(5) for i in range(7)]
    cache = EmbeddingCache(tmp_path / "c")
    with pytest.warns(RuntimeWarning, match="damaged at byte"):  # the half record
        found = cache.get_many("ns", keys)
    assert len(found) == 35
    for key in keys:
        np.testing.assert_array_equal(found[key], _vector_of(key))
    assert cache.prune()["kept"] == 35
    assert EmbeddingCache(tmp_path / "c").verify()["ns"]["bad_shards"] == []


def test_a_writer_whose_file_is_merged_meanwhile_writes_again(tmp_path):
    from sktransfer._cache import digest

    writer = EmbeddingCache(tmp_path / "c")
    keys = [digest(f"merged{i}".encode()) for i in range(20)]
    vectors = np.stack([_vector_of(k) for k in keys])
    writer.put_many("ns", keys[:10], vectors[:10])
    assert EmbeddingCache(tmp_path / "c").prune()["kept"] == 10  # another process
    writer.put_many("ns", keys[10:], vectors[10:])  # its file was renamed: a new one
    found = EmbeddingCache(tmp_path / "c").get_many("ns", keys)
    assert len(found) == 20
    np.testing.assert_array_equal(np.stack([found[k] for k in keys]), vectors)


def _write_rows(directory, tag, n_shared, n_own):
    """Store rows whose vector is a function of the key, in small chunks."""
    from sktransfer._cache import digest

    cache = EmbeddingCache(directory)
    keys = [digest(f"shared{i}".encode()) for i in range(n_shared)]
    keys += [digest(f"{tag}{i}".encode()) for i in range(n_own)]
    for start in range(0, len(keys), 7):
        part = keys[start : start + 7]
        cache.put_many("ns", part, np.stack([_vector_of(k) for k in part]))


def _vector_of(key):
    return np.random.default_rng(int(key[:8], 16)).standard_normal(16).astype(np.float32)


def test_processes_writing_the_same_and_different_rows_at_once(tmp_path):
    import multiprocessing

    from sktransfer._cache import digest

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_rows, args=(tmp_path / "c", tag, 60, 40)) for tag in "abcd"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    cache = EmbeddingCache(tmp_path / "c")
    keys = [digest(f"shared{i}".encode()) for i in range(60)]
    keys += [digest(f"{tag}{i}".encode()) for tag in "abcd" for i in range(40)]
    found = cache.get_many("ns", keys)
    assert len(found) == len(keys) == len(cache) == 220
    for key in keys:
        np.testing.assert_array_equal(found[key], _vector_of(key))
    assert cache.verify()["ns"]["bad_rows"] == 0
    assert not list((tmp_path / "c").rglob("*.tmp"))
    report = cache.prune()  # the shared rows were stored four times: one copy kept
    assert report["kept"] == 220
    assert len(_shards(cache, "ns")) == 1
    assert len(EmbeddingCache(tmp_path / "c").get_many("ns", keys)) == 220


def test_fit_names_a_location_that_cannot_hold_a_cache(tmp_path):
    in_the_way = tmp_path / "file"
    in_the_way.write_text("not a folder")
    with pytest.raises(ValueError, match=r"a regular file is in the way .*; pass a directory"):
        TextEmbedder(cache=str(in_the_way)).fit(["x"])
    with pytest.raises(ValueError, match="regular file is in the way"):
        TextEmbedder(cache=str(in_the_way / "below")).fit(["x"])


def test_a_store_that_cannot_be_written_computes_and_warns_once(text_embedder, tmp_path):
    # Root ignores permissions, so the store is made unwritable for real: a
    # regular file takes the place of its folder after fit.
    cache = EmbeddingCache(tmp_path / "c")
    est = _text(cache)
    (tmp_path / "c" / "v2").rmdir()
    (tmp_path / "c" / "v2").write_text("in the way")
    with pytest.warns(RuntimeWarning, match="cannot be written") as record:
        out = est.transform(TEXTS[:2])
        out2 = est.transform(TEXTS[2:4])
    assert len(record) == 1
    np.testing.assert_allclose(out, text_embedder.transform(TEXTS[:2]), atol=1e-6)
    np.testing.assert_allclose(out2, text_embedder.transform(TEXTS[2:4]), atol=1e-6)
    # What the directory would not take stays in this process's memory.
    with transform_report() as report:
        np.testing.assert_array_equal(est.transform(TEXTS[:4]), np.vstack([out, out2]))
    assert report.cache_stats["rows_embedded"] == 0


def test_cached_text_batches_group_texts_of_similar_length(text_embedder, monkeypatch):
    """Misses are embedded and stored batch by batch, longest texts first (as
    one sentence-transformers call orders them), not in the order given: a
    batch pads to its longest text."""
    texts = [("word " * n).strip() for n in (3, 40, 1, 25, 7, 60, 2, 33, 12, 5, 48, 9)]
    texts += texts[:2]  # duplicates are embedded once
    est = _text(EmbeddingCache(), batch_size=4)
    calls = []
    embed = type(est)._embed

    def spy(self, rows, positions):
        calls.append([len(rows.values[i]) for i in positions])
        return embed(self, rows, positions)

    monkeypatch.setattr(type(est), "_embed", spy)
    out = est.transform(texts)
    assert [len(c) for c in calls] == [4, 4, 4]
    lengths = [n for call in calls for n in call]
    assert lengths == sorted(lengths, reverse=True)
    np.testing.assert_allclose(out, text_embedder.transform(texts), atol=1e-5)


def test_a_directory_cache_keeps_no_copy_in_memory(tmp_path):
    from sktransfer._cache import digest

    keys = [digest(f"row{i}".encode()) for i in range(40)]
    vectors = np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32)
    cache = EmbeddingCache(tmp_path / "c")
    cache.put_many("ns", keys, vectors)
    assert len(cache._memory) == 0
    out, have = cache.get_rows("ns", keys, 8)  # served by the shards
    assert have.all()
    np.testing.assert_array_equal(out, vectors)
    assert set(cache.get_many("ns", keys[:3])) == set(keys[:3])
    assert len(cache._memory) == 0


def test_clear_during_a_write_loses_nothing(text_embedder, tmp_path, monkeypatch, recwarn):
    from sktransfer._cache import _store

    cache = EmbeddingCache(tmp_path / "c")
    est = _text(cache, batch_size=2)
    real = _store._write_all
    cleared = []

    def write_after_a_clear(fd, data):
        if not cleared:  # another process clears the store between open and write
            cleared.append(fd)
            import shutil

            shutil.rmtree(tmp_path / "c" / "v2")
        return real(fd, data)

    monkeypatch.setattr(_store, "_write_all", write_after_a_clear)
    out = est.transform(TEXTS[:4])
    assert cleared and not [w for w in recwarn if "cache" in str(w.message)]
    np.testing.assert_allclose(out, text_embedder.transform(TEXTS[:4]), atol=1e-6)
    reader = _text(EmbeddingCache(tmp_path / "c"))
    assert _stats(reader, TEXTS[:4])["rows_embedded"] == 0


def test_precision_changed_without_refit_moves_the_vectors(digit_files):
    cache = EmbeddingCache()
    est = ImageEmbedder(image_size=32, cache=cache).fit(digit_files)
    assert _stats(est, digit_files)["rows_embedded"] == len(digit_files)
    float32_id = est.embedding_id_
    est.set_params(precision="bfloat16")  # no refit: _embed reads it live
    assert est.embedding_id_ != float32_id
    assert _stats(est, digit_files)["rows_embedded"] == len(digit_files)
    est.set_params(precision="float32")
    assert est.embedding_id_ == float32_id
    assert _stats(est, digit_files)["rows_embedded"] == 0


def test_unpickling_recomputes_the_identity(text_embedder, tmp_path):
    import pickle

    est = _text(EmbeddingCache(tmp_path / "c"))
    est._loaded_identity_ = {"source": "stale"}  # what the pickled weights were
    assert est.embedding_id_ != _text(None).embedding_id_
    again = pickle.loads(pickle.dumps(est))
    assert again.embedding_id_ == _text(None).embedding_id_


def test_a_library_upgrade_moves_the_vectors(text_embedder, monkeypatch):
    import sktransfer.base

    cache = EmbeddingCache()
    est = _text(cache)
    est.transform(TEXTS[:2])
    before = est.embedding_id_
    real = sktransfer.base.library_versions

    def upgraded(names):
        return {**real(names), "torch": "99.0"}

    monkeypatch.setattr(sktransfer.base, "library_versions", upgraded)
    assert est.embedding_id_ != before
    assert _stats(est, TEXTS[:2])["rows_embedded"] == 2
    assert "torch" in real(est._libraries) and "sentence-transformers" in real(est._libraries)


def test_palette_images_are_keyed_by_their_colours():
    from sktransfer.io import image_row_key

    indices = np.arange(64, dtype=np.uint8).reshape(8, 8) % 4
    a = Image.fromarray(indices, mode="P")
    a.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    b = Image.fromarray(indices, mode="P")
    b.putpalette([255, 255, 255, 0, 0, 0, 9, 9, 9, 80, 80, 80] + [0] * 756)
    assert a.tobytes() == b.tobytes()
    assert image_row_key(a) != image_row_key(b)
    assert image_row_key(a) == image_row_key(a.copy())
    c = a.copy()
    c.info["transparency"] = 0
    assert image_row_key(c) != image_row_key(a)
    # With an RGBA palette, a transparent index's alpha decides what it shows.
    d, e = (Image.fromarray(indices, mode="P") for _ in range(2))
    d.putpalette([0, 0, 0, 255] * 4 + [0] * 1008, "RGBA")
    e.putpalette([0, 0, 0, 0] * 4 + [0] * 1008, "RGBA")
    d.info["transparency"] = e.info["transparency"] = 0
    assert image_row_key(d) != image_row_key(e)


def test_pil_images_are_keyed_by_their_exif_orientation(image_embedder, digits_images, tmp_path):
    """The same pixels under another EXIF orientation are another (turned)
    picture: a cache must not serve one's vector for the other, even in one
    transform (where equal keys are embedded once)."""
    from sktransfer.io import image_row_key

    upright = Image.fromarray(digits_images[0][7]).convert("RGB")
    turned = upright.copy()
    turned.getexif()[0x0112] = 6  # "rotate 90° clockwise to display"
    assert turned.tobytes() == upright.tobytes()
    assert image_row_key(turned) != image_row_key(upright)
    plain = image_embedder.transform([upright, turned])  # no cache
    assert np.abs(plain[0] - plain[1]).max() > 1e-3
    for cache in (EmbeddingCache(), EmbeddingCache(tmp_path / "c")):
        est = ImageEmbedder(image_size=96, cache=cache).fit(np.zeros((1, 8, 8, 3), np.uint8))
        np.testing.assert_allclose(est.transform([upright, turned]), plain, atol=1e-4)
        np.testing.assert_allclose(est.transform([turned]), plain[1:], atol=1e-4)


def test_torchvision_default_weights_are_keyed_by_what_they_resolve_to():
    from sktransfer.image._torchvision import _weights_identity

    default = _weights_identity("resnet18", "DEFAULT")
    assert default.startswith("ResNet18_Weights.IMAGENET1K_V1:resnet18-")
    assert default == _weights_identity("resnet18", "IMAGENET1K_V1")
    assert _weights_identity("resnet18", None) == "random-init(seed=0)"


def test_old_one_file_per_row_stores_are_ignored_and_cleared(text_embedder, tmp_path):
    old = tmp_path / "c" / "v1" / ("0" * 32) / "ab"
    old.mkdir(parents=True)
    np.save(old / ("ab" + "0" * 62 + ".npy"), np.ones(384, np.float32))
    cache = EmbeddingCache(tmp_path / "c")
    est = _text(cache)
    est.transform(TEXTS[:2])
    assert len(cache) == 2
    assert cache.info()["old_formats"] == {"v1": 1}
    cache.clear()
    assert len(cache) == 0 and not (tmp_path / "c" / "v1").exists()


def test_a_size_bound_evicts_the_least_recently_used_shards(tmp_path):
    import time

    rng = np.random.default_rng(0)
    groups = []
    for g in range(4):  # four writers: one file each
        cache = EmbeddingCache(tmp_path / "c")
        keys = [f"{g:02x}{i:062x}" for i in range(10)]
        cache.put_many("ns", keys, rng.standard_normal((10, 16)).astype(np.float32))
        groups.append(keys)
    shards = _shards(cache, "ns")
    for age, shard in enumerate(shards):  # group 0 oldest ... group 3 newest, hours apart
        when = time.time() - 86400 + 4000 * age
        os.utime(shard, (when, when))
    os.utime(shards[0])  # group 0 was just read: most recent
    size = shards[0].stat().st_size
    report = EmbeddingCache(tmp_path / "c").prune(max_bytes=2 * size)
    assert report["evicted_shards"] == 2 and report["bytes"] <= 2 * size
    fresh = EmbeddingCache(tmp_path / "c")
    assert set(fresh.get_many("ns", groups[0])) == set(groups[0])
    assert set(fresh.get_many("ns", groups[3])) == set(groups[3])
    assert not fresh.get_many("ns", groups[1] + groups[2])
    bounded = EmbeddingCache(tmp_path / "b", max_bytes=size)
    for keys in groups:
        bounded.put_many("ns", keys, rng.standard_normal((10, 16)).astype(np.float32))
    assert sum(p.stat().st_size for p in _shards(bounded, "ns")) <= size
    newest = EmbeddingCache(tmp_path / "b").get_many("ns", groups[3])
    assert set(newest) == set(groups[3])  # the newest file stays


def test_cache_command(text_embedder, tmp_path, capsys):
    from sktransfer.cli import main

    est = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    est.transform(TEXTS[:2])
    _text(EmbeddingCache(tmp_path / "c"), batch_size=2).transform(TEXTS[2:4])  # a 2nd writer
    assert main(["cache", "info", str(tmp_path / "c")]) == 0
    assert "4 rows in 2 shards" in capsys.readouterr().out
    assert main(["cache", "verify", str(tmp_path / "c")]) == 0
    assert main(["cache", "prune", str(tmp_path / "c")]) == 0
    assert "kept 4 rows" in capsys.readouterr().out
    assert len(_shards(est.cache, est.embedding_id_)) == 1
    assert main(["cache", "clear", str(tmp_path / "c")]) == 0
    assert len(EmbeddingCache(tmp_path / "c")) == 0
    assert main(["cache", "info", str(tmp_path / "nowhere")]) == 2


def test_cache_info_on_a_damaged_store(text_embedder, tmp_path, capsys):
    """`cache info` names the model behind each namespace, and lists damage
    plainly: no warning with a source line, and no claim that it recomputes
    anything (it embeds nothing)."""
    import warnings

    from sktransfer.cli import main

    est = _text(EmbeddingCache(tmp_path / "c"), batch_size=2)
    est.transform(TEXTS[:6])  # one file, three records
    (shard,) = _shards(est.cache, est.embedding_id_)
    with open(shard, "r+b") as f:  # a byte of the second record's key table flipped
        f.seek(_record_size(2) + 40)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    (shard.parent / "shards.idx").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["cache", "info", str(tmp_path / "c")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert f"{est.embedding_id_}: TextEmbedder(model='all-MiniLM-L6-v2'): 4 rows" in out
    assert f"damaged: shard {str(shard)!r} is damaged at byte {_record_size(2)}" in out
    assert "recomput" not in out and "RuntimeWarning" not in out
    assert "'prune' removes the damage" in out
    info = EmbeddingCache(tmp_path / "c").info()["namespaces"][est.embedding_id_]
    assert info["model"] == "TextEmbedder(model='all-MiniLM-L6-v2')"
    assert len(info["damage"]) == 1


def test_bulk_reads_give_each_key_its_own_vector(tmp_path):
    """Any order, any subset, across records and files, from a fresh handle."""
    from sktransfer._cache import digest

    rng = np.random.default_rng(0)
    keys = [digest(f"bulk{i}".encode()) for i in range(120)]
    vectors = rng.standard_normal((120, 16)).astype(np.float32)
    for part in (slice(0, 50), slice(50, 120)):  # two writers, two files
        cache = EmbeddingCache(tmp_path / "c")
        for start in range(part.start, part.stop, 8):  # records of 8 rows
            stop = min(start + 8, part.stop)
            cache.put_many("ns", keys[start:stop], vectors[start:stop])
    for order in (
        np.arange(120),
        np.r_[0:8, 40:48, 8:24, 100:120],  # whole records, out of file order
        rng.permutation(120)[:77],
        np.r_[3, 2, 1, 0, 60, 61, 5],
    ):
        wanted = [keys[i] for i in order] + [digest(b"absent")]
        out, have = EmbeddingCache(tmp_path / "c").get_rows("ns", wanted, 16)
        assert have.tolist() == [True] * len(order) + [False]
        np.testing.assert_array_equal(out[:-1], vectors[order])


def test_images_go_through_one_loader_and_each_batch_is_stored(digit_files, tmp_path, monkeypatch):
    import torch.utils.data

    loaders, stored = [], []
    real_loader, real_put = torch.utils.data.DataLoader, EmbeddingCache.put_many

    def counting_loader(*args, **kwargs):
        loaders.append(kwargs["num_workers"])
        return real_loader(*args, **kwargs)

    def counting_put(self, namespace, keys, vectors, meta=None):
        stored.append(len(keys))
        return real_put(self, namespace, keys, vectors, meta=meta)

    est = ImageEmbedder(image_size=32, batch_size=2, num_workers=1, cache=tmp_path / "c")
    est.fit(digit_files)
    monkeypatch.setattr(torch.utils.data, "DataLoader", counting_loader)
    monkeypatch.setattr(EmbeddingCache, "put_many", counting_put)
    with transform_report() as report:
        out = est.transform(digit_files)
    assert loaders == [1]  # one loader, its worker decoding all three batches
    assert stored == [2, 2, 2]  # each batch stored as it came out
    assert report.cache_stats["rows_embedded"] == 6
    monkeypatch.undo()
    plain = ImageEmbedder(image_size=32, batch_size=2, num_workers=0).fit(digit_files)
    np.testing.assert_allclose(out, plain.transform(digit_files), atol=1e-5)


def _fails_once_at_second_batch(calls):
    def module(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return batch * 10

    return module


def test_auto_batch_size_resumes_after_out_of_memory_from_the_first_row_not_yielded(
    monkeypatch,
):
    import contextlib

    import torch

    from sktransfer import _batching

    cpu, key = torch.device("cpu"), ("image", "fails-once", "cpu")
    monkeypatch.setitem(_batching._WORKING, key, 4)
    assert _batching.start_batch_size("auto", cpu, "image", key) == 4
    assert _batching.is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate"))
    rows = torch.arange(10, dtype=torch.float32).reshape(10, 1)
    calls = []
    params = dict(device=cpu, num_workers=0, autocast=contextlib.nullcontext, key=key)
    batches = _batching.iter_loader(
        rows, _fails_once_at_second_batch(calls), batch_size="auto", **params
    )
    first = next(batches)
    assert not torch.is_inference_mode_enabled()  # left before the batch is yielded
    rest = list(batches)
    assert [len(b) for b in [first, *rest]] == [4, 2, 2, 2]
    assert calls == [4, 4, 2, 2, 2]  # rows 4-7 failed at 4, then rows 4-9 ran at 2
    np.testing.assert_array_equal(np.concatenate([first, *rest]), rows.numpy() * 10)
    assert first.dtype == np.float32
    assert _batching.start_batch_size("auto", cpu, "image", key) == 2  # remembered
    calls.clear()
    with pytest.raises(RuntimeError, match="batch_size=4 does not fit"):
        _batching.run_loader(
            rows, _fails_once_at_second_batch(calls), batch_size=4, out_dim=1, **params
        )


def test_the_bucket_lookup_is_a_binary_search():
    """The index's constant-time lookup finds what np.searchsorted finds: the
    newest copy of a key, a miss for an absent one, at every size."""
    from sktransfer._cache._index import BAD, Index

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 1000, 50_000):
        index = Index()
        prefix = np.sort(rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False))
        if n > 10:  # a key stored three times, one copy damaged; clustered prefixes
            prefix[5:8] = prefix[4]
            prefix[-40:] = prefix[-41] + np.arange(40, dtype=np.uint64)
        index.prefix = prefix
        index.row_rec = np.arange(n, dtype=np.uint32)
        index.row_idx = np.arange(n, dtype=np.uint32)
        if n > 10:
            index.row_rec[6] = BAD
        asked = np.concatenate(
            [
                prefix,
                rng.integers(0, 2**64, 100, dtype=np.uint64, endpoint=False),
                np.array([0, 2**64 - 1], np.uint64),
            ]
        )
        found, rec, row = index.lookup(asked)
        at = np.minimum(np.searchsorted(prefix, asked), n - 1)
        expected = (prefix[at] == asked) & (index.row_rec[at] != BAD)
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_array_equal(rec[found], index.row_rec[at][found])
        np.testing.assert_array_equal(row[found], index.row_idx[at][found])


def test_reads_checked_on_another_thread_still_catch_damage(tmp_path, monkeypatch):
    """Many small reads (each checked while the next is read): a damaged record
    far into the file is caught, the rest served; a forked child reads too."""
    import multiprocessing

    from sktransfer._cache import _read, digest

    monkeypatch.setattr(_read, "_SPAN_BYTES", 3 * _record_size(8, 16))
    keys = [digest(f"span{i}".encode()) for i in range(160)]
    vectors = np.random.default_rng(1).standard_normal((160, 16)).astype(np.float32)
    cache = EmbeddingCache(tmp_path / "c")
    for start in range(0, 160, 8):  # 20 records of 8 rows, one file
        cache.put_many("ns", keys[start : start + 8], vectors[start : start + 8])
    cache.flush("ns")
    (shard,) = _shards(cache, "ns")
    with open(shard, "r+b") as f:  # record 17, row 2: one float changed
        f.seek(17 * _record_size(8, 16) + _matrix_offset(8) + (2 * 16 + 5) * 4)
        f.write(np.float32(7.0).tobytes())
    with pytest.warns(RuntimeWarning, match="fail their checksum"):
        out, have = EmbeddingCache(tmp_path / "c").get_rows("ns", keys, 16)
    assert np.flatnonzero(~have).tolist() == [17 * 8 + 2]
    np.testing.assert_array_equal(out[have], vectors[have])

    def child(queue):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, ok = EmbeddingCache(tmp_path / "c").get_rows("ns", keys[:40], 16)
        queue.put((got, ok))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    try:
        got, ok = queue.get(timeout=60)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    assert ok.all()
    np.testing.assert_array_equal(got, vectors[:40])


@pytest.mark.parametrize("on_disk", [False, True])
def test_a_store_problem_warns_once_at_the_users_line(tmp_path, on_disk):
    """A cache and its directory's store report through one warn_once: each
    problem once, whichever of them meets it, at the caller's line."""
    cache = EmbeddingCache(tmp_path / "c" if on_disk else None)
    reporters = [cache, cache._disk] if on_disk else [cache]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for reporter in reporters * 2:
            reporter.warn_once("embedding cache: one problem")
        cache.warn_once("embedding cache: another")
    assert [str(w.message) for w in caught] == [
        "embedding cache: one problem",
        "embedding cache: another",
    ]
    assert all(w.category is RuntimeWarning and w.filename == __file__ for w in caught)
