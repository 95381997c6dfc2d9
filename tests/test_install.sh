#!/bin/sh
# test_install.sh: the library as a client outside the tree sees it -- the examples against the CLI.
#
#   test_install.sh --in-tree   SOURCE_DIR BUILD_DIR PEGR_EXE
#       runs the examples meson built in BUILD_DIR/examples (public headers, shared library).
#   test_install.sh --installed SOURCE_DIR BUILD_DIR PEGR_EXE
#       `meson install`s BUILD_DIR into a temporary directory, then, through that copy's pegr.pc
#       alone, compiles the examples with `cc $(pkg-config --cflags --libs pegr)` against the
#       installed headers and libpegr.so, and checks what an installed library must be: libpegr.so
#       exports only pegr_ names (nm -D), and every function the headers declare; each installed
#       header compiles alone as C11 with -Wall -Wextra -Werror -pedantic, and the umbrella header
#       as C++11 (a C++ program links and calls the library: extern "C"); one example links
#       statically through `pkg-config --static` and gives the same numbers without libpegr.so.
#
# Either way the examples' numbers must equal the CLI's exactly where the CLI prints or writes
# them with %.17g: `pegr grad`'s mean loss and objective and its grad.npy (byte for byte), the last
# row of `pegr train --compare gd,pegr`'s metrics.csv, and `pegr sweep`'s results.csv (but for its
# wall_seconds column) -- on the host reference and on the default device (the same kernels on the
# same device give the same bits). Exit 0 pass, 1 fail, 77 skip (a tool the check needs is
# missing: meson, pkg-config, cc, c++, nm).
set -u
mode=${1:-}
src=${2:-}
build=${3:-}
pegr=${4:-}
case "$mode" in --in-tree | --installed) ;; *) mode= ;; esac
if [ -z "$mode" ] || [ -z "$src" ] || [ -z "$build" ] || [ -z "$pegr" ]; then
    echo "usage: $0 --in-tree|--installed SOURCE_DIR BUILD_DIR PEGR_EXE" >&2
    exit 2
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
die() { echo "FAIL: $*"; fail=1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "no $1 (needed by $2)"; }

# ---- the examples: built in the tree, or compiled against an installed copy ---------------------
bin="$tmp/bin"
mkdir -p "$bin"
examples="grad train sweep"
if [ "$mode" = --in-tree ]; then
    for name in $examples; do ln -s "$build/examples/example_$name" "$bin/$name"; done
else
    need meson "the install into a temporary prefix"
    need pkg-config "the examples' compile lines"
    need cc "compiling the examples"
    need c++ "the C++ check of the headers"
    need nm "the check of the exported symbols"
    meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log"; echo "FAIL: meson install --destdir"; exit 1; }
    pc=$(find "$tmp/dest" -name pegr.pc)
    [ -n "$pc" ] && [ -f "$pc" ] || { echo "FAIL: no pegr.pc installed"; exit 1; }
    # The install went to DESTDIR/PREFIX: pegr.pc still names PREFIX, so pkg-config is told where
    # the prefix now is; only the installed copy's directory is on PKG_CONFIG_PATH.
    prefix=$(sed -n 's/^prefix=//p' "$pc")
    inst="$tmp/dest$prefix"
    libdir=$(cd "$(dirname "$pc")/.." && pwd)
    PKG_CONFIG_PATH=$(dirname "$pc")
    export PKG_CONFIG_PATH
    pkgconf() { pkg-config --define-variable=prefix="$inst" "$@" pegr; }
    cflags=$(pkgconf --cflags) && libs=$(pkgconf --libs) && static_libs=$(pkgconf --static --libs) ||
        { echo "FAIL: pkg-config --cflags --libs [--static] pegr"; exit 1; }
    echo "pkg-config: $cflags $libs (static: $static_libs)"
    case "$cflags $libs" in *"$src"* | *"$build"*) die "pkg-config points into the tree: $cflags $libs" ;; esac

    for name in $examples; do
        # shellcheck disable=SC2086 # word splitting of the flags is meant
        cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$bin/$name" "$src/examples/$name.c" \
            $cflags $libs || die "examples/$name.c does not build against the installed library"
    done
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH

    # Exports: every dynamic symbol libpegr.so defines starts with pegr_.
    nm -D --defined-only "$libdir/libpegr.so" | awk 'NF >= 3 {print $3}' | sort >"$tmp/exported"
    grep -v '^pegr_' "$tmp/exported" >"$tmp/foreign"
    if [ -s "$tmp/foreign" ]; then
        die "libpegr.so exports $(wc -l <"$tmp/foreign") names outside pegr_: $(tr '\n' ' ' <"$tmp/foreign")"
    elif [ -s "$tmp/exported" ]; then
        echo "nm -D: libpegr.so exports $(wc -l <"$tmp/exported") symbols, every one pegr_"
    else
        die "libpegr.so exports nothing"
    fi
    # ... and every function the headers declare: one declared without PEGR_API is hidden and a
    # client's link fails on it. The declarations are read from the preprocessed umbrella header
    # (no comments there): each name followed by '('.
    printf '#include <pegr/pegr.h>\n' >"$tmp/umbrella.c"
    # shellcheck disable=SC2086
    cc -E -P $cflags "$tmp/umbrella.c" | tr '\n' ' ' | grep -oE '\bpegr_[a-z0-9_]+ *\(' |
        tr -d ' (' | sort -u >"$tmp/declared"
    comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/hidden"
    [ -s "$tmp/declared" ] || die "no function declared in pegr/pegr.h"
    [ -s "$tmp/hidden" ] &&
        die "declared in include/pegr/ but not exported (PEGR_API missing?): $(tr '\n' ' ' <"$tmp/hidden")"

    # Headers: each one alone as C, the umbrella header as C++ (compiled, linked and run).
    for h in "$inst/include/pegr/"*.h; do
        printf '#include <pegr/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$tmp/h.c"
        # shellcheck disable=SC2086
        cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$tmp/h" "$tmp/h.c" $cflags ||
            die "pegr/$(basename "$h") does not compile alone as C11"
    done
    cat >"$tmp/umbrella.cpp" <<'EOF'
