"""Where sktransfer keeps what outlives a process by default."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$SKTRANSFER_CACHE``, else ``$XDG_CACHE_HOME/sktransfer``, else ``~/.cache/sktransfer``."""
    if os.environ.get("SKTRANSFER_CACHE"):
        return Path(os.environ["SKTRANSFER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sktransfer"
