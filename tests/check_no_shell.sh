#!/usr/bin/env bash
# check_no_shell.sh: pegr never runs a shell: no system(), popen(), exec*() nor a /bin/sh path in
# the sources (issue 11: a name read from disk went into system("rm -rf '...'")). Usage:
# check_no_shell.sh SOURCE_ROOT. Exit 1 with the offending lines.
set -u
root="${1:?usage: check_no_shell.sh SOURCE_ROOT}"
[ -d "$root/src" ] || { echo "no $root/src"; exit 1; }
# a call: the name not preceded by an identifier character, then '('; or a shell's path as a whole
# string ("/bin/sh", for posix_spawn and the like; a script's "#!/bin/bash\n..." line pegr writes
# for Slurm is text, not a shell it runs)
pattern='(^|[^A-Za-z0-9_])(system|popen|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|wordexp)[[:space:]]*\(|"(/usr)?/bin/(ba|da|k|z)?sh"'
hits=$(grep -rnE "$pattern" "$root/src" --include='*.c' --include='*.h' --include='*.in')
if [ -n "$hits" ]; then
  echo "a shell or exec in src/ (use pegr_remove_tree and friends in src/util/fsutil.h instead):"
  echo "$hits"
  exit 1
fi
echo "no system/popen/exec/sh in $root/src"
