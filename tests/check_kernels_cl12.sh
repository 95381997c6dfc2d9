#!/usr/bin/env bash
# check_kernels_cl12.sh: every file in cl/ must compile as OpenCL C 1.2 with clang, with the -D sets
# the library uses for float and for double, so features that Apple's or NVIDIA's compilers reject
# are caught on any machine. Usage: check_kernels_cl12.sh CLANG CL_DIR. Exit 77 (skip) without clang.
set -u
clang="${1:-}"
cl_dir="${2:?usage: check_kernels_cl12.sh CLANG CL_DIR}"
if [ -z "$clang" ] || ! [ -x "$clang" ]; then
  echo "clang not found: skipping the OpenCL C 1.2 check (apt-get install clang)"
  exit 77
fi
status=0
checked=0
for precision in "-D REAL=float -D PEGR_FP64=0" "-D REAL=double -D PEGR_FP64=1"; do
  for wg in 1 256; do
    for file in "$cl_dir"/*.cl; do
      name=$(basename "$file")
      [ "$name" = common.cl ] && continue
      # shellcheck disable=SC2086
      if ! "$clang" -x cl -cl-std=CL1.2 -fsyntax-only -Werror -Wall $precision \
          -D PEGR_WG_SIZE=$wg -D PEGR_IS_CPU=0 -include "$cl_dir/common.cl" "$file"; then
        echo "FAIL: $name ($precision, PEGR_WG_SIZE=$wg)"
        status=1
      fi
      checked=$((checked + 1))
    done
  done
done
echo "checked $checked kernel-file builds as OpenCL C 1.2"
[ "$checked" -gt 0 ] || { echo "no .cl files found in $cl_dir"; exit 1; }
exit $status