#include <pegr/pegr.h>
#include <cstdio>
int main() { std::printf("%s %s\n", pegr_version(), pegr_status_name(PEGR_ERR_SHAPE)); return 0; }
EOF
    # shellcheck disable=SC2086
    if c++ -std=c++11 -Wall -Wextra -Werror -pedantic -o "$tmp/umbrella" "$tmp/umbrella.cpp" \
        $cflags $libs; then
        out=$("$tmp/umbrella") || die "the C++ program failed"
        case "$out" in *PEGR_ERR_SHAPE) ;; *) die "the C++ program printed '$out'" ;; esac
    else
        die "pegr/pegr.h does not compile and link as C++11"
    fi

    # Static: `pkg-config --static` names everything libpegr.a needs. The archive is taken by name
    # (-l:libpegr.a) since -lpegr would take libpegr.so beside it.
    archive_libs=
    for word in $static_libs; do
        [ "$word" = -lpegr ] && word=-l:libpegr.a
        archive_libs="$archive_libs $word"
    done
    # shellcheck disable=SC2086
    if cc -std=c11 -o "$bin/grad_static" "$src/examples/grad.c" $cflags $archive_libs; then
        if command -v readelf >/dev/null 2>&1 && readelf -d "$bin/grad_static" | grep -q 'libpegr\.so'; then
            die "the static example still needs libpegr.so"
        fi
    else
        die "examples/grad.c does not link through pkg-config --static"
    fi
fi

# ---- the same numbers as the CLI -----------------------------------------------------------------
# The data of `pegr train --preset tiny` (seed 0), and weights from 20 steps of its gd run.
steps=20
"$pegr" data --out "$tmp/data" --n 20 --n-test 200 --d 200 >/dev/null ||
    { echo "FAIL: pegr data"; exit 1; }

# "host" and the default device ("" : $PEGR_DEVICE, else the default rule); a machine without any
# OpenCL device checks the host only.
backends=host
if "$pegr" devices >/dev/null 2>&1; then backends="host default"; else echo "note: no OpenCL device: host only"; fi

