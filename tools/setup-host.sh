#!/usr/bin/env bash
# Prepare this machine for the stack and its tests; safe to run again (it skips what is done).
#   - Debian packages: the Docker engine, mmdebstrap (base image), openssh-client (SSH checks),
#     python3 with python3-venv
#   - dockerd started when nothing answers (machines without systemd), with a wide address pool
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
# A stack declares about 33 networks (one per tier, division, scrape target and publishing group),
# CI runs two stacks plus molecule, and Docker's default pools hold about 31 bridge networks. So
# dockerd gets a pool of /24s from a private /16 that no route of this machine overlaps.
address_pool() {
  python3 - "$(ip -4 route 2>/dev/null || true)" <<'PY'
import ipaddress, sys
routes = [ipaddress.ip_network(line.split()[0], strict=False) for line in sys.argv[1].splitlines()
          if line.split() and line.split()[0][0].isdigit()]
for base in ("10.203.0.0/16", "10.213.0.0/16", "172.28.0.0/16", "10.223.0.0/16"):
    net = ipaddress.ip_network(base)
    if not any(net.overlaps(r) for r in routes):
        print(f"--default-address-pool base={net},size=24")
        break
PY
}
pool_configured() {  # daemon.json setting it too would make dockerd refuse to start
  grep -qs default-address-pools /etc/docker/daemon.json
}
if ! "$DOCKER" info >/dev/null 2>&1; then
  pool=""
  pool_configured || pool=$(address_pool)
  log "starting dockerd ${pool}"
  as_root sh -c "nohup dockerd ${pool} >/var/log/dockerd.log 2>&1 &"
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "dockerd did not come up; see /var/log/dockerd.log" >&2; exit 1; }
elif ! pool_configured && ! grep -qs -- --default-address-pool /proc/"$(pgrep -xo dockerd 2>/dev/null || echo 0)"/cmdline; then
  # A running dockerd keeps the pools it started with: only its owner can restart it.
  log "dockerd runs with Docker's default address pools (about 31 networks); two stacks need more:"
  log "  restart it with --default-address-pool base=<private /16>,size=24 or set default-address-pools"
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
