#!/usr/bin/env bash
# Prepare this machine for the stack and its tests; safe to run again (it skips what is done).
#   - Debian packages: the Docker engine, mmdebstrap (base image), openssh-client (SSH checks),
#     python3 with python3-venv
#   - dockerd started when nothing answers (machines without systemd)
#   - .venv with requirements.txt
#   - the Dockerfiles' base image tag (pulled, or built from Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v mmdebstrap >/dev/null || need_pkgs+=(mmdebstrap)
command -v ssh >/dev/null || need_pkgs+=(openssh-client)
# The .venv below: Debian's python3 makes venvs only with python3-venv (ensurepip).
{ command -v python3 >/dev/null && python3 -c 'import ensurepip' 2>/dev/null; } || need_pkgs+=(python3 python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# The engine's own client: another docker binary earlier on PATH may be a different version.
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
export DOCKER
if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd"
  as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "dockerd did not come up; see /var/log/dockerd.log" >&2; exit 1; }
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python dependencies into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi

images/scripts/ensure-base-image.sh
