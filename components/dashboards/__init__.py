"""Grafana dashboards as code, generated from the catalog with grafana-foundation-sdk.

    python -m components.dashboards --stack dev --out build/dashboards   # writes <uid>.json

The Pulumi program renders the same files into the Grafana container (components/engines/monitoring/files.py)
at every `up`, so they always match the deployed topology; nothing generated is committed.
"""

from __future__ import annotations

from components.dashboards.catalog_dashboards import dashboards
from components.dashboards.provisioning import (
    DASHBOARDS_DIR,
    dashboard_files,
    dashboard_provisioning,
    datasource_provisioning,
    render_dashboards,
)
from components.dashboards.spec import DATASOURCE_UID

__all__ = [
    "DASHBOARDS_DIR",
    "DATASOURCE_UID",
    "dashboard_files",
    "dashboard_provisioning",
    "dashboards",
    "datasource_provisioning",
    "render_dashboards",
]
