"""The NovaOps dashboards, derived from the topology (catalog + stack config).

One dashboard per tier (its engine's panels; the tier is a hidden constant variable, so
tiers of one engine share every panel definition), an overview of every database service,
the division hosts, the backups and the SLOs.

Label conventions come from the scrape config (member_files.prometheus_config): every target
carries job (the kind, or "postgres" for the exporter), tier, service, group, role, instance.
Recording rules used here are defined by ansible/roles/prometheus_alerts: novaops:member_up
(availability rules) and the prober's SLO rules novaops:probe_success:ratio_rate<window> and
novaops:probe_latency_under_100ms:ratio_rate<window> (by tier).
"""
from __future__ import annotations

from typing import Callable

from components.dashboards.spec import UP_DOWN, Dashboard, Panel, Query, Row, Text, Variable, q
from components.kinds import BACKUP_HOST, DIVISION_HOST
from components.member_files import APP_DATABASE
from components.model import Tier, Topology

TAG = "novaops"
# The objectives of every tier (ansible/roles/prometheus_alerts/files/rules/novaops-slo.yml):
# 99.9 % of probes succeed; 99 % of probes answer within 100 ms.
SLO_AVAILABILITY = 0.999
SLO_LATENCY_S = 0.1
SLO_LATENCY_SHARE = 0.99
# Backups run at least daily; the BackupStale alert fires after 26 h.
BACKUP_STALE_S = 26 * 3600
TIER = "$tier"   # the tier variable: a constant on tier dashboards, multi-value elsewhere


def tier_uid(tier_key: str) -> str:
    return f"novaops-tier-{tier_key}"


def tiers_by_number(topology: Topology) -> list[Tier]:
    return sorted(topology.tiers.values(), key=lambda t: t.number)


# --------------------------------------------------------------------------- per engine
# Every expression selects its tier with tier="$tier" (a constant variable per dashboard).


