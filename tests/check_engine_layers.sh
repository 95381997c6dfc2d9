#!/usr/bin/env bash
# check_engine_layers.sh: the OpenCL engine's files call one way, down its layers
# (src/engine/engine_internal.h). Each layer header engine_X.h includes the header of the layer
# just below it, so the headers form one chain from engine_internal.h down to engine_object.h;
# each engine_X.c includes only its own engine_X.h (engine.c only engine_internal.h). A call
# upward then has no declaration and does not compile (-Werror). This checks the includes:
#   - engine_internal.h and each layer header include at most one engine_*.h, and following them
#     from engine_internal.h reaches engine_object.h without a cycle, through every engine_*.h;
#   - engine.h (the engine's outward header) includes no engine_*.h;
#   - engine_X.c includes "engine/engine_X.h" and no other engine_*.h; engine.c only
#     "engine/engine_internal.h".
# Usage: check_engine_layers.sh [--self-test] ENGINE_DIR
#   --self-test  plant an upward include (engine_gemm.c including engine_eval.h) in a copy and
#                require the check to fail on it: the check must be able to fail.
set -u

# engine_includes FILE: the engine headers FILE includes, one base name a line.
engine_includes() {
  sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"engine/\(engine_[A-Za-z0-9_]*\.h\)".*|\1|p' "$1"
}

# check DIR: prints each violation, returns 1 on any.
check() {
  local dir="$1" status=0 h next count chain="" f base own inc
  h=engine_internal.h
  while :; do
    [ -f "$dir/$h" ] || { echo "FAIL: $h is missing"; return 1; }
    case " $chain " in *" $h "*) echo "FAIL: the layer headers include each other in a cycle at $h"; return 1 ;; esac
    chain="$chain $h"
    count=$(engine_includes "$dir/$h" | wc -l)
    if [ "$count" -gt 1 ]; then
      echo "FAIL: $h includes $count engine headers ($(engine_includes "$dir/$h" | tr '\n' ' ')): a layer header includes only the one below it"
      status=1
    fi
    next=$(engine_includes "$dir/$h" | head -1)
    [ -z "$next" ] && break
    h=$next
  done
  if [ "$h" != engine_object.h ]; then
    echo "FAIL: the chain of layer headers ends at $h, not at engine_object.h"
    status=1
  fi
  for f in "$dir"/engine_*.h; do
    base=$(basename "$f")
    case " $chain " in *" $base "*) ;; *) echo "FAIL: $base is not in the chain of layers from engine_internal.h"; status=1 ;; esac
  done
  if [ -n "$(engine_includes "$dir/engine.h")" ]; then
    echo "FAIL: engine.h includes $(engine_includes "$dir/engine.h" | tr '\n' ' ')(it is the engine's outward header)"
    status=1
  fi
  for f in "$dir"/engine*.c; do
    base=$(basename "$f" .c)
    if [ "$base" = engine ]; then own=engine_internal.h; else own=$base.h; fi
    [ -f "$dir/$own" ] || { echo "FAIL: $base.c has no layer header $own"; status=1; continue; }
    engine_includes "$f" | grep -qx "$own" || { echo "FAIL: $base.c does not include engine/$own"; status=1; }
    for inc in $(engine_includes "$f"); do
      [ "$inc" = "$own" ] && continue
      echo "FAIL: $base.c includes engine/$inc: an engine file includes only its own layer's header ($own)"
      status=1
    done
  done
  [ $status = 0 ] && echo "the engine's layers, top down:$chain"
  return $status
}

self_test=0
if [ "${1:-}" = --self-test ]; then
  self_test=1
  shift
fi
if [ $# -ne 1 ] || ! [ -d "$1" ]; then
  echo "usage: check_engine_layers.sh [--self-test] ENGINE_DIR" >&2
  exit 2
fi
if [ $self_test = 0 ]; then
  check "$1"
  exit $?
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$1"/engine*.c "$1"/engine*.h "$work"/ || exit 1
check "$work" >/dev/null || { echo "self-test: the unchanged copy fails the check"; check "$work"; exit 1; }
printf '#include "engine/engine_eval.h"\n' >>"$work/engine_gemm.c"
out="$(check "$work")" && { echo "self-test FAILED: an upward include (engine_gemm.c -> engine_eval.h) passed"; exit 1; }
printf '%s\n' "$out" | grep -q "engine_gemm.c includes engine/engine_eval.h" ||
  { printf '%s\n' "$out"; echo "self-test FAILED: the check failed, but not on the planted include"; exit 1; }
echo "self-test passed: an upward include (engine_gemm.c -> engine_eval.h) fails the check"
