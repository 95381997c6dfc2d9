#!/usr/bin/env bash
# gpu_lease.sh: everything pegr checks and measures on a lent NVIDIA GPU machine, as one prepared call (such
# machines are lent for minutes; their image has CUDA, PyTorch and JAX but no OpenCL loader, no cmocka, no bc,
# and nothing can be installed there).
#
#   bash tools/gpu_lease.sh pack            here: a release build of pegr and its test programs, with the shared
#                                           libraries the image lacks (ocl-icd's loader, CLBlast, cmocka), in
#                                           .devkit/ (ignored through .git/info/exclude; carry it with the call)
#   bash tools/gpu_lease.sh run [SECTION..] there: SECTIONs (default all, in this order)
#       probe    the GPU, NVIDIA's OpenCL library registered in a private OCL_ICD_VENDORS directory, pegr devices
#       check    pegr check --device gpu --precision both (the conformance battery), when the binary has it
#       tests    the device, train and cli suites with PEGR_TEST_DEVICE=gpu, and the PyTorch cross-check
#       tune     pegr tune on the GPU (its choice then serves the targets)
#       targets  tools/bench_targets.sh --quick with the JAX peer on the GPU and cuBLAS as the GEMM limit
#       gemms    pegr bench --profile with each GEMM choice (CLBlast, pegr's own, the simple kernels) and each
#                coefficient kernel: where a step's wall time goes (each kernel's device time against the wall)
# Logs and result files go to $OUT (the device tool brings them back), else to /tmp/gpu-lease.
# Shorter calls: NO_CROSSCHECK=1, TUNE_CANDIDATES=K (CLBlast parameter sets tried), GEMMS_VARIANTS="A=x B=y,C=z"
# (the gemms section's settings; a comma joins two variables of one setting), ROUNDS, SHAPES.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="$root/.devkit"

