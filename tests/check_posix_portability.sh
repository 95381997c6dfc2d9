#!/usr/bin/env bash
# check_posix_portability.sh: what can be checked on Linux of pegr building on macOS (issue 12
# item 4; docs/portability.md says what was checked how). Darwin's headers (xnu bsd/sys/fcntl.h,
# bsd/sys/mman.h, sys/file.h) hide O_NOFOLLOW, MAP_ANON(YMOUS) and flock under _POSIX_C_SOURCE
# unless _DARWIN_C_SOURCE is defined, and Darwin has no Linux-only interfaces. So:
#  1. a build that defines _POSIX_C_SOURCE project-wide must define _DARWIN_C_SOURCE on Darwin,
#     and a file that asks glibc for more (_DEFAULT_SOURCE, _GNU_SOURCE) must ask Darwin too;
#  2. Linux-only headers and calls (prctl, sys/sysinfo.h, epoll, inotify, memfd_create, pipe2,
#     dup3, accept4, getrandom, sched_getaffinity, O_PATH, O_TMPFILE, MAP_POPULATE, ...) appear
#     only inside an #if/#ifdef block that names __linux__.
# Usage: check_posix_portability.sh SOURCE_ROOT
set -u
root="${1:?usage: check_posix_portability.sh SOURCE_ROOT}"
status=0

if grep -q "_POSIX_C_SOURCE" "$root/meson.build" && ! grep -q "_DARWIN_C_SOURCE" "$root/meson.build"; then
  echo "FAIL: meson.build defines _POSIX_C_SOURCE for every file but not _DARWIN_C_SOURCE on Darwin:"
  echo "      O_NOFOLLOW (fsutil.c, safe_open.c, train_output.c), MAP_ANONYMOUS and flock do not compile there"
  status=1
fi
while IFS= read -r file; do
  if ! grep -q "_DARWIN_C_SOURCE" "$file" && ! grep -q "_DARWIN_C_SOURCE" "$root/meson.build"; then
    echo "FAIL: $file asks glibc for more than POSIX (_DEFAULT_SOURCE/_GNU_SOURCE) but not Darwin (_DARWIN_C_SOURCE)"
    status=1
  fi
done < <(grep -rlE "^#define (_DEFAULT_SOURCE|_GNU_SOURCE)" "$root/src" --include='*.c' --include='*.h')

# Rule 2: track #if nesting; a line is guarded when an enclosing #if/#ifdef (in its true branch)
# names __linux__.
linux_only='sys/prctl\.h|(^|[^A-Za-z0-9_])prctl\(|PR_SET_|sys/sysinfo\.h|(^|[^A-Za-z0-9_])sysinfo\(|sys/epoll\.h|(^|[^A-Za-z0-9_])epoll_|sys/inotify\.h|(^|[^A-Za-z0-9_])inotify_|(^|[^A-Za-z0-9_])memfd_create\(|(^|[^A-Za-z0-9_])pipe2\(|(^|[^A-Za-z0-9_])dup3\(|(^|[^A-Za-z0-9_])accept4\(|(^|[^A-Za-z0-9_])getrandom\(|sys/random\.h|(^|[^A-Za-z0-9_])sched_getaffinity\(|(^|[^A-Za-z0-9_])O_PATH([^A-Za-z0-9_]|$)|(^|[^A-Za-z0-9_])O_TMPFILE([^A-Za-z0-9_]|$)|(^|[^A-Za-z0-9_])MAP_POPULATE([^A-Za-z0-9_]|$)|(^|[^A-Za-z0-9_])renameat2\(|(^|[^A-Za-z0-9_])statx\(|(^|[^A-Za-z0-9_])copy_file_range\(|(^|[^A-Za-z0-9_])sendfile\(|program_invocation_name|(^|[^A-Za-z0-9_])getauxval\(|sys/auxv\.h'
while IFS= read -r file; do
  awk -v re="$linux_only" -v file="$file" '
    /^[ \t]*#[ \t]*if/ { depth++; linux[depth] = ($0 ~ /__linux__/) && ($0 !~ /!/) ; next }
    /^[ \t]*#[ \t]*(else|elif)/ { linux[depth] = ($0 ~ /__linux__/) && ($0 !~ /!/); next }
    /^[ \t]*#[ \t]*endif/ { if (depth > 0) depth--; next }
    {
      line = $0
      sub(/\/\/.*/, "", line)
      if (line ~ /^[ \t]*\/?\*/) next   # a comment line
      if (line ~ re || ($0 ~ /#[ \t]*include/ && $0 ~ re)) {
        guarded = 0
        for (i = 1; i <= depth; i++) if (linux[i]) guarded = 1
        if (!guarded) { printf "FAIL: %s:%d uses a Linux-only interface outside #ifdef __linux__: %s\n", file, NR, $0; bad = 1 }
      }
    }
    END { exit bad }' "$file" || status=1
done < <(find "$root/src" -name '*.[ch]' | sort)
[ $status = 0 ] && echo "ok: feature macros for Darwin, Linux-only interfaces only under #ifdef __linux__"
exit $status
