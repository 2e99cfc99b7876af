"""Operator status view: every tier and service of a running stack in one table.

    python -m tools.status [--stack dev] [--json] [--timeout 3]      (make status)

Read when it runs, nothing cached: the stack outputs (tiers, members, ports published on the
stack's address), each service's own API through those ports, and Prometheus.

  role       each engine's own API, read by its status part (components/engines/<package>/status.py,
             found through the tier's engine kind; a tier's router through the engine kind's router)
  health     the service's own API answers and reports it serving, and novaops-prober's last
             protocol-level probe (novaops_probe_success) succeeded
  probe      mean probe latency over the last minute (PROBE_LATENCY)
  lag        from the engine's API where it tells (e.g. bytes or raft entries behind the leader),
             otherwise the replica's replication lag recorded in Prometheus (LAG)
  backup     age of the tier's newest successful backup (BACKUP_AGE)
  alerts     alerts firing in Prometheus for the tier or service (severity info is shown but
             does not count as degraded)

The Prometheus columns read recording rules (ansible/roles/prometheus_alerts/files/rules), the
same ones the alerts and dashboards read, not PromQL of their own. The prometheus_alerts role
loads them (make configure): before it, probe, lag from Prometheus and backup show "-".

Exit 0 when everything is healthy, 1 when anything is degraded (every problem is listed,
naming the service), 2 when the stack has no outputs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from components import engines
from tools.http_json import http_json
from tools.novaload.endpoints import monitoring_login

# Prometheus series read, all recorded by the prometheus_alerts role's rules but the prober's own.
PROBE_SUCCESS = "novaops_probe_success"  # the last probe, per service
PROBE_LATENCY = "service:novaops_probe_duration_seconds:mean1m"  # novaops-slo.yml
LAG = "service:novaops_replication_lag:bytes"  # novaops-baselines.yml, replicas only
BACKUP_AGE = "novaops:backup_age:seconds"  # novaops-backup.yml, per tool and target


class Unreachable(Exception):
    """A service's or Prometheus' API did not answer usefully."""


# --------------------------------------------------------------------------- reading


class Sources:
    """Everything the status reads, behind one interface so the tests can fake it."""

    def __init__(
        self, timeout: float, login: tuple[str, str] | None = None, secrets: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.timeout = timeout
        self.login = login  # the operator's (user, password) for Prometheus' basic auth
        self.secrets = secrets or {}  # tier -> secret name -> value (the stack's tierSecrets)

    def secret(self, tier: str, name: str) -> str | None:
        return self.secrets.get(tier, {}).get(name)

    def http_json(self, url: str, body: dict | None = None, auth: tuple[str, str] | None = None) -> Any:
        try:
            answer = http_json(url, body, timeout=self.timeout, auth=auth)
        except (OSError, ValueError) as exc:
            raise Unreachable(f"{url}: {exc}") from exc
        if answer is None:
            raise Unreachable(f"{url}: empty answer")
        return answer

    def http_status(self, url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            raise Unreachable(f"{url}: {exc}") from exc

    def native(self, kind: str, address: str, password: str | None = None) -> Any:
        """The answer of a service that speaks no HTTP: its engine's status.query(address, timeout, password)."""
        return engines.part(kind, "status").query(address, self.timeout, password)

    def prometheus(self, base: str, query: str) -> list[dict]:
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        answer = self.http_json(url, auth=self.login)
        if answer.get("status") != "success":
            raise Unreachable(f"prometheus query failed: {answer.get('error')}")
        return answer["data"]["result"]

    def alerts(self, base: str) -> list[dict]:
        return self.http_json(f"{base}/api/v1/alerts", auth=self.login)["data"]["alerts"]


# --------------------------------------------------------------------------- model


