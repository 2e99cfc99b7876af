"""The monitoring stack: Prometheus, Alertmanager, the dev alert receiver, the prober, Grafana."""

from __future__ import annotations

from components.kinds import Kind, Scrape, http_ready
from components.member_files import config_path

# The container's own web login for curl --netrc-file (files.py writes it; defined here because
# files.py imports the model, which imports these kinds).
WEB_NETRC = config_path("web.netrc")

KINDS = (
    Kind(
        name="prometheus",
        image="prometheus",
        role="monitoring",
        ports={"web": 9090},
        data_path="/prometheus",
        healthcheck=http_ready(9090, "/-/ready", WEB_NETRC),
        scrapes=(Scrape(port="web"),),
        min_memory_mb=128,
    ),
    Kind(
        name="alertmanager",
        image="alertmanager",
        role="monitoring",
        ports={"web": 9093},
        data_path="/alertmanager",
        healthcheck=http_ready(9093, "/-/ready", WEB_NETRC),
        scrapes=(Scrape(port="web"),),
        min_memory_mb=32,
    ),
    Kind(
        # Dev webhook receiver: keeps what Alertmanager delivers, for drills and tests.
        name="alert-receiver",
        image="exporters",
        role="monitoring",
        ports={"web": 9095},
        data_path="/data",
        healthcheck=http_ready(9095, "/-/healthy"),
        scrapes=(Scrape(port="web"),),
        min_memory_mb=32,
    ),
    Kind(
        # Protocol-level probes of every database member (images/exporters/novaops-prober).
        name="prober",
        image="exporters",
        role="exporter",
        ports={"metrics": 9199},
        data_path=None,
        healthcheck=http_ready(9199, "/metrics"),
        scrapes=(Scrape(port="metrics", honor_labels=True),),
        min_memory_mb=32,
    ),
    Kind(
        # Grafana is not packaged by Debian: the official image is pulled where a registry is reachable.
        name="grafana",
        image="grafana",
        role="monitoring",
        ports={"web": 3000},
        data_path="/var/lib/grafana",
        healthcheck=("CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"),
        scrapes=(Scrape(port="web"),),
        secrets=("admin",),
        min_memory_mb=128,
    ),
)