pack() {
  local b="$root/build-gpu"
  [ -d "$b" ] || meson setup "$b" "$root" --buildtype=release > /dev/null || exit 1
  ninja -C "$b" > /dev/null || exit 1
  rm -rf "$kit"; mkdir -p "$kit/lib" "$kit/tests"
  cp "$b/pegr" "$kit/"
  cp "$b"/tests/test_* "$kit/tests/" 2>/dev/null
  rm -f "$kit"/tests/*.p
  local lib
  for lib in libOpenCL.so.1 libclblast.so.1 libcmocka.so.0; do
    cp -L "$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')" "$kit/lib/$lib" || exit 1
  done
  grep -qx '/.devkit/' "$root/.git/info/exclude" 2>/dev/null || echo '/.devkit/' >> "$root/.git/info/exclude"
  du -sh "$kit"
}

OUT="${OUT:-/tmp/gpu-lease}"
mkdir -p "$OUT"
log="$OUT/lease.log"
say() { echo "== $(date +%T) $*" | tee -a "$log"; }
# run SECONDS CMD...: a command under a time limit, its output into the log
run_limited() { local s="$1"; shift; timeout -s KILL "$s" "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }

setup_env() {
  export LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PEGR_CACHE_DIR=/tmp/pegr-cache PEGR_DEVICE="${PEGR_DEVICE:-gpu}"
  export XLA_PYTHON_CLIENT_PREALLOCATE=false        # JAX takes memory as it needs it, beside pegr's OpenCL
  export JAX_DEFAULT_MATMUL_PRECISION=highest       # strict fp32 on the matrix units, as pegr computes
  export PYTHONUNBUFFERED=1
  local icd
  if [ -z "${OCL_ICD_VENDORS:-}" ]; then
    icd=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 \
            /usr/lib64/libnvidia-opencl.so.1 2>/dev/null | head -1)
    [ -n "$icd" ] || icd=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'libnvidia-opencl.so*' \
                             -print 2>/dev/null | head -1)
    mkdir -p /tmp/pegr-vendors
    if [ -n "$icd" ]; then echo "$icd" > /tmp/pegr-vendors/nvidia.icd; fi
    export OCL_ICD_VENDORS=/tmp/pegr-vendors
  fi
}

probe() {
  say "probe"
  { nvidia-smi -L; nvidia-smi --query-gpu=driver_version,clocks.sm,clocks.mem,memory.total --format=csv
    ls /etc/OpenCL/vendors 2>&1; cat /tmp/pegr-vendors/*.icd 2>&1
    python3 -c 'import jax, torch; print("jax", jax.__version__, jax.devices(), "torch", torch.__version__)'
  } 2>&1 | tee -a "$log"
  run_limited 60 "$kit/pegr" devices
  run_limited 60 "$kit/pegr" --verbose selftest
}

check() {
  say "pegr check"
  if "$kit/pegr" check --help > /dev/null 2>&1; then
    run_limited 240 "$kit/pegr" check --device all --precision both --json "$OUT/check.json"
    echo "pegr check exit $?" | tee -a "$log"
  else
    echo "this pegr has no check command" | tee -a "$log"
  fi
}

tests() {
  say "device, train and cli suites on the GPU (4 at a time)"
  export PEGR_TEST_DEVICE="${PEGR_TEST_DEVICE:-$PEGR_DEVICE}" PEGR_TEST_DATA_DIR="$root/tests/data" PEGR_SOURCE_DIR="$root" \
         PEGR_EXE="$kit/pegr" CMOCKA_MESSAGE_OUTPUT=stdout
  mkdir -p /tmp/pegr-tests
  local t
  for t in device device_pick cache_safety engine batch robust gemm wg coef check train train_safety cli; do
    [ -x "$kit/tests/test_$t" ] && echo "$t"
  done | xargs -P 4 -I{} sh -c 'timeout -s KILL 240 "$0/tests/test_{}" > /tmp/pegr-tests/{}.log 2>&1;
                                echo "test_{} exit $?" >> /tmp/pegr-tests/{}.log' "$kit"
  for t in /tmp/pegr-tests/*.log; do
    cat "$t" >> "$OUT/tests.log"
    echo "$(basename "$t" .log): $(grep -c '^\[       OK \]' "$t") ok, $(grep -c '^\[  FAILED  \]' "$t") failed," \
      "$(grep -c '^\[  SKIPPED \]' "$t") skipped; $(tail -1 "$t")" | tee -a "$log"
  done
  [ "${NO_CROSSCHECK:-0}" = 1 ] && return
  say "cross-check of pegr grad on the GPU against PyTorch autograd (fp64 and fp32)"
  run_limited 120 python3 "$root/tools/crosscheck_torch.py" --pegr "$kit/pegr" --devices "$PEGR_DEVICE" --precision fp64
  run_limited 120 python3 "$root/tools/crosscheck_torch.py" --pegr "$kit/pegr" --devices "$PEGR_DEVICE" --precision fp32 \
    --seed 2
}

tune() {
  say "pegr tune (then stored for the targets)"
  run_limited 150 "$kit/pegr" tune --candidates "${TUNE_CANDIDATES:-8}"
}

targets() {
  say "targets (bench_targets.sh --quick, JAX on the GPU, cuBLAS limit)"
  PEGR="$kit/pegr" PYTHON=python3 GEMM_BACKEND=torch-cuda ROUNDS="${ROUNDS:-1}" \
    SHAPES="${SHAPES:-200:2000:20,50:1000:20,1000:2000:20}" KEEP=/tmp/targets \
    run_limited 420 bash "$root/tools/bench_targets.sh" --quick
  cp /tmp/targets/targets.tsv /tmp/targets/pegr.1.json /tmp/targets/jax.1.json /tmp/targets/profile.1.txt \
    "$OUT/" 2>/dev/null
}

gemms() {
  say "step wall vs device time per GEMM and coefficient-kernel choice (pegr bench --profile)"
  local v
  for v in ${GEMMS_VARIANTS:-PEGR_GEMM=clblast PEGR_GEMM=own PEGR_GEMM=simple PEGR_COEF_KERNEL=item \
           PEGR_COEF_KERNEL=item,PEGR_COEF_PRODUCT=1}; do
    v=${v//,/ }
    echo "-- $v" | tee -a "$log"
    # shellcheck disable=SC2086  # $v is one or two NAME=VALUE words for env
    run_limited 60 env $v "$kit/pegr" bench --grid "${SHAPES:-200:2000:20,50:1000:20,1000:2000:20}" \
      --methods pegr --representation both --repeats 3 --steps 50 --no-first-step --profile
  done
}

case "${1:-}" in
  pack) pack ;;
  run)
    shift
    setup_env
    sections=("$@"); [ ${#sections[@]} -gt 0 ] || sections=(probe check tests tune targets gemms)
    for s in "${sections[@]}"; do
      case "$s" in
        probe|check|tests|tune|targets|gemms) "$s" ;;
        *) echo "gpu_lease.sh: no section '$s' (probe check tests tune targets gemms)" >&2; exit 2 ;;
      esac
    done
    say "done" ;;
  *) echo "usage: bash tools/gpu_lease.sh pack | run [probe|check|tests|tune|targets|gemms ...]" >&2; exit 2 ;;
esac
