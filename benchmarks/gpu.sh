#!/usr/bin/env bash
# The GPU check of every issue as one script, for a session lent a GPU machine.
#
#   bash benchmarks/gpu.sh prepare      # here, with PyPI: the peers' wheels for the GPU
#                                       # machine's Python 3.12, into .gpu_wheels/ (ignored)
#   bash benchmarks/gpu.sh run [STEP…]  # there, through the device tool, with
#                                       # carry=[".gpu_wheels"]; no STEP: all, in this order
#
# The GPU machine has torch, numpy, scipy, xarray, pandas, pytest and hypothesis but not
# the peers the benchmarks compare with (scikit-learn, xrft and theirs) and no network:
# `run` unpacks the carried wheels into /tmp/peers (no pip needed) and puts that after
# the checkout on PYTHONPATH (only those the machine lacks). Each step has its own time limit, and a step that would
# end past GPU_BUDGET_S (default 540 s) after the start is skipped and named, so one call
# fits the device tool's 600 s; run the skipped ones in a second call. Logs, the
# benchmarks' JSON and summary.txt go to $OUT (the device tool brings them back).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WHEELS=.gpu_wheels
# not on the GPU machine: the peers, and what they import that it lacks
PEERS="scikit-learn joblib threadpoolctl narwhals xrft dask cloudpickle fsspec partd locket toolz pyyaml click numpy-groupies"
STEPS="tests regularization_path graph fourier kernel_path hessian training lipschitz"

step_limit() {  # seconds each step may take
  case $1 in
    tests) echo 120 ;; regularization_path) echo 90 ;; graph) echo 120 ;; fourier) echo 120 ;;
    kernel_path) echo 120 ;; *) echo 60 ;;
  esac
}

step_command() {
  case $1 in
    tests) echo "python -m pytest -m gpu -q -p no:cacheprovider $(grep -l 'mark.gpu' tests/*.py | tr '\n' ' ')" ;;
    regularization_path) echo "python benchmarks/regularization_path.py --device cuda --cases gpu_path" ;;
    graph) echo "python benchmarks/graph.py --device cuda --sizes 3000 20000" ;;
    fourier) echo "python benchmarks/fourier.py --device cuda" ;;
    kernel_path) echo "python benchmarks/kernel_path.py --device cuda --sizes 3000 10000" ;;
    hessian) echo "python benchmarks/hessian.py --device cuda" ;;
    training) echo "python benchmarks/training.py --device cuda --quick" ;;
    lipschitz) echo "python benchmarks/lipschitz.py --device cuda" ;;
    *) return 1 ;;
  esac
}

prepare() {
  rm -rf "$WHEELS"
  # shellcheck disable=SC2086
  pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 \
    --abi none --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$WHEELS" $PEERS || return 1
  du -sh "$WHEELS"
}

run() {
  local out=${OUT:-/tmp/gpu_out} budget=${GPU_BUDGET_S:-540} start
  start=$(date +%s)
  mkdir -p "$out"
  local peers=/tmp/peers
  mkdir -p "$peers"
  # a peer the machine already has stays (PYTHONPATH would shadow it): unpack only the rest
  python - "$WHEELS" "$peers" >>"$out/summary.txt" 2>&1 <<'PY'
import importlib.metadata as md, pathlib, sys, zipfile
wheels = sorted(pathlib.Path(sys.argv[1]).glob("*.whl"))
if not wheels:
    print(f"no wheels in {sys.argv[1]}: run 'bash benchmarks/gpu.sh prepare' here and carry it")
for whl in wheels:
    dist = whl.name.split("-")[0]
    try:
        print(f"peer {dist} {md.version(dist)} present")
    except md.PackageNotFoundError:
        zipfile.ZipFile(whl).extractall(sys.argv[2])
        print(f"peer {whl.name} unpacked")
PY
  export PYTHONPATH="$PWD:$peers"
  {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
    python -c "import torch, numpy, scipy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0), '| numpy', numpy.__version__, '| scipy', scipy.__version__)" 2>&1
    python -c "import sklearn, xrft; print('peers: scikit-learn', sklearn.__version__, '| xrft', xrft.__version__)" 2>&1
  } | tee "$out/device.txt"
  local name limit cmd rc t0 elapsed
  for name in ${*:-$STEPS}; do
    cmd=$(step_command "$name") || { echo "unknown step $name (steps: $STEPS)" | tee -a "$out/summary.txt"; continue; }
    limit=$(step_limit "$name")
    elapsed=$(( $(date +%s) - start ))
    if (( elapsed + limit > budget )); then
      echo "$name skipped: ${elapsed}s used, its ${limit}s would pass the ${budget}s budget" | tee -a "$out/summary.txt"
      continue
    fi
    t0=$(date +%s)
    # shellcheck disable=SC2086
    timeout "$limit" $cmd >"$out/$name.log" 2>&1
    rc=$?
    echo "$name rc=$rc $(( $(date +%s) - t0 ))s (limit ${limit}s)" | tee -a "$out/summary.txt"
    tail -n 25 "$out/$name.log"
    cp benchmarks/results/*cuda*.json "$out"/ 2>/dev/null
  done
  return 0
}

case ${1:-} in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash benchmarks/gpu.sh prepare | run [STEP…]  (steps: $STEPS)" >&2; exit 2 ;;
esac
