"""Renderers in components/engines/<engine>/config.py (the files the engine images read)."""

from __future__ import annotations

import json

import yaml

from components.engines.etcd import config as etcd_config
from components.engines.nats import config as nats_config
from components.engines.patroni import config as pg_config
from components.engines.valkey import config as valkey_config

MEMBERS = ["novaops-dev-episodic-1", "novaops-dev-episodic-2", "novaops-dev-episodic-3"]
PW = "s3cr-et_pa.ss"


def _patroni(**overrides: object) -> dict:
    kwargs: dict = dict(
        scope="dev-episodic",
        namespace="/novaops/",
        member=MEMBERS[0],
        etcd_hosts=["novaops-dev-etcd-1:2379", "novaops-dev-etcd-2:2379"],
        postgres_port=5432,
        api_port=8008,
        superuser_password="su-" + PW,
        replication_password="rep-" + PW,
        rewind_password="rw-" + PW,
        restapi_password="api-" + PW,
        dcs_password="dcs-" + PW,
        shared_preload_libraries=["age", "timescaledb"],
    )
    kwargs.update(overrides)
    return yaml.safe_load(pg_config.patroni_yml(**kwargs))


def test_patroni_core_fields() -> None:
    cfg = _patroni()
    assert cfg["scope"] == "dev-episodic"
    assert cfg["namespace"] == "/novaops/"
    assert cfg["name"] == MEMBERS[0]
    assert cfg["etcd3"]["hosts"] == ["novaops-dev-etcd-1:2379", "novaops-dev-etcd-2:2379"]
    assert "etcd" not in cfg
    assert cfg["restapi"]["listen"] == "0.0.0.0:8008"
    assert cfg["restapi"]["connect_address"] == f"{MEMBERS[0]}:8008"
    pg = cfg["postgresql"]
    assert pg["listen"] == "0.0.0.0:5432"
    assert pg["connect_address"] == f"{MEMBERS[0]}:5432"
    assert pg["data_dir"] == "/var/lib/postgresql/data"
    assert pg["bin_dir"] == "/usr/lib/postgresql/17/bin"
    assert {"checkpoint": "fast"} in pg["basebackup"]
    assert pg["pgpass"].startswith("/var/lib/postgresql/")
    assert not pg["pgpass"].startswith("/var/lib/postgresql/data")


def test_patroni_authentication_and_hba() -> None:
    auth = _patroni()["postgresql"]["authentication"]
    assert auth["superuser"] == {"username": "postgres", "password": "su-" + PW}
    assert auth["replication"] == {"username": "replicator", "password": "rep-" + PW}
    assert auth["rewind"] == {"username": "rewind", "password": "rw-" + PW}
    hba = [" ".join(line.split()) for line in _patroni()["postgresql"]["pg_hba"]]
    assert "host replication replicator 0.0.0.0/0 scram-sha-256" in hba
    assert "host replication replicator ::/0 scram-sha-256" in hba
    assert "host all all 0.0.0.0/0 scram-sha-256" in hba
    assert "host all all ::/0 scram-sha-256" in hba
    assert not any(line.endswith(" trust") or line.endswith(" md5") for line in hba)


def test_patroni_rest_api_and_etcd_logins() -> None:
    """Unsafe REST endpoints need basic auth, patronictl sends it, Patroni logs into etcd as its tier's user."""
    cfg = _patroni()
    login = {"username": pg_config.RESTAPI_USER, "password": "api-" + PW}
    assert cfg["restapi"]["authentication"] == login
    assert cfg["ctl"]["authentication"] == login
    etcd = {k: cfg["etcd3"].get(k) for k in ("username", "password")}
    want = {"username": "patroni-dev-episodic", "password": "dcs-" + PW}
    assert etcd == want


