"""One client per tier: idempotent schema, one write (acknowledged or raises), one read, and
a check of which acknowledged keys are present.

Every operation is bounded by ``op_timeout``; a failed connection is dropped and the next
operation reconnects through the operator endpoint (the router follows the Patroni leader,
Sentinel names the current Valkey master, the NATS client moves to another cluster node).
"""
from __future__ import annotations

import asyncio
import random
from typing import Iterable, Protocol

from tools.novaload.endpoints import NatsTier, PostgresTier, ValkeyTier

SCHEMA = "novaload"
GRAPH = "novaload_graph"   # AGE makes a schema of this name: not SCHEMA
NATS_STREAM = "NOVA_EVENTS"
NATS_SUBJECT = "nova.events.novaload"
EMBEDDING_DIM = 16


class TierClient(Protocol):
    tier: str

    async def prepare(self) -> None: ...
    async def write(self, run: str, session: int, key: str) -> str: ...   # returns a ledger ref
    async def read(self, run: str, session: int) -> None: ...
    async def present(self, run: str, entries: list[dict]) -> set[str]: ...
    async def close(self) -> None: ...


# ------------------------------------------------------------------ PostgreSQL (Patroni tiers)


class PostgresClient:
    """A small bounded pool of autocommit connections through the tier's router."""

    # What an agent writes depends on the tier's extension (catalog), not on its name.
    DDL: dict[str, list[str]] = {
        "relational": [
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.sessions (key text PRIMARY KEY, run text NOT NULL, "
            "session int NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
        ],
        "vector": [
            "CREATE EXTENSION IF NOT EXISTS vector",
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.embeddings (key text PRIMARY KEY, run text NOT NULL, "
            f"session int NOT NULL, embedding vector({EMBEDDING_DIM}) NOT NULL)",
        ],
        "timescaledb": [
            "CREATE EXTENSION IF NOT EXISTS timescaledb",
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.metrics (ts timestamptz NOT NULL, key text NOT NULL, "
            "run text NOT NULL, session int NOT NULL, value double precision NOT NULL)",
            f"SELECT create_hypertable('{SCHEMA}.metrics', 'ts', if_not_exists => true)",
            f"CREATE INDEX IF NOT EXISTS metrics_key ON {SCHEMA}.metrics (key)",
        ],
        "age": [
            "CREATE EXTENSION IF NOT EXISTS age",
            "LOAD 'age'",
            'SET search_path = ag_catalog, "$user", public',
            # create_graph has no IF NOT EXISTS: only when ag_graph does not list it.
            f"SELECT create_graph('{GRAPH}') WHERE NOT EXISTS (SELECT 1 FROM ag_graph WHERE name = '{GRAPH}')",
            # AGE creates a label's table on its first use: concurrent first writes would race.
            f"SELECT * FROM cypher('{GRAPH}', $$ MERGE (:Agent {{run: 'prepare'}})-[:RECALLS {{key: 'prepare', "
            "run: 'prepare'}]->(:Memory {key: 'prepare'}) $$) AS (v agtype)",
        ],
    }

    def __init__(self, endpoint: PostgresTier, pool_size: int, op_timeout: float, purpose: str):
        self.tier = endpoint.tier
        self.endpoint = endpoint
        self.purpose = purpose
        if self.purpose not in self.DDL:
            raise ValueError(f"tier {self.tier!r}: no workload for purpose {self.purpose!r} (one of {sorted(self.DDL)})")
        self.op_timeout = op_timeout
        self.pool: asyncio.Queue = asyncio.Queue()
        for _ in range(pool_size):
            self.pool.put_nowait(None)   # a slot; connected lazily

    async def _connect(self, address: tuple[str, int]):
        import psycopg
        conn = await psycopg.AsyncConnection.connect(
            host=address[0], port=address[1], user=self.endpoint.user, password=self.endpoint.password,
            dbname=self.endpoint.database, connect_timeout=max(1, int(self.op_timeout)), autocommit=True)
        if self.purpose == "age":
            await conn.execute("LOAD 'age'")
            await conn.execute('SET search_path = ag_catalog, "$user", public')
        return conn

    async def _run(self, fn, address: tuple[str, int] | None = None):
        conn = await self.pool.get()
        try:
            if conn is None or conn.closed:
                conn = await asyncio.wait_for(self._connect(address or self.endpoint.primary), self.op_timeout)
            result = await asyncio.wait_for(fn(conn), self.op_timeout)
        except BaseException:
            if conn is not None:
                try:
                    await asyncio.wait_for(conn.close(), 1)
                except BaseException:  # noqa: BLE001 - a broken connection is dropped either way
                    pass
            self.pool.put_nowait(None)
            raise
        self.pool.put_nowait(conn)
        return result

    async def prepare(self) -> None:
        import psycopg
        conn = await psycopg.AsyncConnection.connect(
            host=self.endpoint.primary[0], port=self.endpoint.primary[1], user=self.endpoint.user,
            password=self.endpoint.password, dbname=self.endpoint.database, connect_timeout=10, autocommit=True)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            for statement in self.DDL[self.purpose]:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def write(self, run: str, session: int, key: str) -> str:
        async def insert(conn) -> None:
            if self.purpose == "relational":
                await conn.execute(f"INSERT INTO {SCHEMA}.sessions (key, run, session, payload) VALUES (%s, %s, %s, %s)",
                                   (key, run, session, f"agent {session} turn {key}"))
            elif self.purpose == "vector":
                vector = "[" + ",".join(f"{random.random():.4f}" for _ in range(EMBEDDING_DIM)) + "]"
                await conn.execute(f"INSERT INTO {SCHEMA}.embeddings (key, run, session, embedding) VALUES (%s, %s, %s, %s::vector)",
                                   (key, run, session, vector))
            elif self.purpose == "timescaledb":
                await conn.execute(f"INSERT INTO {SCHEMA}.metrics (ts, key, run, session, value) VALUES (now(), %s, %s, %s, %s)",
                                   (key, run, session, random.random()))
            else:   # age: keys are generated here ([a-z0-9-]), safe inside the cypher literal
                await conn.execute(
                    f"SELECT * FROM cypher('{GRAPH}', $$ CREATE (:Agent {{run: '{run}', session: {session}}})"
                    f"-[:RECALLS {{key: '{key}', run: '{run}'}}]->(:Memory {{key: '{key}'}}) $$) AS (v agtype)")
        await self._run(insert)
        return key

    async def read(self, run: str, session: int) -> None:
        queries = {
            "relational": (f"SELECT count(*) FROM {SCHEMA}.sessions WHERE run = %s AND session = %s", (run, session)),
            "vector": (f"SELECT key FROM {SCHEMA}.embeddings WHERE run = %s ORDER BY embedding <-> "
                         f"(SELECT embedding FROM {SCHEMA}.embeddings WHERE run = %s AND session = %s LIMIT 1) LIMIT 3",
                         (run, run, session)),
            "timescaledb": (f"SELECT avg(value) FROM {SCHEMA}.metrics WHERE run = %s AND session = %s "
                         "AND ts > now() - interval '5 minutes'", (run, session)),
            "age": (f"SELECT * FROM cypher('{GRAPH}', $$ MATCH (a:Agent {{run: '{run}', session: {session}}})"
                      f"-[e:RECALLS]->() RETURN count(e) $$) AS (n agtype)", None),
        }
        sql, params = queries[self.purpose]

        async def query(conn) -> None:
            await (await conn.execute(sql, params)).fetchall()
        await self._run(query)

    async def present(self, run: str, entries: list[dict]) -> set[str]:
        keys = [e["k"] for e in entries]
        sql = {
            "relational": f"SELECT key FROM {SCHEMA}.sessions WHERE run = %s",
            "vector": f"SELECT key FROM {SCHEMA}.embeddings WHERE run = %s",
            "timescaledb": f"SELECT key FROM {SCHEMA}.metrics WHERE run = %s",
            "age": f"SELECT trim(both '\"' from k::text) FROM cypher('{GRAPH}', $$ MATCH ()-[e:RECALLS]->() "
                     f"WHERE e.run = '{run}' RETURN e.key $$) AS (k agtype)",
        }[self.purpose]
        conn = await self._connect(self.endpoint.primary)
        try:
            rows = await (await conn.execute(sql, None if self.purpose == "age" else (run,))).fetchall()
        finally:
            await conn.close()
        found = {r[0] for r in rows}
        return found & set(keys)

    async def close(self) -> None:
        while not self.pool.empty():
            conn = self.pool.get_nowait()
            if conn is not None:
                try:
                    await asyncio.wait_for(conn.close(), 2)
                except BaseException:  # noqa: BLE001
                    pass


# ------------------------------------------------------------------ Valkey through Sentinel


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
        self.pool_wait = 30.0   # waiting for a free connection is queueing, not a failed write
        self.master = None
        self.master_address: tuple[str, int] | None = None
        self.lock = asyncio.Lock()

    async def discover(self) -> tuple[str, int]:
        """Ask every Sentinel at once; the first answer naming a member of the tier wins."""
        import valkey.asyncio as valkey

        async def ask(host: str, port: int) -> tuple[str, int]:
            sentinel = valkey.Valkey(host=host, port=port, socket_timeout=self.op_timeout,
                                     socket_connect_timeout=self.op_timeout)
            try:
                name, _port = await sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.endpoint.master_name)
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
                except Exception as exc:  # noqa: BLE001 - wait for another Sentinel
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
                    host=self.master_address[0], port=self.master_address[1], password=self.endpoint.password,
                    socket_timeout=self.op_timeout, socket_connect_timeout=self.op_timeout,
                    max_connections=self.pool_size, timeout=self.pool_wait)
                self.master = valkey.Valkey(connection_pool=pool)
            return self.master

    async def _reset(self, client) -> None:
        async with self.lock:
            if self.master is client:
                self.master = None
        try:
            await client.aclose(close_connection_pool=True)
        except Exception:  # noqa: BLE001
            pass

    async def _run(self, fn):
        client = await asyncio.wait_for(self._client(), 2 * self.op_timeout)
        try:
            return await asyncio.wait_for(fn(client), self.op_timeout)
        except (ConnectionError, OSError, asyncio.TimeoutError, *valkey_errors()) as exc:
            # READONLY (a demoted master), a refused write (min-replicas) or a dead socket: ask Sentinel again.
            del exc
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
                chunk = entries[i:i + 500]
                async with client.pipeline(transaction=False) as pipe:
                    for e in chunk:
                        pipe.exists(e["ref"])
                    results = await pipe.execute()
                found |= {e["k"] for e, r in zip(chunk, results) if r}
            return found
        client = await self._client()
        return await asyncio.wait_for(exists(client), 120)

    async def close(self) -> None:
        if self.master is not None:
            await self.master.aclose()


# ------------------------------------------------------------------ NATS JetStream


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
            servers=self.endpoint.servers, user=self.endpoint.user, password=self.endpoint.password,
            connect_timeout=max(1, int(self.op_timeout)), reconnect_time_wait=0.5, max_reconnect_attempts=-1,
            allow_reconnect=True, name="novaload", error_cb=self._quiet, disconnected_cb=self._quiet_cb,
            reconnected_cb=self._quiet_cb)
        self.js = self.nc.jetstream(timeout=self.op_timeout)
        await self.js.stream_info(NATS_STREAM)   # the stream is the nats_jetstream role's; fail early if missing

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
            self.op_timeout)
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
                except Exception:  # noqa: BLE001 - not found counts as lost
                    return None
            return e["k"] if msg.data == e["k"].encode() else None
        found = await asyncio.wait_for(asyncio.gather(*(check(e) for e in entries)), 300)
        return {k for k in found if k}

    async def close(self) -> None:
        if self.nc is not None:
            try:
                await asyncio.wait_for(self.nc.close(), 5)
            except Exception:  # noqa: BLE001
                pass


def workload_of(extensions: Iterable[str]) -> str:
    """A Patroni tier's workload from its catalog extensions (vector, age, timescaledb; none: relational)."""
    found = [e for e in extensions if e in PostgresClient.DDL]
    return found[0] if found else "relational"


def clients(endpoints, tiers: Iterable[str], pool_size: int, op_timeout: float,
            extensions: dict[str, list[str]]) -> dict[str, TierClient]:
    """The client of each wanted tier (by catalog key); unknown tiers are named in the error."""
    made: dict[str, TierClient] = {}
    for tier in tiers:
        if tier in endpoints.postgres:
            made[tier] = PostgresClient(endpoints.postgres[tier], pool_size, op_timeout,
                                        workload_of(extensions.get(tier, [])))
        elif tier in endpoints.valkey:
            made[tier] = ValkeyClient(endpoints.valkey[tier], pool_size, op_timeout)
        elif tier in endpoints.nats:
            made[tier] = JetStreamClient(endpoints.nats[tier], op_timeout)
        else:
            known = sorted({*endpoints.postgres, *endpoints.valkey, *endpoints.nats})
            raise ValueError(f"--tiers: {tier!r} is not a tier the load generator writes to (known: {', '.join(known)})")
    return made
