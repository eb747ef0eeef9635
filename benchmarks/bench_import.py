"""What ``import sktransfer`` and ``sktransfer --help`` cost, next to importing
``sklearn.pipeline`` (the least a scikit-learn add-on can cost).

Each command runs in a fresh interpreter, several times, interleaved so that a
change in machine load hits all three alike; the medians and their ratios to
``sklearn.pipeline`` are printed. Targets: both ratios at most 1.5. Run::

    python benchmarks/bench_import.py            # 15 runs of each
    python benchmarks/bench_import.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "import sklearn.pipeline": [sys.executable, "-c", "import sklearn.pipeline"],
    "import sktransfer": [sys.executable, "-c", "import sktransfer"],
    "sktransfer --help": [sys.executable, "-m", "sktransfer", "--help"],
}
TARGET = 1.5


def wall(cmd, env) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    for cmd in COMMANDS.values():  # warm the file system cache once
        wall(cmd, env)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            times[name].append(wall(cmd, env))
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["import sklearn.pipeline"]
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}, {args.repeat} runs each (median)"
    )
    print(f"{'command':<26}{'median s':>10}{'ratio':>8}")
    for name, median in medians.items():
        print(f"{name:<26}{median:>10.3f}{median / base:>7.2f}x")
    ok = all(medians[n] / base <= TARGET for n in ("import sktransfer", "sktransfer --help"))
    print(f"target: at most {TARGET}x sklearn.pipeline: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
