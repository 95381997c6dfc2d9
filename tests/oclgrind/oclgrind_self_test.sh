#!/usr/bin/env bash
# oclgrind_self_test.sh: tools/oclgrind-wrap.sh fails a test on each kind of Oclgrind report it must
# catch (an out-of-bounds write and a data race in a kernel, seen from a grandchild process; an
# undeclared API error; a declaration that names another error; two errors for one declaration;
# a failure hidden behind a skip) and passes a declared one. Skips (77) without oclgrind-kernel.
#   oclgrind_self_test.sh SOURCE_ROOT
set -uo pipefail
root="${1:?usage: oclgrind_self_test.sh SOURCE_ROOT}"
wrap="$root/tools/oclgrind-wrap.sh"
command -v oclgrind-kernel >/dev/null 2>&1 || { echo "no oclgrind-kernel: skipped"; exit 77; }
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1
PEGR_OCLGRIND_LOGDIR="$(mktemp -d)" || exit 1
export PEGR_OCLGRIND_LOGDIR
trap 'rm -rf "$PEGR_OCLGRIND_LOGDIR"' EXIT
cd "$root/tests/oclgrind" || exit 1

block() { printf '\nOclgrind - OpenCL runtime error detected\n\tFunction: %s\n\tError:    %s\n\n' "$1" "$2"; }
declare_() { printf 'pegr-test: expect Oclgrind API error %s %s\n' "$1" "$2"; }
export -f block declare_

failures=0
expect() {
  local want="$1" what="$2"; shift 2
  "$wrap" "$@" >"$PEGR_OCLGRIND_LOGDIR/last.out" 2>&1
  local rc=$?
  if { [ "$want" = fail ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } ||
     { [ "$want" = pass ] && [ "$rc" -eq 0 ]; }; then
    echo "ok: $what -> exit $rc"
  else
    echo "WRONG: $what should $want, exit $rc; its output:"
    cat "$PEGR_OCLGRIND_LOGDIR/last.out"
    failures=$((failures + 1))
  fi
}

expect fail "out-of-bounds write in a kernel" bash -c 'oclgrind-kernel oob.sim'
expect fail "write-write data race in a kernel" bash -c 'oclgrind-kernel race.sim'
expect fail "kernel error under a skip (exit 77)" bash -c 'oclgrind-kernel race.sim; exit 77'
expect fail "undeclared API error" bash -c 'block clBuildProgram CL_BUILD_PROGRAM_FAILURE >&2'
expect pass "declared API error" \
  bash -c 'declare_ clBuildProgram CL_BUILD_PROGRAM_FAILURE >&2; block clBuildProgram CL_BUILD_PROGRAM_FAILURE >&2'
expect fail "declaration naming another error" \
  bash -c 'declare_ clBuildProgram CL_BUILD_PROGRAM_FAILURE >&2; block clEnqueueNDRangeKernel CL_INVALID_WORK_GROUP_SIZE >&2'
expect fail "two errors for one declaration" \
  bash -c 'declare_ clCreateKernel CL_INVALID_KERNEL_NAME >&2; block clCreateKernel CL_INVALID_KERNEL_NAME >&2; block clCreateKernel CL_INVALID_KERNEL_NAME >&2'
expect fail "the test's own failure still fails" bash -c 'exit 3'
expect pass "a clean test" bash -c 'echo fine'
[ "$failures" -eq 0 ] || { echo "$failures wrong verdict(s)"; exit 1; }
