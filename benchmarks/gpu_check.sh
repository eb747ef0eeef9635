#!/usr/bin/env bash
# The GPU check: the `gpu` tests and the throughput benchmark on CUDA, in one call.
#
# Made for a rented GPU machine that has no package index and no network: its own
# python3 has torch (CUDA), torchvision, timm, sentence-transformers and
# scikit-learn, but not skorch, pytest or the weight packages. So:
#   * the backbones are the shipped ones' architectures with random weights
#     (tests/random_models.py; MiniLM's config and tokenizer are in tests/assets);
#   * small pure-Python wheels carried in .whl/ (ignored by git) are installed
#     into a temporary folder, each only when the interpreter cannot import it;
#   * sktransfer is imported from this checkout (PYTHONPATH), not installed.
#
# Fill .whl/ once, on a machine with an index (about 2 MB):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl skorch tabulate pytest pluggy iniconfig pygments packaging
# (skorch needs tabulate besides what the machine has, see `unzip -p
# .whl/skorch-*.whl '*/METADATA' | grep Requires-Dist`; pytest needs pluggy,
# iniconfig, pygments and packaging.)
#
# Run:   bash benchmarks/gpu_check.sh
#   PYTHON    interpreter to use (default python3)
#   OUT       where results go (default ./gpu_check_out): gpu_check.json (the summary),
#             gpu_tests.xml and gpu_tests.log (pytest), bench_throughput.json and .log
#   GPU_CHECK_TEST_LIMIT / GPU_CHECK_BENCH_LIMIT   seconds for each part (240 / 240)
# Without CUDA the tests skip with the reason "CUDA not available" and the benchmark
# runs a tiny CPU smoke configuration; the summary lists what could not run.
# Exit status: 0 when nothing failed; 1 when a test failed, pytest could not run, or
# (on a CUDA machine) a gpu test skipped; 2 when only the benchmark failed.

set -u
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
OUTDIR=${OUT:-$REPO/gpu_check_out}
TEST_LIMIT=${GPU_CHECK_TEST_LIMIT:-240}
BENCH_LIMIT=${GPU_CHECK_BENCH_LIMIT:-240}
mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/{gpu_check.json,environment.json,gpu_tests.xml,gpu_tests.log}
rm -f "$OUTDIR"/bench_throughput.{json,log}
[ -n "${OUT:-}" ] || printf '*\n' >"$OUTDIR/.gitignore"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONDONTWRITEBYTECODE=1

echo "== interpreter: $PY ($("$PY" --version 2>&1))"

