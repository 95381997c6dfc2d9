# cl_program.sh: sourced by the kernel checks; builds the program text the library compiles.
# pegr_cl_concat OUT FILE.cl...: common.cl first, then every other file in the order given (meson's
# cl_files), each behind a `#line 1 "NAME"` directive -- what src/device/program.c's assemble_source and
# src/device/kernel_source.c do, so a check sees the same translation unit (and the same line numbers) a
# driver does. One program holding every file is a superset of each program the library builds
# (each is common.cl + some of the files); a file that uses another's helpers must come after it
# in cl_files, as it must in the library's lists.
pegr_cl_concat() {
  local out="$1" f common=""
  shift
  for f in "$@"; do
    [ "$(basename "$f")" = common.cl ] && common="$f"
  done
  if [ -z "$common" ]; then
    echo "pegr_cl_concat: common.cl is not among the files given: $*" >&2
    return 1
  fi
  {
    printf '#line 1 "common.cl"\n'
    cat "$common"
    printf '\n'
    for f in "$@"; do
      [ "$f" = "$common" ] && continue
      printf '#line 1 "%s"\n' "$(basename "$f")"
      cat "$f"
      printf '\n'
    done
  } >"$out"
}

# The -D sets the library passes (src/device/program.c build_options): REAL and PEGR_FP64 per precision,
# PEGR_WG_SIZE a power of two (1 is the smallest a device can force, PEGR_WG_SIZE_MAX the largest),
# PEGR_IS_CPU per device type; the engine adds PEGR_REDUCE_WG (at most PEGR_WG_SIZE).
PEGR_CL_FP32="-D REAL=float -D PEGR_FP64=0"
PEGR_CL_FP64="-D REAL=double -D PEGR_FP64=1"

# pegr_cl_abi PROG: the constants host and kernels share (src/device/kernel_abi.h), as the -D
# options PROG (tests/kernel_abi_options.c, built from that header) prints, into PEGR_CL_ABI, and
# the largest work-group size among them into PEGR_CL_WG_MAX. Returns 1 (saying why) when PROG
# gives no such options.
pegr_cl_abi() {
  local prog="$1"
  if [ -z "$prog" ] || ! [ -x "$prog" ]; then
    echo "pegr_cl_abi: '$prog' is not the kernel_abi_options program (tests/kernel_abi_options.c)" >&2
    return 1
  fi
  PEGR_CL_ABI="$("$prog")" || { echo "pegr_cl_abi: $prog failed" >&2; return 1; }
  PEGR_CL_WG_MAX="$(printf '%s\n' "$PEGR_CL_ABI" | sed -n 's/.*-D PEGR_WG_SIZE_MAX=\([0-9][0-9]*\).*/\1/p')"
  if [ -z "$PEGR_CL_WG_MAX" ]; then
    echo "pegr_cl_abi: no PEGR_WG_SIZE_MAX in the options of $prog: $PEGR_CL_ABI" >&2
    return 1
  fi
}
