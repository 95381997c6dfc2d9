#!/usr/bin/env bash
# opencl-impls.sh: the OpenCL implementations pegr is tested on, from Debian packages, registered
# in a private vendors directory (never /etc/OpenCL/vendors, where Oclgrind would become every
# program's default GPU) so that each run sees exactly one implementation.
#   bash tools/opencl-impls.sh setup        install what is missing, write the vendors directories,
#                                           print each implementation's environment
#   bash tools/opencl-impls.sh env IMPL     print `export VAR=value` lines for IMPL (for eval)
#   bash tools/opencl-impls.sh run IMPL COMMAND [ARG...]   run COMMAND under IMPL
#   bash tools/opencl-impls.sh list         the implementation names
# IMPL: pocl-pthread, pocl-basic (PoCL's serial driver), rusticl (Mesa on llvmpipe: OpenCL C 1.2,
# no fp64), oclgrind (simulator with API checks and data-race detection), oclgrind-uninit
# (uninitialized-value checks; needs -cl-opt-disable), oclgrind-small (16 KiB of local memory,
# work-groups of at most 3), all (every one of them, in one platform list).
# Environment: PEGR_ICD_DIR, where the vendors directories go (default: build-icd in the checkout).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
icd_dir="${PEGR_ICD_DIR:-$root/build-icd}"
impls=(pocl-pthread pocl-basic rusticl oclgrind oclgrind-uninit oclgrind-small)

# PoCL (the build's default device), Mesa's rusticl with the libclc and SPIR-V translator it loads
# at run time, Oclgrind (which installs no .icd file).
packages=(pocl-opencl-icd mesa-opencl-icd libclc-15 libllvmspirvlib15 oclgrind)

install_missing() {
  local missing=() p sudo=()
  command -v dpkg-query >/dev/null 2>&1 || {
    echo "opencl-impls: not a Debian-like system; install the equivalents of: ${packages[*]}" >&2
    return 1
  }
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "opencl-impls: need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "opencl-impls: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The library each implementation's ICD loads; Oclgrind's from its package's file list (the
# runtime with the ICD entry point), the others by the name their own .icd files use.
icd_library() {
  case "$1" in
    pocl) echo libpocl.so.2 ;;
    rusticl) echo libRusticlOpenCL.so.1 ;;
    oclgrind)
      dpkg -L oclgrind 2>/dev/null | grep -m1 '/liboclgrind-rt-icd\.so$' ||
        { echo "opencl-impls: oclgrind's liboclgrind-rt-icd.so not found (dpkg -L oclgrind)" >&2; return 1; } ;;
  esac
}

write_vendors() {
  local v lib
  mkdir -p "$icd_dir/all"
  for v in pocl rusticl oclgrind; do
    lib="$(icd_library $v)"
    mkdir -p "$icd_dir/$v"
    printf '%s\n' "$lib" >"$icd_dir/$v/$v.icd"
    printf '%s\n' "$lib" >"$icd_dir/all/$v.icd"
  done
}

# The environment of one implementation, one VAR=value a line.
impl_env() {
  case "$1" in
    pocl-pthread) echo "OCL_ICD_VENDORS=$icd_dir/pocl"; echo "POCL_DEVICES=pthread" ;;
    pocl-basic) echo "OCL_ICD_VENDORS=$icd_dir/pocl"; echo "POCL_DEVICES=basic" ;;
    rusticl) echo "OCL_ICD_VENDORS=$icd_dir/rusticl"; echo "RUSTICL_ENABLE=llvmpipe" ;;
    oclgrind|oclgrind-uninit|oclgrind-small)
      echo "OCL_ICD_VENDORS=$icd_dir/oclgrind"
      echo "OCLGRIND_CHECK_API=1"
      echo "OCLGRIND_DATA_RACES=1"
      case "$1" in
        # Oclgrind 21.10 aborts on LLVM's `freeze` with uninitialized checks on optimized code.
        oclgrind-uninit) echo "OCLGRIND_UNINITIALIZED=1"; echo "OCLGRIND_BUILD_OPTIONS=-cl-opt-disable" ;;
        oclgrind-small) echo "OCLGRIND_LOCAL_MEM_SIZE=16384"; echo "OCLGRIND_MAX_WGSIZE=3" ;;
      esac ;;
    all) echo "OCL_ICD_VENDORS=$icd_dir/all"; echo "RUSTICL_ENABLE=llvmpipe"
         echo "OCLGRIND_CHECK_API=1"; echo "OCLGRIND_DATA_RACES=1" ;;
    *) echo "opencl-impls: unknown implementation '$1' (one of: ${impls[*]} all)" >&2; return 2 ;;
  esac
}

cmd="${1:-setup}"
case "$cmd" in
  setup)
    install_missing
    write_vendors
    echo "# vendors directories in $icd_dir; prefix a command with one line's variables:"
    for i in "${impls[@]}" all; do
      printf '%-16s %s\n' "$i" "$(impl_env "$i" | tr '\n' ' ')"
    done ;;
  env)
    [ $# -eq 2 ] || { echo "usage: opencl-impls.sh env IMPL" >&2; exit 2; }
    impl_env "$2" >/dev/null # the name is checked before anything is printed
    [ -d "$icd_dir/all" ] || write_vendors
    impl_env "$2" | sed 's/^\([A-Z_]*\)=\(.*\)$/export \1="\2"/' ;;
  run)
    [ $# -ge 3 ] || { echo "usage: opencl-impls.sh run IMPL COMMAND [ARG...]" >&2; exit 2; }
    impl="$2"; shift 2
    impl_env "$impl" >/dev/null
    [ -d "$icd_dir/all" ] || write_vendors
    vars=()
    while IFS= read -r line; do vars+=("$line"); done < <(impl_env "$impl")
    exec env "${vars[@]}" "$@" ;;
  list) printf '%s\n' "${impls[@]}" all ;;
  *) echo "usage: opencl-impls.sh [setup|env IMPL|run IMPL COMMAND...|list]" >&2; exit 2 ;;
esac
