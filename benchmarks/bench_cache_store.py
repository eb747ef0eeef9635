"""The embedding cache's disk store against the physical reference and the old format.

For each size, random 384-d float32 vectors under random SHA-256 keys are

* written: the shard store (``EmbeddingCache.put_many`` once per batch of
  ``--chunk`` rows, as a transform stores its batches: one record each,
  appended to the handle's file), the old one-``.npy``-per-row store (a
  copy of its per-row code, below), and one ``np.save``;
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
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np

DIM = 384
V1_LIMIT = 100_000
NAMESPACE = "0" * 32


# ---------------------------------------------------------------- the old format
class V1Store:
    """The one-``.npy``-per-row store as sktransfer shipped it before the shard
    store (``sktransfer/_cache.py`` before commit e6ffc27): the same per-row steps —
    a memory layer behind a lock, a path per key, ``np.load`` / ``np.save``
    through a temporary file and ``os.replace`` — without the parts that do
    not touch rows (statistics, identity files, clearing)."""

    def __init__(self, directory: Path, max_memory_bytes: int = 1 << 30):
        self.directory = Path(directory)
        self.max_memory_bytes = max_memory_bytes
        self._memory: OrderedDict = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.RLock()

    def get_many(self, namespace, keys):
        found = {}
        for key in keys:
            vec = self._memory_get(namespace, key)
            if vec is None:
                vec = self._disk_get(namespace, key)
                if vec is not None:
                    self._memory_put(namespace, key, vec)
            if vec is not None:
                found[key] = vec
        return found

    def put_many(self, namespace, keys, vectors):
        vectors = np.asarray(vectors, dtype=np.float32)
        for key, vec in zip(keys, vectors, strict=True):
            vec = np.array(vec)  # own its memory, not a view of the batch
            self._memory_put(namespace, key, vec)
            self._disk_put(namespace, key, vec)

    def _memory_get(self, namespace, key):
        with self._lock:
            vec = self._memory.get((namespace, key))
            if vec is not None:
                self._memory.move_to_end((namespace, key))
            return vec

    def _memory_put(self, namespace, key, vec):
        with self._lock:
            if (namespace, key) in self._memory:
                return
            self._memory[(namespace, key)] = vec
            self._memory_bytes += vec.nbytes
            while self._memory_bytes > self.max_memory_bytes and self._memory:
                _, old = self._memory.popitem(last=False)
                self._memory_bytes -= old.nbytes

    def _path(self, namespace, key) -> Path:
        return self.directory / "v1" / namespace / key[:2] / f"{key}.npy"

    def _disk_get(self, namespace, key):
        try:
            return np.load(self._path(namespace, key), allow_pickle=False)
        except FileNotFoundError:
            return None
        except (ValueError, OSError, EOFError):
            return None

    def _disk_put(self, namespace, key, vec):
        path = self._path(namespace, key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.save(f, vec, allow_pickle=False)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()


def v1_write(root: Path, keys, vectors, chunk: int) -> None:
    """Batches stored as a transform stored them: one put_many per batch."""
    store = V1Store(root)
    for start in range(0, len(keys), chunk):
        store.put_many(NAMESPACE, keys[start : start + chunk], vectors[start : start + chunk])


def v1_read(root: Path, keys) -> np.ndarray:
    """What a transform did on a fresh handle: get_many, then one matrix."""
    found = V1Store(root).get_many(NAMESPACE, keys)
    return np.stack([found[k] for k in keys])


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
    out = v1_read(root, keys)
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
        writers["v1"] = lambda r, k, v: v1_write(r, k, v, chunk)
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


def lookup_costs(n: int, repeats: int) -> tuple[float, float]:
    """Seconds per key to find n keys, in random order, in an index of n rows:
    the store's bucket table, and one ``np.searchsorted`` on the same sorted
    prefixes (medians of ``repeats``; the table is built once, untimed, as
    a reader builds it once per index)."""
    from sktransfer._cache._index import Index, prefix_of

    rng = np.random.default_rng(n)
    raw = np.frombuffer(rng.bytes(32 * n), np.uint8).reshape(n, 32)
    index = Index()
    index.prefix = np.sort(prefix_of(raw))
    index.row_rec = index.row_idx = np.zeros(n, np.uint32)
    asked = prefix_of(raw[rng.permutation(n)])
    index.lookup(asked[:1])
    bucket, binary = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        found, _, _ = index.lookup(asked)
        bucket.append(time.perf_counter() - t)
        t = time.perf_counter()
        at = np.searchsorted(index.prefix, asked)
        binary.append(time.perf_counter() - t)
        assert found.all() and (index.prefix[at] == asked).all()
    return float(np.median(bucket)) / n, float(np.median(binary)) / n


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
    print(f"{'rows':>9} | {'lookup ns/key, buckets':>22} {'np.searchsorted':>15} {'ratio':>6}")
    for n in args.sizes:
        bucket, binary = lookup_costs(n, args.repeats)
        print(f"{n:>9,} | {bucket * 1e9:>22.0f} {binary * 1e9:>15.0f} {binary / bucket:>5.1f}x")
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
