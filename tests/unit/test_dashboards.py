"""The generated Grafana dashboards (components/dashboards): which exist, that each is valid for
the Grafana version of the pinned grafana-foundation-sdk build, and that the validator catches
what Grafana would reject. No Docker, no Grafana: ~5 s."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest

from components.dashboards import DATASOURCE_UID, render_dashboards
from components.dashboards import catalog_dashboards as cd
from components.dashboards.__main__ import main as cli
from components.dashboards.validate import DashboardInvalid, check_set, problems, schema_version, sdk_grafana_version
from components.engines import home
from components.model import build_topology, load_catalog
from components.stack_files import load_stack_file
from tests.unit.second_tiers import second_tiers_topology

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def topology():
    return build_topology("dev", load_stack_file("dev"))


@pytest.fixture(scope="module")
def rendered(topology) -> dict[str, dict]:
    return render_dashboards(topology)


def panels(dashboard: dict) -> list[dict]:
    return [p for top in dashboard["panels"] for p in (top, *(top.get("panels") or []))]


def exprs(dashboard: dict) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets") or []]


def test_one_dashboard_per_tier_then_overview_divisions_backups_slo(topology, rendered):
    tiers = list(load_catalog()["tiers"])
    assert len(tiers) == 7
    assert list(rendered) == [cd.tier_uid(t.key) for t in cd.tiers_by_number(topology)] + [
        "novaops-overview",
        "novaops-divisions",
        "novaops-backups",
        "novaops-slo",
    ]
    assert {cd.tier_uid(t) for t in tiers} <= set(rendered)
    for tier in topology.tiers.values():
        d = rendered[cd.tier_uid(tier.key)]
        assert d["templating"]["list"][0] == {
            **d["templating"]["list"][0],
            "name": "tier",
            "type": "constant",
            "query": tier.key,
        }
        assert all('tier="$tier"' in e for e in exprs(d) if "novaops_backup" not in e), d["uid"]


def test_every_dashboard_is_valid_for_the_sdk_grafana_version(rendered):
    for uid, d in rendered.items():
        assert problems(d) == [], uid
        ids = [p["id"] for p in panels(d)]
        assert len(ids) == len(set(ids)), uid
        assert d["schemaVersion"] == schema_version() == 41  # Grafana 11.6
        assert exprs(d), uid


def test_sdk_build_matches_the_grafana_image_the_stacks_deploy():
    grafana = sdk_grafana_version()
    assert grafana.startswith("11."), f"SDK built for Grafana {grafana}"
    pins = re.findall(r"^grafana-foundation-sdk==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pins and pins[0].split("!", 1)[-1] == grafana, f"requirements.txt pins {pins}, installed {grafana}"
    for stack in ("dev", "prod"):
        image = build_topology(stack, load_stack_file(stack)).grafana_image
        assert image and image.rsplit(":", 1)[1].split(".")[:2] == grafana.split(".")[:2], (
            f"{stack} deploys {image}, dashboards are built for Grafana {grafana}"
        )


def test_no_checkpoint_counters_postgresql_17_removed_from_pg_stat_bgwriter(rendered):
    removed = re.compile(r"pg_stat_bgwriter_(checkpoints?_|buffers_checkpoint|buffers_backend)")
    used = [e for d in rendered.values() for e in exprs(d)]
    assert not [e for e in used if removed.search(e)]
    assert any("pg_stat_checkpointer_num_timed_total" in e for e in used)


def test_overview_covers_every_service_and_backups_and_slo_every_tier(topology, rendered):
    overview = rendered["novaops-overview"]
    services = sum(len(t.members) for t in topology.tiers.values())
    assert f"All {services} services" in [p["title"] for p in panels(overview)]
    for uid in ("novaops-backups", "novaops-slo"):
        (var,) = rendered[uid]["templating"]["list"]
        assert [o["value"] for o in var["options"]] == [t.key for t in cd.tiers_by_number(topology)], uid
        assert var["current"]["value"] == ["$__all"], uid
    (division,) = rendered["novaops-divisions"]["templating"]["list"]
    assert [o["value"] for o in division["options"]] == list(topology.divisions)
    backups = " ".join(exprs(rendered["novaops-backups"]))
    for metric in (
        "novaops_backup_last_success_timestamp_seconds",
        "novaops_backup_last_size_bytes",
        "novaops_backup_last_status",
    ):
        assert metric in backups
    slo = " ".join(exprs(rendered["novaops-slo"]))
    for window in ("5m", "1h", "6h"):
        assert f"novaops:probe_success:ratio_rate{window}" in slo
    assert "novaops:probe_latency_under_100ms:ratio_rate5m" in slo and "novaops_probe_duration_seconds_bucket" in slo


def test_tiers_of_one_engine_share_their_panels_and_a_new_catalog_tier_gets_a_dashboard():
    catalog = copy.deepcopy(load_catalog())
    catalog["tiers"]["archive"] = {
        "number": 8,
        "purpose": "cold KV",
        "engine": "valkey",
        "members": 5,
        "memoryMb": 256,
        "publish": {"valkey": 16389, "sentinel": 26389},
    }
    topology = build_topology("dev", load_stack_file("dev"), catalog=catalog)
    rendered = render_dashboards(topology)
    archive, working = rendered[cd.tier_uid("archive")], rendered[cd.tier_uid("working")]
    assert exprs(archive) == exprs(working)  # one definition per engine; the tier is the constant variable
    assert "archive-5" in archive["description"]
    (members_now,) = [p for p in panels(archive) if p["title"] == "Members up now"]
    assert members_now["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 5


def test_a_second_valkey_and_a_second_patroni_tier_from_the_catalog_alone_get_their_dashboards():
    topology = second_tiers_topology()
    rendered = render_dashboards(topology)
    tier_uids = [cd.tier_uid(t.key) for t in cd.tiers_by_number(topology)]
    assert list(rendered)[: len(tier_uids)] == tier_uids and len(tier_uids) == 9
    for new, same_engine in (("cache", "working"), ("ledger", "episodic")):
        d, other = rendered[cd.tier_uid(new)], rendered[cd.tier_uid(same_engine)]
        assert d["title"].endswith(f" {new} ({topology.tiers[new].engine.name})")
        assert [p["title"] for p in d["panels"]] == [p["title"] for p in other["panels"]]  # engine rows, router
        assert exprs(d) == exprs(other)
        assert d["templating"]["list"][0]["query"] == new
    assert "Router (HAProxy: stable primary / replica endpoints)" in [
        p["title"] for p in rendered[cd.tier_uid("ledger")]["panels"]
    ]
    overview = rendered["novaops-overview"]
    (leaders,) = [p for p in panels(overview) if p["title"] == "Leaders per tier (expect 1)"]
    dev = render_dashboards(build_topology("dev", {}))
    (dev_leaders,) = [p for p in panels(dev["novaops-overview"]) if p["title"] == "Leaders per tier (expect 1)"]
    # One term and one word per engine, not per tier.
    assert (leaders["targets"], leaders["description"]) == (dev_leaders["targets"], dev_leaders["description"])
    assert "| 9 | [ledger](/d/novaops-tier-ledger) | patroni |" in overview["panels"][1]["options"]["content"]
    assert rendered["novaops-backups"]["description"] == dev["novaops-backups"]["description"]
    for uid in ("novaops-overview", "novaops-backups"):
        assert exprs(rendered[uid]) == exprs(dev[uid]), uid
    # The division that uses the new tiers (tests/unit/second_tiers.py) watches them too.
    assert 'tier=~"working|episodic|graph|cache|ledger|streams"' in " ".join(exprs(rendered["novaops-divisions"]))
    for uid in ("novaops-backups", "novaops-slo"):
        (var,) = rendered[uid]["templating"]["list"]
        assert [o["value"] for o in var["options"]][-2:] == ["cache", "ledger"], uid


def test_a_tier_whose_engine_has_no_panels_is_named(topology, monkeypatch):
    # As if components/engines/<etcd's package>/dashboards.py did not exist.
    monkeypatch.setitem(sys.modules, f"components.engines.{home('etcd')}.dashboards", None)
    with pytest.raises(ValueError, match="tier coordination: no dashboard panels for engine 'etcd'"):
        render_dashboards(topology)


# --------------------------------------------------------------------------- the validator can fail


def _first_query_panel(d: dict) -> dict:
    return next(p for p in d["panels"] if p.get("targets"))


BREAKAGES = {
    "duplicate panel id": (lambda d: d["panels"][2].update(id=d["panels"][1]["id"]), "is also used by"),
    "other datasource uid": (
        lambda d: _first_query_panel(d)["targets"][0]["datasource"].update(uid="other"),
        "not the provisioned prometheus datasource",
    ),
    "panel without datasource": (lambda d: _first_query_panel(d).pop("datasource"), "not the provisioned"),
    "key not in the schema": (lambda d: _first_query_panel(d).update(titel="typo"), "titel: not in the Grafana schema"),
    "wrong type": (lambda d: _first_query_panel(d)["gridPos"].update(w="8"), "grid_pos.w: expected an integer"),
    "enum value unknown": (lambda d: d.update(graphTooltip=7), "graph_tooltip: 7 is not a DashboardCursorSync"),
    "panel type Grafana 11 lacks": (lambda d: _first_query_panel(d).update(type="graph"), "'graph' is not a Grafana"),
    "old schemaVersion": (lambda d: d.update(schemaVersion=39), "schemaVersion 39"),
    "undefined variable": (
        lambda d: _first_query_panel(d)["targets"][0].update(expr="up{tier=\"$nope\"}"),
        "uses $nope",
    ),
    "panel of an unknown datasource type": (
        lambda d: _first_query_panel(d).update(datasource={"type": "mystery", "uid": DATASOURCE_UID}),
        "datasource type the SDK does not know",
    ),
    "panel off the grid": (lambda d: _first_query_panel(d)["gridPos"].update(x=20, w=8), "does not fit"),
    "overlapping panels": (lambda d: _first_query_panel(d)["gridPos"].update(y=0), "overlaps"),
    "uid too long": (lambda d: d.update(uid="x" * 41), "1-40 letters"),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_validator_rejects(rendered, name):
    breakage, message = BREAKAGES[name]
    broken = copy.deepcopy(rendered["novaops-tier-episodic"])
    breakage(broken)
    found = problems(broken)
    assert any(message in p for p in found), found


def test_duplicate_uids_across_the_set_are_rejected(rendered):
    twice = [rendered["novaops-slo"], copy.deepcopy(rendered["novaops-slo"])]
    with pytest.raises(DashboardInvalid, match="uid 'novaops-slo' is used by 2 dashboards"):
        check_set(twice)


# --------------------------------------------------------------------------- CLI


def test_cli_writes_one_json_per_dashboard(tmp_path, capsys, rendered):
    assert cli(["--stack", "dev", "--out", str(tmp_path)]) == 0
    written = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert written == rendered
    assert "11 dashboards for Grafana 11." in capsys.readouterr().out


def test_cli_names_a_missing_stack(tmp_path, capsys):
    assert cli(["--stack", "nosuch", "--out", str(tmp_path)]) == 1
    assert "Pulumi.nosuch.yaml" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_every_recording_rule_the_dashboards_use_is_recorded(rendered):
    import yaml

    rules_dir = ROOT / "ansible/roles/prometheus_alerts/files/rules"
    recorded = {
        r["record"]
        for f in rules_dir.glob("*.yml")
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "record" in r
    }
    used = {m for d in rendered.values() for e in exprs(d) for m in re.findall(r"\b[a-z_]+(?::[a-z0-9_]+)+\b", e)}
    missing = used - recorded
    if not any(r.startswith("novaops:probe_") for r in recorded):  # the prober's rules are not merged yet
        missing = {m for m in missing if not m.startswith("novaops:probe_")}
    assert used and not missing, f"recorded nowhere in {rules_dir.relative_to(ROOT)}: {sorted(missing)}"
