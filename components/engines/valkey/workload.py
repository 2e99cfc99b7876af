"""novaload's client of a Valkey tier: the Sentinels name the current master (by container name),
agents connect to its published port and ask again after a failover."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from components.engines.valkey.config import master_name
from tools.novaload.endpoints import TierOutputs

# runbooks/README.md's dependency map (tools/runbooks.py): how clients reach a tier of this engine.
REACHED_THROUGH = "Sentinel (master by name)"


@dataclass(frozen=True)
class ValkeyTier:
    tier: str
    master_name: str
    sentinels: list[tuple[str, int]]
    password: str
    # container name -> published (host, port): Sentinel names masters by container name.
    published: dict[str, tuple[str, int]] = field(default_factory=dict)


def endpoint(tier: TierOutputs) -> ValkeyTier:
    members = tier.members()
    return ValkeyTier(
        tier.key,
        master_name(tier.stack, tier.key),
        [tier.address(n, "sentinel") for n in members],
        tier.secret("password"),
        {m["container"]: tier.address(n, "valkey") for n, m in members.items()},
    )


def valkey_errors() -> tuple[type[BaseException], ...]:
    from valkey import exceptions

    return (exceptions.ConnectionError, exceptions.TimeoutError, exceptions.ReadOnlyError, exceptions.ResponseError)


class ValkeyClient:
    """Asks the Sentinels for the master (by container name), connects to its published port."""

    def __init__(self, endpoint: ValkeyTier, pool_size: int, op_timeout: float):
        self.tier = endpoint.tier
        self.endpoint = endpoint
        self.op_timeout = op_timeout
        self.pool_size = pool_size
        self.pool_wait = 30.0  # waiting for a free connection is queueing, not a failed write
        self.master = None
        self.master_address: tuple[str, int] | None = None
        self.lock = asyncio.Lock()

    async def discover(self) -> tuple[str, int]:
        """Ask every Sentinel at once; the first answer naming a member of the tier wins."""
        import valkey.asyncio as valkey

        async def ask(host: str, port: int) -> tuple[str, int]:
            sentinel = valkey.Valkey(
                host=host,
                port=port,
                password=self.endpoint.password,
                socket_timeout=self.op_timeout,
                socket_connect_timeout=self.op_timeout,
            )
            try:
                name, _port = await sentinel.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.endpoint.master_name
                )
            finally:
                await sentinel.aclose()
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name not in self.endpoint.published:
                raise LookupError(f"Sentinel names master {name!r}, which is no member of tier {self.tier}")
            return self.endpoint.published[name]

        last: BaseException | None = None
        pending = [asyncio.ensure_future(ask(h, p)) for h, p in self.endpoint.sentinels]
        try:
            for next_done in asyncio.as_completed(pending):
                try:
                    return await next_done
                except Exception as exc:  # wait for another Sentinel
                    last = exc
        finally:
            for task in pending:
                task.cancel()
        raise ConnectionError(f"no Sentinel of tier {self.tier} named a master: {last!r}")

    async def _client(self):
        import valkey.asyncio as valkey

        async with self.lock:
            if self.master is None:
                self.master_address = await self.discover()
                # Blocking pool: sessions beyond pool_size wait for a connection instead of failing.
                pool = valkey.BlockingConnectionPool(
                    host=self.master_address[0],
                    port=self.master_address[1],
                    password=self.endpoint.password,
                    socket_timeout=self.op_timeout,
                    socket_connect_timeout=self.op_timeout,
                    max_connections=self.pool_size,
                    timeout=self.pool_wait,
                )
                self.master = valkey.Valkey(connection_pool=pool)
            return self.master

    async def _reset(self, client) -> None:
        async with self.lock:
            if self.master is client:
                self.master = None
        try:
            await client.aclose(close_connection_pool=True)
        except Exception:
            pass

    async def _run(self, fn):
        client = await asyncio.wait_for(self._client(), 2 * self.op_timeout)
        try:
            return await asyncio.wait_for(fn(client), self.op_timeout)
        except (TimeoutError, ConnectionError, OSError, *valkey_errors()):
            # READONLY (a demoted master), a refused write (min-replicas) or a dead socket: ask Sentinel again.
            await self._reset(client)
            raise

    async def prepare(self) -> None:
        await self._run(lambda c: c.ping())

    async def write(self, run: str, session: int, key: str) -> str:
        name = f"novaload:{run}:{key}"

        async def setter(client):
            # SET ... reply OK is the acknowledgement: Valkey replicates asynchronously.
            await client.set(name, f"session {session}")
            await client.sadd(f"novaload:{run}:session:{session}", key)

        await self._run(setter)
        return name

    async def read(self, run: str, session: int) -> None:
        await self._run(lambda c: c.scard(f"novaload:{run}:session:{session}"))

    async def present(self, run: str, entries: list[dict]) -> set[str]:
        async def exists(client):
            found: set[str] = set()
            for i in range(0, len(entries), 500):
                chunk = entries[i : i + 500]
                async with client.pipeline(transaction=False) as pipe:
                    for e in chunk:
                        pipe.exists(e["ref"])
                    results = await pipe.execute()
                found |= {e["k"] for e, r in zip(chunk, results, strict=True) if r}
            return found

        client = await self._client()
        return await asyncio.wait_for(exists(client), 120)

    async def close(self) -> None:
        if self.master is not None:
            await self.master.aclose()


def client(endpoint: ValkeyTier, *, pool_size: int, op_timeout: float, extensions: list[str]) -> ValkeyClient:
    del extensions  # one workload whatever the tier's purpose
    return ValkeyClient(endpoint, pool_size, op_timeout)
