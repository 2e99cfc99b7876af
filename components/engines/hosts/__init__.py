"""The division hosts and the backup host: sshd for Ansible and a node exporter."""

from __future__ import annotations

from components.kinds import Kind, Scrape, sh

_HOST_HEALTH = sh("pgrep -x sshd >/dev/null && curl -fsS -o /dev/null http://127.0.0.1:9100/metrics")

DIVISION_HOST = Kind(
    name="division-host",
    image="host",
    role="division",
    ports={"ssh": 22, "node": 9100},
    data_path="/srv/nova",
    healthcheck=_HOST_HEALTH,
    scrapes=(Scrape(port="node"),),
    min_memory_mb=64,
)

BACKUP_HOST = Kind(
    name="backup-host",
    image="backup",
    role="backup",
    ports={"ssh": 22, "node": 9100},
    data_path="/srv/backup",
    healthcheck=_HOST_HEALTH,
    scrapes=(Scrape(port="node"),),
    min_memory_mb=64,
)

KINDS = (DIVISION_HOST, BACKUP_HOST)
