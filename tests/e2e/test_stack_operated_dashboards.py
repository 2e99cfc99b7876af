"""Every panel query of every generated dashboard, run against the live Prometheus of the
operated e2e stack: each must parse and return at least one series, with the dashboard's
template variables filled in as Grafana fills them (each catalog value alone, and "All").

Grafana itself cannot run here, so its part is emulated: $__rate_interval is what Grafana
computes for the provisioned datasource (four scrape intervals), and the query runs as a
range query over the last 30 minutes, as a panel does.

Runs on the operated stack (backup metrics and recording rules come from Ansible), after
test_stack_operated.py and sharing its session-wide `converged`; or, with NOVAOPS_E2E_REUSE=1,
on an already running and configured stack (see conftest.py). 420 queries, 10-30 s.

Panels on the prober's metrics (novaops_probe_*, novaops:probe_*) are expected to fail only
while that Prometheus has never seen novaops_probe_success at all (the prober not merged yet).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.e2e.conftest import needs_converge, stack_topology
from tools.http_json import basic_auth

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

WINDOW_S = 1800
STEP_S = 60
PROBE_METRIC = "novaops_probe_success"
PROBE_QUERY = re.compile(r"novaops(_|:)probe_")
CATALOG_VALUE = re.compile(r"^[a-z][a-z0-9-]*$")


def _grafana_builtins() -> dict[str, str]:
    from components.engines.monitoring.files import SCRAPE_INTERVAL

    scrape_s = int(SCRAPE_INTERVAL.rstrip("s"))
    # Grafana: $__rate_interval = max($__interval + scrape interval, 4 * scrape interval); $__interval is
    # at least the datasource's timeInterval (the scrape interval).
    return {"__rate_interval": f"{4 * scrape_s}s", "__interval": f"{scrape_s}s", "__range": f"{WINDOW_S}s"}


def _dashboards() -> dict[str, dict]:
    from components.dashboards import render_dashboards

    return render_dashboards(stack_topology())


DASHBOARDS = _dashboards()
PANELS = [
    (uid, panel)
    for uid, d in DASHBOARDS.items()
    for panel in [p for top in d["panels"] for p in (top, *(top.get("panels") or []))]
    if panel.get("targets")
]


def _panel_id(item: tuple[str, dict]) -> str:
    uid, panel = item
    return f"{uid}/{panel['id']}-{re.sub(r'[^a-z0-9]+', '-', panel['title'].lower()).strip('-')}"


def assignments(dashboard: dict) -> list[dict[str, str]]:
    """Variable values to try: every multi-value variable on each of its values alone (the others
    on All), plus all of them on All; formatted as Grafana's Prometheus datasource does."""
    constants, choices = {}, {}
    for var in dashboard["templating"].get("list") or []:
        if var["type"] == "constant":
            constants[var["name"]] = var["query"]
            continue
        values = [o["value"] for o in var.get("options") or []]
        assert values and all(CATALOG_VALUE.match(v) for v in values), f"{var['name']}: {values}"
        choices[var["name"]] = values
    every = {name: values[0] if len(values) == 1 else "(" + "|".join(values) + ")" for name, values in choices.items()}
    out = [{**constants, **every}]
    for name, values in choices.items():
        out += [{**constants, **every, name: value} for value in values]
    return out


def interpolate(expr: str, values: dict[str, str]) -> str:
    values = {**_grafana_builtins(), **values}

    def sub(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise AssertionError(f"${name} is not defined")
        return values[name]

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", sub, expr)


class Prometheus:
    def __init__(self, port: int, login: tuple[str, str]):
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.headers = {"Authorization": basic_auth(*login)}  # Prometheus asks for basic auth
        self.queries = 0

    def get(self, path: str, **params: str) -> dict:
        url = f"{self.base}/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=self.headers), timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # 400/422: the body says why (parse error, bad range)
            return json.loads(exc.read() or b"{}") or {"status": "error", "error": str(exc)}

    def series(self, expr: str) -> list[dict]:
        """Series a panel would draw; AssertionError naming Prometheus' error if the query fails."""
        self.queries += 1
        end = time.time()
        body = self.get("query_range", query=expr, start=f"{end - WINDOW_S:.0f}", end=f"{end:.0f}", step=str(STEP_S))
        if body.get("status") != "success":
            raise AssertionError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]


@pytest.fixture(scope="module")
def operated(request, stack):
    """The stack as Ansible left it: the session's converge (shared with test_stack_operated.py), or
    with NOVAOPS_E2E_REUSE=1 alone, the reused stack as it was configured by hand."""
    if os.environ.get("NOVAOPS_E2E_REUSE") != "1":
        request.getfixturevalue("converged")
    return stack


@pytest.fixture(scope="module")
def prometheus(operated) -> Prometheus:
    return Prometheus(int(operated.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1]), operated.monitoring_login)


@pytest.fixture(scope="module")
def prober_seen(prometheus) -> bool:
    return PROBE_METRIC in prometheus.get("label/__name__/values")["data"]


@pytest.mark.parametrize("uid,panel", PANELS, ids=[_panel_id(p) for p in PANELS])
def test_panel_queries_parse_and_return_series(prometheus, prober_seen, uid, panel):
    failures, waiting_for_prober = [], []
    for target in panel["targets"]:
        for values in assignments(DASHBOARDS[uid]):
            expr = interpolate(target["expr"], values)
            try:
                found = prometheus.series(expr)
            except AssertionError as exc:
                failures.append(f"{target['refId']} {values}: {exc}\n    {expr}")
                continue
            if found:
                continue
            if PROBE_QUERY.search(expr) and not prober_seen:
                waiting_for_prober.append(expr)
            else:
                failures.append(f"{target['refId']} {values}: no series\n    {expr}")
    assert not failures, f"{uid} panel {panel['id']} {panel['title']!r}:\n" + "\n".join(failures)
    if waiting_for_prober:
        pytest.xfail(
            f"{PROBE_METRIC} has never been in this Prometheus (prober not deployed): "
            f"{len(waiting_for_prober)} probe queries returned nothing"
        )


def test_overview_shows_every_database_service(prometheus):
    topology = stack_topology()
    members = {m.key for t in topology.tiers.values() for m in t.members}
    overview = DASHBOARDS["novaops-overview"]
    (panel,) = [p for p in overview["panels"] if p["title"] == "Service up"]
    shown = {s["metric"]["service"] for s in prometheus.series(interpolate(panel["targets"][0]["expr"], {}))}
    assert shown == members, f"missing {sorted(members - shown)}, extra {sorted(shown - members)}"
    print(f"\noverview: {len(shown)} services; {len(PANELS)} panels in {len(DASHBOARDS)} dashboards")