def test_patroni_bootstrap() -> None:
    boot = _patroni(parameters={"max_connections": 50, "work_mem": "8MB"})["bootstrap"]
    dcs = boot["dcs"]
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["postgresql"]["use_slots"] is True
    params = dcs["postgresql"]["parameters"]
    assert params["wal_level"] == "replica"
    assert params["hot_standby"] == "on"  # a string, not YAML's boolean
    assert params["wal_log_hints"] == "on"
    assert params["max_wal_senders"] >= 3
    assert params["max_replication_slots"] >= 3
    assert params["shared_preload_libraries"] == "pgaudit,age,timescaledb"
    # audit: DDL and role/grant changes, never the statement text (CREATE ROLE ... PASSWORD)
    assert params["pgaudit.log"] == "ddl, role" and params["pgaudit.log_statement"] == "off"
    assert params["timescaledb.telemetry_level"] == "off"
    assert params["max_worker_processes"] >= 16
    assert params["max_connections"] == 50 and params["work_mem"] == "8MB"
    assert {"encoding": "UTF8"} in boot["initdb"]
    assert "data-checksums" in boot["initdb"]
    assert boot["post_bootstrap"] == "/usr/local/bin/novaops-post-bootstrap"


def test_patroni_no_preload() -> None:
    params = _patroni(shared_preload_libraries=[])["bootstrap"]["dcs"]["postgresql"]["parameters"]
    assert params["shared_preload_libraries"] == "pgaudit"
    assert "timescaledb.telemetry_level" not in params


def test_patroni_password_quoting() -> None:
    tricky = "a'b\"c: #d\\e"
    cfg = _patroni(superuser_password=tricky, replication_password="yes", rewind_password="0123")
    auth = cfg["postgresql"]["authentication"]
    assert auth["superuser"]["password"] == tricky
    assert auth["replication"]["password"] == "yes"  # stays a string
    assert auth["rewind"]["password"] == "0123"


def test_bootstrap_sql() -> None:
    sql = pg_config.bootstrap_sql(database="nova", extensions=["vector", "age", "timescaledb"])
    lines = sql.splitlines()
    create = next(line for line in lines if "CREATE DATABASE" in line)
    assert "CREATE DATABASE \"nova\"" in create and "datname = 'nova'" in create and create.endswith("\\gexec")
    connect = lines.index('\\connect "nova"')
    assert lines.index(create) < connect
    for ext in ("vector", "age", "timescaledb"):
        idx = lines.index(f'CREATE EXTENSION IF NOT EXISTS "{ext}" CASCADE;')
        assert idx > connect


def test_bootstrap_sql_postgres_database_and_quoting() -> None:
    sql = pg_config.bootstrap_sql(database="postgres", extensions=["vector"])
    assert "CREATE DATABASE" not in sql
    assert '\\connect "postgres"' in sql
    odd = pg_config.bootstrap_sql(database="we'ird", extensions=[])
    assert "datname = 'we''ird'" in odd
    assert "CREATE DATABASE \"we''ird\"" in odd


def _conf_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_valkey_primary_and_replica() -> None:
    primary = _conf_lines(valkey_config.valkey_conf(member=MEMBERS[0], port=6379, password=PW, primary=None))
    assert "port 6379" in primary
    assert "bind 0.0.0.0" in primary
    assert "protected-mode no" in primary
    assert "appendonly yes" in primary
    assert "dir /data" in primary
    assert f'requirepass "{PW}"' in primary
    assert f'masterauth "{PW}"' in primary
    assert f"replica-announce-ip {MEMBERS[0]}" in primary
    assert not any(line.startswith("replicaof") for line in primary)
    replica = _conf_lines(valkey_config.valkey_conf(member=MEMBERS[1], port=6380, password=PW, primary=MEMBERS[0]))
    assert f"replicaof {MEMBERS[0]} 6380" in replica
    assert f"replica-announce-ip {MEMBERS[1]}" in replica


def test_valkey_password_escaping() -> None:
    lines = _conf_lines(valkey_config.valkey_conf(member="m", port=6379, password='a"b\\c', primary=None))
    assert 'requirepass "a\\"b\\\\c"' in lines