for be in $backends; do
    if [ "$be" = host ]; then dev_flag="--device host"; dev_arg=host; else dev_flag=; dev_arg=; fi

    # train: the last row of each method's metrics.csv, in the example's words.
    # shellcheck disable=SC2086
    "$pegr" train --preset tiny --steps $steps --compare gd,pegr $dev_flag --quiet \
        --out "$tmp/cli_train_$be" >/dev/null || { die "pegr train on $be"; continue; }
    for method in gd pegr; do
        awk -F, -v m="$method" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { split($0, v, ",") }
            END { printf "%s step %s train_loss %s test_error %s gamma_max_pos %s gamma_max_neg %s rho_mean %s\n",
                  m, v[c["step"]], v[c["train_loss"]], v[c["test_error"]], v[c["gamma_max_pos"]],
                  v[c["gamma_max_neg"]], v[c["rho_mean"]] }' "$tmp/cli_train_$be/$method/metrics.csv"
    done >"$tmp/train_cli_$be"
    "$bin/train" "$dev_arg" $steps >"$tmp/train_ex_$be" || die "example train on $be"
    if ! cmp -s "$tmp/train_cli_$be" "$tmp/train_ex_$be"; then
        die "train on $be: the example's final metrics differ from pegr train's metrics.csv"
        diff "$tmp/train_cli_$be" "$tmp/train_ex_$be"
    fi

    # grad: pegr's gradient (and gr's) at the gd run's final weights.
    W="$tmp/cli_train_$be/gd/W.npy"
    for method in pegr gr; do
        # shellcheck disable=SC2086
        cli=$("$pegr" grad --X "$tmp/data/X.npy" --y "$tmp/data/y.npy" --W "$W" $dev_flag \
            --method $method --q 3 --lam 0.05 --out "$tmp/cli_grad") || { die "pegr grad on $be"; continue; }
        ex=$("$bin/grad" "$tmp/data/X.npy" "$tmp/data/y.npy" "$W" "$tmp/grad.npy" "$dev_arg" \
            $method 3 0.05) || { die "example grad on $be"; continue; }
        [ "${cli%%; wrote*}" = "$ex" ] ||
            die "grad $method on $be: the example printed '$ex', pegr grad '${cli%%; wrote*}'"
        cmp -s "$tmp/cli_grad/grad.npy" "$tmp/grad.npy" ||
            die "grad $method on $be: grad.npy differs from pegr grad's"
        echo "$ex"
        if [ -x "$bin/grad_static" ]; then
            st=$(LD_LIBRARY_PATH= "$bin/grad_static" "$tmp/data/X.npy" "$tmp/data/y.npy" "$W" \
                "$tmp/grad_static.npy" "$dev_arg" $method 3 0.05) || die "static example grad on $be"
            [ "$st" = "$ex" ] || die "grad $method on $be: the static example printed '$st'"
        fi
    done
    cat "$tmp/train_ex_$be"

    # sweep: the 2x2 grid x gd, pegr into a directory; results.csv as pegr sweep's but for the
    # wall_seconds column. The host computes in fp64, and the example's sweep says so.
    if [ "$be" = host ]; then sweep_flags="--devices host --precision fp64"; else sweep_flags=; fi
    # shellcheck disable=SC2086
    "$pegr" sweep --preset tiny --steps $steps --grid n=10,20 --grid mu-norm=2,4 $sweep_flags \
        --quiet --out "$tmp/cli_sweep_$be" >/dev/null 2>"$tmp/sweep.err" ||
        { cat "$tmp/sweep.err"; die "pegr sweep on $be"; continue; }
    "$bin/sweep" "$tmp/ex_sweep_$be" "$dev_arg" || { die "example sweep on $be"; continue; }
    # wall_seconds is the last column (the device column before it is quoted and holds commas).
    for who in cli ex; do
        head -n 1 "$tmp/${who}_sweep_$be/results.csv" | grep -q ',wall_seconds$' ||
            die "sweep on $be: results.csv's last column is not wall_seconds"
        sed 's/,[^,]*$//' "$tmp/${who}_sweep_$be/results.csv" >"$tmp/results_$who"
    done
    [ "$(wc -l <"$tmp/results_ex")" -eq 9 ] || die "sweep on $be: results.csv has not 8 runs"
    if ! cmp -s "$tmp/results_cli" "$tmp/results_ex"; then
        die "sweep on $be: the example's results.csv differs from pegr sweep's"
        diff "$tmp/results_cli" "$tmp/results_ex"
    fi
    # Started again, it finds every run done and trains none.
    again=$("$bin/sweep" "$tmp/ex_sweep_$be" "$dev_arg") || die "example sweep on $be, again"
    case "$again" in "8 runs: 0 trained now, 8 found done, 0 failed;"*) ;;
        *) die "sweep on $be, again: '$again'" ;; esac
done

# The built-in control: a different lam must give a different objective (the comparison can fail).
a=$("$bin/grad" "$tmp/data/X.npy" "$tmp/data/y.npy" "$W" "$tmp/g1.npy" host pegr 3 0.05)
b=$("$bin/grad" "$tmp/data/X.npy" "$tmp/data/y.npy" "$W" "$tmp/g2.npy" host pegr 3 0.06)
[ "$a" != "$b" ] || die "the grad example ignores its LAM argument"

[ "$fail" -eq 0 ] && echo "PASS ($mode)"
exit "$fail"
