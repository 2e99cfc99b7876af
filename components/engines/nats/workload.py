"""novaload's client of a NATS tier: JetStream publishes to the events stream through any cluster
node's client URL (nats-py moves to another node when one goes). The stream itself is the
nats_jetstream role's (ansible/roles/nats_jetstream/defaults/main.yml)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from components.engines.nats import config
from tools.novaload.endpoints import TierOutputs

NATS_STREAM = "NOVA_EVENTS"
NATS_SUBJECT = "nova.events.novaload"
# runbooks/README.md's dependency map (tools/runbooks.py): how clients reach a tier of this engine.
REACHED_THROUGH = "any cluster node (client URLs)"


@dataclass(frozen=True)
class NatsTier:
    tier: str
    servers: list[str]
    user: str
    password: str


def endpoint(tier: TierOutputs) -> NatsTier:
    servers = []
    for member in tier.members():
        host, port = tier.address(member, "client")
        servers.append(f"nats://{host}:{port}")
    return NatsTier(tier.key, servers, config.USER, tier.secret("password"))


class JetStreamClient:
    def __init__(self, endpoint: NatsTier, op_timeout: float):
        self.tier = endpoint.tier
        self.endpoint = endpoint
        self.op_timeout = op_timeout
        self.nc = None
        self.js = None

    async def prepare(self) -> None:
        import nats

        self.nc = await nats.connect(
            servers=self.endpoint.servers,
            user=self.endpoint.user,
            password=self.endpoint.password,
            connect_timeout=max(1, int(self.op_timeout)),
            reconnect_time_wait=0.5,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            name="novaload",
            error_cb=self._quiet,
            disconnected_cb=self._quiet_cb,
            reconnected_cb=self._quiet_cb,
        )
        self.js = self.nc.jetstream(timeout=self.op_timeout)
        await self.js.stream_info(NATS_STREAM)  # the stream is the nats_jetstream role's; fail early if missing

    @staticmethod
    async def _quiet(_exc) -> None:
        # Cluster URLs the servers advertise are container names: unreachable from here, by design.
        return None

    @staticmethod
    async def _quiet_cb() -> None:
        return None

    async def write(self, run: str, session: int, key: str) -> str:
        ack = await asyncio.wait_for(
            self.js.publish(f"{NATS_SUBJECT}.{run}.{session}", key.encode(), headers={"Nats-Msg-Id": key}),
            self.op_timeout,
        )
        return f"{ack.stream}:{ack.seq}"

    async def read(self, run: str, session: int) -> None:
        await asyncio.wait_for(self.js.stream_info(NATS_STREAM), self.op_timeout)

    async def present(self, run: str, entries: list[dict]) -> set[str]:
        sem = asyncio.Semaphore(32)

        async def check(e: dict) -> str | None:
            stream, seq = e["ref"].rsplit(":", 1)
            async with sem:
                try:
                    msg = await self.js.get_msg(stream, int(seq))
                except Exception:  # not found counts as lost
                    return None
            return e["k"] if msg.data == e["k"].encode() else None

        found = await asyncio.wait_for(asyncio.gather(*(check(e) for e in entries)), 300)
        return {k for k in found if k}

    async def close(self) -> None:
        if self.nc is not None:
            try:
                await asyncio.wait_for(self.nc.close(), 5)
            except Exception:
                pass


def client(endpoint: NatsTier, *, pool_size: int, op_timeout: float, extensions: list[str]) -> JetStreamClient:
    del pool_size, extensions  # one connection per tier; one workload whatever the purpose
    return JetStreamClient(endpoint, op_timeout)
