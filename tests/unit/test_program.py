"""The real Pulumi program under mocks: the full resource graph it declares (dev stack).

Every test returns its Output so that @pulumi.runtime.test awaits the assertions.
"""

from __future__ import annotations

import collections
import json

import pulumi
import yaml

from components.engines.monitoring.files import scrape_targets
from components.images import image_tag
from components.inventory import inventory_hosts, render_inventory
from components.model import build_topology
from components.stack_files import load_stack_file
from tests.unit.pulumi_harness import FAKE_PUBLIC_KEY, reveal, run_program, uploads

CONTAINER = "docker:index/container:Container"
DB_PORTS = {5432, 6379, 26379, 4222, 6222, 2379, 2380, 8008}


def check(fn):
    """Run the program, then ``fn(mocks, result)`` once everything is registered."""
    mocks, result, done = run_program("dev")
    return done.apply(lambda _: fn(mocks, result))


def labels(c) -> dict:
    return {lbl["label"]: lbl["value"] for lbl in c.inputs.get("labels", [])}


@pulumi.runtime.test
def test_counts_per_tier_and_role():
    def verify(mocks, _):
        per_tier = collections.Counter(
            labels(c)["novaops.tier"] for c in mocks.containers() if labels(c)["novaops.role"] == "database"
        )
        assert per_tier == {
            "working": 3,
            "episodic": 3,
            "semantic": 2,
            "graph": 2,
            "temporal": 3,
            "streams": 3,
            "coordination": 3,
        }
        roles = collections.Counter(labels(c)["novaops.role"] for c in mocks.containers())
        assert roles == {"database": 19, "router": 4, "monitoring": 4, "exporter": 3, "division": 5, "backup": 1}
        routers = {labels(c)["novaops.tier"] for c in mocks.containers() if labels(c)["novaops.role"] == "router"}
        assert routers == {"episodic", "semantic", "graph", "temporal"}

    return check(verify)


@pulumi.runtime.test
def test_every_container_is_named_labelled_limited_and_health_checked():
    def verify(mocks, _):
        names = [c.inputs["name"] for c in mocks.containers()]
        assert len(names) == len(set(names)) == 36
        for c in mocks.containers():
            i = c.inputs
            assert i["name"].startswith("novaops-dev-"), i["name"]
            assert {"novaops.tier", "novaops.service", "novaops.role", "novaops.stack"} <= labels(c).keys()
            assert labels(c)["novaops.stack"] == "dev"
            assert i["restart"] == "unless-stopped"
            assert i["memory"] >= 32
            assert i["healthcheck"]["tests"][0] in ("CMD", "CMD-SHELL")
            assert i["healthcheck"]["interval"] == "10s" and i["healthcheck"]["startPeriod"] == "180s"
            assert i["wait"] is True and i["mustRun"] is True

    return check(verify)


@pulumi.runtime.test
def test_ports_published_only_on_loopback():
    def verify(mocks, _):
        published = [p for c in mocks.containers() for p in c.inputs.get("ports", [])]
        assert published, "dev publishes ports for tests and operators"
        assert {p["ip"] for p in published} == {"127.0.0.1"}
        assert all(p["external"] >= 1024 for p in published)
        externals = [p["external"] for p in published]
        assert len(externals) == len(set(externals))
        pg = mocks.container("novaops-dev-episodic-1").inputs["ports"]
        assert {(p["internal"], p["external"]) for p in pg} == {
            (5432, 15432),
            (8008, 18008),
            (9100, 19108),
            (3903, 13903),
        }

    return check(verify)


