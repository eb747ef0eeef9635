"""The embedding cache's disk store against the physical reference and the old format.

For each size, random 384-d float32 vectors under random SHA-256 keys are

* written: the shard store (``EmbeddingCache.put_many`` once per batch of
  ``--chunk`` rows, as a transform stores its batches: one record each,
  appended to the handle's file), the old one-``.npy``-per-row store (a
  minimal copy of its writer, below), and one ``np.save``;
* read back in a fresh process (nothing in Python's memory; the OS page cache
  is warm, as it is right after a run) into one (n, 384) matrix: the store's
  ``get_rows`` (what ``transform`` calls) by the first reader and by a second
  one (both load the index the writer saved at its end; the first also pays
  for a cold index file), the
  old store's per-row ``np.load``, and one ``np.load`` of the whole matrix.

It prints rows/s, the ratios asked of the store, and bytes on disk (allocated
blocks) per vector. The old store is measured up to 100k rows only: at 1M it
is a million files. Run::

    python benchmarks/bench_cache_store.py                  # 10k, 100k and 1M rows
    python benchmarks/bench_cache_store.py --sizes 10000    # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

DIM = 384
V1_LIMIT = 100_000
NAMESPACE = "0" * 32


# ---------------------------------------------------------------- the old format
def v1_write(root: Path, keys, vectors) -> None:
    """One .npy per row through a temporary file and os.replace (the v1 store)."""
    for key, vec in zip(keys, vectors, strict=True):
        path = root / NAMESPACE / key[:2] / f"{key}.npy"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, vec, allow_pickle=False)
        os.replace(tmp, path)


def v1_read(root: Path, keys) -> dict:
    found = {}
    for key in keys:
        try:
            found[key] = np.load(root / NAMESPACE / key[:2] / f"{key}.npy", allow_pickle=False)
        except FileNotFoundError:
            pass
    return found


# ---------------------------------------------------------------- hit path, fresh process
_READER = """
import sys, time, json
import numpy as np
from pathlib import Path
sys.path.insert(0, sys.argv[4])
kind, root, keyfile = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
keys = np.load(keyfile).tolist()
if kind == "v2":
    from sktransfer import EmbeddingCache
    t = time.perf_counter()
    out, have = EmbeddingCache(root).get_rows(NAMESPACE, keys, DIM)  # what transform calls
    assert have.all()
elif kind == "v1":
    from bench_cache_store import v1_read
    t = time.perf_counter()
    found = v1_read(root, keys)
    out = np.concatenate([found[k] for k in keys]).reshape(len(keys), -1)
else:
    t = time.perf_counter()
    out = np.load(root / "vectors.npy")
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": len(out), "sum": float(out.sum(dtype=np.float64))}))
""".replace("NAMESPACE", repr(NAMESPACE)).replace("DIM", str(DIM))


def read_fresh(kind, root, keyfile) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, repo, *sys.path])}
    cmd = [sys.executable, "-c", _READER, kind, str(root), str(keyfile), repo]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def disk_bytes(root: Path, shards_only: bool = False) -> int:
    files = [p for p in root.rglob("*") if p.is_file()]
    if shards_only:
        files = [p for p in files if p.suffix != ".idx"]
    return sum(p.stat().st_blocks * 512 for p in files)


def measure(n: int, chunk: int, workdir: Path) -> dict:
    from sktransfer import EmbeddingCache

    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    keys = rng.bytes(32 * n).hex()
    keys = [keys[64 * i : 64 * (i + 1)] for i in range(n)]
    keyfile = workdir / f"keys-{n}.npy"
    np.save(keyfile, np.array(keys))
    expected = float(vectors.sum(dtype=np.float64))
    rows = {"n": n}

    ref = workdir / f"npy-{n}"
    ref.mkdir()
    t = time.perf_counter()
    np.save(ref / "vectors.npy", vectors)
    rows["npy_write"] = n / (time.perf_counter() - t)

    v2 = workdir / f"v2-{n}"
    cache = EmbeddingCache(v2)
    t = time.perf_counter()
    for start in range(0, n, chunk):
        cache.put_many(NAMESPACE, keys[start : start + chunk], vectors[start : start + chunk])
    cache.flush(NAMESPACE)  # as a transform does when it ends: index what it wrote
    rows["v2_write"] = n / (time.perf_counter() - t)
    del cache

    if n <= V1_LIMIT:
        v1 = workdir / f"v1-{n}"
        t = time.perf_counter()
        v1_write(v1, keys, vectors)
        rows["v1_write"] = n / (time.perf_counter() - t)

    runs = (("npy", ref), ("v2", v2), ("v2", v2), ("v1", workdir / f"v1-{n}"))
    for kind, root in runs:
        if kind == "v1" and n > V1_LIMIT:
            continue
        got = read_fresh(kind, root, keyfile)
        assert got["rows"] == n and abs(got["sum"] - expected) < 1e-3 * n, (kind, got)
        name = "v2_first" if kind == "v2" and "v2_first_read" not in rows else kind
        rows[f"{name}_read"] = n / got["seconds"]
        rows[f"{kind}_bytes"] = disk_bytes(root, shards_only=kind == "v2") / n
        if kind == "v2":
            rows["v2_index_bytes"] = (disk_bytes(root) - disk_bytes(root, True)) / n
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--chunk", type=int, default=32, help="rows per put_many (a batch: one record)"
    )
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; {DIM}-d float32, chunk {args.chunk} rows"
    )
    raw = DIM * 4
    header = (
        f"{'rows':>9} | {'write/s v2':>11} {'v1':>9} {'npy':>11} {'v2/v1':>7} | "
        f"{'hit/s v2 1st':>12} {'2nd':>10} {'v1':>8} {'npy':>11} {'1st/npy':>7} "
        f"{'2nd/npy':>7} {'1st/v1':>7} {'2nd/v1':>7} | "
        f"{'bytes/vec v2':>12} {'index':>5} {'v1':>6} {'v2/raw':>6}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = measure(n, args.chunk, Path(tmp))
            v1w, v1r = r.get("v1_write"), r.get("v1_read")
            first, second, npy = r["v2_first_read"], r["v2_read"], r["npy_read"]
            print(
                f"{n:>9,} | {r['v2_write']:>11,.0f} {_f(v1w):>9} {r['npy_write']:>11,.0f} "
                f"{_ratio(r['v2_write'], v1w):>7} | {first:>12,.0f} {second:>10,.0f} "
                f"{_f(v1r):>8} {npy:>11,.0f} {first / npy:>7.1%} {second / npy:>7.1%} "
                f"{_ratio(first, v1r):>7} {_ratio(second, v1r):>7} | {r['v2_bytes']:>12,.0f} "
                f"{r['v2_index_bytes']:>5.0f} {_f(r.get('v1_bytes')):>6} "
                f"{r['v2_bytes'] / raw:>6.3f}",
                flush=True,
            )


def _f(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _ratio(a, b) -> str:
    return "-" if b is None else f"{a / b:.0f}x"


if __name__ == "__main__":
    main()
