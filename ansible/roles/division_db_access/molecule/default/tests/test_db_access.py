"""division_db_access: connection files on the division host; the PostgreSQL role and the Valkey
ACL user work with the file's credentials and nothing more."""

import os
import stat

import pytest
import testinfra

testinfra_hosts = ["ansible://mol-divdb-host"]

DIVISION = "novacore-runtime"
IDENT = "div_novacore_runtime"
CONF = "/home/novaops/.config/novaops"


def other(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def env_file(host, tier):
    with host.sudo():
        text = host.file(f"{CONF}/{tier}.env").content_string
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def pg():
    return other("mol-divdb-episodic-1")


@pytest.fixture(scope="module")
def vk():
    return other("mol-divdb-working-1")


def test_config_dir(host):
    d = host.file(CONF)
    assert d.is_directory and d.user == "novaops" and d.mode == 0o700


@pytest.mark.parametrize("tier", ["working", "episodic", "coordination"])
def test_connection_files(host, tier):
    f = host.file(f"{CONF}/{tier}.env")
    assert f.exists and f.user == "novaops" and f.group == "novaops" and f.mode == 0o600


def test_credentials_on_controller():
    for tier in ("working", "episodic"):
        path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "state", "credentials", DIVISION, tier)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_episodic_file(host):
    env = env_file(host, "episodic")
    assert env["PGHOST"] == "novaops-molecule-episodic-router" and env["PGPORT"] == "5000"
    assert env["NOVAOPS_PG_REPLICAS_PORT"] == "5001"
    assert env["PGUSER"] == IDENT and env["PGDATABASE"] == "nova" and len(env["PGPASSWORD"]) == 32


def test_tiers_reachable_from_host(host):
    # No clients on the host image: a TCP connect proves the tier network path.
    for target, port in (("mol-divdb-episodic-1", 5432), ("mol-divdb-working-1", 26379), ("mol-divdb-working-1", 6379)):
        cmd = f"python3 -c 'import socket; socket.create_connection((\"{target}\", {port}), 5).close()'"
        assert host.run(cmd).rc == 0, target


def psql(pg, env, sql):
    return pg.run(
        f"PGPASSWORD={env['PGPASSWORD']} psql -h 127.0.0.1 -U {env['PGUSER']} -d nova -v ON_ERROR_STOP=1 -Atc \"{sql}\""
    )


def test_pg_role_works_with_file_credentials(host, pg):
    env = env_file(host, "episodic")
    res = psql(pg, env, "CREATE TABLE IF NOT EXISTS probe (id int); SELECT current_schema()")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == IDENT
    assert psql(pg, env, "SELECT count(*) FROM div_novacore_runtime.probe").rc == 0


def test_pg_role_is_least_privilege(host, pg):
    env = env_file(host, "episodic")
    assert "permission denied" in psql(pg, env, "CREATE TABLE public.nope (id int)").stderr
    assert "permission denied" in psql(pg, env, "CREATE SCHEMA nope").stderr
    attrs = psql(
        pg,
        env,
        f"SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
        f"FROM pg_roles WHERE rolname = '{IDENT}'",
    ).stdout.strip()
    assert attrs == "f|f|f|f|f"
    bad = dict(env, PGPASSWORD="wrong")
    assert psql(pg, bad, "SELECT 1").rc != 0


def cli(vk, env, *args, port=6379):
    return vk.run(
        f"valkey-cli --no-auth-warning -p {port} --user %s --pass %s" + " %s" * len(args),
        env["VALKEY_USERNAME"],
        env["VALKEY_PASSWORD"],
        *args,
    )


def test_working_file(host):
    env = env_file(host, "working")
    assert env["VALKEY_SENTINELS"] == "mol-divdb-working-1:26379"
    assert env["VALKEY_MASTER_NAME"] == "molecule-working"
    assert env["VALKEY_USERNAME"] == IDENT and env["VALKEY_KEY_PREFIX"] == f"div:{DIVISION}:"


def test_valkey_acl_user(host, vk):
    env = env_file(host, "working")
    assert cli(vk, env, "SET", f"div:{DIVISION}:probe", "1").stdout.strip() == "OK"
    assert cli(vk, env, "GET", f"div:{DIVISION}:probe").stdout.strip() == "1"
    assert "NOPERM" in cli(vk, env, "SET", "div:other:probe", "1").stdout
    assert "NOPERM" in cli(vk, env, "FLUSHALL").stdout
    assert "NOPERM" in cli(vk, env, "CONFIG", "GET", "requirepass").stdout


def test_valkey_acl_user_persisted(vk):
    # The containers are reached as root (docker exec); the image has no sudo.
    assert vk.run(f"grep -q '^user {IDENT} on ' /data/valkey.conf").rc == 0


def test_sentinel_names_the_master_to_the_division_only(host, vk):
    env = env_file(host, "working")
    answer = cli(vk, env, "SENTINEL", "get-master-addr-by-name", "molecule-working", port=26379).stdout
    assert answer.splitlines()[0] == "mol-divdb-working-1"
    assert "molecule-working" in cli(vk, env, "SENTINEL", "MASTERS", port=26379).stdout
    for refused in (
        ("SENTINEL", "FAILOVER", "molecule-working"),
        ("SENTINEL", "SET", "molecule-working", "quorum", "2"),
    ):
        assert "NOPERM" in cli(vk, env, *refused, port=26379).stdout, refused
    assert "NOAUTH" in vk.run("valkey-cli -p 26379 SENTINEL MASTERS").stdout, "anonymous clients are refused"
    assert vk.run(f"grep -q '^user {IDENT} on ' /data/sentinel.conf").rc == 0, "persisted (FLUSHCONFIG)"


def test_coordination_file(host):
    env = env_file(host, "coordination")
    assert env["ETCDCTL_ENDPOINTS"] == "http://mol-divdb-coordination-1:2379"
    assert env["ETCDCTL_USER"] == f"division-{DIVISION}" and len(env["ETCDCTL_PASSWORD"]) == 32
    assert env["NOVAOPS_ETCD_PREFIX"] == f"/divisions/{DIVISION}/"


@pytest.fixture(scope="module")
def etcd():
    return other("mol-divdb-coordination-1")


@pytest.mark.parametrize(
    "key,allowed", [(f"/divisions/{DIVISION}/probe", True), ("/divisions/other/probe", False), ("/novaops/x", False)]
)
def test_the_division_etcd_user_is_confined_to_its_prefix(host, etcd, key, allowed):
    env = env_file(host, "coordination")
    run = etcd.run(
        "ETCDCTL_USER=%s ETCDCTL_PASSWORD=%s etcdctl --endpoints=http://127.0.0.1:2379 put %s v",
        env["ETCDCTL_USER"],
        env["ETCDCTL_PASSWORD"],
        key,
    )
    assert (run.rc == 0) == allowed, run.stderr
    if not allowed:
        assert "permission denied" in run.stderr
