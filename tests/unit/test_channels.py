"""The 10 cross-division channels: declared in the catalog, validated by the model (naming the key),
and realized in every NATS member's config as exports and imports between the two divisions'
accounts only (spelled out here, not taken from the code)."""

from __future__ import annotations

import copy
import itertools
import json
import re

import pytest

from components.engines import part
from components.member_files import config_path
from components.model import StackConfigError, build_topology, load_catalog
from components.stack_files import load_stack_file

DIVISIONS = [
    "novacore-runtime",
    "framework-integration",
    "tool-ecosystem",
    "identity-continuity",
    "cross-domain-orchestration",
]


def _topology(catalog=None, stack="dev"):
    return build_topology(stack, load_stack_file(stack), catalog=catalog)


def _problems(catalog) -> list[tuple[str, str]]:
    with pytest.raises(StackConfigError) as e:
        _topology(catalog)
    return e.value.problems


def test_every_pair_of_the_five_divisions_is_one_channel():
    topology = _topology()
    pairs = {frozenset(c.divisions) for c in topology.channels.pairs}
    assert len(topology.channels.pairs) == 10
    assert pairs == {frozenset(p) for p in itertools.combinations(DIVISIONS, 2)}
    assert topology.channels.tier == "streams"


def test_a_division_in_a_channel_uses_the_channel_tier():
    topology = _topology()
    for d in topology.divisions.values():
        assert "streams" in d.uses, d.key
    # the declared uses come first, unchanged
    assert topology.divisions["tool-ecosystem"].uses == ("working", "episodic", "graph", "streams")


@pytest.mark.parametrize(
    "pair,key,text",
    [
        (["novacore-runtime", "nobody"], "catalog:channels.pairs[10]", "unknown division 'nobody'"),
        (["tool-ecosystem", "tool-ecosystem"], "catalog:channels.pairs[10]", "with itself"),
        (["framework-integration", "novacore-runtime"], "catalog:channels.pairs[10]", "already declared at"),
        (["novacore-runtime"], "catalog:channels.pairs[10]", "two division names"),
    ],
)
def test_a_bad_channel_is_refused_naming_the_key(pair, key, text):
    catalog = copy.deepcopy(load_catalog())
    catalog["channels"]["pairs"].append(pair)
    problems = _problems(catalog)
    assert any(k == key and text in p for k, p in problems), problems


@pytest.mark.parametrize(
    "tier,text", [("nowhere", "tier 'nowhere' is not declared"), ("episodic", "cannot carry cross-division")]
)
def test_a_channel_tier_that_cannot_carry_them_is_refused(tier, text):
    catalog = copy.deepcopy(load_catalog())
    catalog["channels"]["tier"] = tier
    problems = _problems(catalog)
    assert any(k == "catalog:channels.tier" and text in p for k, p in problems), problems


def _accounts(topology) -> dict:
    tier = topology.tiers["streams"]
    secrets = {s.name: f"{s.name}-pw" for s in tier.secrets}
    for member in tier.members:
        text = part("nats", "files").member_files(topology, tier, member, secrets).files[config_path("nats.conf")]
        block = text[text.index("accounts {\n") + len("accounts {\n") : text.index("\n}\n", text.index("accounts {"))]
        found = {}
        for line in block.splitlines():
            name, _, body = line.strip().partition(": ")
            found[json.loads(name)] = json.loads(body)
        yield member.container, found


def test_each_channel_is_exported_to_and_imported_by_its_two_divisions_only():
    topology = _topology()
    for member, accounts in _accounts(topology):
        assert set(accounts) == {"OPS", "SYS", *DIVISIONS}, member
        for a, b in itertools.combinations(DIVISIONS, 2):
            key = f"{a}--{b}"
            for me, other in ((a, b), (b, a)):
                acc = accounts[me]
                assert {"stream": f"chan.{key}.{me}.>", "accounts": [other]} in acc["exports"]
                assert {"service": f"chan.{key}.req.{me}.>", "accounts": [other]} in acc["exports"]
                assert {"stream": {"account": other, "subject": f"chan.{key}.{other}.>"}} in acc["imports"]
                assert {"service": {"account": other, "subject": f"chan.{key}.req.{other}.>"}} in acc["imports"]
        for name in DIVISIONS:
            acc = accounts[name]
            # 4 channels each: two exports and two imports per channel, every export to one account
            assert len(acc["exports"]) == 8 and len(acc["imports"]) == 8
            assert all(len(e["accounts"]) == 1 and e["accounts"][0] != name for e in acc["exports"])
            (user,) = acc["users"]
            assert user["user"] == name and user["password"] == f"division-{name}-pw"
            allowed = user["permissions"]["publish"]["allow"] + user["permissions"]["subscribe"]["allow"]
            others = [d for d in DIVISIONS if d != name]
            # never another division's own subjects, never a channel it is not in
            assert not any(s.startswith(f"div.{o}.") for s in allowed for o in others)
            assert all(name in s for s in allowed if s.startswith("chan.")), allowed
            assert acc["jetstream"]["max_streams"] > 0 and acc["jetstream"]["max_file"] > 0


def test_the_operations_and_system_accounts_hold_no_division():
    for _, accounts in _accounts(_topology()):
        assert [u["user"] for u in accounts["OPS"]["users"]] == ["nova"]
        assert accounts["OPS"]["jetstream"] == "enabled"
        assert [u["user"] for u in accounts["SYS"]["users"]] == ["system"]
        assert "exports" not in accounts["OPS"] and "imports" not in accounts["OPS"]


def test_no_channels_declared_gives_division_accounts_without_channels():
    catalog = copy.deepcopy(load_catalog())
    del catalog["channels"]
    topology = _topology(catalog)
    assert topology.channels.pairs == ()
    for _, accounts in _accounts(topology):
        users = {d.key for d in topology.divisions.values() if "streams" in d.uses}
        assert set(accounts) == {"OPS", "SYS", *users}
        assert not any("exports" in accounts[d] for d in users)
    assert "streams" not in topology.divisions["tool-ecosystem"].uses


def test_division_logins_are_listed_for_the_roles():
    from components.inventory import render_inventory

    inventory = render_inventory(_topology())
    tier_vars = inventory["all"]["children"]["databases"]["children"]["nats"]["children"]["streams"]["vars"]
    logins = tier_vars["novaops_tier_division_logins"]
    assert [x["division"] for x in logins] == DIVISIONS
    assert all(
        x["user"] == x["account"] == x["division"] and x["secret"] == f"division-{x['division']}" for x in logins
    )
    assert all(re.fullmatch(r"[a-z-]+", x["user"]) for x in logins)