@pulumi.runtime.test
def test_networks_per_tier_division_scrape_and_edge_group():
    def verify(mocks, _):
        nets = {n.inputs["name"]: n.inputs for n in mocks.of_type("docker:index/network:Network")}
        tiers = ["working", "episodic", "semantic", "graph", "temporal", "streams", "coordination"]
        divisions = ["novacore-runtime", "framework-integration", "tool-ecosystem", "identity-continuity"]
        divisions.append("cross-domain-orchestration")
        internal = tiers + ["monitoring"] + [f"div-{d}" for d in divisions]
        internal += [f"scrape-{s}" for s in divisions + ["backup"]]
        edges = [f"edge-{g}" for g in tiers + ["monitoring", "backup"] + divisions]
        assert set(nets) == {f"novaops-dev-{k}" for k in internal + edges}
        assert all(nets[f"novaops-dev-{k}"]["internal"] for k in internal)
        assert not any(nets[f"novaops-dev-{k}"].get("internal") for k in edges)
        for c in mocks.containers():
            joined = [n["name"] for n in c.inputs["networksAdvanced"]]
            assert set(joined) <= set(nets), c.inputs["name"]
            if c.inputs.get("ports"):
                assert joined[0].startswith("novaops-dev-edge-"), "published ports need a non-internal first network"
        episodic = [n["name"] for n in mocks.container("novaops-dev-episodic-2").inputs["networksAdvanced"]]
        assert "novaops-dev-coordination" in episodic and "novaops-dev-working" not in episodic
        assert "novaops-dev-monitoring" not in episodic, "only monitoring services share the monitoring network"
        division = [n["name"] for n in mocks.container("novaops-dev-tool-ecosystem").inputs["networksAdvanced"]]
        want = ["edge-tool-ecosystem", "div-tool-ecosystem", "scrape-tool-ecosystem"]
        assert division == [f"novaops-dev-{k}" for k in want]

    return check(verify)


def _network_resource_names(stack: str):
    mocks, _, done = run_program(stack)
    return done.apply(lambda _: sorted(n.name for n in mocks.of_type("docker:index/network:Network")))


@pulumi.runtime.test
def test_network_resource_names_do_not_depend_on_the_number_of_docker_hosts():
    """<host>-<key> on one host as on three: declaring a second docker host renames no network
    (a rename would make Pulumi replace it, and every container on it)."""

    def expected(stack: str) -> list[str]:
        topology = build_topology(stack, load_stack_file(stack), lambda k: True)
        return sorted(f"{host}-{key}" for host, key in topology.networks)

    one_host, three_hosts = _network_resource_names("dev"), _network_resource_names("prod")
    want_dev, want_prod = expected("dev"), expected("prod")

    def verify(names):
        dev, prod = names
        assert dev == want_dev and all(n.startswith("local-") for n in dev)
        assert prod == want_prod and len({h for h, _ in build_topology("dev", {}).networks}) == 1

    return pulumi.Output.all(one_host, three_hosts).apply(verify)


@pulumi.runtime.test
def test_secrets_are_secret_files_never_env():
    def verify(mocks, _):
        passwords = set(mocks.generated.values())
        # 5 per Patroni tier (restapi among them), Valkey's, etcd's root and one DCS login per Patroni
        # tier, NATS's operations and system users and one per division (all 5 are in channels),
        # Grafana's admin, and the 4 web logins of Prometheus and Alertmanager
        patroni, divisions = 4, 5
        want = patroni * 5 + 1 + (1 + patroni) + (2 + divisions) + 1 + 4
        assert len(mocks.of_type("random:index/randomPassword:RandomPassword")) == want
        for c in mocks.containers():
            shown = [*reveal(c.inputs.get("envs", [])), *reveal(c.inputs.get("command") or [])]
            shown += reveal(c.inputs["healthcheck"])["tests"]  # what `docker inspect` and `ps` show
            assert not any(p in arg for p in passwords for arg in shown), c.inputs["name"]
            for path, (up, secret) in uploads(c).items():
                if any(p in up["content"] for p in passwords):
                    assert secret, f"{c.inputs['name']}:{path} holds a password in the clear"
                    assert up["permissions"] == "0600", f"{c.inputs['name']}:{path}"
        patroni = uploads(mocks.container("novaops-dev-episodic-1"))
        assert (
            patroni["/etc/novaops/patroni.yml"][1] and patroni["/etc/novaops/patroni.yml"][0]["permissions"] == "0600"
        )
        assert patroni["/etc/novaops/bootstrap.sql"][0]["permissions"] == "0600", "it creates the monitor role"

    return check(verify)


@pulumi.runtime.test
def test_tier_secret_outputs_are_secret():
    mocks, result, done = run_program("dev")
    return pulumi.Output.all(
        done,
        pulumi.Output.from_input(result.outputs["tierSecrets"]).is_secret(),
        result.outputs["sshPrivateKey"].is_secret(),
    ).apply(lambda r: (r[1] is True and r[2] is True) or (_ for _ in ()).throw(AssertionError(f"not secret: {r[1:]}")))


