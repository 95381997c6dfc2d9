#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh [SECONDS]: build the command line fuzz target (fuzz_args.c) under
# AddressSanitizer and UndefinedBehaviorSanitizer in its own build directory, and run it for
# SECONDS (default 30) from the seed corpus: with libFuzzer when clang has its fuzzer runtime
# (Debian: libclang-rt-14-dev), else with the plain driver (fuzz_main.c). Exit 0: no crash, no
# sanitizer report, no leak; else the failing input is left in the build directory and named.
# Environment: CC (default clang, else cc), PEGR_FUZZ_BUILD (default build-fuzz in the source
# tree).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-30}
build=${PEGR_FUZZ_BUILD:-$src/build-fuzz}
if [ -z "${CC:-}" ]; then
  if command -v clang > /dev/null; then CC=clang; else CC=cc; fi
fi
if [ ! -f "$build/build.ninja" ]; then
  # b_lundef=false: meson's default -Wl,--no-undefined does not mix with clang's sanitizers.
  # No CLBlast: the parsers do not need it, and it is one dependency less.
  CC=$CC meson setup "$build" "$src" --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dclblast=disabled -Dtests=enabled
fi
# the driver first: that also brings build.ninja up to date, which then says whether meson found
# libFuzzer (tests/fuzz/meson.build defines fuzz_args only then)
ninja -C "$build" tests/fuzz/fuzz_args_driver
libfuzzer=0
# (the list is read whole first: under pipefail, `grep -q` closing the pipe early would make ninja
# die of SIGPIPE and the test read as "no libFuzzer" whenever the target is listed early)
targets=$(ninja -C "$build" -t targets all)
if grep -q '^tests/fuzz/fuzz_args:' <<< "$targets"; then
  ninja -C "$build" tests/fuzz/fuzz_args
  libfuzzer=1
fi

# Every sanitizer finding is fatal (UBSan only prints by default); leaks are reported.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
corpus=$src/tests/fuzz/corpus
dict=$src/tests/fuzz/args.dict
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
if [ "$libfuzzer" = 1 ]; then
  # New inputs go to a scratch corpus, never into the source tree; -close_fd_mask=3 silences the
  # parsers' usage errors (libFuzzer keeps its own output and the sanitizers' reports).
  work=$(mktemp -d "${TMPDIR:-/tmp}/pegr-fuzz-corpus.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "run_fuzz.sh: libFuzzer, $seconds s"
  "$build/tests/fuzz/fuzz_args" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -close_fd_mask=3 -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$work" "$corpus" || { echo "run_fuzz.sh: a crash; its input is in $artifacts/"; exit 1; }
else
  echo "run_fuzz.sh: no libFuzzer with $CC (Debian: install libclang-rt-14-dev); the plain driver, $seconds s"
  "$build/tests/fuzz/fuzz_args_driver" -max_total_time="$seconds" -dict="$dict" \
    -artifact="$artifacts/crash-input" "$corpus" ||
    { echo "run_fuzz.sh: a crash; replay it: $build/tests/fuzz/fuzz_args_driver $artifacts/crash-input"; exit 1; }
fi
