#!/usr/bin/env bash
# check_cli_public.sh: the pegr command is one client of the library (issue 14): every file in
# src/cli/ includes only the public headers ("pegr/NAME.h", which must exist in include/pegr/) and
# the CLI's own headers (a bare "NAME.h" that exists in src/cli/ itself) -- nothing else of src/,
# neither as "util/json.h" nor as "../util/json.h" nor as <engine/engine.h> through -Isrc.
# System headers (<stdio.h>, <CL/cl.h>) are fine.
# Usage: check_cli_public.sh SOURCE_ROOT        exit 1 naming each offending FILE:LINE
#        check_cli_public.sh --self-test SOURCE_ROOT
#                                               plants bad includes in temporary copies and checks
#                                               that each is caught (and that clean files pass)
set -u

# check ROOT: prints every offending include as "src/cli/FILE:LINE: ...", returns 1 when any.
check() {
  local root="$1" bad=0 f line num text name rel
  [ -d "$root/src/cli" ] || { echo "no $root/src/cli"; return 1; }
  for f in "$root"/src/cli/*.c "$root"/src/cli/*.h; do
    [ -e "$f" ] || continue
    rel="src/cli/${f##*/}"
    # "#include" with any spacing around '#'; the file's line number from grep -n
    while IFS= read -r line; do
      num="${line%%:*}"
      text="${line#*:}"
      if [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]*)\" ]]; then
        name="${BASH_REMATCH[1]}"
        if [[ "$name" == pegr/* ]]; then
          if [[ "$name" == *..* || ! -f "$root/include/$name" ]]; then
            echo "$rel:$num: #include \"$name\": no such public header in include/pegr/"
            bad=1
          fi
        elif [[ "$name" == */* || ! -f "$root/src/cli/$name" ]]; then
          echo "$rel:$num: #include \"$name\": the CLI includes only \"pegr/...\" (include/pegr/)" \
               "and its own headers in src/cli/"
          bad=1
        fi
      elif [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]*)\> ]]; then
        name="${BASH_REMATCH[1]}"
        # an internal header reached through the -Isrc include path
        if [[ "$name" == */* && -f "$root/src/$name" ]]; then
          echo "$rel:$num: #include <$name>: an internal header of src/; use include/pegr/"
          bad=1
        fi
      else
        echo "$rel:$num: an #include this check cannot read: $text"
        bad=1
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$f")
  done
  return "$bad"
}

self_test() {
  local src="$1" out status=0
  # global, not local: the EXIT trap runs after this function has returned
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_cli_public.XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT

  # 1. A small clean tree passes.
  mkdir -p "$tmp/clean/src/cli" "$tmp/clean/include/pegr" "$tmp/clean/src/util"
  : > "$tmp/clean/include/pegr/io.h"
  : > "$tmp/clean/src/util/json.h"
  printf '/* a.h */\n#include <stddef.h>\n' > "$tmp/clean/src/cli/a.h"
  printf '/* a.c */\n#include <stdio.h>\n#include "a.h"\n#  include "pegr/io.h"\n' \
    > "$tmp/clean/src/cli/a.c"
  if ! out=$(check "$tmp/clean"); then
    echo "self-test: a clean tree was refused: $out"
    status=1
  fi

  # 2. Each bad include, planted at line 3 of a copy of the clean tree, is caught and named.
  local k=0 bad
  for bad in '#include "util/json.h"' '#include "../util/json.h"' '#include "missing.h"' \
             '#include "pegr/missing.h"' '#include "pegr/../../src/util/json.h"' \
             '#include <util/json.h>' ' #  include "util/json.h"'; do
    k=$((k + 1))
    cp -R "$tmp/clean" "$tmp/bad$k"
    printf '/* b.c */\n#include "a.h"\n%s\n#include "pegr/io.h"\n' "$bad" > "$tmp/bad$k/src/cli/b.c"
    if out=$(check "$tmp/bad$k"); then
      echo "self-test: not caught: $bad"
      status=1
    elif [[ "$out" != *"src/cli/b.c:3:"* ]]; then
      echo "self-test: '$bad' caught without naming src/cli/b.c:3: $out"
      status=1
    fi
  done

  # 3. The real src/cli/ copied, one of its files given an internal include: caught and named.
  mkdir -p "$tmp/real/src"
  cp -R "$src/src/cli" "$tmp/real/src/cli"
  cp -R "$src/include" "$tmp/real/include"
  local victim="$tmp/real/src/cli/main.c" lines
  lines=$(wc -l < "$victim")
  printf '#include "engine/engine_internal.h"\n' >> "$victim"
  out=$(check "$tmp/real")
  if [[ "$out" != *"src/cli/main.c:$((lines + 1)):"*engine/engine_internal.h* ]]; then
    echo "self-test: a planted include in a copy of src/cli/main.c was not caught: $out"
    status=1
  fi

  [ "$status" = 0 ] && echo "self-test passed: every planted include was caught and named"
  return "$status"
}

if [ "${1:-}" = "--self-test" ]; then
  self_test "${2:?usage: check_cli_public.sh --self-test SOURCE_ROOT}"
  exit $?
fi
root="${1:?usage: check_cli_public.sh SOURCE_ROOT}"
if check "$root"; then
  echo "src/cli/ includes only pegr/*.h and its own headers"
  exit 0
fi
exit 1
