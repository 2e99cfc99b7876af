"""Patroni / PostgreSQL panels: the cluster, the database (postgres_exporter), the HAProxy router."""

from __future__ import annotations

from components.dashboards.panels import Backups, Leaders, per_service, rate_per_service, tier_selector
from components.dashboards.spec import UP_DOWN, Panel, Row, q
from components.engines.patroni import EXPORTER, KIND
from components.engines.patroni.config import APP_DATABASE
from components.kinds import Kind
from components.model import Service, Tier

LEADERS = Leaders("Patroni primaries")


def leader_expr(engine: Kind) -> str:
    return f'sum by (tier) (patroni_primary{{job="{engine.name}"}})'


def rows(tier: Tier) -> tuple[Row, ...]:
    router = (_router_row(tier.router),) if tier.router is not None else ()
    return (_cluster_row(tier.engine), _postgres_row(tier.engine), *router)


def exporter_job(engine: Kind) -> str:
    """The job postgres_exporter's targets are scraped under (the engine's Scrape through it)."""
    return next(s.job or engine.name for s in engine.scrapes if s.via == EXPORTER.name)


def _cluster_row(engine: Kind) -> Row:
    sel = tier_selector(engine.name)
    pg = tier_selector(exporter_job(engine))
    return Row(
        "Patroni cluster",
        (
            Panel(
                "Role (1 = primary)",
                (per_service("patroni_primary", sel),),
                viz="state-timeline",
                mappings={"1": ("primary", "blue"), "0": ("replica", "green")},
                width=12,
            ),
            Panel(
                "Synchronous standby",
                (per_service("patroni_sync_standby", sel),),
                viz="state-timeline",
                mappings={"1": ("sync", "green"), "0": ("async / primary", "text")},
                width=12,
            ),
            Panel(
                "Replication lag (WAL bytes behind the primary)",
                (
                    q(
                        f"""
            max by (tier) (patroni_xlog_location{{{sel}}} and on (instance) patroni_primary{{{sel}}} == 1)
            - on (tier) group_right ()
            (patroni_xlog_replayed_location{{{sel}}} and on (instance) patroni_replica{{{sel}}} == 1)""",
                        "{{service}}",
                    ),
                ),
                unit="bytes",
            ),
            Panel(
                "Replay lag (seconds, postgres_exporter)", (per_service("pg_replication_lag_seconds", pg),), unit="s"
            ),
            Panel(
                "Timeline",
                (per_service("patroni_postgres_timeline", sel),),
                description="Rises by one on every promotion.",
            ),
        ),
    )


def _postgres_row(engine: Kind) -> Row:
    pg = tier_selector(exporter_job(engine))
    return Row(
        "PostgreSQL",
        (
            Panel(
                "Connections by state",
                (q(f"sum by (service, state) (pg_stat_activity_count{{{pg}}})", "{{service}} {{state}}"),),
            ),
            Panel(
                "Transactions per second",
                (
                    rate_per_service("pg_stat_database_xact_commit", pg, "commit"),
                    rate_per_service("pg_stat_database_xact_rollback", pg, "rollback"),
                ),
                unit="ops",
            ),
            Panel(
                "Blocks read from disk vs. cache per second",
                (
                    rate_per_service("pg_stat_database_blks_read", pg, "read"),
                    rate_per_service("pg_stat_database_blks_hit", pg, "hit"),
                ),
                unit="ops",
            ),
            Panel(
                f"Size of database {APP_DATABASE}",
                (q(f'pg_database_size_bytes{{{pg}, datname="{APP_DATABASE}"}}', "{{service}}"),),
                unit="bytes",
            ),
            Panel(
                "Checkpoints per second (pg_stat_checkpointer)",
                (
                    rate_per_service("pg_stat_checkpointer_num_timed_total", pg, "timed"),
                    rate_per_service("pg_stat_checkpointer_num_requested_total", pg, "requested"),
                ),
                description="PostgreSQL 17 reports checkpoints in pg_stat_checkpointer; pg_stat_bgwriter lost them.",
            ),
            Panel(
                "Checkpoint write and sync time",
                (
                    rate_per_service("pg_stat_checkpointer_write_time_total", pg, "write"),
                    rate_per_service("pg_stat_checkpointer_sync_time_total", pg, "sync"),
                ),
                unit="ms",
                description="Milliseconds spent per second.",
            ),
            Panel(
                "WAL archived per second (pgBackRest archive_command)",
                (
                    rate_per_service("pg_stat_archiver_archived_count", pg, "archived"),
                    rate_per_service("pg_stat_archiver_failed_count", pg, "failed"),
                ),
                unit="ops",
            ),
            Panel("Locks by mode", (q(f"sum by (service, mode) (pg_locks_count{{{pg}}})", "{{service}} {{mode}}"),)),
            Panel(
                "Deadlocks and conflicts (last hour)",
                (
                    q(f"sum by (service) (increase(pg_stat_database_deadlocks{{{pg}}}[1h]))", "{{service}} deadlocks"),
                    q(f"sum by (service) (increase(pg_stat_database_conflicts{{{pg}}}[1h]))", "{{service}} conflicts"),
                ),
            ),
        ),
    )


def _router_row(router: Service) -> Row:
    sel = tier_selector(router.kind.name)
    # Every port Prometheus does not scrape is a client endpoint; HAProxy names its proxies after them.
    scraped = {s.port for s in router.kind.scrapes}
    endpoints = "|".join(p for p in router.kind.ports if p not in scraped)
    return Row(
        "Router (HAProxy: stable primary / replica endpoints)",
        (
            Panel("Router up", (per_service("up", sel),), viz="state-timeline", mappings=UP_DOWN),
            Panel(
                "Servers up behind each endpoint",
                (q(f'haproxy_backend_active_servers{{{sel}, proxy=~"{endpoints}"}}', "{{proxy}}"),),
                description="primary: exactly 1 (Patroni's leader); replicas: the streaming replicas.",
            ),
            Panel(
                "Client sessions per endpoint",
                (q(f'haproxy_frontend_current_sessions{{{sel}, proxy=~"{endpoints}"}}', "{{proxy}}"),),
            ),
        ),
    )


# Only Patroni tiers archive WAL (to the backup host's pgBackRest repository): every tier at once.
BACKUPS = Backups(
    "pgBackRest",
    "Patroni tiers",
    panels=(
        Panel(
            "WAL segments archived per second (every Patroni tier)",
            (
                q(
                    f'sum by (tier) (rate(pg_stat_archiver_archived_count{{job="{exporter_job(KIND)}"}}'
                    "[$__rate_interval]))",
                    "{{tier}}",
                ),
            ),
            unit="ops",
            description="Only Patroni tiers archive WAL: not filtered by tier.",
        ),
    ),
)
