"""Valkey panels (redis_exporter's metrics, scraped per member through the valkey-exporter)."""

from __future__ import annotations

from components.dashboards.panels import Backups, Leaders, per_service, rate_per_service, tier_selector
from components.dashboards.spec import UP_DOWN, Panel, Row, q
from components.kinds import Kind
from components.model import Tier

LEADERS = Leaders("Valkey masters")
BACKUPS = Backups("restic", "Valkey")


def leader_expr(engine: Kind) -> str:
    return f'count by (tier) (redis_instance_info{{job="{engine.name}", exported_role="master"}})'


def rows(tier: Tier) -> tuple[Row, ...]:
    sel = tier_selector(tier.engine.name)
    return (
        Row(
            "Valkey",
            (
                Panel(
                    "Role",
                    (
                        q(
                            f"max by (service, exported_role) (redis_instance_info{{{sel}}})",
                            "{{service}} {{exported_role}}",
                        ),
                    ),
                    viz="state-timeline",
                    description="The exporter's role label is exported_role (the target's role label wins).",
                ),
                Panel(
                    "Replicas connected to the master",
                    (
                        q(
                            f'redis_connected_slaves{{{sel}}}'
                            f' and on (instance) redis_instance_info{{{sel}, exported_role="master"}}',
                            "{{service}}",
                        ),
                    ),
                    thresholds=((None, "red"), (len(tier.members) - 1, "green")),
                ),
                Panel(
                    "Replication link up (replicas)",
                    (per_service("redis_master_link_up", sel),),
                    viz="state-timeline",
                    mappings=UP_DOWN,
                ),
                Panel(
                    "Replica lag seen by the master",
                    (q(f"redis_connected_slave_lag_seconds{{{sel}}}", "{{slave_ip}}"),),
                    unit="s",
                ),
                Panel("Commands per second", (rate_per_service("redis_commands_processed_total", sel),), unit="ops"),
                Panel("Memory used", (per_service("redis_memory_used_bytes", sel),), unit="bytes"),
                Panel("Connected clients", (per_service("redis_connected_clients", sel),)),
                Panel("Keys", (q(f"sum by (service) (redis_db_keys{{{sel}}})", "{{service}}"),)),
                Panel(
                    "Keyspace hits and misses per second",
                    (
                        rate_per_service("redis_keyspace_hits_total", sel, "hits"),
                        rate_per_service("redis_keyspace_misses_total", sel, "misses"),
                    ),
                    unit="ops",
                ),
            ),
        ),
    )