def _patroni_rows(tier: Tier) -> list[Row]:
    sel = 'job="patroni", tier="$tier"'
    pg = 'job="postgres", tier="$tier"'
    rows = [
        Row("Patroni cluster", (
            Panel("Role (1 = primary)", (q(f"patroni_primary{{{sel}}}", "{{service}}"),), viz="state-timeline",
                  mappings={"1": ("primary", "blue"), "0": ("replica", "green")}, width=12),
            Panel("Synchronous standby", (q(f"patroni_sync_standby{{{sel}}}", "{{service}}"),), viz="state-timeline",
                  mappings={"1": ("sync", "green"), "0": ("async / primary", "text")}, width=12),
            Panel("Replication lag (WAL bytes behind the primary)", (q(f"""
                max by (tier) (patroni_xlog_location{{{sel}}} and on (instance) patroni_primary{{{sel}}} == 1)
                - on (tier) group_right ()
                (patroni_xlog_replayed_location{{{sel}}} and on (instance) patroni_replica{{{sel}}} == 1)""",
                "{{service}}"),), unit="bytes"),
            Panel("Replay lag (seconds, postgres_exporter)", (q(f"pg_replication_lag_seconds{{{pg}}}", "{{service}}"),),
                  unit="s"),
            Panel("Timeline", (q(f"patroni_postgres_timeline{{{sel}}}", "{{service}}"),),
                  description="Rises by one on every promotion."),
        )),
        Row("PostgreSQL", (
            Panel("Connections by state", (q(f"sum by (service, state) (pg_stat_activity_count{{{pg}}})",
                                             "{{service}} {{state}}"),)),
            Panel("Transactions per second", (
                q(f"sum by (service) (rate(pg_stat_database_xact_commit{{{pg}}}[$__rate_interval]))", "{{service}} commit"),
                q(f"sum by (service) (rate(pg_stat_database_xact_rollback{{{pg}}}[$__rate_interval]))", "{{service}} rollback"),
            ), unit="ops"),
            Panel("Blocks read from disk vs. cache per second", (
                q(f"sum by (service) (rate(pg_stat_database_blks_read{{{pg}}}[$__rate_interval]))", "{{service}} read"),
                q(f"sum by (service) (rate(pg_stat_database_blks_hit{{{pg}}}[$__rate_interval]))", "{{service}} hit"),
            ), unit="ops"),
            Panel(f"Size of database {APP_DATABASE}", (
                q(f'pg_database_size_bytes{{{pg}, datname="{APP_DATABASE}"}}', "{{service}}"),), unit="bytes"),
            Panel("Checkpoints per second (pg_stat_checkpointer)", (
                q(f"sum by (service) (rate(pg_stat_checkpointer_num_timed_total{{{pg}}}[$__rate_interval]))", "{{service}} timed"),
                q(f"sum by (service) (rate(pg_stat_checkpointer_num_requested_total{{{pg}}}[$__rate_interval]))",
                  "{{service}} requested"),
            ), description="PostgreSQL 17 reports checkpoints in pg_stat_checkpointer; pg_stat_bgwriter lost them."),
            Panel("Checkpoint write and sync time", (
                q(f"sum by (service) (rate(pg_stat_checkpointer_write_time_total{{{pg}}}[$__rate_interval]))", "{{service}} write"),
                q(f"sum by (service) (rate(pg_stat_checkpointer_sync_time_total{{{pg}}}[$__rate_interval]))", "{{service}} sync"),
            ), unit="ms", description="Milliseconds spent per second."),
            Panel("WAL archived per second (pgBackRest archive_command)", (
                q(f"sum by (service) (rate(pg_stat_archiver_archived_count{{{pg}}}[$__rate_interval]))", "{{service}} archived"),
                q(f"sum by (service) (rate(pg_stat_archiver_failed_count{{{pg}}}[$__rate_interval]))", "{{service}} failed"),
            ), unit="ops"),
            Panel("Locks by mode", (q(f"sum by (service, mode) (pg_locks_count{{{pg}}})", "{{service}} {{mode}}"),)),
            Panel("Deadlocks and conflicts (last hour)", (
                q(f"sum by (service) (increase(pg_stat_database_deadlocks{{{pg}}}[1h]))", "{{service}} deadlocks"),
                q(f"sum by (service) (increase(pg_stat_database_conflicts{{{pg}}}[1h]))", "{{service}} conflicts"),
            )),
        )),
    ]
    if tier.router is not None:
        router = 'job="pg-router", tier="$tier"'
        endpoints = "|".join(p for p in tier.router.kind.ports if p != "stats")
        rows.append(Row("Router (HAProxy: stable primary / replica endpoints)", (
            Panel("Router up", (q(f"up{{{router}}}", "{{service}}"),), viz="state-timeline", mappings=UP_DOWN),
            Panel("Servers up behind each endpoint", (
                q(f'haproxy_backend_active_servers{{{router}, proxy=~"{endpoints}"}}', "{{proxy}}"),),
                description="primary: exactly 1 (Patroni's leader); replicas: the streaming replicas."),
            Panel("Client sessions per endpoint", (
                q(f'haproxy_frontend_current_sessions{{{router}, proxy=~"{endpoints}"}}', "{{proxy}}"),)),
        )))
    return rows


def _valkey_rows(tier: Tier) -> list[Row]:
    sel = 'job="valkey", tier="$tier"'
    return [Row("Valkey", (
        Panel("Role", (q(f"max by (service, exported_role) (redis_instance_info{{{sel}}})",
                         "{{service}} {{exported_role}}"),), viz="state-timeline",
              description="The exporter's role label is exported_role (the target's role label wins)."),
        Panel("Replicas connected to the master", (
            q(f'redis_connected_slaves{{{sel}}} and on (instance) redis_instance_info{{{sel}, exported_role="master"}}',
              "{{service}}"),), thresholds=((None, "red"), (len(tier.members) - 1, "green"))),
        Panel("Replication link up (replicas)", (q(f"redis_master_link_up{{{sel}}}", "{{service}}"),),
              viz="state-timeline", mappings=UP_DOWN),
        Panel("Replica lag seen by the master", (q(f"redis_connected_slave_lag_seconds{{{sel}}}", "{{slave_ip}}"),),
              unit="s"),
        Panel("Commands per second", (
            q(f"sum by (service) (rate(redis_commands_processed_total{{{sel}}}[$__rate_interval]))", "{{service}}"),),
              unit="ops"),
        Panel("Memory used", (q(f"redis_memory_used_bytes{{{sel}}}", "{{service}}"),), unit="bytes"),
        Panel("Connected clients", (q(f"redis_connected_clients{{{sel}}}", "{{service}}"),)),
        Panel("Keys", (q(f"sum by (service) (redis_db_keys{{{sel}}})", "{{service}}"),)),
        Panel("Keyspace hits and misses per second", (
            q(f"sum by (service) (rate(redis_keyspace_hits_total{{{sel}}}[$__rate_interval]))", "{{service}} hits"),
            q(f"sum by (service) (rate(redis_keyspace_misses_total{{{sel}}}[$__rate_interval]))", "{{service}} misses"),
        ), unit="ops"),
    ))]


