"""README.md's topology picture is generated from the catalog and kept current."""

from __future__ import annotations

import re

from components.model import build_topology
from components.stack_files import load_stack_file
from tools import topology_diagram as diagram


def test_readme_diagram_is_current():
    assert diagram.main(["--check"]) == 0, "run `make diagram` and commit README.md"


def test_diagram_draws_every_service_and_every_use():
    topology = build_topology("dev", load_stack_file("dev"))
    text = diagram.mermaid(topology)
    nodes = set(re.findall(r'^\s+(\w+)\["', text, re.M))
    assert nodes == {diagram._id(s.key) for s in topology.services()}
    for division in topology.divisions.values():
        for used in division.uses:
            assert f"{diagram._id(division.key)} --> tier_{used}" in text
    assert "tier_episodic -. DCS .-> tier_coordination" in text


def test_check_fails_on_a_stale_or_unmarked_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    topology = build_topology("dev", load_stack_file("dev"))
    readme.write_text("# x\n" + diagram.block(topology).replace("working-2", "working-9") + "\nrest\n")
    assert diagram.main(["--check", "--readme", str(readme)]) == 1
    assert "stale" in capsys.readouterr().err
    assert diagram.main(["--readme", str(readme)]) == 0
    assert diagram.main(["--check", "--readme", str(readme)]) == 0
    assert readme.read_text().startswith("# x\n") and readme.read_text().endswith("\nrest\n")
    readme.write_text("no markers\n")
    assert diagram.main(["--check", "--readme", str(readme)]) == 1
    assert "markers" in capsys.readouterr().err
