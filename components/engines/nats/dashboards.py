"""NATS JetStream panels (the prometheus-nats-exporter beside each server)."""

from __future__ import annotations

from components.dashboards.panels import Backups, Leaders, per_service, rate_per_service, tier_selector
from components.dashboards.spec import Panel, Row, q
from components.kinds import Kind
from components.model import Tier

# Every server reports whether the meta group has a leader: max is 1 when one exists, it counts none.
LEADERS = Leaders("NATS: a JetStream meta leader exists", counted=False)
BACKUPS = Backups("restic", "JetStream")


def leader_expr(engine: Kind) -> str:
    return f'max by (tier) (nats_jetstream_meta_has_leader{{job="{engine.name}"}})'


def rows(tier: Tier) -> tuple[Row, ...]:
    sel = tier_selector(tier.engine.name)
    members = len(tier.members)
    return (
        Row(
            "NATS JetStream",
            (
                Panel(
                    "JetStream meta leader present",
                    (per_service("nats_jetstream_meta_has_leader", sel),),
                    viz="state-timeline",
                    mappings={"1": ("leader", "green"), "0": ("none", "red")},
                ),
                Panel(
                    "Meta group size",
                    (per_service("nats_jetstream_meta_cluster_size", sel),),
                    thresholds=((None, "red"), (members, "green")),
                ),
                Panel(
                    "Cluster routes",
                    (per_service("nats_varz_routes", sel),),
                    description=f"Full mesh: each server routes to the {members - 1} others.",
                ),
                Panel("Client connections", (per_service("nats_varz_connections", sel),)),
                Panel(
                    "Messages per second",
                    (
                        rate_per_service("nats_varz_in_msgs", sel, "in"),
                        rate_per_service("nats_varz_out_msgs", sel, "out"),
                    ),
                    unit="ops",
                ),
                Panel(
                    "Bytes per second",
                    (
                        rate_per_service("nats_varz_in_bytes", sel, "in"),
                        rate_per_service("nats_varz_out_bytes", sel, "out"),
                    ),
                    unit="Bps",
                ),
                Panel(
                    "JetStream streams and consumers",
                    (
                        q(f"nats_jetstream_streams{{{sel}}}", "{{service}} streams"),
                        q(f"nats_jetstream_consumers{{{sel}}}", "{{service}} consumers"),
                    ),
                ),
                Panel("JetStream messages stored", (per_service("nats_jetstream_messages", sel),)),
                Panel("JetStream storage used", (per_service("nats_jetstream_storage", sel),), unit="bytes"),
                Panel("Slow consumers", (per_service("nats_varz_slow_consumers", sel),)),
                Panel("Server memory", (per_service("nats_varz_mem", sel),), unit="bytes"),
            ),
        ),
    )