def _nats_rows(tier: Tier) -> list[Row]:
    sel = 'job="nats", tier="$tier"'
    return [Row("NATS JetStream", (
        Panel("JetStream meta leader present", (q(f"nats_jetstream_meta_has_leader{{{sel}}}", "{{service}}"),),
              viz="state-timeline", mappings={"1": ("leader", "green"), "0": ("none", "red")}),
        Panel("Meta group size", (q(f"nats_jetstream_meta_cluster_size{{{sel}}}", "{{service}}"),),
              thresholds=((None, "red"), (len(tier.members), "green"))),
        Panel("Cluster routes", (q(f"nats_varz_routes{{{sel}}}", "{{service}}"),),
              description=f"Full mesh: each server routes to the {len(tier.members) - 1} others."),
        Panel("Client connections", (q(f"nats_varz_connections{{{sel}}}", "{{service}}"),)),
        Panel("Messages per second", (
            q(f"sum by (service) (rate(nats_varz_in_msgs{{{sel}}}[$__rate_interval]))", "{{service}} in"),
            q(f"sum by (service) (rate(nats_varz_out_msgs{{{sel}}}[$__rate_interval]))", "{{service}} out"),
        ), unit="ops"),
        Panel("Bytes per second", (
            q(f"sum by (service) (rate(nats_varz_in_bytes{{{sel}}}[$__rate_interval]))", "{{service}} in"),
            q(f"sum by (service) (rate(nats_varz_out_bytes{{{sel}}}[$__rate_interval]))", "{{service}} out"),
        ), unit="Bps"),
        Panel("JetStream streams and consumers", (
            q(f"nats_jetstream_streams{{{sel}}}", "{{service}} streams"),
            q(f"nats_jetstream_consumers{{{sel}}}", "{{service}} consumers")),),
        Panel("JetStream messages stored", (q(f"nats_jetstream_messages{{{sel}}}", "{{service}}"),)),
        Panel("JetStream storage used", (q(f"nats_jetstream_storage{{{sel}}}", "{{service}}"),), unit="bytes"),
        Panel("Slow consumers", (q(f"nats_varz_slow_consumers{{{sel}}}", "{{service}}"),)),
        Panel("Server memory", (q(f"nats_varz_mem{{{sel}}}", "{{service}}"),), unit="bytes"),
    ))]


def _etcd_rows(tier: Tier) -> list[Row]:
    sel = 'job="etcd", tier="$tier"'

    def p99(metric: str) -> Query:
        return q(f"histogram_quantile(0.99, sum by (service, le) (rate({metric}_bucket{{{sel}}}[$__rate_interval])))",
                 "{{service}}")
    return [Row("etcd", (
        Panel("Has a leader", (q(f"etcd_server_has_leader{{{sel}}}", "{{service}}"),), viz="state-timeline",
              mappings={"1": ("yes", "green"), "0": ("no", "red")}),
        Panel("Leader", (q(f"etcd_server_is_leader{{{sel}}}", "{{service}}"),), viz="state-timeline",
              mappings={"1": ("leader", "blue"), "0": ("follower", "green")}),
        Panel("Leader changes (last hour)", (q(f"increase(etcd_server_leader_changes_seen_total{{{sel}}}[1h])",
                                               "{{service}}"),)),
        Panel("Proposals per second", (
            q(f"rate(etcd_server_proposals_committed_total{{{sel}}}[$__rate_interval])", "{{service}} committed"),
            q(f"rate(etcd_server_proposals_failed_total{{{sel}}}[$__rate_interval])", "{{service}} failed"),
        ), unit="ops"),
        Panel("Pending proposals", (q(f"etcd_server_proposals_pending{{{sel}}}", "{{service}}"),)),
        Panel("Database size vs. quota", (
            q(f"etcd_mvcc_db_total_size_in_bytes{{{sel}}}", "{{service}} size"),
            q(f"etcd_server_quota_backend_bytes{{{sel}}}", "{{service}} quota")), unit="bytes"),
        Panel("WAL fsync p99", (p99("etcd_disk_wal_fsync_duration_seconds"),), unit="s",
              description="Patroni's leader lease depends on etcd writes: slow fsyncs delay them."),
        Panel("Backend commit p99", (p99("etcd_disk_backend_commit_duration_seconds"),), unit="s"),
        Panel("Peer round trip p99", (p99("etcd_network_peer_round_trip_time_seconds"),), unit="s"),
    ))]


