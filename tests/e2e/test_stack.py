"""The whole stack, brought up from the Pulumi program, answers real queries on all 19 services."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import urllib.error
import uuid

import docker
import psycopg
import pytest
import valkey

from tests.e2e.conftest import eventually, patroni_tiers
from tools.http_json import http_json as shared_http_json

pytestmark = [pytest.mark.docker, pytest.mark.e2e]
LOCAL = "127.0.0.1"
PG_TIERS = patroni_tiers()


def http_json(
    port: int, path: str, body: dict | None = None, auth: tuple[str, str] | None = None, token: str | None = None
) -> dict:
    """A service's HTTP-JSON API on the stack's address (POST when ``body`` is given); ``auth``:
    a basic-auth login (Prometheus, Alertmanager); ``token``: an etcd auth token."""
    return shared_http_json(f"http://{LOCAL}:{port}{path}", body, timeout=5, auth=auth, token=token)


def test_every_declared_container_runs_healthy(stack):
    client = docker.from_env()
    for name in stack.outputs["containers"]:
        state = client.api.inspect_container(name)["State"]
        assert state["Running"], name
        assert state["Health"]["Status"] == "healthy", name
    assert len(stack.outputs["containers"]) == 35  # e2e leaves Grafana out (Pulumi.e2e.yaml)


# ---------------------------------------------------------------- PostgreSQL under Patroni


def patroni_cluster(stack, tier):
    first = next(iter(stack.members(tier)))
    return http_json(stack.port(tier, first, "patroni"), "/cluster")


def roles(stack, tier) -> dict[str, str]:
    """member key -> 'leader' or 'replica', once every replica streams."""

    def ready():
        members = patroni_cluster(stack, tier)["members"]
        if len(members) != len(stack.members(tier)):
            return None
        if any(m["role"] != "leader" and m.get("state") != "streaming" for m in members):
            return None
        by_container = {m["name"]: ("leader" if m["role"] == "leader" else "replica") for m in members}
        return {key: by_container[v["container"]] for key, v in stack.members(tier).items()}

    return eventually(ready, 120, what=f"{tier}: all replicas streaming")


def pg(stack, tier, member, dbname="nova"):
    return psycopg.connect(
        host=LOCAL,
        port=stack.port(tier, member, "postgres"),
        user="postgres",
        password=stack.secret(tier, "superuser"),
        dbname=dbname,
        connect_timeout=5,
        autocommit=True,
    )


@pytest.mark.parametrize("tier", PG_TIERS)
def test_patroni_tier_has_one_leader_and_replicas_serve_reads(stack, tier):
    member_roles = roles(stack, tier)
    leaders = [k for k, r in member_roles.items() if r == "leader"]
    assert len(leaders) == 1, member_roles
    table = f"e2e_{uuid.uuid4().hex[:8]}"
    with pg(stack, tier, leaders[0]) as conn:
        assert conn.execute("select pg_is_in_recovery()").fetchone() == (False,)
        assert conn.execute("show server_version").fetchone()[0].startswith("17.")
        conn.execute(f"create table {table} (id int primary key, note text)")
        conn.execute(f"insert into {table} values (1, %s)", (tier,))
    for member, role in member_roles.items():
        if role != "replica":
            continue
        with pg(stack, tier, member) as conn:
            assert conn.execute("select pg_is_in_recovery()").fetchone() == (True,)
            row = eventually(
                lambda: (
                    conn.execute(f"select note from {table} where id = 1").fetchone()
                    if conn.execute(f"select to_regclass('{table}')").fetchone()[0]
                    else None
                ),
                30,
                what=f"{member} replays the insert",
            )
            assert row == (tier,)


def leader_of(stack, tier):
    return next(k for k, r in roles(stack, tier).items() if r == "leader")


def test_pgvector_nearest_neighbour(stack):
    with pg(stack, "semantic", leader_of(stack, "semantic")) as conn:
        conn.execute("create table if not exists memories (id int primary key, embedding vector(3))")
        conn.execute(
            "insert into memories values (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]') on conflict do nothing"
        )
        nearest = conn.execute("select id from memories order by embedding <-> '[1,0.05,0]' limit 2").fetchall()
        assert nearest == [(1,), (3,)]


def test_age_cypher_query(stack):
    with pg(stack, "graph", leader_of(stack, "graph")) as conn:
        conn.execute("load 'age'")
        conn.execute('set search_path = ag_catalog, "$user", public')
        if not conn.execute("select 1 from ag_catalog.ag_graph where name = 'novas'").fetchone():
            conn.execute("select create_graph('novas')")
        conn.execute(
            "select * from cypher('novas', $$ create (:Nova {name: 'ada'})-[:TRUSTS]->(:Nova {name: 'bo'}) $$)"
            " as (v agtype)"
        )
        rows = conn.execute(
            "select * from cypher('novas', $$ match (a:Nova)-[:TRUSTS]->(b:Nova) return b.name $$) as (name agtype)"
        ).fetchall()
        assert ('"bo"',) in [(str(r[0]),) for r in rows]


def test_timescaledb_hypertable(stack):
    with pg(stack, "temporal", leader_of(stack, "temporal")) as conn:
        conn.execute(
            "create table if not exists nova_metrics (time timestamptz not null, nova text, value double precision)"
        )
        conn.execute("select create_hypertable('nova_metrics', 'time', if_not_exists => true)")
        conn.execute(
            "insert into nova_metrics select now() - i * interval '1 minute', 'n1', i from generate_series(1, 60) i"
        )
        assert conn.execute(
            "select count(*) from timescaledb_information.hypertables where hypertable_name = 'nova_metrics'"
        ).fetchone() == (1,)
        buckets = conn.execute(
            "select time_bucket('10 minutes', time) b, avg(value) from nova_metrics group by b"
        ).fetchall()
        assert len(buckets) >= 6


# ---------------------------------------------------------------- Valkey + Sentinel


def valkey_client(stack, member):
    return valkey.Valkey(
        host=LOCAL,
        port=stack.port("working", member, "valkey"),
        password=stack.secret("working", "password"),
        socket_timeout=5,
    )


def test_valkey_primary_replicas_and_sentinels(stack):
    by_container = {v["container"]: k for k, v in stack.members("working").items()}
    first = next(iter(stack.members("working")))
    password = stack.secret("working", "password")
    anonymous = valkey.Valkey(host=LOCAL, port=stack.port("working", first, "sentinel"), socket_timeout=5)
    with pytest.raises(valkey.exceptions.AuthenticationError):
        anonymous.execute_command("SENTINEL", "MASTERS")
    sentinel = valkey.Valkey(
        host=LOCAL, port=stack.port("working", first, "sentinel"), password=password, socket_timeout=5
    )
    master_name = f"{stack.name}-working"
    host, _ = eventually(lambda: sentinel.execute_command("SENTINEL", "get-master-addr-by-name", master_name), 30)
    primary = by_container[host.decode() if isinstance(host, bytes) else host]
    info = eventually(
        lambda: (i := valkey_client(stack, primary).info("replication"))["connected_slaves"] == 2 and i,
        60,
        what="two connected replicas",
    )
    assert info["role"] == "master"
    key = f"e2e:{uuid.uuid4().hex}"
    assert valkey_client(stack, primary).set(key, "hot")
    for member in stack.members("working"):
        if member == primary:
            continue
        replica = valkey_client(stack, member)
        assert replica.info("replication")["role"] == "slave"
        assert eventually(lambda: replica.get(key), 10) == b"hot"
    for member in stack.members("working"):
        s = valkey.Valkey(
            host=LOCAL, port=stack.port("working", member, "sentinel"), password=password, socket_timeout=5
        )
        master = eventually(lambda: {k: v for k, v in s.sentinel_master(master_name).items()}, 10)
        assert eventually(
            lambda: s.sentinel_master(master_name)["num-other-sentinels"] == 2,
            60,
            what=f"{member} sees 2 other sentinels",
        )
        assert master["quorum"] == 2


# ---------------------------------------------------------------- NATS JetStream


def test_nats_cluster_routes(stack):
    """3 servers, full mesh: 3 routes between distinct pairs (2.10 pools several connections per pair)."""
    pairs = set()
    for member, info in stack.members("streams").items():
        routez = eventually(
            lambda: (
                (r := http_json(stack.port("streams", member, "monitor"), "/routez"))
                and len({x["remote_name"] for x in r["routes"]}) == 2
                and r
            ),
            60,
            what=f"{member} routed to both peers",
        )
        pairs |= {frozenset((info["container"], x["remote_name"])) for x in routez["routes"]}
    assert len(pairs) == 3, pairs


def test_jetstream_publish_ack_and_read_on_another_node(stack):
    import nats
    import nats.js.errors

    members = list(stack.members("streams"))
    password = stack.secret("streams", "password")

    # Right after the stack starts JetStream may still be forming: no meta leader yet (503,
    # or no reply in time), a node not in the meta group ("no suitable peers for placement",
    # 10005), the new stream's own leader not elected (no responders to the publish). Each is
    # waited out, bounded; the publish carries a message id, so a retried one is not stored twice.
    transient = (
        nats.js.errors.ServiceUnavailableError,
        nats.js.errors.NoStreamResponseError,
        nats.errors.TimeoutError,
        nats.errors.NoRespondersError,
    )

    async def create_and_publish(js, stream: str):
        for attempt in range(40):
            last = attempt == 39
            try:
                await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=3)
                return await js.publish(f"{stream.lower()}.events", b"nova-online", headers={"Nats-Msg-Id": "e2e-1"})
            except nats.js.errors.BadRequestError as exc:
                if exc.err_code != 10005 or last:
                    raise
            except transient:
                if last:
                    raise
            await asyncio.sleep(2)

    async def run():
        a = await nats.connect(
            f"nats://nova:{password}@{LOCAL}:{stack.port('streams', members[0], 'client')}", connect_timeout=5
        )
        b = await nats.connect(
            f"nats://nova:{password}@{LOCAL}:{stack.port('streams', members[1], 'client')}", connect_timeout=5
        )
        try:
            js_a, js_b = a.jetstream(timeout=10), b.jetstream(timeout=10)
            stream = f"E2E_{uuid.uuid4().hex[:6].upper()}"
            ack = await create_and_publish(js_a, stream)
            assert ack.stream == stream and ack.seq == 1
            info = await js_b.stream_info(stream)
            assert info.config.num_replicas == 3 and len(info.cluster.replicas or []) == 2
            msg = await js_b.get_msg(stream, 1)
            assert msg.data == b"nova-online"
            await js_a.delete_stream(stream)
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(run(), 150))


# ---------------------------------------------------------------- etcd


def test_etcd_put_get_and_members(stack):
    """Auth is on from the tier's bootstrap: anonymous writes are refused, root's token gets in."""
    members = list(stack.members("coordination"))
    port = stack.port("coordination", members[0], "client")
    key, value = base64.b64encode(b"/e2e/probe").decode(), base64.b64encode(b"ok").decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        http_json(port, "/v3/kv/put", {"key": key, "value": value})
    assert b"user name is empty" in refused.value.read()
    login = {"name": "root", "password": stack.secret("coordination", "root")}
    token = http_json(port, "/v3/auth/authenticate", login)["token"]
    http_json(port, "/v3/kv/put", {"key": key, "value": value}, token=token)
    got = http_json(stack.port("coordination", members[-1], "client"), "/v3/kv/range", {"key": key}, token=token)
    assert base64.b64decode(got["kvs"][0]["value"]) == b"ok"
    listing = http_json(stack.port("coordination", members[1], "client"), "/v3/cluster/member/list", {}, token=token)
    assert sorted(m["name"] for m in listing["members"]) == sorted(
        v["container"] for v in stack.members("coordination").values()
    )


# ---------------------------------------------------------------- Prometheus and hosts


def test_prometheus_scrapes_every_container(stack):
    port = int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])

    def all_up():
        active = http_json(port, "/api/v1/targets?state=active", auth=stack.monitoring_login)["data"]["activeTargets"]
        down = [t["labels"]["instance"] for t in active if t["health"] != "up"]
        return (not down and active) or None

    active = eventually(all_up, 120, 3, what="every scrape target up")
    assert {t["labels"]["instance"] for t in active} == set(stack.outputs["containers"])
    per_job = {}
    for t in active:
        per_job.setdefault(t["labels"]["job"], []).append(t["labels"]["instance"])
    assert len(per_job["postgres"]) == len(per_job["patroni"]) == 10, "every PostgreSQL member probed by the exporter"
    assert sorted(per_job["postgres-log"]) == sorted(per_job["patroni"]), "mtail in every PostgreSQL member"
    assert sorted(per_job["sentinel"]) == sorted(per_job["valkey"]), "every member's Sentinel through the exporter"


def test_division_and_backup_hosts_accept_ssh_with_the_generated_key(stack, tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text(stack.outputs["sshPrivateKey"])
    key.chmod(0o600)
    for name, ssh in stack.outputs["ssh"].items():
        out = subprocess.run(
            [
                "ssh",
                "-i",
                str(key),
                "-p",
                str(ssh["port"]),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=5",
                f"{ssh['user']}@{ssh['host']}",
                "sudo -n true && python3 -c 'import sys; print(sys.version_info[0])' && hostname",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, f"{name}: {out.stderr}"
        assert out.stdout.split() == ["3", ssh["container"]], name
