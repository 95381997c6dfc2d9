#!/usr/bin/env bash
# check_kernels_amdgcn.sh: the program the library builds (common.cl + every kernel file, as
# src/device/program.c concatenates them) must compile at -O0 (what -cl-opt-disable asks of a driver) for
# an AMD GPU and link into a code object, in fp32 and fp64. This is the path of ROCm's and Mesa's
# compilers; a helper that clang emits no body for (a bare `inline`) fails here with
# "undefined hidden symbol", as it fails on those drivers, while PoCL's optimized build hides it.
# OpenCL builtins come from libclc's amdgcn bitcode, so every symbol must resolve.
# Usage: check_kernels_amdgcn.sh ABI_OPTIONS CLANG LD_LLD FILE.cl...  (CLANG must read libclc's
# bitcode: the same LLVM major version, e.g. clang-15 with libclc-15). Exit 77 (skip) without them.
# ABI_OPTIONS: the kernel_abi_options program (tests/kernel_abi_options.c), which prints the -D
# options of src/device/kernel_abi.h the library passes.
# Environment: PEGR_LIBCLC_AMDGCN, the bitcode file (default: searched in the usual directories).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cl_program.sh
. "$here/cl_program.sh"

if [ $# -lt 4 ]; then
  echo "usage: check_kernels_amdgcn.sh ABI_OPTIONS CLANG LD_LLD FILE.cl..." >&2
  exit 2
fi
pegr_cl_abi "$1" || exit 2
clang="$2" lld="$3"
shift 3
if [ -z "$clang" ] || ! [ -x "$clang" ] || [ -z "$lld" ] || ! [ -x "$lld" ]; then
  echo "clang or ld.lld not found: skipping the amdgcn -O0 link check (apt-get install clang-15 lld)"
  exit 77
fi
libclc="${PEGR_LIBCLC_AMDGCN:-}"
if [ -z "$libclc" ]; then
  for candidate in /usr/lib/clc/amdgcn--amdhsa.bc /usr/share/clc/amdgcn--amdhsa.bc \
                   /usr/lib/llvm-*/lib/clc/amdgcn--amdhsa.bc; do
    [ -f "$candidate" ] && { libclc="$candidate"; break; }
  done
fi
if [ -z "$libclc" ] || ! [ -f "$libclc" ]; then
  echo "libclc's amdgcn--amdhsa.bc not found: skipping the amdgcn -O0 link check (apt-get install libclc-15)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A clang of another LLVM version cannot read libclc's bitcode: that is the machine, not pegr.
amdgcn=(-target amdgcn-unknown-amdhsa -mcpu=gfx900 -nogpulib -x cl -cl-std=CL1.2 -O0
        -Xclang -mlink-bitcode-file -Xclang "$libclc")
printf '__kernel void probe(__global float *x) { x[get_global_id(0)] = 1.0f; }\n' >"$work/probe.cl"
if ! "$clang" "${amdgcn[@]}" -c "$work/probe.cl" -o "$work/probe.o" 2>"$work/probe.log"; then
  head -3 "$work/probe.log"
  echo "$clang cannot build against $libclc (it needs the same LLVM version, e.g. clang-15 with"
  echo "libclc-15): skipping the amdgcn -O0 link check"
  exit 77
fi
pegr_cl_concat "$work/program.cl" "$@" || exit 1

status=0
for precision in fp32 fp64; do
  if [ $precision = fp32 ]; then defs=$PEGR_CL_FP32; else defs=$PEGR_CL_FP64; fi
  # The triple is libclc's (amdgcn-unknown-amdhsa, i.e. amdgcn-amd-amdhsa's HSA ABI); gfx900 is
  # Vega, a GPU with fp64. -nogpulib: no ROCm device library, libclc provides the builtins.
  # shellcheck disable=SC2086
  if ! "$clang" "${amdgcn[@]}" $defs -D PEGR_WG_SIZE="$PEGR_CL_WG_MAX" -D PEGR_IS_CPU=0 \
      -D PEGR_REDUCE_WG="$PEGR_CL_WG_MAX" $PEGR_CL_ABI -c "$work/program.cl" \
      -o "$work/program-$precision.o"; then
    echo "FAIL: amdgcn -O0 compile ($precision)"
    status=1
    continue
  fi
  if ! "$lld" -shared "$work/program-$precision.o" -o "$work/program-$precision.so"; then
    echo "FAIL: amdgcn -O0 link ($precision): a function without a body (a bare 'inline'?)"
    status=1
    continue
  fi
  echo "ok: the program of $# files compiles and links at -O0 for amdgcn ($precision)"
done
exit $status