ENGINE_ROWS: dict[str, Callable[[Tier], list[Row]]] = {
    "patroni": _patroni_rows, "valkey": _valkey_rows, "nats": _nats_rows, "etcd": _etcd_rows,
}


def _backup_target(tiers: str) -> str:
    """Matcher of the backup targets of ``tiers`` (a regex of tier keys): restic's JetStream jobs
    are per stream, target <tier>:<stream>."""
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
    return Row("Members", (
        Panel("Members up", (q('novaops:member_up{tier="$tier"}', "{{service}}"),), viz="state-timeline",
              mappings=UP_DOWN, width=12,
              description="novaops:member_up (alerting rules): the engine's own health, not only the scrape."),
        Panel("Members up now", (q('sum(novaops:member_up{tier="$tier"})', "up"),), viz="stat", width=4,
              thresholds=((None, "red"), (quorum, "orange"), (members, "green")),
              description=f"{members} declared; a majority is {quorum}."),
        Panel("Member availability (1 h)", (member_availability('tier="$tier"', "1h"),),
              viz="stat", unit="percentunit", width=4, thresholds=((None, "red"), (SLO_AVAILABILITY, "green")),
              description="Share of member-time up over the last hour."),
        Panel("Last successful backup", (
            q(f"time() - min by (tool) (max by (tool, target) ({_backup_success(TIER)}))", "{{tool}}"),),
              viz="stat", unit="s", width=4, thresholds=((None, "green"), (BACKUP_STALE_S, "red")),
              description="Age of the oldest of the tier's backup targets (JetStream: one per stream)."),
    ))


def tier_dashboard(topology: Topology, tier: Tier) -> Dashboard:
    if tier.engine.name not in ENGINE_ROWS:
        raise ValueError(f"tier {tier.key}: no dashboard panels for engine {tier.engine.name!r} "
                         f"(components/dashboards/catalog_dashboards.py ENGINE_ROWS: {', '.join(ENGINE_ROWS)})")
    members = ", ".join(m.key for m in tier.members)
    return Dashboard(
        uid=tier_uid(tier.key),
        title=f"NovaOps / Tier {tier.number} {tier.key} ({tier.engine.name})",
        description=f"Tier {tier.number} {tier.key}: {tier.purpose}. Members: {members}.",
        tags=(TAG, "novaops-tier", tier.engine.name),
        variables=(Variable("tier", "Tier", (tier.key,), constant=True),),
        rows=(_member_row(tier), *ENGINE_ROWS[tier.engine.name](tier)),
    )


# --------------------------------------------------------------------------- overview


def _leader_expr(topology: Topology) -> str:
    """Members that lead their tier, per tier, for the engines the topology has."""
    per_engine = {
        "patroni": 'sum by (tier) (patroni_primary{job="patroni"})',
        "valkey": 'count by (tier) (redis_instance_info{job="valkey", exported_role="master"})',
        "etcd": 'sum by (tier) (etcd_server_is_leader{job="etcd"})',
        "nats": 'max by (tier) (nats_jetstream_meta_has_leader{job="nats"})',
    }
    engines = sorted({t.engine.name for t in topology.tiers.values()})
    missing = [e for e in engines if e not in per_engine]
    if missing:
        raise ValueError(f"overview: no leader expression for engine(s) {', '.join(missing)}")
    return " or ".join(per_engine[e] for e in engines)


