#!/usr/bin/env bash
# oclgrind-wrap.sh: `meson test --wrapper` for the Oclgrind runs of tools/test-matrix.sh: runs one
# test and fails it when Oclgrind reported anything the test did not declare.
#   meson test --wrapper "$PWD/tools/oclgrind-wrap.sh" ...   (with opencl-impls.sh's oclgrind env)
# Two channels, because Oclgrind 21.10 reports on two:
#  - kernel errors (invalid accesses, data races, uninitialized values, barrier divergence) go to
#    its logger, which OCLGRIND_LOG redirects. Every process of the test (the pegr commands test_cli
#    starts too) opens /proc/self/fd/9, one pipe into this test's log. Any line there fails the
#    test: these are never exempt.
#  - API errors (--check-api: a CL call returning an error) are written straight to the process's
#    stderr as a block "Oclgrind - OpenCL runtime error detected / Function: F / Error: E".
#    A test that provokes one on purpose (a kernel that does not build, a missing kernel name) says
#    so on stderr first with exactly one line
#        pegr-test: expect Oclgrind API error F E
#    (tests/test_device_pick.c: test_expect_api_error; cli_support.c echoes the pegr commands'
#    output to stderr under Oclgrind so their blocks are seen here, after the declaration). Each
#    declaration excuses the NEXT API error block only, and only when F and E match; any other
#    block, or any other "Oclgrind: ..." line (a log file it could not open, suppressed errors),
#    fails the test.
# Environment: PEGR_OCLGRIND_LOGDIR (default: a directory under TMPDIR) keeps each test's output.
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: oclgrind-wrap.sh TEST [ARG...]" >&2; exit 2; }
logdir="${PEGR_OCLGRIND_LOGDIR:-${TMPDIR:-/tmp}/pegr-oclgrind}"
mkdir -p "$logdir" || exit 1
base="$logdir/$(basename "$1").$$"
kernel_log="$base.kernel.log"
out="$base.out"
rm -f "$base.fifo"
mkfifo "$base.fifo" || exit 1
cat "$base.fifo" >"$kernel_log" &
cat_pid=$!
exec 9>"$base.fifo"
rm -f "$base.fifo"
export OCLGRIND_LOG=/proc/self/fd/9
export PEGR_TEST_ECHO_CHILD_OUTPUT=1

# The test's stdout and stderr together, shown to meson as they come and kept for the scan.
"$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
exec 9>&-
wait "$cat_pid"

status=0
if [ -s "$kernel_log" ]; then
  echo "oclgrind-wrap: Oclgrind reported kernel errors (never exempt), from $kernel_log:" >&2
  cat "$kernel_log" >&2
  status=1
fi
# The API error blocks against the declarations, in order.
if ! awk '
  /^pegr-test: expect Oclgrind API error / { want = $6 " " $7; next }
  /^Oclgrind - OpenCL runtime error detected/ { inblock = 1; fn = ""; er = ""; next }
  inblock && /^[ \t]*Function:/ { fn = $2; next }
  inblock && /^[ \t]*Error:/ {
    er = $2; inblock = 0
    if (want != "" && want == fn " " er) { excused++; want = ""; next }
    printf "oclgrind-wrap: undeclared Oclgrind API error: %s %s (declared: %s)\n", fn, er, (want == "" ? "none" : want) > "/dev/stderr"
    bad++; want = ""; next
  }
  /^Oclgrind[:-]/ { printf "oclgrind-wrap: Oclgrind said: %s\n", $0 > "/dev/stderr"; bad++ }
  END {
    if (excused) printf "oclgrind-wrap: %d declared API error(s) excused\n", excused > "/dev/stderr"
    exit bad ? 1 : 0
  }' "$out"; then
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "oclgrind-wrap: FAILED by Oclgrind's checks ($1; test exit status $rc)" >&2
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rc=1; fi
fi
exit "$rc"