@pulumi.runtime.test
def test_data_lives_in_named_volumes():
    def verify(mocks, _):
        volumes = {v.inputs["name"] for v in mocks.of_type("docker:index/volume:Volume")}
        for c in mocks.containers():
            mounts = c.inputs.get("volumes", [])
            if labels(c)["novaops.role"] == "database":
                assert len(mounts) == 1, c.inputs["name"]
            for m in mounts:
                assert m["volumeName"] in volumes and m["volumeName"] == c.inputs["name"] + "-data"

    return check(verify)


@pulumi.runtime.test
def test_patroni_tiers_bootstrap_against_the_etcd_tier():
    def verify(mocks, _):
        etcd = [f"novaops-dev-coordination-{i}:2379" for i in (1, 2, 3)]
        for tier, preload in [
            ("episodic", ["pgaudit"]),
            ("semantic", ["pgaudit"]),
            ("graph", ["age", "pgaudit"]),
            ("temporal", ["pgaudit", "timescaledb"]),
        ]:
            up = uploads(mocks.container(f"novaops-dev-{tier}-1"))
            conf = yaml.safe_load(up["/etc/novaops/patroni.yml"][0]["content"])
            assert conf["scope"] == f"dev-{tier}"
            assert sorted(conf["etcd3"]["hosts"]) == etcd
            libs = conf["bootstrap"]["dcs"]["postgresql"]["parameters"].get("shared_preload_libraries", "")
            assert sorted(filter(None, libs.split(","))) == preload
            assert mocks.container(f"novaops-dev-{tier}-1").inputs["command"][:3] == [
                "novaops-run",
                "postgres",
                "patroni-with-pgbackrest",
            ]

    return check(verify)


@pulumi.runtime.test
def test_valkey_replicas_follow_the_first_member_and_sentinels_watch_it():
    def verify(mocks, _):
        def conf(name, f):
            return uploads(mocks.container(name))[f"/etc/novaops/{f}"][0]["content"]

        assert "replicaof" not in conf("novaops-dev-working-1", "valkey.conf")
        for i in (2, 3):
            assert "replicaof novaops-dev-working-1 6379" in conf(f"novaops-dev-working-{i}", "valkey.conf")
        for i in (1, 2, 3):
            assert "monitor dev-working novaops-dev-working-1 6379 2" in conf(
                f"novaops-dev-working-{i}", "sentinel.conf"
            )

    return check(verify)


@pulumi.runtime.test
def test_division_hosts_trust_the_generated_key():
    def verify(mocks, _):
        hosts = [c for c in mocks.containers() if labels(c)["novaops.role"] in ("division", "backup")]
        assert len(hosts) == 6
        for c in hosts:
            assert uploads(c)["/etc/novaops/authorized_keys"][0]["content"] == FAKE_PUBLIC_KEY
        assert len(mocks.of_type("tls:index/privateKey:PrivateKey")) == 1

    return check(verify)


@pulumi.runtime.test
def test_images_are_built_from_the_repo_and_referenced_by_digest_tag():
    def verify(mocks, _):
        built = {i.inputs["imageName"]: i.inputs for i in mocks.of_type("docker:index/image:Image")}
        assert {n.split(":")[0] for n in built} == {
            f"novaops/{n}"
            for n in [
                "base",
                "postgres",
                "valkey",
                "nats",
                "etcd",
                "prometheus",
                "alertmanager",
                "exporters",
                "host",
                "backup",
                "haproxy",
            ]
        }
        for name, i in built.items():
            assert i["skipPush"] is True
            assert name == image_tag(i["build"]["context"].split("/")[-1])
        for c in mocks.containers():
            if labels(c)["novaops.kind"] == "grafana":
                assert c.inputs["image"].startswith("grafana/grafana-oss:11.")
            else:
                assert c.inputs["image"] in built, c.inputs["name"]
        assert built[image_tag("postgres")]["build"]["args"]["BASE_IMAGE"] == image_tag("base")
        assert built[image_tag("backup")]["build"]["args"]["BASE_IMAGE"] == image_tag("host")

    return check(verify)


