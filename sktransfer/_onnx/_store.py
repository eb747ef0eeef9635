"""Exported models: one ONNX file per (model content, input spec, opset,
precision, library versions), kept in ``<cache dir>/onnx/<key>/`` and reused.

Each folder holds ``model.onnx`` and ``manifest.json`` (what it was exported
from, and the file's SHA-256). A file is used only when its SHA-256 is the one
the library recorded when it wrote it; anything else in the folder (a file
edited or replaced, a half-written export) is exported again. ONNX files hold a
graph and weights, no code, and no custom-operator library is ever loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from .._cache import file_digest, library_versions, namespace_of
from .._location import default_cache_dir
from .._warn import warn

LIBRARIES = ("torch", "onnx", "onnxruntime", "transformers", "timm", "sentence-transformers")
OPSET = 17
_LOCK = threading.Lock()


def _valid(folder: Path, key: dict) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return False
    try:
        return file_digest(folder / "model.onnx", remembered=False) == manifest.get("sha256")
    except OSError:
        return False


def exported_model(
    key: dict,
    export: Callable[[Path], None],
    quantize: Callable[[Path, Path], dict | None] | None = None,
) -> Path:
    """The path of the ONNX file for ``key``, exporting it first if no checked
    file is there: ``export(path)`` writes the float32 graph; ``quantize(src,
    dst)``, when given, turns it into the file used (e.g. int8) and returns what
    it chose, which the manifest records.

    ``key`` must name everything the file depends on (the model's content
    fingerprint, input spec, precision); the opset and the versions of the
    libraries that export and run it are added here.
    """
    key = {**key, "opset": OPSET, "libraries": library_versions(LIBRARIES)}
    key = json.loads(json.dumps(key, sort_keys=True, default=str))  # as the manifest reads back
    folder = default_cache_dir() / "onnx" / namespace_of(key)
    with _LOCK:
        if _valid(folder, key):
            return folder / "model.onnx"
        if folder.exists():
            warn(
                f"the exported ONNX model in {str(folder)!r} does not match what was "
                "written there (edited, replaced or cut short); it is exported again.",
                RuntimeWarning,
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
        try:
            exported = work / ("float32.onnx" if quantize else "model.onnx")
            export(exported)
            chosen = None
            if quantize is not None:
                chosen = quantize(exported, work / "model.onnx")
                exported.unlink()
            manifest = {
                "key": key,
                "sha256": file_digest(work / "model.onnx", remembered=False),
                "chosen": chosen,
            }
            (work / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, default=str))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return folder / "model.onnx"
