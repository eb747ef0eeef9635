"""A model shipped as a split zip (MPNet): joined once into the cache, every
file checked against the digest pinned in the code, and refused when a part is
damaged; the real all-mpnet-base-v2 loads offline when its parts are installed."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from sktransfer import ModelLoadError
from sktransfer._split_zip import SplitZip, unpacked

FILES = {"config.json": b'{"dim": 4}', "sub/vocab.txt": b"a\nb\nc\n" * 50}


def _digests(files) -> dict:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


@dataclass(frozen=True)
class LocalSplitZip(SplitZip):
    """The parts as plain files (the real ones are found through pip metadata)."""

    local: tuple = ()

    def part_paths(self):
        paths = [Path(p) for p in self.local]
        return paths if all(p.is_file() for p in paths) else None


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.setenv("SKTRANSFER_CACHE", str(tmp_path / "cache"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**FILES, "desktop.ini": b"ignored"}.items():
            archive.writestr(f"tiny/{name}", data)
    data = buffer.getvalue()
    cut = len(data) // 3
    parts = []
    for i, chunk in enumerate((data[:cut], data[cut : 2 * cut], data[2 * cut :])):
        parts.append(tmp_path / f"tiny.zip.{i + 1:03d}")
        parts[-1].write_bytes(chunk)
    return LocalSplitZip(
        name="tiny", parts=(), files=_digests(FILES), extra="tiny", local=tuple(parts)
    )


def test_the_parts_are_joined_once_into_checked_files(spec, tmp_path):
    folder = Path(unpacked(spec))
    assert folder == tmp_path / "cache" / "models" / "tiny"
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(FILES)
    assert (folder / "sub/vocab.txt").read_bytes() == FILES["sub/vocab.txt"]
    before = os.stat(folder / "config.json").st_mtime_ns
    assert unpacked(spec) == str(folder)  # checked, not unpacked again
    assert os.stat(folder / "config.json").st_mtime_ns == before


def test_a_file_changed_in_the_cache_is_unpacked_again(spec):
    folder = Path(unpacked(spec))
    (folder / "config.json").write_bytes(b'{"dim": 5}')
    assert (Path(unpacked(spec)) / "config.json").read_bytes() == FILES["config.json"]


def test_a_damaged_part_or_an_unpinned_file_is_refused(spec):
    pinned = SplitZip(name="tiny", parts=(), files={**spec.files, "config.json": "0" * 64},
                      extra="tiny")  # fmt: skip
    other = LocalSplitZip(**{**pinned.__dict__, "local": spec.local})
    with pytest.raises(ModelLoadError, match=r"config\.json is not the file pinned"):
        unpacked(other)
    part = Path(spec.local[1])
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="tiny"):
        unpacked(spec)


def test_a_missing_part_means_not_shipped(spec):
    Path(spec.local[2]).unlink()
    assert unpacked(spec) is None


def test_the_shipped_mpnet_loads_offline():
    from sktransfer._weights import MPNET

    if MPNET.part_paths() is None:
        pytest.skip("the mpnet extra is not installed")
    from sktransfer import TextEmbedder

    est = TextEmbedder(model="all-mpnet-base-v2", device="cpu", verbose=0)
    vectors = est.fit_transform(["The coffee was fresh.", "Stale and bitter."])
    assert vectors.shape == (2, 768)
    assert est.embedding_id_ != TextEmbedder(device="cpu").fit(["x"]).embedding_id_
