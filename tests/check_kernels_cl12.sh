#!/usr/bin/env bash
# check_kernels_cl12.sh: the program the library builds (common.cl + every kernel file, concatenated
# as src/device/program.c does) must compile as portable OpenCL C for the SPIR targets, which define no
# extension the program does not ask for: fp32 with every extension off (a double literal or type
# in an fp32 kernel is an error, as on Apple GPUs and Intel Arc), fp64 with cl_khr_fp64 only; with
# -Werror -Wall -Wdouble-promotion, for each PEGR_WG_SIZE/PEGR_IS_CPU the host can pass, with the
# constants of src/device/kernel_abi.h as the library passes them.
# Usage: check_kernels_cl12.sh [--self-test] [--std CL1.1|CL1.2] ABI_OPTIONS CLANG FILE.cl...
#   ABI_OPTIONS  the kernel_abi_options program (tests/kernel_abi_options.c): prints those -D options.
#   --std      the OpenCL C version (default CL1.2; pegr passes -cl-std=CL1.2 where the device has
#              it and nothing, i.e. the driver's 1.x default, elsewhere).
#   --self-test  plant a double literal in a copy of the last kernel file and require the check to
#              fail on it, naming that file and line: the check must be able to fail.
# Exit 77 (skip) without clang.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cl_program.sh
. "$here/cl_program.sh"

self_test=0
std=CL1.2
while [ $# -gt 0 ]; do
  case "$1" in
    --self-test) self_test=1; shift ;;
    --std) std="${2:-}"; shift 2 ;;
    *) break ;;
  esac
done
case "$std" in
  CL1.1|CL1.2) ;;
  *) echo "check_kernels_cl12.sh: --std must be CL1.1 or CL1.2, not '$std'" >&2; exit 2 ;;
esac
if [ $# -lt 3 ]; then
  echo "usage: check_kernels_cl12.sh [--self-test] [--std CL1.1|CL1.2] ABI_OPTIONS CLANG FILE.cl..." >&2
  exit 2
fi
pegr_cl_abi "$1" || exit 2
clang="$2"
shift 2
if [ -z "$clang" ] || ! [ -x "$clang" ]; then
  echo "clang not found: skipping the OpenCL C check (apt-get install clang)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# check_program FILE.cl...: compile the concatenated program in every configuration; prints each
# failure, returns 1 on any.
check_program() {
  local program="$work/program.cl" status=0 checked=0 target precision exts wg cpu
  pegr_cl_concat "$program" "$@" || return 1
  for target in spir spir64; do
    for precision in fp32 fp64; do
      if [ $precision = fp32 ]; then defs=$PEGR_CL_FP32; exts=-all; else defs=$PEGR_CL_FP64; exts=-all,+cl_khr_fp64; fi
      for wg in 1 "$PEGR_CL_WG_MAX"; do
        for cpu in 0 1; do
          # shellcheck disable=SC2086
          if ! "$clang" -target $target -x cl -cl-std="$std" -fsyntax-only -Werror -Wall \
              -Wdouble-promotion -Xclang -cl-ext="$exts" $defs -D PEGR_WG_SIZE=$wg \
              -D PEGR_IS_CPU=$cpu -D PEGR_REDUCE_WG=$wg $PEGR_CL_ABI "$program"; then
            echo "FAIL: $target $std $precision (cl-ext=$exts, PEGR_WG_SIZE=$wg, PEGR_IS_CPU=$cpu)"
            status=1
          fi
          checked=$((checked + 1))
        done
      done
    done
  done
  echo "checked the program of $# files in $checked configurations as OpenCL C ${std#CL}"
  return $status
}

if [ $self_test = 0 ]; then
  check_program "$@"
  exit $?
fi

# Self-test: the same files, the last kernel file (not common.cl) with a kernel that multiplies a
# float by a double literal appended.
copies=()
victim=""
for f in "$@"; do
  cp "$f" "$work/$(basename "$f")" || exit 1
  copies+=("$work/$(basename "$f")")
  [ "$(basename "$f")" != common.cl ] && victim="$work/$(basename "$f")"
done
[ -n "$victim" ] || { echo "self-test: no kernel file besides common.cl given" >&2; exit 1; }
line=$(($(wc -l <"$victim") + 1))
printf '__kernel void pegr_planted(__global float *x) { x[0] = x[0] * 0.5; }\n' >>"$victim"
out="$work/self-test.log"
if check_program "${copies[@]}" >"$out" 2>&1; then
  cat "$out"
  echo "self-test FAILED: a double literal in an fp32 kernel ($(basename "$victim"):$line) passed the check"
  exit 1
fi
if ! grep -q "$(basename "$victim"):$line:.*double" "$out"; then
  cat "$out"
  echo "self-test FAILED: the check failed, but not on the planted double literal at $(basename "$victim"):$line"
  exit 1
fi
grep "$(basename "$victim"):$line:" "$out" | head -1
echo "self-test passed: the planted double literal at $(basename "$victim"):$line fails the check"