# ---------------------------------------------------------------- carried wheels
SITE=$WORK/site
INSTALLED=()
mkdir -p "$SITE"
for wheel in .whl/*.whl; do
    [ -e "$wheel" ] || break
    module=$(basename "$wheel" | cut -d- -f1 | tr 'A-Z' 'a-z')
    if "$PY" -c "import $module" 2>/dev/null; then
        continue
    fi
    if "$PY" -m pip install -q --no-index --no-deps --target "$SITE" "$wheel" 2>/dev/null ||
        "$PY" -m zipfile -e "$wheel" "$SITE"; then # pure-Python wheels are plain zips
        INSTALLED+=("$(basename "$wheel")")
    fi
done
echo "== wheels installed from .whl/: ${INSTALLED[*]:-none}"
export PYTHONPATH="$SITE:$REPO:$REPO/tests${PYTHONPATH:+:$PYTHONPATH}"

# ---------------------------------------------------------------- environment
"$PY" - "$OUTDIR/environment.json" <<'EOF'
import importlib, json, platform, subprocess, sys

env = {"python": platform.python_version(), "executable": sys.executable}
for name in ("torch", "torchvision", "timm", "sentence_transformers", "transformers",
             "sklearn", "skorch", "numpy", "pytest", "sktransfer"):
    try:
        env[name] = getattr(importlib.import_module(name), "__version__", "?")
    except Exception as exc:
        env[name] = f"not importable: {type(exc).__name__}: {exc}"
try:
    import torch

    env["cuda_available"] = torch.cuda.is_available()
    env["torch_cuda"] = torch.version.cuda
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = props.name
        env["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        env["capability"] = f"{props.major}.{props.minor}"
        env["cudnn"] = torch.backends.cudnn.version()
        env["bf16_supported"] = torch.cuda.is_bf16_supported()
except Exception as exc:
    env["cuda_available"] = False
    env["torch_error"] = repr(exc)
try:
    env["nvidia_smi"] = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
        capture_output=True, text=True, timeout=20,
    ).stdout.strip()
except Exception:
    env["nvidia_smi"] = None
json.dump(env, open(sys.argv[1], "w"), indent=1)
for key, value in env.items():
    print(f"   {key}: {value}")
EOF
CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)

# ---------------------------------------------------------------- gpu tests
echo "== gpu tests (limit ${TEST_LIMIT}s)"
timeout "$TEST_LIMIT" "$PY" -m pytest tests/test_gpu.py -m gpu -v -rA -p no:cacheprovider \
    --junitxml="$OUTDIR/gpu_tests.xml" 2>&1 | tee "$OUTDIR/gpu_tests.log"
TEST_RC=${PIPESTATUS[0]}

# ---------------------------------------------------------------- benchmark
MODEL_DIR=$WORK/minilm
BENCH_RC=-1
if "$PY" tests/random_models.py "$MODEL_DIR" >/dev/null 2>"$WORK/model.err"; then
    COMMON=(--synthetic --text-model "$MODEL_DIR" --image-model tf_efficientnet_lite0
        --image-weights none --json "$OUTDIR/bench_throughput.json")
    if [ "$CUDA" = 1 ]; then
        BENCH=(--device cuda --sections text,image,batch,precision --reps 3
            --batch-size 128 --n-texts 4000 --n-images 1000 --workers 4,8
            --n-side-texts 2000 --n-side-images 500 --batch-sizes 32,128,512)
    else # a smoke run: checks the wiring, its figures mean nothing
        BENCH=(--device cpu --sections text,image --reps 1 --batch-size 8
            --n-texts 16 --n-images 8 --workers "")
    fi
    echo "== benchmark: bench_throughput.py ${BENCH[*]} (limit ${BENCH_LIMIT}s)"
    timeout "$BENCH_LIMIT" "$PY" benchmarks/bench_throughput.py "${COMMON[@]}" "${BENCH[@]}" \
        2>&1 | grep -v -e "Loading weights" -e "Writing model" | tee "$OUTDIR/bench_throughput.log"
    BENCH_RC=${PIPESTATUS[0]}
else
    echo "== benchmark not run: the random text model could not be written:"
    cat "$WORK/model.err" | tail -5 | tee "$OUTDIR/bench_throughput.log"
fi

# ---------------------------------------------------------------- summary
"$PY" - "$OUTDIR" "$TEST_RC" "$BENCH_RC" "$CUDA" "$(($(date +%s) - START))" \
    "${INSTALLED[*]:-}" <<'EOF'
import json, os, re, sys
import xml.etree.ElementTree as ET

out, test_rc, bench_rc, cuda, wall, wheels = sys.argv[1:7]
test_rc, bench_rc, cuda = int(test_rc), int(bench_rc), cuda == "1"
summary = {
    "wall_s": int(wall),
    "environment": json.load(open(os.path.join(out, "environment.json"))),
    "wheels_installed": wheels.split(),
    "tests": {"exit_code": test_rc, "cases": []},
    "benchmark": {"exit_code": bench_rc, "device": "cuda" if cuda else "cpu (smoke run)"},
    "not_run": [],
}
cases = summary["tests"]["cases"]
xml = os.path.join(out, "gpu_tests.xml")
if os.path.exists(xml) and test_rc not in (124, 137):
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome, detail = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error"}.get(kind, "skipped")
                detail = node.get("message") or ""
                if kind != "skipped" and node.text:  # the end of the traceback
                    detail += "\n" + node.text[-1500:]
                break
        cases.append({"test": case.get("name"), "outcome": outcome,
                      "detail": detail, "time_s": float(case.get("time", 0))})
else:  # stopped by the time limit: read what the verbose log got to
    log = open(os.path.join(out, "gpu_tests.log")).read()
    for name, outcome in re.findall(r"::(\S+) (PASSED|FAILED|SKIPPED|ERROR)", log):
        cases.append({"test": name, "outcome": outcome.lower()})
    if test_rc in (124, 137):
        summary["not_run"].append("gpu tests stopped at the time limit; later tests did not run")
counts = {}
for case in cases:
    counts[case["outcome"]] = counts.get(case["outcome"], 0) + 1
summary["tests"]["counts"] = counts
for case in cases:
    if case["outcome"] == "skipped":
        summary["not_run"].append(f"test {case['test']}: {case.get('detail', '')}")
bench = os.path.join(out, "bench_throughput.json")
if os.path.exists(bench):
    data = json.load(open(bench))
    summary["benchmark"]["results"] = data["results"]
    summary["benchmark"]["machine"] = data["machine"]
    if not cuda:
        summary["not_run"].append("CUDA benchmark (CUDA not available; a CPU smoke run instead)")
else:
    summary["not_run"].append("benchmark: no figures (see bench_throughput.log)")
if bench_rc in (124, 137):
    summary["not_run"].append("benchmark stopped at the time limit (finished sections are kept)")
failed = counts.get("failed", 0) + counts.get("error", 0)
# On a CUDA machine every gpu test must run: a skip there hides a missing package.
skipped_on_gpu = cuda and (counts.get("skipped", 0) > 0 or not cases)
summary["tests"]["ok"] = failed == 0 and test_rc in (0, 5) and not skipped_on_gpu
summary["ok"] = summary["tests"]["ok"] and bench_rc == 0
json.dump(summary, open(os.path.join(out, "gpu_check.json"), "w"), indent=1)

env = summary["environment"]
print("\n== summary")
print(f"   GPU: {env.get('gpu', 'none')}; torch {env.get('torch')} (CUDA {env.get('torch_cuda')})")
print(f"   tests: {counts or 'none ran'} (pytest exit {test_rc})")
for case in cases:
    if case["outcome"] in ("failed", "error"):
        print(f"   FAILED {case['test']}: {case.get('detail', '').partition(chr(10))[0][:200]}")
bench_lines = [r for r in summary["benchmark"].get("results", []) if "per_s" in r]
print(f"   benchmark ({summary['benchmark']['device']}, exit {bench_rc}):")
for r in bench_lines:
    print(f"     {r['section']:16s} {r['contender']:44s} {r['per_s']:10.1f} {r['unit']}/s"
          f"  ratio {r['ratio']:.3f}")
if summary["not_run"]:
    print("   could not run here:")
    for line in summary["not_run"]:
        print(f"     - {line}")
if skipped_on_gpu:
    print("   CUDA is available but gpu tests skipped or none ran: the check did not pass")
print(f"   wall time {wall} s; summary in {os.path.join(out, 'gpu_check.json')}")
sys.exit(0 if summary["tests"]["ok"] else 1)
EOF
TESTS_OK=$?

[ "$TESTS_OK" -eq 0 ] || exit 1
[ "$BENCH_RC" -eq 0 ] || exit 2
exit 0
