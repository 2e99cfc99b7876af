"""Grafana provisioning: the Prometheus datasource and the file provider that loads the
generated dashboards, plus the rendered (and validated) dashboard JSON files."""

from __future__ import annotations

import json

import yaml

from components.dashboards.catalog_dashboards import dashboards
from components.dashboards.spec import DATASOURCE_TYPE, DATASOURCE_UID, render
from components.dashboards.validate import check_set
from components.model import Topology

DASHBOARDS_DIR = "/etc/novaops/dashboards"  # outside Grafana's data volume: replaced on every up
FOLDER = "NovaOps"


def render_dashboards(topology: Topology) -> dict[str, dict]:
    """uid -> dashboard JSON, every one validated for the SDK's Grafana version."""
    rendered = check_set([render(d) for d in dashboards(topology)])
    return {d["uid"]: d for d in rendered}


def dashboard_files(topology: Topology, directory: str = DASHBOARDS_DIR) -> dict[str, str]:
    return {
        f"{directory}/{uid}.json": json.dumps(d, indent=2, sort_keys=True) + "\n"
        for uid, d in render_dashboards(topology).items()
    }


def datasource_provisioning(prometheus_url: str, scrape_interval: str, login: tuple[str, str]) -> str:
    """``login``: (user, password) Grafana's server-side proxy sends to Prometheus' basic auth."""
    user, password = login
    # timeInterval = the scrape interval, so that $__rate_interval spans at least four scrapes.
    return yaml.safe_dump(
        {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "uid": DATASOURCE_UID,
                    "type": DATASOURCE_TYPE,
                    "access": "proxy",
                    "url": prometheus_url,
                    "isDefault": True,
                    "editable": False,
                    "basicAuth": True,
                    "basicAuthUser": user,
                    "jsonData": {"timeInterval": scrape_interval},
                    "secureJsonData": {"basicAuthPassword": password},  # Grafana stores it encrypted
                }
            ],
        },
        sort_keys=False,
    )


def dashboard_provisioning(directory: str = DASHBOARDS_DIR) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "novaops",
                    "orgId": 1,
                    "folder": FOLDER,
                    "type": "file",
                    "disableDeletion": True,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 60,
                    "options": {"path": directory, "foldersFromFilesStructure": False},
                }
            ],
        },
        sort_keys=False,
    )