@pulumi.runtime.test
def test_containers_inventory_and_scrape_targets_agree():
    def verify(mocks, _):
        containers = {c.inputs["name"] for c in mocks.containers()}
        prom = uploads(mocks.container("novaops-dev-prometheus"))
        targets = scrape_targets(yaml.safe_load(prom["/etc/novaops/prometheus.yml"][0]["content"]))
        assert len(targets) == len(set(targets)), "each job scrapes a container once"
        topology = build_topology("dev", load_stack_file("dev"))
        assert containers == {c for _, c in targets} == inventory_hosts(render_inventory(topology))
        jobs = collections.Counter(job for job, _ in targets)
        assert jobs["patroni"] == jobs["postgres"] == 10 and jobs["valkey"] == 3 and jobs["pg-router"] == 4

    return check(verify)


@pulumi.runtime.test
def test_components_parent_their_children_and_tiers_wait_for_their_dcs():
    def verify(mocks, _):
        edges = mocks.monitor.edges
        types = collections.Counter(urn.split("::")[2].split("$")[-1] for urn in edges)
        assert types["novaops:tiers:DatabaseTier"] == 7
        assert types["novaops:hosts:DivisionHost"] == 5
        assert types["novaops:monitoring:MonitoringStack"] == types["novaops:backup:BackupHost"] == 1
        assert types["novaops:images:ImageSet"] == types["novaops:network:Networks"] == 1
        for c in mocks.containers():
            parent = mocks.edges_of(CONTAINER, labels(c)["novaops.service"]).parent
            assert "$novaops:" in parent, f"{c.inputs['name']} is not parented to a NovaOps component"
        etcd_members = {
            e.urn for e in edges.values() if e.urn.endswith(tuple(f"::coordination-{i}" for i in (1, 2, 3)))
        }
        assert len(etcd_members) == 3
        for tier in ("episodic", "semantic", "graph", "temporal"):
            deps = set(mocks.edges_of(CONTAINER, f"{tier}-1").dependencies)
            assert etcd_members <= deps or any(d.endswith("novaops:tiers:DatabaseTier::coordination") for d in deps), (
                f"{tier} does not wait for the etcd tier: {sorted(deps)}"
            )
            assert any("docker:index/network:Network" in d or "novaops:network:Networks" in d for d in deps)
        assert not etcd_members & set(mocks.edges_of(CONTAINER, "working-1").dependencies), "Valkey needs no DCS"

    return check(verify)


@pulumi.runtime.test
def test_prober_probes_every_database_member_with_its_tier_secret():
    def verify(mocks, _):
        import json

        topology = build_topology("dev", load_stack_file("dev"))
        prober = mocks.container("novaops-dev-prober")
        assert prober.inputs["command"][:3] == ["novaops-run", "prometheus", "novaops-prober"]
        assert not prober.inputs.get("ports"), "Prometheus reads it over the monitoring network only"
        upload, secret = uploads(prober)["/etc/novaops/prober.json"]
        assert secret and upload["permissions"] == "0600", "it holds the monitor and tier passwords"
        config = json.loads(upload["content"])
        assert config["timeout_seconds"] < config["interval_seconds"] <= 5
        by_service = {t["service"]: t for t in config["targets"]}
        members = {m.key: (t, m) for t in topology.tiers.values() for m in t.members}
        assert set(by_service) == set(members) and len(by_service) == 19
        protocols = {
            "patroni": ("postgres", 5432),
            "valkey": ("valkey", 6379),
            "nats": ("nats", 4222),
            "etcd": ("etcd", 2379),
        }
        for key, (tier, member) in members.items():
            target = by_service[key]
            assert (target["tier"], target["kind"], target["host"]) == (tier.key, tier.engine.name, member.container)
            assert (target["protocol"], target["port"]) == protocols[tier.engine.name]
        # each tier's own generated secret: the mock passwords are distinct per RandomPassword
        assert by_service["episodic-1"]["user"] == "monitor" and by_service["episodic-1"]["database"] == "postgres"
        assert by_service["episodic-1"]["password"] == mocks.generated["episodic-monitor-password"]
        assert by_service["semantic-2"]["password"] == mocks.generated["semantic-monitor-password"]
        assert by_service["working-3"]["password"] == mocks.generated["working-password-password"]
        assert by_service["streams-1"]["user"] == "nova"
        assert by_service["streams-1"]["password"] == mocks.generated["streams-password-password"]
        assert "password" not in by_service["coordination-1"]
        prom = yaml.safe_load(
            uploads(mocks.container("novaops-dev-prometheus"))["/etc/novaops/prometheus.yml"][0]["content"]
        )
        (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "prober"]
        assert job["honor_labels"] is True, "the probe labels tier/service must not become exported_*"
        assert job["metric_relabel_configs"] == [{"action": "labeldrop", "regex": "group|role"}]
        assert job["static_configs"][0]["targets"] == ["novaops-dev-prober:9199"]
        assert all("honor_labels" not in j for j in prom["scrape_configs"] if j["job_name"] != "prober")

    return check(verify)