@dataclass
class ServiceStatus:
    tier: str
    service: str
    container: str
    kind: str
    role: str = "?"
    api: str = "?"  # "ok" or why the service's own API does not count as serving
    probe: float | None = None  # last novaops_probe_success (None: no result in Prometheus)
    probe_latency_ms: float | None = None
    lag: str = "-"
    alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class TierStatus:
    tier: str
    engine: str
    leader: str | None = None
    backup_age_s: float | None = None
    alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    services: list[ServiceStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems and all(s.healthy for s in self.services)


@dataclass
class Report:
    stack: str
    tiers: list[TierStatus]
    problems: list[str] = field(default_factory=list)  # stack-wide (Prometheus unreachable, ...)

    @property
    def healthy(self) -> bool:
        return not self.problems and all(t.healthy for t in self.tiers)

    def all_problems(self) -> list[str]:
        out = list(self.problems)
        for t in self.tiers:
            out += [f"{t.tier}: {p}" for p in t.problems]
            out += [f"{s.service}: {p}" for s in t.services for p in s.problems]
        return out

    def to_json(self) -> dict:
        return {
            "stack": self.stack,
            "healthy": self.healthy,
            "problems": self.all_problems(),
            "tiers": [
                {
                    **{k: v for k, v in asdict(t).items() if k != "services"},
                    "healthy": t.healthy,
                    "services": [{**asdict(s), "healthy": s.healthy} for s in t.services],
                }
                for t in self.tiers
            ],
        }


# --------------------------------------------------------------------------- assembling


def collect(outputs: dict, src: Sources) -> Report:
    report = Report(stack=outputs.get("stack", "?"), tiers=[])
    tiers_out: dict[str, dict] = outputs.get("tiers") or {}
    for key, t in sorted(tiers_out.items(), key=lambda kv: (kv[1].get("number", 0), kv[0])):
        tier = TierStatus(tier=key, engine=t["engine"])
        tier.services = [
            ServiceStatus(tier=key, service=m, container=v["container"], kind=t["engine"])
            for m, v in t["members"].items()
        ]
        report.tiers.append(tier)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(report.tiers) + 1) as pool:
        futures = [pool.submit(_read_tier, src, t, tiers_out[t.tier]) for t in report.tiers]
        prom = pool.submit(_from_prometheus, src, outputs)
        for f in futures:
            f.result()
        metrics, problems = prom.result()
    report.problems += problems
    _merge(report, metrics)
    return report


def _read_tier(src: Sources, tier: TierStatus, out: dict) -> None:
    """The tier's members through its engine's status part, then its router's, if it has one."""
    kind = engines.kinds().get(tier.engine)
    if kind is None:
        tier.problems.append(f"unknown engine {tier.engine!r}")
        return
    engines.part(kind.name, "status").read(src, tier, out["members"])
    if kind.router and "router" in out:
        engines.part(kind.router, "status").read_router(src, tier, out["router"])


def _from_prometheus(src: Sources, outputs: dict) -> tuple[dict, list[str]]:
    base = (outputs.get("monitoring") or {}).get("prometheus")
    if not base:
        return {}, ["the stack publishes no Prometheus address"]
    out: dict[str, Any] = {}
    try:
        out["probe"] = _by_service(src.prometheus(base, PROBE_SUCCESS))
        out["latency"] = _by_service(src.prometheus(base, PROBE_LATENCY))
        out["lag"] = _by_service(src.prometheus(base, LAG))
        out["backups"] = [(r["metric"].get("target"), float(r["value"][1])) for r in src.prometheus(base, BACKUP_AGE)]
        out["alerts"] = [a for a in src.alerts(base) if a.get("state") == "firing"]
    except Unreachable as exc:
        return out, [f"Prometheus unreachable: {exc}"]
    return out, []


def _by_service(result: list[dict]) -> dict[str, float]:
    return {r["metric"].get("service"): float(r["value"][1]) for r in result}


def _probed(svc: ServiceStatus) -> bool:
    """The prober checks this service's kind: a missing or failing probe result is a problem."""
    kind = engines.kinds().get(svc.kind)
    return kind is not None and kind.probe is not None


def _merge(report: Report, metrics: dict) -> None:
    for tier in report.tiers:
        tier.backup_age_s = _backup_age(tier, metrics.get("backups", []))
        degrading = _file_alerts(tier, metrics.get("alerts", []))
        for name in sorted(set(tier.alerts) & degrading):
            tier.problems.append(f"alert {name} firing")
        for svc in tier.services:
            _merge_service(svc, tier, metrics, degrading)


def _backup_age(tier: TierStatus, backups: list[tuple[str | None, float]]) -> float | None:
    """Age of the newest backup of the tier, of one of its members or of one of its parts
    (target "<tier>:<part>": a backup per stream, say)."""
    members = {s.service for s in tier.services}
    ages = [
        age
        for target, age in backups
        if target == tier.tier or target in members or (target or "").startswith(f"{tier.tier}:")
    ]
    return min(ages) if ages else None


