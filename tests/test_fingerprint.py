"""Models are named by their content: a copy of a model folder (another
environment, another worker, a moved folder) has the same embedding id and
shares the cache; a changed byte does not; file digests are remembered by path,
size and time so that a fit does not hash the weights again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from random_models import write_tiny_text_model

from sktransfer import EmbeddingCache, TextEmbedder, transform_report
from sktransfer._cache import _fingerprint
from sktransfer._weights import shipped_text_model

TEXTS = ["crisp and fresh", "stale crackers", "good coffee"]


@pytest.fixture(scope="module")
def minilm_copy(tmp_path_factory):
    """The shipped all-MiniLM-L6-v2 folder copied elsewhere (a second install)."""
    original = shipped_text_model("all-MiniLM-L6-v2")
    if original is None:
        pytest.skip("the shipped MiniLM package is not installed")
    return str(shutil.copytree(original, tmp_path_factory.mktemp("install2") / "minilm"))


@pytest.fixture
def hashed(monkeypatch, tmp_path):
    """A fresh memo (in memory and on disk) and the paths hashed from now on."""
    monkeypatch.setenv("SKTRANSFER_CACHE", str(tmp_path / "default-cache"))
    monkeypatch.setattr(_fingerprint, "_memory", {})
    seen = []
    real = _fingerprint._hash_file

    def spy(path, *args, **kwargs):
        seen.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(_fingerprint, "_hash_file", spy)
    return seen


def test_a_copied_minilm_has_the_same_id_and_hits_the_same_disk_cache(minilm_copy, tmp_path):
    cache = str(tmp_path / "shared")
    original = TextEmbedder(cache=cache).fit(TEXTS)
    original.transform(TEXTS)
    copy = TextEmbedder(model=minilm_copy, cache=cache).fit(TEXTS)
    assert copy.embedding_id_ == original.embedding_id_
    with transform_report() as report:
        copy.transform(TEXTS)
    assert report.cache_stats == {"hits": 3, "misses": 0, "rows_embedded": 0}
    assert list(EmbeddingCache(cache).info()["namespaces"]) == [original.embedding_id_]


def test_one_changed_byte_of_the_weights_is_another_model(minilm_copy, tmp_path):
    edited = shutil.copytree(minilm_copy, tmp_path / "edited")
    weights = edited / "model.safetensors"
    with open(weights, "r+b") as f:  # the last byte of the last tensor's data
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    same = TextEmbedder(model=minilm_copy).fit(TEXTS)
    other = TextEmbedder(model=edited).fit(TEXTS)
    assert other.embedding_id_ != same.embedding_id_


def test_documentation_files_do_not_name_the_model(tmp_path, hashed):
    model = write_tiny_text_model(tmp_path / "tiny")
    before = TextEmbedder(model=model).fit(TEXTS).embedding_id_
    (Path(model) / "README.md").write_text("A tiny model for tests.\n")
    (Path(model) / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    assert TextEmbedder(model=model).fit(TEXTS).embedding_id_ == before
    assert "README.md" not in hashed and ".gitattributes" not in hashed
    (Path(model) / "modules.json").write_text((Path(model) / "modules.json").read_text() + " ")
    assert TextEmbedder(model=model).fit(TEXTS).embedding_id_ != before


def test_digests_are_remembered_in_memory_and_on_disk(tmp_path, hashed):
    model = write_tiny_text_model(tmp_path / "tiny")
    first = TextEmbedder(model=model).fit(TEXTS)
    assert "model.safetensors" in hashed and "vocab.txt" in hashed
    assert _fingerprint.memo_path().is_file()

    hashed.clear()
    again = TextEmbedder(model=model).fit(TEXTS)  # the memo in memory
    assert hashed == [] and again.embedding_id_ == first.embedding_id_

    _fingerprint._memory.clear()  # as in a new process: the memo on disk
    again = TextEmbedder(model=model).fit(TEXTS)
    assert hashed == [] and again.embedding_id_ == first.embedding_id_


def test_a_touched_file_is_hashed_again_and_keeps_the_id(tmp_path, hashed):
    model = write_tiny_text_model(tmp_path / "tiny")
    first = TextEmbedder(model=model).fit(TEXTS)
    weights = Path(model) / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    hashed.clear()
    again = TextEmbedder(model=model).fit(TEXTS)
    assert hashed == ["model.safetensors"]
    assert again.embedding_id_ == first.embedding_id_


def test_a_damaged_memo_costs_a_hash_not_a_wrong_id(tmp_path, hashed):
    model = write_tiny_text_model(tmp_path / "tiny")
    first = TextEmbedder(model=model).fit(TEXTS)
    _fingerprint.memo_path().write_text("{not json")
    _fingerprint._memory.clear()
    hashed.clear()
    again = TextEmbedder(model=model).fit(TEXTS)
    assert "model.safetensors" in hashed
    assert again.embedding_id_ == first.embedding_id_


def test_a_download_check_reads_the_bytes_whatever_is_remembered(tmp_path, hashed):
    from sktransfer._hub_files import check_torchvision_checkpoint

    path = tmp_path / "resnet18-00000000.pth"
    path.write_bytes(b"not the published weights")
    st = path.stat()
    # A memo that vouches for the file (written by anyone with the cache folder).
    _fingerprint._memory[(os.path.realpath(path), st.st_size, st.st_mtime_ns)] = "0" * 64
    with pytest.raises(ValueError, match="is not the published file"):
        check_torchvision_checkpoint(path)
    assert hashed == [path.name]


def test_another_process_finds_the_digests_on_disk(tmp_path, hashed):
    import subprocess
    import sys

    model = write_tiny_text_model(tmp_path / "tiny")
    here = TextEmbedder(model=model).fit(TEXTS).embedding_id_
    code = (
        "from sktransfer import TextEmbedder\n"
        "from sktransfer._cache import _fingerprint\n"
        "seen = []\n"
        "real = _fingerprint._hash_file\n"
        "_fingerprint._hash_file = lambda path, *a: seen.append(path) or real(path, *a)\n"
        f"print(TextEmbedder(model={model!r}).fit(['a']).embedding_id_, len(seen))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    there, hashed_there = done.stdout.split()[-2:]
    assert (there, hashed_there) == (here, "0")
