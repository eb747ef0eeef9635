"""The embedding cache's disk store against the physical reference and the old format.

For each size, random 384-d float32 vectors under random SHA-256 keys are

* written: the shard store (``EmbeddingCache.put_many`` once per batch of
  ``--chunk`` rows, as a transform stores its batches: one record each,
  appended to the handle's file), the old one-``.npy``-per-row store (a
  minimal copy of its writer, below), and one ``np.save``;
* read back in a fresh process (nothing in Python's memory; the OS page cache
  is warm, as it is right after a run) into one (n, 384) matrix: the store's
  ``get_rows`` (what ``transform`` calls; it loads the index the writer saved
  at its end), the old store's per-row ``np.load``, and one ``np.load`` of the
  whole matrix.

Each size runs ``--repeats`` rounds (default 3) of writes, every store in
turn into a fresh directory (no ``fsync``: what a transform pays), then the
written data are synced to disk (untimed: otherwise the reads compete with the
kernel writing back a hundred thousand small files), then one untimed
warm-up read of each store (the first reads after that many files are written
run up to 3x slower, whatever the store), then ``--repeats`` rounds of reads,
one fresh process per store in turn, so that a slow moment of a shared machine
falls on all of them. Rates are medians over the rounds; in
brackets, the worst round's ratio (the two stores of a ratio measured in the
same round).

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
import shutil
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


def write_v2(root: Path, keys, vectors, chunk: int) -> None:
    from sktransfer import EmbeddingCache

    cache = EmbeddingCache(root)
    for start in range(0, len(keys), chunk):
        cache.put_many(NAMESPACE, keys[start : start + chunk], vectors[start : start + chunk])
    cache.flush(NAMESPACE)  # as a transform does when it ends: index what it wrote


def write_npy(root: Path, keys, vectors) -> None:
    root.mkdir()
    np.save(root / "vectors.npy", vectors)


def measure(n: int, chunk: int, repeats: int, workdir: Path) -> dict:
    """Median write and read rates over ``repeats`` rounds (see the module's
    docstring for the order)."""
    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    keys = rng.bytes(32 * n).hex()
    keys = [keys[64 * i : 64 * (i + 1)] for i in range(n)]
    keyfile = workdir / f"keys-{n}.npy"
    np.save(keyfile, np.array(keys))
    expected = float(vectors.sum(dtype=np.float64))
    writers = {"npy": write_npy, "v2": lambda r, k, v: write_v2(r, k, v, chunk)}
    if n <= V1_LIMIT:
        writers["v1"] = v1_write
    writes = {kind: [] for kind in writers}
    reads = {kind: [] for kind in writers}
    rows = {"n": n}
    for _ in range(repeats):
        for kind, write in writers.items():
            root = workdir / f"{kind}-{n}"
            if root.exists():
                shutil.rmtree(root)
            t = time.perf_counter()
            write(root, keys, vectors)
            writes[kind].append(n / (time.perf_counter() - t))
    os.sync()  # untimed: the reads below must not share the disk with writeback
    for round_ in range(1 + repeats):  # round 0: an untimed warm-up read of each store
        for kind in writers:
            got = read_fresh(kind, workdir / f"{kind}-{n}", keyfile)
            assert got["rows"] == n and abs(got["sum"] - expected) < 1e-3 * n, (kind, got)
            if round_:
                reads[kind].append(n / got["seconds"])
    for kind in writers:
        root = workdir / f"{kind}-{n}"
        rows[f"{kind}_bytes"] = disk_bytes(root, shards_only=kind == "v2") / n
    rows["v2_index_bytes"] = (
        disk_bytes(workdir / f"v2-{n}") - disk_bytes(workdir / f"v2-{n}", True)
    ) / n
    for kind in writers:
        rows[f"{kind}_write"] = float(np.median(writes[kind]))
        rows[f"{kind}_read"] = float(np.median(reads[kind]))
        rows[f"{kind}_read_all"] = reads[kind]
    for other in ("v1", "npy"):
        if other in writers:  # per round: the two reads ran side by side
            rows[f"v2/{other}_read_min"] = min(
                a / b for a, b in zip(reads["v2"], reads[other], strict=True)
            )
            rows[f"v2/{other}_write_min"] = min(
                a / b for a, b in zip(writes["v2"], writes[other], strict=True)
            )
    for kind in writers:
        shutil.rmtree(workdir / f"{kind}-{n}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--chunk", type=int, default=32, help="rows per put_many (a batch: one record)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds per size; rates are their medians"
    )
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; {DIM}-d float32, chunk {args.chunk} rows, "
        f"median of {args.repeats} rounds (worst round's ratio in brackets)"
    )
    raw = DIM * 4
    header = (
        f"{'rows':>9} | {'write/s v2':>10} {'v1':>7} {'npy':>9} {'v2/v1':>11} | "
        f"{'hit/s v2':>9} {'v1':>6} {'npy':>9} {'v2/npy':>13} {'v2/v1':>11} "
        f"{'us/row v2':>9} {'npy':>6} | {'bytes/vec v2':>12} {'index':>5} {'v1':>6} "
        f"{'v2/raw':>6}"
    )
    print(header)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = measure(n, args.chunk, args.repeats, Path(tmp))
            results.append(r)
            v1w, v1r = r.get("v1_write"), r.get("v1_read")
            v2r, npy = r["v2_read"], r["npy_read"]
            to_npy = f"{v2r / npy:.0%} [{r['v2/npy_read_min']:.0%}]"
            print(
                f"{n:>9,} | {r['v2_write']:>10,.0f} {_f(v1w):>7} {r['npy_write']:>9,.0f} "
                f"{_ratio(r['v2_write'], v1w, r.get('v2/v1_write_min')):>11} | "
                f"{v2r:>9,.0f} {_f(v1r):>6} {npy:>9,.0f} "
                f"{to_npy:>13} "
                f"{_ratio(v2r, v1r, r.get('v2/v1_read_min')):>11} "
                f"{1e6 / v2r:>9.2f} {1e6 / npy:>6.2f} | {r['v2_bytes']:>12,.0f} "
                f"{r['v2_index_bytes']:>5.0f} {_f(r.get('v1_bytes')):>6} "
                f"{r['v2_bytes'] / raw:>6.3f}",
                flush=True,
            )
    first = results[0]
    for r in results[1:]:
        print(
            f"# per-row hit cost at {r['n']:,} rows / at {first['n']:,}: "
            f"v2 {first['v2_read'] / r['v2_read']:.2f}x, "
            f"one np.load {first['npy_read'] / r['npy_read']:.2f}x"
        )
    print(f"# load {os.getloadavg()[0]:.1f} at the end")


def _f(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _ratio(a, b, worst=None) -> str:
    if b is None:
        return "-"
    return f"{a / b:.0f}x" + ("" if worst is None else f" [{worst:.0f}x]")


if __name__ == "__main__":
    main()