def overview_dashboard(topology: Topology) -> Dashboard:
    services = [m for t in topology.tiers.values() for m in t.members]
    tier_lines = "\n".join(
        f"| {t.number} | [{t.key}](/d/{tier_uid(t.key)}) | {t.engine.name} | {t.purpose} | {len(t.members)} |"
        for t in tiers_by_number(topology))
    return Dashboard(
        uid="novaops-overview",
        title="NovaOps / Overview",
        description=f"All {len(services)} database services of the {len(topology.tiers)} tiers.",
        tags=(TAG,),
        rows=(
            Row("Tiers", (
                Text("Tiers (from the catalog)", "| # | tier | engine | purpose | members |\n|---|---|---|---|---|\n"
                     + tier_lines, width=12, height=9),
                Panel("Members up per tier", (q("sum by (tier) (novaops:member_up)", "{{tier}}"),), viz="stat", width=12,
                      height=9, description="Compare with the members column."),
            )),
            Row(f"All {len(services)} services", (
                Panel("Service up", (q("novaops:member_up", "{{tier}} / {{service}}"),), viz="state-timeline",
                      mappings=UP_DOWN, width=24, height=16),
                Panel("Leaders per tier (expect 1)", (q(_leader_expr(topology), "{{tier}}"),), viz="stat", width=12,
                      thresholds=((None, "red"), (1, "green"), (2, "red")),
                      description="Patroni primaries, Valkey masters, etcd leaders; NATS: a JetStream meta leader exists."),
                Panel("Member availability (1 h)", (member_availability("", "1h"),), viz="stat",
                      unit="percentunit", width=12, thresholds=((None, "red"), (SLO_AVAILABILITY, "green"))),
                Panel("Routers up", (q('up{job="pg-router"}', "{{tier}}"),), viz="state-timeline", mappings=UP_DOWN,
                      width=12),
                Panel("Scrape targets up per job", (
                    q("sum by (job) (up) / count by (job) (up)", "{{job}}"),), viz="stat", unit="percentunit",
                      width=12, thresholds=((None, "red"), (1, "green"))),
                Panel("Age of the last successful backup per target", (
                    q("time() - max by (target) (novaops_backup_last_success_timestamp_seconds > 0)", "{{target}}"),),
                      viz="stat", unit="s", width=24, thresholds=((None, "green"), (BACKUP_STALE_S, "red"))),
            )),
        ),
    )


# --------------------------------------------------------------------------- division hosts


def divisions_dashboard(topology: Topology) -> Dashboard:
    sel = f'job="{DIVISION_HOST.name}", service=~"$division"'
    table = "\n".join(f"| {d.key} | {d.title} | {', '.join(d.uses)} |" for d in topology.divisions.values())
    uses = tuple(
        Panel(f"{d.title}: members up of the tiers it uses", (
            q(f'sum by (tier) (novaops:member_up{{tier=~"{"|".join(d.uses)}"}})', "{{tier}}"),),
              viz="stat", width=12, height=5)
        for d in topology.divisions.values())
    return Dashboard(
        uid="novaops-divisions",
        title="NovaOps / Division hosts",
        description="The five division hosts: node exporter inside each host, and the tiers each division uses.",
        tags=(TAG, "hosts"),
        variables=(Variable("division", "Division", tuple(topology.divisions)),),
        rows=(
            Row("Hosts", (
                Text("Divisions (from the catalog)", "| host | division | uses tiers |\n|---|---|---|\n" + table,
                     width=12, height=8),
                Panel("Node exporter up", (q(f"up{{{sel}}}", "{{service}}"),), viz="state-timeline", mappings=UP_DOWN,
                      width=12, height=8),
                Panel("Data volume free", (
                    q(f'node_filesystem_avail_bytes{{{sel}, mountpoint="{DIVISION_HOST.data_path}"}}', "{{service}}"),),
                      unit="bytes", description=f"{DIVISION_HOST.data_path}: the host's data volume."),
                Panel("TCP connections established", (q(f"node_netstat_Tcp_CurrEstab{{{sel}}}", "{{service}}"),),
                      description="Per host (network namespace): SSH sessions and database clients."),
                Panel("Network traffic", (
                    q(f'sum by (service) (rate(node_network_receive_bytes_total{{{sel}, device!="lo"}}[$__rate_interval]))',
                      "{{service}} in"),
                    q(f'sum by (service) (rate(node_network_transmit_bytes_total{{{sel}, device!="lo"}}[$__rate_interval]))',
                      "{{service}} out"),
                ), unit="Bps"),
                Panel("Load average (docker host)", (q(f"node_load1{{{sel}}}", "{{service}}"),),
                      description="Containers share the kernel: this is the docker host's load, the same for every host."),
            )),
            Row("Tiers each division uses", uses),
        ),
    )


