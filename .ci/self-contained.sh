#!/usr/bin/env bash
# Everything the tests and the README's commands need is in this repository, or is fetched from a package
# registry by a script in it. Fails when a tracked file points outside the checkout: a sibling directory
# such as ../shared (present on the development machines, missing from a fresh clone), or an absolute
# /work/ path in a script or build file. Recorded results (bench/results/) may name where they ran.
set -euo pipefail
cd "$(dirname "$0")/.."
self=.ci/self-contained.sh

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files() { git ls-files -z -- "$@"; }
else
  files() { find . -type f -not -path './.git/*' -not -path '*/target/*' -print0 | sed -z 's|^\./||'; }
fi
outside=$(files | grep -zv -x -- "$self" | xargs -0 -r grep -nE -- '\.\./shared|/work/shared' || true)
absolute=$(files | grep -zE -- '^\.ci/|\.(sh|py|lua)$|Dockerfile$|pom\.xml$|^\.github/' | grep -zv -x -- "$self" \
  | xargs -0 -r grep -nE -- '(^|[^[:alnum:]_.~-])/work/' || true)
if [ -n "$outside$absolute" ]; then
  echo "self-contained: FAIL: tracked files use paths outside the repository (copy what they need into it):" >&2
  printf '%s\n' "$outside" "$absolute" | sed '/^$/d; s/^/  /' >&2
  exit 1
fi
echo "self-contained: ok: no tracked file uses ../shared or /work/ paths"