def _file_alerts(tier: TierStatus, alerts: list[dict]) -> set[str]:
    """Files each firing alert of the tier under the tier or its service; the names that degrade
    (info alerts, baseline anomalies, are shown but do not count)."""
    members = {s.service: s for s in tier.services}
    degrading: set[str] = set()
    for alert in alerts:
        labels = alert.get("labels", {})
        name = labels.get("alertname", "?")
        if labels.get("severity") != "info":
            degrading.add(name)
        if labels.get("service") in members and labels.get("service") != tier.tier:
            members[labels["service"]].alerts.append(name)
        elif labels.get("tier") == tier.tier:
            tier.alerts.append(name)
    return degrading


def _merge_service(svc: ServiceStatus, tier: TierStatus, metrics: dict, degrading: set[str]) -> None:
    probe, latency, lag = metrics.get("probe"), metrics.get("latency", {}), metrics.get("lag", {})
    probed = _probed(svc)
    if probed:
        if probe is not None:
            svc.probe = probe.get(svc.service)
        svc.probe_latency_ms = latency[svc.service] * 1000 if latency.get(svc.service) is not None else None
    # The engine's own API tells the lag where it can (and is fresher); Prometheus otherwise.
    if svc.lag == "-" and svc.service != tier.leader and svc.service in lag:
        svc.lag = f"{lag[svc.service]:.0f} B"
    if svc.api != "ok":
        svc.problems.append(svc.api)
    if probed and probe is not None:
        if svc.probe is None:
            svc.problems.append("no probe result in Prometheus")
        elif svc.probe != 1:
            svc.problems.append("protocol probe failing")
    for name in sorted(set(svc.alerts) & degrading):
        svc.problems.append(f"alert {name} firing")


# --------------------------------------------------------------------------- printing


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def render_table(report: Report) -> str:
    header = ("TIER / SERVICE", "ROLE", "HEALTH", "PROBE", "LAG", "BACKUP", "ALERTS")
    rows: list[tuple[str, ...]] = []
    for t in report.tiers:
        up = sum(1 for s in t.services if s.healthy)
        rows.append(
            (
                f"{t.tier} ({t.engine})",
                f"leader {t.leader or 'NONE'}",
                "ok" if t.healthy else "DEGRADED",
                f"{up}/{len(t.services)} ok",
                "",
                _age(t.backup_age_s),
                ",".join(sorted(set(t.alerts))) or "-",
            )
        )
        for s in t.services:
            latency = f"{s.probe_latency_ms:.1f} ms" if s.probe_latency_ms is not None else "-"
            rows.append(
                (
                    f"  {s.service}",
                    s.role,
                    "ok" if s.healthy else "DOWN",
                    latency,
                    s.lag,
                    "",
                    ",".join(sorted(set(s.alerts))) or "-",
                )
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    problems = report.all_problems()
    if problems:
        lines.append("")
        lines.append(f"DEGRADED: {len(problems)} problem(s)")
        lines += [f"  - {p}" for p in problems]
    else:
        total = sum(len(t.services) for t in report.tiers)
        lines.append("")
        lines.append(f"healthy: {len(report.tiers)} tiers, {total} services")
    return "\n".join(lines)


def stack_outputs(stack: str) -> dict:
    """The stack's outputs with its secrets: Prometheus asks for the operator's login."""
    from tools import stackctl

    return stackctl.stack_outputs(stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "dev"))
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per request (default 3)")
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(args.stack)
    except Exception as exc:
        print(f"status: no outputs for stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    report = collect(outputs, Sources(args.timeout, monitoring_login(outputs), outputs.get("tierSecrets")))
    if args.json:
        print(json.dumps({**report.to_json(), "seconds": round(time.monotonic() - started, 2)}, indent=2))
    else:
        print(render_table(report))
    return 0 if report.healthy else 1


if __name__ == "__main__":
    # The engines' status parts import tools.status, a module apart from this __main__: run its
    # main, so that the Unreachable they catch is the one its Sources raise.
    sys.exit(importlib.import_module("tools.status").main())