@pulumi.runtime.test
def test_postgres_exporter_logs_in_to_a_database_that_exists():
    def verify(mocks, _):
        upload, secret = uploads(mocks.container("novaops-dev-postgres-exporter"))["/etc/novaops/postgres_exporter.yml"]
        modules = yaml.safe_load(upload["content"])["auth_modules"]
        assert secret and set(modules) == {"episodic", "semantic", "graph", "temporal"}
        for module in modules.values():
            # without dbname, libpq would look for a database named after the monitor role
            assert module["options"] == {"sslmode": "disable", "dbname": "postgres"}
            assert module["userpass"]["username"] == "monitor"


def grafana_provisioning_checked(mocks, stack: str) -> int:
    """The Grafana container of ``stack`` receives the datasource, the dashboard provider and one
    JSON file per generated dashboard, each valid against the datasource uid it provisions."""
    from components.dashboards import render_dashboards
    from components.dashboards.validate import problems

    topology = build_topology(stack, load_stack_file(stack))
    grafana = mocks.container(f"novaops-{stack}-grafana")
    files = uploads(grafana)
    datasource = yaml.safe_load(files["/etc/grafana/provisioning/datasources/novaops.yml"][0]["content"])
    (prom,) = datasource["datasources"]
    host, port = topology.endpoint(topology.monitoring["grafana"], topology.monitoring["prometheus"], "web")
    assert (prom["type"], prom["url"], prom["jsonData"]["timeInterval"]) == (
        "prometheus",
        f"http://{host}:{port}",
        "15s",
    )
    provider = yaml.safe_load(files["/etc/grafana/provisioning/dashboards/novaops.yml"][0]["content"])
    (files_provider,) = provider["providers"]
    assert files_provider["type"] == "file"
    directory = files_provider["options"]["path"]
    uploaded = {
        path.rsplit("/", 1)[1].removesuffix(".json"): up
        for path, (up, _) in files.items()
        if path.startswith(directory + "/")
    }
    expected = render_dashboards(topology)
    assert set(uploaded) == set(expected) and len(expected) == len(topology.tiers) + 4
    for uid, up in uploaded.items():
        dashboard = json.loads(up["content"])
        assert dashboard == expected[uid]
        assert problems(dashboard, datasource_uid=prom["uid"]) == [], uid
        assert (up["owner"], up["permissions"]) == ("472", "0644"), uid  # readable by Grafana, no secret inside
    return len(uploaded)


@pulumi.runtime.test
def test_grafana_receives_the_datasource_and_the_generated_dashboards():
    return check(lambda mocks, _: grafana_provisioning_checked(mocks, "dev"))


@pulumi.runtime.test
def test_prod_grafana_receives_the_datasource_and_the_generated_dashboards():
    mocks, _, done = run_program("prod")
    return done.apply(lambda _: grafana_provisioning_checked(mocks, "prod"))


@pulumi.runtime.test
def test_postgres_exporter_logs_in_to_an_existing_database_with_the_checkpointer_collector():
    def verify(mocks, _):
        exporter = mocks.container("novaops-dev-postgres-exporter")
        modules = yaml.safe_load(uploads(exporter)["/etc/novaops/postgres_exporter.yml"][0]["content"])["auth_modules"]
        assert set(modules) == {"episodic", "semantic", "graph", "temporal"}
        # without dbname the exporter asks for a database named after its user ("monitor"): pg_up 0
        assert {m["options"]["dbname"] for m in modules.values()} == {"postgres"}
        assert "--collector.stat_checkpointer" in exporter.inputs["command"]  # PostgreSQL 17 checkpoint counters

    return check(verify)