# --------------------------------------------------------------------------- backups


def backups_dashboard(topology: Topology) -> Dashboard:
    host = f'job="{BACKUP_HOST.name}"'
    target = _backup_target(TIER)
    return Dashboard(
        uid="novaops-backups",
        title="NovaOps / Backups",
        description="pgBackRest (Patroni tiers) and restic (Valkey, etcd, JetStream) jobs on the backup host: "
                    "novaops_backup_* textfile metrics (labels tool, target = tier, type).",
        tags=(TAG, "backup"),
        variables=(Variable("tier", "Tier", tuple(t.key for t in tiers_by_number(topology))),),
        rows=(
            Row("Last backup per tier", (
                Panel("Age of the last successful backup", (
                    q(f"time() - max by (target, tool) ({_backup_success(TIER)})", "{{target}} {{tool}}"),),
                      viz="stat", unit="s", width=24, height=6, thresholds=((None, "green"), (BACKUP_STALE_S, "red")),
                      description="Any backup type; red after 26 h (the BackupStale alert)."),
                Panel("Size of the last backup", (
                    q(f"max by (target, tool, type) (novaops_backup_last_size_bytes{{{target}}})",
                      "{{target}} {{tool}} {{type}}"),), viz="stat", unit="bytes", width=24, height=6),
                Panel("Result of the last run", (
                    q(f"min by (target, tool, type) (novaops_backup_last_status{{{target}}})",
                      "{{target}} {{tool}} {{type}}"),), viz="state-timeline",
                      mappings={"1": ("ok", "green"), "0": ("failed", "red")}, width=24, height=10),
            )),
            Row("Repository checks (every repository, whatever the tier)", (
                Panel("Result of the last check", (
                    q("min by (target, tool, check) (novaops_backup_check_last_status)",
                      "{{target}} {{tool}} {{check}}"),), viz="state-timeline",
                      mappings={"1": ("ok", "green"), "0": ("failed", "red")}, width=12,
                      description="pgBackRest checks each stanza (target = tier); restic checks its one repository."),
                Panel("Age of the last successful check", (
                    q("time() - max by (target, tool, check) (novaops_backup_check_last_success_timestamp_seconds > 0)",
                      "{{target}} {{tool}} {{check}}"),), viz="stat", unit="s", width=12,
                      thresholds=((None, "green"), (8 * 86400, "red"))),
            )),
            Row("Backup host", (
                Panel("Repository volume free", (
                    q(f'node_filesystem_avail_bytes{{{host}, mountpoint="{BACKUP_HOST.data_path}"}}', "free"),
                    q(f'node_filesystem_size_bytes{{{host}, mountpoint="{BACKUP_HOST.data_path}"}}', "size"),
                ), unit="bytes"),
                Panel("Backup host up", (q(f"up{{{host}}}", "{{service}}"),), viz="state-timeline", mappings=UP_DOWN),
                Panel("WAL segments archived per second (every Patroni tier)", (
                    q('sum by (tier) (rate(pg_stat_archiver_archived_count{job="postgres"}[$__rate_interval]))',
                      "{{tier}}"),), unit="ops", description="Only Patroni tiers archive WAL: not filtered by tier."),
            )),
        ),
    )


# --------------------------------------------------------------------------- SLOs


