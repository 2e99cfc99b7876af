"""Runbooks: every alert's runbook_url resolves, every playbook a runbook names exists, every
drill runs the playbook its runbook names, and the generated README part is fresh."""

from __future__ import annotations

import re

import pytest

from tests.unit.second_tiers import second_tiers_topology
from tools import runbooks
from tools.drills.drills import catalog, topology_tiers

ROOT = runbooks.ROOT
SECTIONS = ("## Symptoms", "## Confirm", "## Recovery", "## Verify", "## Escalate")


def runbook_files() -> list:
    return sorted(p for p in (ROOT / "runbooks").glob("*.md") if p.name != "README.md")


@pytest.mark.parametrize("alert", sorted(runbooks.alert_rules()))
def test_every_alert_has_an_existing_runbook_that_names_it(alert):
    url = runbooks.alert_rules()[alert]["annotations"].get("runbook_url", "")
    assert url.startswith("runbooks/"), f"{alert}: runbook_url {url!r} does not point into runbooks/"
    path = ROOT / url
    assert path.is_file(), f"{alert}: runbook {url} does not exist"
    assert f"`{alert}`" in path.read_text(), f"{alert}: {url} does not name the alert"


@pytest.mark.parametrize("path", runbook_files(), ids=lambda p: p.name)
def test_runbook_has_the_sections_and_its_playbooks_exist(path):
    text = path.read_text()
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"{path.name}: missing sections {missing}"
    for playbook in runbooks.PLAYBOOK_REF.findall(text):
        assert (ROOT / "ansible" / "playbooks" / playbook).is_file(), (
            f"{path.name} names playbooks/{playbook}, which does not exist"
        )


def test_recovery_playbooks_are_each_named_by_a_runbook():
    named = {p for f in runbook_files() for p in runbooks.PLAYBOOK_REF.findall(f.read_text())}
    playbooks = {p.name for p in (ROOT / "ansible" / "playbooks").glob("recover-*.yml")}
    assert playbooks <= named, f"recovery playbooks no runbook names: {sorted(playbooks - named)}"


@pytest.mark.parametrize("stack", ["dev", "e2e"])
def test_each_drill_runs_the_playbook_its_runbook_names(stack):
    drills = catalog(topology_tiers(stack))
    assert drills
    for drill in drills:
        text = (ROOT / "runbooks" / drill.runbook).read_text()
        recovery = text.split("## Recovery", 1)[1].split("\n## ", 1)[0]
        assert f"playbooks/{drill.playbook}" in recovery, (
            f"drill {drill.name} runs {drill.playbook}, but the Recovery section of {drill.runbook} does not name it"
        )


def test_readme_generated_part_is_fresh():
    current = runbooks.README.read_text()
    assert runbooks.BEGIN in current, "runbooks/README.md has no generated part: run `python -m tools.runbooks`"
    assert runbooks.render(current) == current, "runbooks/README.md is stale: run `python -m tools.runbooks`"


def test_readme_lists_every_runbook():
    readme = runbooks.README.read_text()
    for path in runbook_files():
        assert re.search(rf"\]\({re.escape(path.name)}\)", readme), f"README does not link {path.name}"


def test_a_second_valkey_and_a_second_patroni_tier_from_the_catalog_alone_get_their_rows():
    topology = second_tiers_topology()
    text = runbooks.generated(topology=topology)
    table = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    failures = [r for r in table if len(r) == 7 and r[1] in topology.tiers]

    def modes(tier: str) -> list[tuple[str, ...]]:
        """(failure, alert, runbook, playbook) of the tier's engine failure modes (rows no drill makes)."""
        return [(r[0], r[3], r[4], r[5]) for r in failures if r[1] == tier and r[6] == "-"]

    for new, same_engine in (("cache", "working"), ("ledger", "episodic")):
        (row,) = [r for r in table if r[0].startswith(f"{topology.tiers[new].number} {new} ")]
        engine = topology.tiers[new].engine.name
        assert row[1] == engine and row[6] == runbooks.reached_through(engine)
        assert modes(new) and modes(new) == modes(same_engine)
        drills = {d.name for d in catalog(topology) if d.name.endswith("-" + new)}
        assert drills and drills <= {r[6] for r in failures if r[1] == new}, f"{new}: drills missing from the table"
    (ledger,) = [r for r in table if r[0].startswith("9 ledger ")]
    assert ledger[3] == "coordination"
    (coordination,) = [r for r in table if r[0].startswith(f"{topology.tiers['coordination'].number} coordination ")]
    assert "ledger" in coordination[4].split(", ")  # the tiers that need it
    names = {r[0]: r for r in table if len(r) == 5}  # the Names table: the placeholders' values
    for new in ("cache", "ledger"):
        tier = topology.tiers[new]
        assert names[new][1:4] == [
            tier.engine.name,
            ", ".join(m.key for m in tier.members),
            ", ".join(m.container for m in tier.members),
        ]
    assert names["ledger"][4] == topology.tiers["ledger"].router.container and names["cache"][4] == "-"


def dev_names() -> tuple[set[str], set[str]]:
    """(names, tier keys) of the dev catalog: tier keys, member keys, containers, Sentinel master names."""
    topology = topology_tiers("dev")
    names = set()
    for tier in topology.tiers.values():
        names |= {
            tier.key,
            f"{topology.stack}-{tier.key}",
            *(m.key for m in tier.members),
            *(m.container for m in tier.members),
            *([tier.router.container] if tier.router else []),
        }
    return names, set(topology.tiers)


def named_in_code(text: str, names: set[str], tiers: set[str]) -> list[str]:
    """Dev names in the runbook's commands (fenced blocks and `inline` code): a name, or a drill of a named tier."""
    blocks = re.findall(r"```.*?```", text, flags=re.S)
    inline = re.findall(r"`[^`\n]+`", re.sub(r"```.*?```", "", text, flags=re.S))
    code = " ".join(blocks + inline)
    tokens = set(re.findall(r"[a-z0-9][a-z0-9_-]*[a-z0-9]", code))
    return sorted(t for t in tokens if t in names or any(t.endswith("-" + k) for k in tiers))


def test_the_dev_name_check_sees_a_dev_name():
    names, tiers = dev_names()
    assert named_in_code("```sh\ndocker exec novaops-dev-working-1 ls\n```\n`-e tier=coordination`", names, tiers) == [
        "coordination",
        "novaops-dev-working-1",
    ]
    assert named_in_code("`--only kill-primary-episodic`, rules `novaops-streams-consensus.yml`", names, tiers) == [
        "kill-primary-episodic"
    ]


@pytest.mark.parametrize("path", runbook_files(), ids=lambda p: p.name)
def test_runbook_commands_name_no_dev_tier_or_member(path):
    found = named_in_code(path.read_text(), *dev_names())
    assert not found, (
        f"{path.name} names dev tiers/members in its commands (use <tier>, <member>, <container>): {found}"
    )
