"""Operator status view: every tier and service of a running stack in one table.

    python -m tools.status [--stack dev] [--json] [--timeout 3]      (make status)

Read when it runs, nothing cached: the stack outputs (tiers, members, ports published on the
stack's address), each service's own API through those ports, and Prometheus.

  role       Patroni REST /cluster; Valkey Sentinel (SENTINEL MASTERS / REPLICAS);
             NATS /varz + /jsz (the JetStream meta leader); etcd /v3/maintenance/status
  health     the service's own API answers and reports it serving, and novaops-prober's last
             protocol-level probe (novaops_probe_success) succeeded
  probe      mean probe latency over the last minute (novaops_probe_duration_seconds)
  lag        Patroni replica lag (bytes), Valkey replica offset behind the master (Prometheus),
             etcd raft entries not yet applied
  backup     age of the tier's newest successful backup (novaops_backup_last_success_timestamp_seconds)
  alerts     alerts firing in Prometheus for the tier or service (severity info is shown but
             does not count as degraded)

Exit 0 when everything is healthy, 1 when anything is degraded (every problem is listed,
naming the service), 2 when the stack has no outputs.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

PROBE_LATENCY = ("sum by (service) (increase(novaops_probe_duration_seconds_sum[1m]))"
                 " / sum by (service) (increase(novaops_probe_duration_seconds_count[1m]))")
# Members are scraped at different moments: a replica can look ahead of its master.
VALKEY_LAG = ("clamp_min(max by (tier) (redis_master_repl_offset{job=\"valkey\"} and on (instance) "
              "redis_instance_info{job=\"valkey\", exported_role=\"master\"}) - on (tier) group_right () "
              "(redis_slave_repl_offset{job=\"valkey\"} and on (instance) "
              "redis_instance_info{job=\"valkey\", exported_role=\"slave\"}), 0)")
BACKUPS = "time() - novaops_backup_last_success_timestamp_seconds"


class Unreachable(Exception):
    """A service's or Prometheus' API did not answer usefully."""


# --------------------------------------------------------------------------- reading


class Sources:
    """Everything the status reads, behind one interface so the tests can fake it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def http_json(self, url: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except (OSError, ValueError) as exc:
            raise Unreachable(f"{url}: {exc}") from exc

    def http_status(self, url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            raise Unreachable(f"{url}: {exc}") from exc

    def sentinel(self, address: str) -> dict:
        """{"name", "master": host, "master_flags", "replicas": [{"host", "flags", "link", "offset"}]}."""
        import valkey
        host, port = address.rsplit(":", 1)
        client = valkey.Valkey(host=host, port=int(port), socket_timeout=self.timeout,
                               socket_connect_timeout=self.timeout, decode_responses=True)
        try:
            masters = client.sentinel_masters()
            if not masters:
                raise Unreachable(f"sentinel {address} monitors no master")
            name, master = next(iter(masters.items()))
            replicas = client.sentinel_slaves(name)
        except valkey.ValkeyError as exc:
            raise Unreachable(f"sentinel {address}: {exc}") from exc
        finally:
            client.close()
        return {"name": name, "master": master["ip"], "master_flags": sorted(master.get("flags", [])),
                "replicas": [{"host": r["ip"], "flags": sorted(r.get("flags", [])),
                              "link": r.get("master-link-status"), "offset": r.get("slave-repl-offset")}
                             for r in replicas]}

    def prometheus(self, base: str, query: str) -> list[dict]:
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        answer = self.http_json(url)
        if answer.get("status") != "success":
            raise Unreachable(f"prometheus query failed: {answer.get('error')}")
        return answer["data"]["result"]

    def alerts(self, base: str) -> list[dict]:
        return self.http_json(f"{base}/api/v1/alerts")["data"]["alerts"]


# --------------------------------------------------------------------------- model


@dataclass
class ServiceStatus:
    tier: str
    service: str
    container: str
    kind: str
    role: str = "?"
    api: str = "?"                     # "ok" or why the service's own API does not count as serving
    probe: float | None = None         # last novaops_probe_success (None: no result in Prometheus)
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
    problems: list[str] = field(default_factory=list)   # stack-wide (Prometheus unreachable, ...)

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
            "stack": self.stack, "healthy": self.healthy, "problems": self.all_problems(),
            "tiers": [{**{k: v for k, v in asdict(t).items() if k != "services"}, "healthy": t.healthy,
                       "services": [{**asdict(s), "healthy": s.healthy} for s in t.services]}
                      for t in self.tiers],
        }


def _url(address: str, path: str) -> str:
    return f"http://{address}{path}"


# --------------------------------------------------------------------------- per engine
# Each fills in the roles, the APIs' verdicts and the lag of a tier's services.


def _patroni(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    by_container = {s.container: s for s in tier.services}
    cluster = None
    for member in tier.services:
        try:
            health = src.http_json(_url(members[member.service]["patroni"], "/patroni"))
            member.api = "ok" if health.get("state") == "running" else f"Patroni reports PostgreSQL {health.get('state')!r}"
            if cluster is None:
                cluster = src.http_json(_url(members[member.service]["patroni"], "/cluster"))
        except Unreachable as exc:
            member.api = f"Patroni API unreachable ({exc})"
    if cluster is None:
        tier.problems.append("no member's Patroni API answers /cluster")
        return
    for m in cluster.get("members", []):
        svc = by_container.get(m.get("name"))
        if svc is None:
            continue
        svc.role = m.get("role", "?")
        if svc.role == "leader":
            tier.leader = svc.service
        else:
            lag = m.get("lag")
            svc.lag = f"{lag} B" if isinstance(lag, int) else str(lag)
            if m.get("state") != "streaming" and svc.api == "ok":
                svc.api = f"replica state {m.get('state')!r}, not streaming"
    listed = {m.get("name") for m in cluster.get("members", [])}
    for svc in tier.services:
        if svc.container not in listed:
            svc.role = "absent"
            if svc.api == "ok":
                svc.api = "not a member of the Patroni cluster"
    if tier.leader is None:
        tier.problems.append("no Patroni leader")


def _valkey(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    views = {}
    for member in tier.services:
        try:
            views[member.service] = src.sentinel(members[member.service]["sentinel"])
        except Unreachable as exc:
            member.api = f"Sentinel unreachable ({exc})"
    if not views:
        tier.problems.append("no Sentinel answers")
        return
    masters = {v["master"] for v in views.values()}
    if len(masters) > 1:
        tier.problems.append(f"Sentinels disagree on the master: {', '.join(sorted(masters))}")
    view = next(iter(views.values()))
    by_container = {s.container: s for s in tier.services}
    master = by_container.get(view["master"])
    if master is not None:
        master.role = "master"
        if {"s_down", "o_down"} & set(view["master_flags"]):
            master.api = f"Sentinel flags the master {'/'.join(view['master_flags'])}"
        elif master.api == "?":
            master.api = "ok"
        tier.leader = master.service
    else:
        tier.problems.append(f"Sentinel's master {view['master']!r} is not a member")
    for r in view["replicas"]:
        svc = by_container.get(r["host"])
        if svc is None:
            continue
        svc.role = "replica"
        down = {"s_down", "o_down", "disconnected"} & set(r["flags"])
        if down:
            svc.api = f"Sentinel flags it {'/'.join(sorted(down))}"
        elif r["link"] != "ok":
            svc.api = f"replication link {r['link']}"
        elif svc.api == "?":
            svc.api = "ok"
    for svc in tier.services:
        if svc.api == "?":
            svc.api = "not known to Sentinel"


def _nats(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    leaders = set()
    for svc in tier.services:
        monitor = members[svc.service]["monitor"]
        try:
            varz = src.http_json(_url(monitor, "/varz"))
            jsz = src.http_json(_url(monitor, "/jsz"))
            health = src.http_json(_url(monitor, "/healthz?js-enabled-only=true"))
        except Unreachable as exc:
            svc.api = f"monitor API unreachable ({exc})"
            continue
        leader = (jsz.get("meta_cluster") or {}).get("leader")
        if leader:
            leaders.add(leader)
        svc.role = "leader" if leader and leader == varz.get("server_name") else "follower"
        svc.api = "ok" if health.get("status") == "ok" else f"healthz: {health.get('error') or health.get('status')}"
    if not leaders:
        tier.problems.append("no JetStream meta leader")
    elif len(leaders) > 1:
        tier.problems.append(f"members disagree on the JetStream meta leader: {', '.join(sorted(leaders))}")
    else:
        leader = next(iter(leaders))
        tier.leader = next((s.service for s in tier.services if s.container == leader), leader)


def _etcd(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    statuses = {}
    for svc in tier.services:
        try:
            statuses[svc.service] = src.http_json(_url(members[svc.service]["client"], "/v3/maintenance/status"), {})
            svc.api = "ok"
        except Unreachable as exc:
            svc.api = f"etcd API unreachable ({exc})"
    leader_id = {s.get("leader") for s in statuses.values()} - {None, "0"}
    if len(leader_id) != 1:
        tier.problems.append("no etcd leader" if not leader_id else "members disagree on the etcd leader")
        return
    (lid,) = leader_id
    leader_index = next((int(s.get("raftIndex", 0)) for s in statuses.values() if s["header"]["member_id"] == lid), None)
    for svc in tier.services:
        status = statuses.get(svc.service)
        if status is None:
            continue
        svc.role = "leader" if status["header"]["member_id"] == lid else "follower"
        if svc.role == "leader":
            tier.leader = svc.service
        if leader_index is not None:
            svc.lag = f"{max(leader_index - int(status.get('raftAppliedIndex', 0)), 0)} entries"
        if status.get("errors"):
            svc.api = "; ".join(status["errors"])


ENGINES: dict[str, Callable[[Sources, TierStatus, dict[str, dict]], None]] = {
    "patroni": _patroni, "valkey": _valkey, "nats": _nats, "etcd": _etcd,
}


def _router(src: Sources, tier: str, router: dict) -> ServiceStatus:
    svc = ServiceStatus(tier=tier, service=f"{tier}-router", container=router["container"], kind="pg-router",
                        role="router")
    try:
        status = src.http_status(_url(router["stats"], "/metrics"))
        svc.api = "ok" if status == 200 else f"HAProxy stats answered HTTP {status}"
    except Unreachable as exc:
        svc.api = f"HAProxy stats unreachable ({exc})"
    return svc


# --------------------------------------------------------------------------- assembling


def collect(outputs: dict, src: Sources) -> Report:
    report = Report(stack=outputs.get("stack", "?"), tiers=[])
    tiers_out: dict[str, dict] = outputs.get("tiers") or {}
    for key, t in sorted(tiers_out.items(), key=lambda kv: (kv[1].get("number", 0), kv[0])):
        tier = TierStatus(tier=key, engine=t["engine"])
        tier.services = [ServiceStatus(tier=key, service=m, container=v["container"], kind=t["engine"])
                         for m, v in t["members"].items()]
        report.tiers.append(tier)

    def one_tier(tier: TierStatus) -> None:
        out = tiers_out[tier.tier]
        engine = ENGINES.get(tier.engine)
        if engine is None:
            tier.problems.append(f"unknown engine {tier.engine!r}")
        else:
            engine(src, tier, out["members"])
        if "router" in out and "stats" in out["router"]:
            tier.services.append(_router(src, tier.tier, out["router"]))

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(report.tiers) + 1) as pool:
        futures = [pool.submit(one_tier, t) for t in report.tiers]
        prom = pool.submit(_from_prometheus, src, outputs)
        for f in futures:
            f.result()
        metrics, problems = prom.result()
    report.problems += problems
    _merge(report, metrics)
    return report


def _from_prometheus(src: Sources, outputs: dict) -> tuple[dict, list[str]]:
    base = (outputs.get("monitoring") or {}).get("prometheus")
    if not base:
        return {}, ["the stack publishes no Prometheus address"]
    out: dict[str, Any] = {}
    try:
        out["probe"] = {r["metric"].get("service"): float(r["value"][1])
                        for r in src.prometheus(base, "novaops_probe_success")}
        out["latency"] = {r["metric"].get("service"): float(r["value"][1])
                          for r in src.prometheus(base, PROBE_LATENCY)}
        out["valkey_lag"] = {r["metric"].get("service"): float(r["value"][1]) for r in src.prometheus(base, VALKEY_LAG)}
        out["backups"] = [(r["metric"].get("target"), float(r["value"][1])) for r in src.prometheus(base, BACKUPS)]
        out["alerts"] = [a for a in src.alerts(base) if a.get("state") == "firing"]
    except Unreachable as exc:
        return out, [f"Prometheus unreachable: {exc}"]
    return out, []


def _merge(report: Report, metrics: dict) -> None:
    probe, latency = metrics.get("probe"), metrics.get("latency", {})
    for tier in report.tiers:
        members = {s.service for s in tier.services}
        # JetStream backups are per stream: target "<tier>:<stream>".
        ages = [age for target, age in metrics.get("backups", [])
                if target == tier.tier or target in members or (target or "").startswith(f"{tier.tier}:")]
        tier.backup_age_s = min(ages) if ages else None
        degrading: set[str] = set()   # info alerts (baseline anomalies) are shown, not counted as degraded
        for alert in metrics.get("alerts", []):
            labels = alert.get("labels", {})
            name = labels.get("alertname", "?")
            if labels.get("severity") != "info":
                degrading.add(name)
            if labels.get("service") in members and labels.get("service") != tier.tier:
                next(s for s in tier.services if s.service == labels["service"]).alerts.append(name)
            elif labels.get("tier") == tier.tier:
                tier.alerts.append(name)
        for name in sorted(set(tier.alerts) & degrading):
            tier.problems.append(f"alert {name} firing")
        for svc in tier.services:
            if svc.kind in ENGINES:
                if probe is not None:
                    svc.probe = probe.get(svc.service)
                svc.probe_latency_ms = latency[svc.service] * 1000 if latency.get(svc.service) is not None else None
                if svc.kind == "valkey" and svc.role == "replica" and svc.service in metrics.get("valkey_lag", {}):
                    svc.lag = f"{metrics['valkey_lag'][svc.service]:.0f} B"
            if svc.api != "ok":
                svc.problems.append(svc.api)
            if svc.kind in ENGINES and probe is not None:
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
        rows.append((f"{t.tier} ({t.engine})", f"leader {t.leader or 'NONE'}",
                     "ok" if t.healthy else "DEGRADED", f"{up}/{len(t.services)} ok", "", _age(t.backup_age_s),
                     ",".join(sorted(set(t.alerts))) or "-"))
        for s in t.services:
            latency = f"{s.probe_latency_ms:.1f} ms" if s.probe_latency_ms is not None else "-"
            rows.append((f"  {s.service}", s.role, "ok" if s.healthy else "DOWN", latency, s.lag, "",
                         ",".join(sorted(set(s.alerts))) or "-"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
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
    """The stack's outputs without its secrets: none of them is needed here."""
    from tools import stackctl
    if stackctl.pulumi_cli():
        return json.loads(stackctl.pulumi("stack", "output", "--json", "--stack", stack, capture=True))
    from tools.realizer import load_outputs
    return load_outputs(str(stackctl.ROOT), stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "dev"))
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per request (default 3)")
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(args.stack)
    except Exception as exc:  # noqa: BLE001 - the realizer or pulumi names the cause
        print(f"status: no outputs for stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    report = collect(outputs, Sources(args.timeout))
    if args.json:
        print(json.dumps({**report.to_json(), "seconds": round(time.monotonic() - started, 2)}, indent=2))
    else:
        print(render_table(report))
    return 0 if report.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
