#!/usr/bin/env bash
# Make sure the Dockerfiles' base tag exists in the local engine.
#
# On a machine that can pull, the official image is pulled. Where no registry
# is reachable (our CI machines), the same tag is built from Debian packages
# with mmdebstrap, using this machine's own apt sources with the suite
# switched to trixie: no mirror host name is ever written into the repo.
set -euo pipefail

BASE_TAG="${NOVAOPS_BASE_TAG:-debian:trixie-slim}"
SUITE="${NOVAOPS_BASE_SUITE:-trixie}"
DOCKER="${DOCKER:-docker}"

if "$DOCKER" image inspect "$BASE_TAG" >/dev/null 2>&1; then
  echo "base image $BASE_TAG: present"
  exit 0
fi

if timeout 60 "$DOCKER" pull "$BASE_TAG" >/dev/null 2>&1; then
  echo "base image $BASE_TAG: pulled"
  exit 0
fi

echo "base image $BASE_TAG: cannot be pulled here; building it from Debian packages (mmdebstrap, suite $SUITE)"
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Take the machine's deb822 sources (or the one-line sources.list) and move every suite to $SUITE.
sources="$work/trixie.sources"
host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
  cat /etc/apt/sources.list.d/*.sources > "$sources"
  [ -n "$host_codename" ] && sed -i -E "/^Suites:/ s/\\b${host_codename}\\b/${SUITE}/g" "$sources"
elif [ -f /etc/apt/sources.list ]; then
  sources="$work/trixie.list"
  grep -E '^deb ' /etc/apt/sources.list > "$sources"
  [ -n "$host_codename" ] && sed -i -E "s/\\b${host_codename}\\b/${SUITE}/g" "$sources"
else
  echo "no apt sources found in /etc/apt" >&2; exit 1
fi

# The machine's apt options (e.g. snapshot validity) apply to the bootstrap too.
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && aptopts+=("--aptopt=$f")
done

mmdebstrap --quiet --variant=minbase --include=ca-certificates "${aptopts[@]}" \
  "$SUITE" "$work/base.tar" "$sources"
"$DOCKER" import "$work/base.tar" "$BASE_TAG" >/dev/null
echo "base image $BASE_TAG: built from Debian packages"
