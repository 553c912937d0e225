#!/usr/bin/env bash
# Build the relay's zone image and export its root filesystem as the tar WeCom's admin console
# takes (doc 54090: `docker export` of a container, not `docker save` of an image).
#
#   relay/image/build.sh [path/to/wwspecapisdk.so] [output.tar]
#
# Defaults: relay/image/wwspecapisdk.so (the Python 3.12 SDK from WeCom's download, doc 55652; it
# is not in this repository) and relay/image/relay-rootfs.tar. Needs a Docker engine.
# RELAY_IMAGE_TAG names the image (default wecom-zone-relay:latest); RELAY_PLATFORM its platform
# (default linux/amd64: the SDK's .so is an x86-64 Linux library).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sdk_so=${1:-"$here/wwspecapisdk.so"}
out=${2:-"$here/relay-rootfs.tar"}
tag=${RELAY_IMAGE_TAG:-wecom-zone-relay:latest}
platform=${RELAY_PLATFORM:-linux/amd64}

if [[ ! -f "$sdk_so" ]]; then
  echo "build.sh: no SDK at $sdk_so: put the Python 3.12 wwspecapisdk.so from WeCom's SDK download there, or pass its path" >&2
  exit 1
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "build.sh: docker is not on PATH" >&2
  exit 1
fi

context=$(mktemp -d)
container=""
cleanup() {
  rm -rf "$context"
  if [[ -n "$container" ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

cp "$here/Dockerfile" "$here/../relay.py" "$context/"
cp "$sdk_so" "$context/wwspecapisdk.so"

docker build --platform "$platform" --tag "$tag" "$context"

# Import the relay (and so the SDK's names) inside the image before exporting: a wrong SDK build
# (another Python version, a missing name) fails here instead of at WeCom's deployment.
docker run --rm --platform "$platform" "$tag" /usr/local/bin/python3 -c \
  "import sys; sys.path.insert(0, '/opt/relay'); import relay; print('relay imports with this SDK')"

container=$(docker create --platform "$platform" "$tag")
docker export --output "$out" "$container"

echo "wrote $out ($(wc -c <"$out") bytes)"
echo "admin console: start command /usr/local/bin/python3, start argument /opt/relay/relay.py"
