"""etcd panels (its own /metrics on the client port)."""

from __future__ import annotations

from components.dashboards.panels import Backups, Leaders, per_service, tier_selector
from components.dashboards.spec import Panel, Query, Row, q
from components.kinds import Kind
from components.model import Tier

LEADERS = Leaders("etcd leaders")
BACKUPS = Backups("restic", "etcd")


def leader_expr(engine: Kind) -> str:
    return f'sum by (tier) (etcd_server_is_leader{{job="{engine.name}"}})'


def _p99(metric: str, sel: str) -> Query:
    return q(
        f"histogram_quantile(0.99, sum by (service, le) (rate({metric}_bucket{{{sel}}}[$__rate_interval])))",
        "{{service}}",
    )


def rows(tier: Tier) -> tuple[Row, ...]:
    sel = tier_selector(tier.engine.name)
    return (
        Row(
            "etcd",
            (
                Panel(
                    "Has a leader",
                    (per_service("etcd_server_has_leader", sel),),
                    viz="state-timeline",
                    mappings={"1": ("yes", "green"), "0": ("no", "red")},
                ),
                Panel(
                    "Leader",
                    (per_service("etcd_server_is_leader", sel),),
                    viz="state-timeline",
                    mappings={"1": ("leader", "blue"), "0": ("follower", "green")},
                ),
                Panel(
                    "Leader changes (last hour)",
                    (q(f"increase(etcd_server_leader_changes_seen_total{{{sel}}}[1h])", "{{service}}"),),
                ),
                Panel(
                    "Proposals per second",
                    (
                        q(
                            f"rate(etcd_server_proposals_committed_total{{{sel}}}[$__rate_interval])",
                            "{{service}} committed",
                        ),
                        q(f"rate(etcd_server_proposals_failed_total{{{sel}}}[$__rate_interval])", "{{service}} failed"),
                    ),
                    unit="ops",
                ),
                Panel("Pending proposals", (per_service("etcd_server_proposals_pending", sel),)),
                Panel(
                    "Database size vs. quota",
                    (
                        q(f"etcd_mvcc_db_total_size_in_bytes{{{sel}}}", "{{service}} size"),
                        q(f"etcd_server_quota_backend_bytes{{{sel}}}", "{{service}} quota"),
                    ),
                    unit="bytes",
                ),
                Panel(
                    "WAL fsync p99",
                    (_p99("etcd_disk_wal_fsync_duration_seconds", sel),),
                    unit="s",
                    description="Patroni's leader lease depends on etcd writes: slow fsyncs delay them.",
                ),
                Panel("Backend commit p99", (_p99("etcd_disk_backend_commit_duration_seconds", sel),), unit="s"),
                Panel("Peer round trip p99", (_p99("etcd_network_peer_round_trip_time_seconds", sel),), unit="s"),
            ),
        ),
    )