def test_sentinel_conf() -> None:
    lines = _conf_lines(
        valkey_config.sentinel_conf(
            member=MEMBERS[1],
            master_name="dev-cache",
            primary=MEMBERS[0],
            valkey_port=6379,
            sentinel_port=26379,
            quorum=2,
            password=PW,
            down_after_ms=3000,
        )
    )
    assert "port 26379" in lines
    assert "dir /data" in lines
    assert "sentinel resolve-hostnames yes" in lines
    assert "sentinel announce-hostnames yes" in lines
    assert f"sentinel announce-ip {MEMBERS[1]}" in lines
    monitor = lines.index(f"sentinel monitor dev-cache {MEMBERS[0]} 6379 2")
    assert lines.index("sentinel resolve-hostnames yes") < monitor  # must precede a hostname monitor
    assert f'sentinel auth-pass dev-cache "{PW}"' in lines
    # Sentinel's own clients and its peers authenticate (the default user holds the tier password)
    assert f'requirepass "{PW}"' in lines and f'sentinel sentinel-pass "{PW}"' in lines
    assert "sentinel down-after-milliseconds dev-cache 3000" in lines
    assert "sentinel failover-timeout dev-cache 6000" in lines


def test_nats_conf() -> None:
    text = nats_config.nats_conf(
        member=MEMBERS[0],
        members=MEMBERS,
        cluster_name="dev-events",
        client_port=4222,
        cluster_port=6222,
        monitor_port=8222,
        user="nova",
        password=PW,
        system_password="sys-" + PW,
    )
    assert f'server_name: "{MEMBERS[0]}"' in text
    assert 'listen: "0.0.0.0:4222"' in text
    assert 'http: "0.0.0.0:8222"' in text
    assert 'store_dir: "/data/jetstream"' in text
    assert 'name: "dev-events"' in text
    assert 'listen: "0.0.0.0:6222"' in text
    assert 'user: "nova"' in text and f'password: "{PW}"' in text
    assert '"OPS": {"jetstream": "enabled", "users": [{"password": "' + PW + '", "user": "nova"}]}' in text
    assert '"SYS": {"users": [{"password": "sys-' + PW + '", "user": "system"}]}' in text
    assert 'system_account: "SYS"' in text
    for other in MEMBERS[1:]:
        assert f'"nats-route://nova:{PW}@{other}:6222"' in text
    assert f"@{MEMBERS[0]}:6222" not in text
    assert text.count("{") == text.count("}")


def test_nats_conf_escaping() -> None:
    text = nats_config.nats_conf(
        member="a",
        members=["a", "b"],
        cluster_name="c",
        client_port=1,
        cluster_port=2,
        monitor_port=3,
        user="u",
        password='p"w@/:',
        system_password="s",
    )
    assert 'password: "p\\"w@/:"' in text
    assert "nats-route://u:p%22w%40%2F%3A@b:2" in text


def test_etcd_yml() -> None:
    cfg = yaml.safe_load(
        etcd_config.etcd_yml(
            member=MEMBERS[1], members=MEMBERS, client_port=2379, peer_port=2380, cluster_token="novaops-dev-etcd"
        )
    )
    assert cfg["name"] == MEMBERS[1]
    assert cfg["data-dir"] == "/var/lib/etcd"
    assert cfg["listen-client-urls"] == "http://0.0.0.0:2379"
    assert cfg["listen-peer-urls"] == "http://0.0.0.0:2380"
    assert cfg["advertise-client-urls"] == f"http://{MEMBERS[1]}:2379"
    assert cfg["initial-advertise-peer-urls"] == f"http://{MEMBERS[1]}:2380"
    assert cfg["initial-cluster"] == ",".join(f"{m}=http://{m}:2380" for m in MEMBERS)
    assert cfg["initial-cluster-state"] == "new"
    assert cfg["initial-cluster-token"] == "novaops-dev-etcd"


def test_valkey_exporter_passwords() -> None:
    data = json.loads(valkey_config.valkey_exporter_passwords(targets={"redis://b:6379": "x", "redis://a:6379": PW}))
    assert data == {"redis://a:6379": PW, "redis://b:6379": "x"}
