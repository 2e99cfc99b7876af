"""The NovaOps dashboards, derived from the topology (catalog + stack config).

One dashboard per tier (its engine's panels; the tier is a hidden constant variable, so
tiers of one engine share every panel definition), an overview of every database service,
the division hosts, the backups and the SLOs. This module only assembles: what an engine
shows comes from its package (components/engines/<package>/dashboards.py, built with
components/dashboards/panels.py), every name and path from the topology.

Label conventions come from the scrape config (components/engines/monitoring/files.py): every target
carries job (the kind, or the job its scrape names), tier, service, group, role, instance.
Recording rules used here are defined by ansible/roles/prometheus_alerts: novaops:member_up
(availability rules) and the prober's SLO rules novaops:probe_success:ratio_rate<window> and
novaops:probe_latency_under_100ms:ratio_rate<window> (by tier).
"""

from __future__ import annotations

from collections import Counter
from types import ModuleType

from components.dashboards.panels import TIER, Backups, job_matcher, rate_per_service
from components.dashboards.spec import UP_DOWN, Dashboard, Panel, Query, Row, Text, Variable, q
from components.engines import home, part
from components.kinds import Kind
from components.model import Service, Tier, Topology

TAG = "novaops"
# The objectives of every tier (ansible/roles/prometheus_alerts/files/rules/novaops-slo.yml):
# 99.9 % of probes succeed; 99 % of probes answer within 100 ms.
SLO_AVAILABILITY = 0.999
SLO_LATENCY_S = 0.1
SLO_LATENCY_SHARE = 0.99
# Backups run at least daily; the BackupStale alert fires after 26 h.
BACKUP_STALE_S = 26 * 3600


def tier_uid(tier_key: str) -> str:
    return f"novaops-tier-{tier_key}"


def tiers_by_number(topology: Topology) -> list[Tier]:
    return sorted(topology.tiers.values(), key=lambda t: t.number)


# --------------------------------------------------------------------------- engines and kinds


def engine_part(kind: Kind) -> ModuleType:
    """The dashboard part of ``kind``'s engine package (components.engines.INTERFACE "dashboards")."""
    try:
        return part(kind.name, "dashboards")
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"no dashboard panels for engine {kind.name!r} (components/engines/{home(kind.name)}/dashboards.py: {exc})"
        ) from exc


def engines(topology: Topology) -> list[Kind]:
    """The topology's database engines, for texts that name each once: the one with most tiers first,
    ties in the topology's order."""
    by_name = {t.engine.name: t.engine for t in topology.tiers.values()}
    tiers = Counter(t.engine.name for t in topology.tiers.values())
    return sorted(by_name.values(), key=lambda k: -tiers[k.name])


def only_kind(services: list[Service], what: str) -> Kind:
    """The one kind of ``services`` (the division hosts, the backup host)."""
    kinds = {s.kind.name: s.kind for s in services}
    if len(kinds) != 1:
        raise ValueError(f"{what}: expected services of one kind, found {', '.join(kinds) or 'none'}")
    return next(iter(kinds.values()))