def slo_dashboard(topology: Topology) -> Dashboard:
    budget = round(1 - SLO_AVAILABILITY, 6)
    latency_budget = round(1 - SLO_LATENCY_SHARE, 6)
    sel = 'tier=~"$tier"'

    def ratio(rule: str, window: str) -> Query:
        return q(f"{rule}:ratio_rate{window}{{{sel}}}", "{{tier}} " + window)
    return Dashboard(
        uid="novaops-slo",
        title="NovaOps / SLOs",
        description=f"Objectives per tier, measured by the prober: {SLO_AVAILABILITY:.1%} of probes succeed "
                    f"(error budget {budget}); {SLO_LATENCY_SHARE:.0%} answer within {int(SLO_LATENCY_S * 1000)} ms "
                    f"(error budget {latency_budget}).",
        tags=(TAG, "slo"),
        variables=(Variable("tier", "Tier", tuple(t.key for t in tiers_by_number(topology))),),
        rows=(
            Row("Availability (protocol probes)", (
                Panel("Probe success ratio", tuple(ratio("novaops:probe_success", w) for w in ("5m", "1h")),
                      unit="percentunit", width=12, max=1),
                Panel("Availability over 6 h", (ratio("novaops:probe_success", "6h"),), viz="stat", unit="percentunit",
                      width=6, thresholds=((None, "red"), (SLO_AVAILABILITY, "green"))),
                Panel("Error budget left (6 h window)", (
                    q(f"1 - (1 - novaops:probe_success:ratio_rate6h{{{sel}}}) / {budget}", "{{tier}}"),),
                      viz="stat", unit="percentunit", width=6, thresholds=((None, "red"), (0.25, "orange"), (0.5, "green"))),
                Panel("Burn rate (1 h and 5 m)", (
                    q(f"(1 - novaops:probe_success:ratio_rate1h{{{sel}}}) / {budget}", "{{tier}} 1h"),
                    q(f"(1 - novaops:probe_success:ratio_rate5m{{{sel}}}) / {budget}", "{{tier}} 5m"),
                ), width=12, description="14.4 over both windows pages (2 % of a 30-day budget per hour)."),
                Panel("Probe result per service", (q(f"novaops_probe_success{{{sel}}}", "{{tier}} / {{service}}"),),
                      viz="state-timeline", mappings={"1": ("ok", "green"), "0": ("failed", "red")}, width=12),
            )),
            Row(f"Latency (probes under {int(SLO_LATENCY_S * 1000)} ms)", (
                Panel(f"Share of probes under {int(SLO_LATENCY_S * 1000)} ms",
                      tuple(ratio("novaops:probe_latency_under_100ms", w) for w in ("5m", "1h")),
                      unit="percentunit", width=8, max=1,
                      thresholds=((None, "red"), (SLO_LATENCY_SHARE, "green"))),
                Panel("Latency burn rate (1 h and 5 m)", (
                    q(f"(1 - novaops:probe_latency_under_100ms:ratio_rate1h{{{sel}}}) / {latency_budget}", "{{tier}} 1h"),
                    q(f"(1 - novaops:probe_latency_under_100ms:ratio_rate5m{{{sel}}}) / {latency_budget}", "{{tier}} 5m"),
                ), width=8),
                Panel("Probe latency p50 / p99", (
                    q(f"histogram_quantile(0.5, sum by (tier, le) (rate(novaops_probe_duration_seconds_bucket{{{sel}}}[$__rate_interval])))",
                      "{{tier}} p50"),
                    q(f"histogram_quantile(0.99, sum by (tier, le) (rate(novaops_probe_duration_seconds_bucket{{{sel}}}[$__rate_interval])))",
                      "{{tier}} p99"),
                ), unit="s", width=8),
            )),
            Row("Member availability (the engines' own health: novaops:member_up)", (
                Panel("Member availability", tuple(member_availability(sel, w) for w in ("5m", "1h", "6h")),
                      unit="percentunit", width=12, max=1),
                Panel("Member-time down, as burn rate of the availability budget (1 h)", (
                    q(f"(1 - avg by (tier) (avg_over_time(novaops:member_up{{{sel}}}[1h]))) / {budget}", "{{tier}}"),),
                      width=12, thresholds=((None, "green"), (6, "orange"), (14.4, "red"))),
            )),
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
