#!/usr/bin/env bash
# check-tree.sh: fail when the repository tracks what it must not: a file over 1 MiB that is
# not text (a build output such as the vpim-milter binary), or a symbolic link that points
# outside the checkout (an absolute path, or one that climbs above the top directory).
#
#   tools/check-tree.sh            checks the files git tracks (the index), prints one line
#                                  per offending file, exit 1 when there is one
#
# `make check` (and so `make test` and CI) runs it. Build outputs belong in .gitignore.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd -P)
limit=$((1024 * 1024))
fail=0

bad() {
  echo "check-tree: $1" >&2
  fail=1
}

# One record per tracked file: "MODE OBJECT STAGE<TAB>PATH"; the object's size comes from
# one cat-file process for all of them.
mapfile -d '' records < <(git ls-files -s -z)
[ ${#records[@]} -gt 0 ] || { echo "check-tree: git ls-files found nothing" >&2; exit 1; }
mapfile -t sizes < <(for r in "${records[@]}"; do
  read -r _ obj _ <<<"${r%%$'\t'*}"
  echo "$obj"
done | git cat-file --batch-check='%(objectsize)')

for i in "${!records[@]}"; do
  r=${records[$i]}
  path=${r#*$'\t'}
  read -r mode obj _ <<<"${r%%$'\t'*}"
  case $mode in
    120000) # symbolic link: the blob is the target
      target=$(git cat-file blob "$obj")
      case $target in
        /*) bad "$path is a symlink to the absolute path $target" ;;
        *)
          # lexical resolution (-s): where the link points, not where that points in turn
          resolved=$(realpath -m -s "$root/$(dirname "$path")/$target")
          case $resolved/ in
            "$root"/*) ;;
            *) bad "$path is a symlink to $target, outside the checkout" ;;
          esac
          ;;
      esac
      ;;
    160000) ;; # submodule commit
    *)
      # grep -I: a file with NUL bytes (or not valid in the locale's encoding) is binary; the
      # subshell without pipefail ignores cat-file's SIGPIPE when grep stops early
      if [ "${sizes[$i]}" -gt "$limit" ] && ! (set +o pipefail; git cat-file blob "$obj" | grep -qI ''); then
        bad "$path is a binary file of ${sizes[$i]} bytes (over 1 MiB): a build output? add it to .gitignore"
      fi
      ;;
  esac
done
exit $fail
