#!/bin/sh
# check_layers.sh ROOT [--self-test]: the library's folders are layers, in the order the README's
# "Layout" block lists them (src/util/ first, src/cli/ last); a file in src/X/ may include headers of
# its own folder, of folders listed before X, and the public ones (pegr/...), never a later folder.
# Also: the folders of src/ are exactly those the README lists, so the layout section stays true.
# --self-test plants an upward include and an unlisted folder in a copy and expects both caught.
set -u
if [ $# -lt 1 ]; then
    echo "usage: $0 ROOT [--self-test]" >&2
    exit 2
fi
root=$1

# check DIR: 0 when DIR (a copy of the repository's README.md and src/) keeps its layers.
check() {
    dir=$1
    order=$(sed -n '/^## Layout/,/^## /p' "$dir/README.md" | grep -o '^src/[a-z_]*/' |
            sed 's#src/##; s#/##')
    if [ -z "$order" ]; then
        echo "check_layers: the README's Layout section lists no src/ folder"
        return 1
    fi
    bad=0
    listed=$(printf '%s\n' "$order" | sort)
    actual=$(cd "$dir/src" && for d in */; do printf '%s\n' "${d%/}"; done | sort)
    if [ "$listed" != "$actual" ]; then
        echo "check_layers: README's Layout lists src/ folders {$(echo $listed)}," \
             "src/ has {$(echo $actual)}: update the Layout section"
        bad=1
    fi
    rank=0
    for folder in $order; do
        rank=$((rank + 1))
        eval "rank_$folder=$rank"
    done
    for folder in $order; do
        eval "mine=\$rank_$folder"
        for f in "$dir/src/$folder"/*.c "$dir/src/$folder"/*.h "$dir/src/$folder"/*.in; do
            [ -f "$f" ] || continue
            # "X/...": a folder include; pegr/ is the public headers, allowed everywhere
            grep -n '^#include "[a-z_]*/' "$f" | while IFS= read -r line; do
                target=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([a-z_]*\)\/.*/\1/')
                [ "$target" = pegr ] && continue
                [ "$target" = "$folder" ] && continue
                eval "theirs=\${rank_$target:-}"
                if [ -z "$theirs" ]; then
                    echo "src/$folder/${f##*/}:${line%%:*}: includes $target/, not a folder of src/"
                    echo x
                elif [ "$theirs" -gt "$mine" ]; then
                    echo "src/$folder/${f##*/}:${line%%:*}: includes $target/, a later layer than" \
                         "$folder/ (README, Layout)"
                    echo x
                fi
            done
        done
    done >"$dir/.layers.out"
    if grep -q '^x$' "$dir/.layers.out"; then
        grep -v '^x$' "$dir/.layers.out"
        bad=1
    fi
    rm -f "$dir/.layers.out"
    return $bad
}

if [ "${2:-}" = --self-test ]; then
    work=$(mktemp -d) || exit 1
    trap 'rm -rf "$work"' EXIT
    cp -R "$root/src" "$work/src" && cp "$root/README.md" "$work/README.md" || exit 1
    check "$work" >/dev/null || { echo "self-test FAILED: the clean copy does not pass"; exit 1; }
    printf '#include "engine/engine.h"\n' >>"$work/src/util/json.c"
    out=$(check "$work") && { echo "self-test FAILED: util/ including engine/ passed"; exit 1; }
    printf '%s\n' "$out" | grep -q 'src/util/json.c:.*includes engine/, a later layer' ||
        { echo "self-test FAILED: the upward include was not named: $out"; exit 1; }
    sed -i '$d' "$work/src/util/json.c"
    mkdir "$work/src/extra" && : >"$work/src/extra/x.c"
    out=$(check "$work") && { echo "self-test FAILED: an unlisted folder passed"; exit 1; }
    printf '%s\n' "$out" | grep -q 'update the Layout section' ||
        { echo "self-test FAILED: the unlisted folder was not named: $out"; exit 1; }
    echo "self-test passed: an upward include and an unlisted folder each fail the check"
    exit 0
fi
check "$root" || exit 1
echo "check_layers: src/ keeps the README's layers"
