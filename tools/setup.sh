#!/usr/bin/env bash
# setup.sh: install what pegr needs on Debian/Ubuntu (only what is missing), configure and build
# it, then run the main job or the test suite. The README's two commands are:
#   bash tools/setup.sh demo    # set up, then run the main job on the default device
#   bash tools/setup.sh test    # set up, then run the whole test suite (what CI runs)
# Environment: BUILD_DIR (default build), CI (set: warnings are errors).
set -euo pipefail

mode="${1:-build}"
case "$mode" in
  demo|test|build) ;;
  *) echo "usage: bash tools/setup.sh [demo|test|build]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

# The build (compiler, meson, ninja, OpenCL loader and headers, CLBlast), the default device (PoCL,
# a CPU OpenCL implementation), the tests (cmocka, clang for the OpenCL C 1.2 check and, with its
# runtime libraries, libFuzzer; clang-15, lld and libclc-15 compile and link the kernels for an AMD
# GPU target at -O0; valgrind; GNU parallel runs the emitted sweep scripts) and clinfo for looking
# at devices. python3-pytest runs the Python package's suite; python3-venv its install check.
packages=(gcc g++ pkg-config python3 python3-numpy python3-torch python3-matplotlib python3-pytest python3-venv meson ninja-build ocl-icd-opencl-dev opencl-headers
          pocl-opencl-icd libclblast-dev libcmocka-dev clang libclang-rt-dev clang-15 lld libclc-15
          valgrind clinfo parallel)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
else
  echo "setup: not a Debian-like system (no dpkg-query); install the equivalents of:" >&2
  echo "  ${packages[*]}" >&2
  echo "setup: then run meson setup build && ninja -C build" >&2
fi

if ((${#missing[@]})); then
  echo "setup: installing missing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: every needed package is installed"
fi

meson_args=(--buildtype=debugoptimized)
if [ -n "${CI:-}" ]; then meson_args+=(-Dwerror=true); fi

# configure_and_build DIR [EXTRA MESON OPTIONS...]: one build directory, set up or reconfigured.
configure_and_build() {
  local dir="$1"; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "${meson_args[@]}" "$@" "$dir" "$root" >/dev/null
  else
    meson setup "${meson_args[@]}" "$@" "$dir" "$root" >/dev/null
  fi
  echo "setup: building in $dir"
  ninja -C "$dir" >/dev/null
}
configure_and_build "$build_dir"

case "$mode" in
  build) echo "setup: built $build_dir/pegr" ;;
  demo)
    # The main job: the paper's experiment on the default device, gd against pegr from the same
    # data and initial weights, then the pictures (when matplotlib is there).
    "$build_dir/pegr" devices
    "$build_dir/pegr" train --preset demo --compare gd,pegr --out "$root/demo-run"
    for py in python3 /usr/bin/python3; do
      if "$py" -c "import matplotlib" 2>/dev/null; then
        "$py" "$root/tools/plot.py" "$root/demo-run" --out "$root/demo-run"
        break
      fi
    done
    ;;
  test)
    # The OpenCL implementations of the matrix (issue 12), from Debian packages, registered in a
    # private vendors directory (build-icd/, never /etc/OpenCL/vendors).
    bash "$root/tools/opencl-impls.sh" setup >/dev/null
    # Every suite, on PoCL's pthread device alone (the matrix's pocl-pthread row).
    suite_start=$(date +%s)
    bash "$root/tools/opencl-impls.sh" run pocl-pthread \
      meson test -C "$build_dir" --print-errorlogs --num-processes "$(nproc 2>/dev/null || echo 2)"
    echo "setup: every suite on pocl-pthread in $(($(date +%s) - suite_start)) s"
    # The Python package as a user installs it: a fresh virtual environment, `pip install .`
    # (meson-python builds libpegr into the package; pip fetches meson-python, numpy and pytest
    # from the package registry), the README's example and the package's tests against it.
    wheel_py=/usr/bin/python3; [ -x "$wheel_py" ] || wheel_py=python3
    PEGR_PYTHON="$wheel_py" sh "$root/python/tests/check_wheel.sh" "$build_dir/pegr"
    # The device suites and `pegr check` on each OpenCL implementation, each sized to CI's budget
    # and under a hard time limit (tools/test-matrix.sh; the README's testing section lists them).
    bash "$root/tools/test-matrix.sh" "$build_dir"
    # The host-side suites again under valgrind: memory errors and leaks fail.
    meson test -C "$build_dir" --print-errorlogs --setup valgrind --suite host
    # The sanitizer job: AddressSanitizer + UndefinedBehaviorSanitizer build of everything; any
    # report fails. Leaks are checked on the host suites only: PoCL's runtime keeps allocations
    # for the life of the process, which LeakSanitizer would report in every device test.
    san_dir="${build_dir}-sanitize"
    configure_and_build "$san_dir" -Db_sanitize=address,undefined -Db_lundef=false
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      meson test -C "$san_dir" --print-errorlogs --suite host
    # (the instrumented binaries run 2-3x slower: the suites' time limits are tripled)
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
      meson test -C "$san_dir" --print-errorlogs --num-processes "$(nproc 2>/dev/null || echo 2)" \
        --timeout-multiplier 3 --suite device --suite train --suite cli
    # The command line parsers under libFuzzer (ASan+UBSan, leaks checked) for a bounded time.
    PEGR_FUZZ_BUILD="${build_dir}-fuzz" bash "$root/tests/fuzz/run_fuzz.sh" "${PEGR_FUZZ_SECONDS:-60}"
    ;;
esac