def listing(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c" """
    return " and ".join(filter(None, (", ".join(items[:-1]), *items[-1:])))


def _backup_target(tiers: str) -> str:
    """Matcher of the backup targets of ``tiers`` (a regex of tier keys): an engine backed up in
    parts (one job per stream) names each target <tier>:<part>."""
    return f'target=~"{tiers}(:.+)?"'


def _backup_success(tiers: str) -> str:
    # 0 means "no success yet" (novaops-backup-job): not a timestamp.
    return f"(novaops_backup_last_success_timestamp_seconds{{{_backup_target(tiers)}}} > 0)"


def member_availability(selector: str, window: str) -> Query:
    """Share of member-time up per tier (novaops:member_up, the availability rules)."""
    return q(f"avg by (tier) (avg_over_time(novaops:member_up{{{selector}}}[{window}]))", "{{tier}} " + window)


def _member_row(tier: Tier) -> Row:
    """What every tier shows first, whatever its engine."""
    members = len(tier.members)
    quorum = members // 2 + 1
    return Row(
        "Members",
        (
            Panel(
                "Members up",
                (q('novaops:member_up{tier="$tier"}', "{{service}}"),),
                viz="state-timeline",
                mappings=UP_DOWN,
                width=12,
                description="novaops:member_up (alerting rules): the engine's own health, not only the scrape.",
            ),
            Panel(
                "Members up now",
                (q('sum(novaops:member_up{tier="$tier"})', "up"),),
                viz="stat",
                width=4,
                thresholds=((None, "red"), (quorum, "orange"), (members, "green")),
                description=f"{members} declared; a majority is {quorum}.",
            ),
            Panel(
                "Member availability (1 h)",
                (member_availability('tier="$tier"', "1h"),),
                viz="stat",
                unit="percentunit",
                width=4,
                thresholds=((None, "red"), (SLO_AVAILABILITY, "green")),
                description="Share of member-time up over the last hour.",
            ),
            Panel(
                "Last successful backup",
                (q(f"time() - min by (tool) (max by (tool, target) ({_backup_success(TIER)}))", "{{tool}}"),),
                viz="stat",
                unit="s",
                width=4,
                thresholds=((None, "green"), (BACKUP_STALE_S, "red")),
                description="Age of the oldest of the tier's backup targets (a tier may have several: one per stream).",
            ),
        ),
    )


def tier_dashboard(topology: Topology, tier: Tier) -> Dashboard:
    try:
        engine_rows = engine_part(tier.engine).rows(tier)
    except ValueError as exc:
        raise ValueError(f"tier {tier.key}: {exc}") from exc
    members = ", ".join(m.key for m in tier.members)
    return Dashboard(
        uid=tier_uid(tier.key),
        title=f"NovaOps / Tier {tier.number} {tier.key} ({tier.engine.name})",
        description=f"Tier {tier.number} {tier.key}: {tier.purpose}. Members: {members}.",
        tags=(TAG, "novaops-tier", tier.engine.name),
        variables=(Variable("tier", "Tier", (tier.key,), constant=True),),
        rows=(_member_row(tier), *engine_rows),
    )


# --------------------------------------------------------------------------- overview


def _leader_expr(topology: Topology) -> str:
    """Members that lead their tier, per tier, for the engines the topology has."""
    return " or ".join(engine_part(k).leader_expr(k) for k in sorted(engines(topology), key=lambda k: k.name))


def _leaders_text(topology: Topology) -> str:
    """What the leaders panel counts, engine by engine: "A primaries, B masters; C: a leader exists." """
    leaders = [engine_part(k).LEADERS for k in engines(topology)]
    counted = ", ".join(n.what for n in leaders if n.counted)
    return "; ".join(filter(None, (counted, *(n.what for n in leaders if not n.counted)))) + "."


def _routers_panels(topology: Topology) -> tuple[Panel, ...]:
    jobs = sorted({t.router.kind.name for t in topology.tiers.values() if t.router is not None})
    if not jobs:
        return ()
    return (
        Panel(
            "Routers up",
            (q(f"up{{{job_matcher(jobs)}}}", "{{tier}}"),),
            viz="state-timeline",
            mappings=UP_DOWN,
            width=12,
        ),
    )


def overview_dashboard(topology: Topology) -> Dashboard:
    services = [m for t in topology.tiers.values() for m in t.members]
    tier_lines = "\n".join(
        f"| {t.number} | [{t.key}](/d/{tier_uid(t.key)}) | {t.engine.name} | {t.purpose} | {len(t.members)} |"
        for t in tiers_by_number(topology)
    )
    return Dashboard(
        uid="novaops-overview",
        title="NovaOps / Overview",
        description=f"All {len(services)} database services of the {len(topology.tiers)} tiers.",
        tags=(TAG,),
        rows=(
            Row(
                "Tiers",
                (
                    Text(
                        "Tiers (from the catalog)",
                        "| # | tier | engine | purpose | members |\n|---|---|---|---|---|\n" + tier_lines,
                        width=12,
                        height=9,
                    ),
                    Panel(
                        "Members up per tier",
                        (q("sum by (tier) (novaops:member_up)", "{{tier}}"),),
                        viz="stat",
                        width=12,
                        height=9,
                        description="Compare with the members column.",
                    ),
                ),
            ),
            Row(
                f"All {len(services)} services",
                (
                    Panel(
                        "Service up",
                        (q("novaops:member_up", "{{tier}} / {{service}}"),),
                        viz="state-timeline",
                        mappings=UP_DOWN,
                        width=24,
                        height=16,
                    ),
                    Panel(
                        "Leaders per tier (expect 1)",
                        (q(_leader_expr(topology), "{{tier}}"),),
                        viz="stat",
                        width=12,
                        thresholds=((None, "red"), (1, "green"), (2, "red")),
                        description=_leaders_text(topology),
                    ),
                    Panel(
                        "Member availability (1 h)",
                        (member_availability("", "1h"),),
                        viz="stat",
                        unit="percentunit",
                        width=12,
                        thresholds=((None, "red"), (SLO_AVAILABILITY, "green")),
                    ),
                    *_routers_panels(topology),
                    Panel(
                        "Scrape targets up per job",
                        (q("sum by (job) (up) / count by (job) (up)", "{{job}}"),),
                        viz="stat",
                        unit="percentunit",
                        width=12,
                        thresholds=((None, "red"), (1, "green")),
                    ),
                    Panel(
                        "Age of the last successful backup per target",
                        (
                            q(
                                "time() - max by (target) (novaops_backup_last_success_timestamp_seconds > 0)",
                                "{{target}}",
                            ),
                        ),
                        viz="stat",
                        unit="s",
                        width=24,
                        thresholds=((None, "green"), (BACKUP_STALE_S, "red")),
                    ),
                ),
            ),
        ),
    )


# --------------------------------------------------------------------------- division hosts


def divisions_dashboard(topology: Topology) -> Dashboard:
    host = only_kind([d.service for d in topology.divisions.values()], "division hosts")
    sel = f'job="{host.name}", service=~"$division"'
    table = "\n".join(f"| {d.key} | {d.title} | {', '.join(d.uses)} |" for d in topology.divisions.values())
    uses = tuple(
        Panel(
            f"{d.title}: members up of the tiers it uses",
            (q(f'sum by (tier) (novaops:member_up{{tier=~"{"|".join(d.uses)}"}})', "{{tier}}"),),
            viz="stat",
            width=12,
            height=5,
        )
        for d in topology.divisions.values()
    )
    return Dashboard(
        uid="novaops-divisions",
        title="NovaOps / Division hosts",
        description=f"The {len(topology.divisions)} division hosts: node exporter inside each host, and the tiers each "
        "division uses.",
        tags=(TAG, "hosts"),
        variables=(Variable("division", "Division", tuple(topology.divisions)),),
        rows=(
            Row(
                "Hosts",
                (
                    Text(
                        "Divisions (from the catalog)",
                        "| host | division | uses tiers |\n|---|---|---|\n" + table,
                        width=12,
                        height=8,
                    ),
                    Panel(
                        "Node exporter up",
                        (q(f"up{{{sel}}}", "{{service}}"),),
                        viz="state-timeline",
                        mappings=UP_DOWN,
                        width=12,
                        height=8,
                    ),
                    Panel(
                        "Data volume free",
                        (q(f'node_filesystem_avail_bytes{{{sel}, mountpoint="{host.data_path}"}}', "{{service}}"),),
                        unit="bytes",
                        description=f"{host.data_path}: the host's data volume.",
                    ),
                    Panel(
                        "TCP connections established",
                        (q(f"node_netstat_Tcp_CurrEstab{{{sel}}}", "{{service}}"),),
                        description="Per host (network namespace): SSH sessions and database clients.",
                    ),
                    Panel(
                        "Network traffic",
                        (
                            rate_per_service("node_network_receive_bytes_total", f'{sel}, device!="lo"', "in"),
                            rate_per_service("node_network_transmit_bytes_total", f'{sel}, device!="lo"', "out"),
                        ),
                        unit="Bps",
                    ),
                    Panel(
                        "Load average (docker host)",
                        (q(f"node_load1{{{sel}}}", "{{service}}"),),
                        description="Containers share the kernel: this is the docker host's load, "
                        "the same for every host.",
                    ),
                ),
            ),
            Row("Tiers each division uses", uses),
        ),
    )


# --------------------------------------------------------------------------- backups


def _backup_tools_text(backups: list[Backups]) -> str:
    """ "tool-a (what it keeps) and tool-b (what, it, keeps)" """
    keeps: dict[str, list[str]] = {}
    for b in backups:
        keeps.setdefault(b.tool, []).append(b.keeps)
    return listing([f"{tool} ({', '.join(what)})" for tool, what in keeps.items()])


def backups_dashboard(topology: Topology) -> Dashboard:
    kind = only_kind([topology.backup], "backup host")
    host = f'job="{kind.name}"'
    target = _backup_target(TIER)
    backups = [engine_part(k).BACKUPS for k in engines(topology)]
    checkers = listing(sorted({b.tool for b in backups}))
    return Dashboard(
        uid="novaops-backups",
        title="NovaOps / Backups",
        description=f"{_backup_tools_text(backups)} jobs on the backup host: "
        "novaops_backup_* textfile metrics (labels tool, target = tier, type).",
        tags=(TAG, "backup"),
        variables=(Variable("tier", "Tier", tuple(t.key for t in tiers_by_number(topology))),),
        rows=(
            Row(
                "Last backup per tier",
                (
                    Panel(
                        "Age of the last successful backup",
                        (q(f"time() - max by (target, tool) ({_backup_success(TIER)})", "{{target}} {{tool}}"),),
                        viz="stat",
                        unit="s",
                        width=24,
                        height=6,
                        thresholds=((None, "green"), (BACKUP_STALE_S, "red")),
                        description="Any backup type; red after 26 h (the BackupStale alert).",
                    ),
                    Panel(
                        "Size of the last backup",
                        (
                            q(
                                f"max by (target, tool, type) (novaops_backup_last_size_bytes{{{target}}})",
                                "{{target}} {{tool}} {{type}}",
                            ),
                        ),
                        viz="stat",
                        unit="bytes",
                        width=24,
                        height=6,
                    ),
                    Panel(
                        "Result of the last run",
                        (
                            q(
                                f"min by (target, tool, type) (novaops_backup_last_status{{{target}}})",
                                "{{target}} {{tool}} {{type}}",
                            ),
                        ),
                        viz="state-timeline",
                        mappings={"1": ("ok", "green"), "0": ("failed", "red")},
                        width=24,
                        height=10,
                    ),
                ),
            ),
            Row(
                "Repository checks (every repository, whatever the tier)",
                (
                    Panel(
                        "Result of the last check",
                        (
                            q(
                                "min by (target, tool, check) (novaops_backup_check_last_status)",
                                "{{target}} {{tool}} {{check}}",
                            ),
                        ),
                        viz="state-timeline",
                        mappings={"1": ("ok", "green"), "0": ("failed", "red")},
                        width=12,
                        description=f"Each tool checks its repositories ({checkers}); target = the tier checked.",
                    ),
                    Panel(
                        "Age of the last successful check",
                        (
                            q(
                                "time() - max by (target, tool, check)"
                                " (novaops_backup_check_last_success_timestamp_seconds > 0)",
                                "{{target}} {{tool}} {{check}}",
                            ),
                        ),
                        viz="stat",
                        unit="s",
                        width=12,
                        thresholds=((None, "green"), (8 * 86400, "red")),
                    ),
                ),
            ),
            Row(
                "Backup host",
                (
                    Panel(
                        "Repository volume free",
                        (
                            q(f'node_filesystem_avail_bytes{{{host}, mountpoint="{kind.data_path}"}}', "free"),
                            q(f'node_filesystem_size_bytes{{{host}, mountpoint="{kind.data_path}"}}', "size"),
                        ),
                        unit="bytes",
                    ),
                    Panel(
                        "Backup host up", (q(f"up{{{host}}}", "{{service}}"),), viz="state-timeline", mappings=UP_DOWN
                    ),
                    *(p for b in backups for p in b.panels),
                ),
            ),
        ),
    )


# --------------------------------------------------------------------------- SLOs


def slo_dashboard(topology: Topology) -> Dashboard:
    budget = round(1 - SLO_AVAILABILITY, 6)
    latency_budget = round(1 - SLO_LATENCY_SHARE, 6)
    sel = 'tier=~"$tier"'

    latency = "novaops:probe_latency_under_100ms"

    def ratio(rule: str, window: str) -> Query:
        return q(f"{rule}:ratio_rate{window}{{{sel}}}", "{{tier}} " + window)

    def probe_quantile(quantile: float, legend: str) -> Query:
        return q(
            f"histogram_quantile({quantile}, sum by (tier, le) "
            f"(rate(novaops_probe_duration_seconds_bucket{{{sel}}}[$__rate_interval])))",
            "{{tier}} " + legend,
        )

    return Dashboard(
        uid="novaops-slo",
        title="NovaOps / SLOs",
        description=f"Objectives per tier, measured by the prober: {SLO_AVAILABILITY:.1%} of probes succeed "
        f"(error budget {budget}); {SLO_LATENCY_SHARE:.0%} answer within {int(SLO_LATENCY_S * 1000)} ms "
        f"(error budget {latency_budget}).",
        tags=(TAG, "slo"),
        variables=(Variable("tier", "Tier", tuple(t.key for t in tiers_by_number(topology))),),
        rows=(
            Row(
                "Availability (protocol probes)",
                (
                    Panel(
                        "Probe success ratio",
                        tuple(ratio("novaops:probe_success", w) for w in ("5m", "1h")),
                        unit="percentunit",
                        width=12,
                        max=1,
                    ),
                    Panel(
                        "Availability over 6 h",
                        (ratio("novaops:probe_success", "6h"),),
                        viz="stat",
                        unit="percentunit",
                        width=6,
                        thresholds=((None, "red"), (SLO_AVAILABILITY, "green")),
                    ),
                    Panel(
                        "Error budget left (6 h window)",
                        (q(f"1 - (1 - novaops:probe_success:ratio_rate6h{{{sel}}}) / {budget}", "{{tier}}"),),
                        viz="stat",
                        unit="percentunit",
                        width=6,
                        thresholds=((None, "red"), (0.25, "orange"), (0.5, "green")),
                    ),
                    Panel(
                        "Burn rate (1 h and 5 m)",
                        (
                            q(f"(1 - novaops:probe_success:ratio_rate1h{{{sel}}}) / {budget}", "{{tier}} 1h"),
                            q(f"(1 - novaops:probe_success:ratio_rate5m{{{sel}}}) / {budget}", "{{tier}} 5m"),
                        ),
                        width=12,
                        description="14.4 over both windows pages (2 % of a 30-day budget per hour).",
                    ),
                    Panel(
                        "Probe result per service",
                        (q(f"novaops_probe_success{{{sel}}}", "{{tier}} / {{service}}"),),
                        viz="state-timeline",
                        mappings={"1": ("ok", "green"), "0": ("failed", "red")},
                        width=12,
                    ),
                ),
            ),
            Row(
                f"Latency (probes under {int(SLO_LATENCY_S * 1000)} ms)",
                (
                    Panel(
                        f"Share of probes under {int(SLO_LATENCY_S * 1000)} ms",
                        tuple(ratio(latency, w) for w in ("5m", "1h")),
                        unit="percentunit",
                        width=8,
                        max=1,
                        thresholds=((None, "red"), (SLO_LATENCY_SHARE, "green")),
                    ),
                    Panel(
                        "Latency burn rate (1 h and 5 m)",
                        (
                            q(f"(1 - {latency}:ratio_rate1h{{{sel}}}) / {latency_budget}", "{{tier}} 1h"),
                            q(f"(1 - {latency}:ratio_rate5m{{{sel}}}) / {latency_budget}", "{{tier}} 5m"),
                        ),
                        width=8,
                    ),
                    Panel(
                        "Probe latency p50 / p99",
                        (
                            probe_quantile(0.5, "p50"),
                            probe_quantile(0.99, "p99"),
                        ),
                        unit="s",
                        width=8,
                    ),
                ),
            ),
            Row(
                "Member availability (the engines' own health: novaops:member_up)",
                (
                    Panel(
                        "Member availability",
                        tuple(member_availability(sel, w) for w in ("5m", "1h", "6h")),
                        unit="percentunit",
                        width=12,
                        max=1,
                    ),
                    Panel(
                        "Member-time down, as burn rate of the availability budget (1 h)",
                        (
                            q(
                                f"(1 - avg by (tier) (avg_over_time(novaops:member_up{{{sel}}}[1h]))) / {budget}",
                                "{{tier}}",
                            ),
                        ),
                        width=12,
                        thresholds=((None, "green"), (6, "orange"), (14.4, "red")),
                    ),
                ),
            ),
        ),
    )


def dashboards(topology: Topology) -> list[Dashboard]:
    """Every NovaOps dashboard for ``topology``: one per tier, overview, division hosts, backups, SLOs."""
    return [
        *(tier_dashboard(topology, t) for t in tiers_by_number(topology)),
        overview_dashboard(topology),
        divisions_dashboard(topology),
        backups_dashboard(topology),
        slo_dashboard(topology),
    ]
