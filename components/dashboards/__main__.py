"""Write the NovaOps dashboards of a stack as JSON files (one per dashboard, named <uid>.json).

python -m components.dashboards [--stack dev] [--out build/dashboards]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.dashboards.provisioning import render_dashboards
from components.dashboards.validate import DashboardInvalid, sdk_grafana_version
from components.model import StackConfigError, build_topology
from components.stack_files import load_stack_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml shapes the topology")
    parser.add_argument("--out", type=Path, default=Path("build/dashboards"), help="directory to write into")
    args = parser.parse_args(argv)
    try:
        rendered = render_dashboards(build_topology(args.stack, load_stack_file(args.stack)))
    except (OSError, StackConfigError, DashboardInvalid, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for uid, dashboard in rendered.items():
        (args.out / f"{uid}.json").write_text(json.dumps(dashboard, indent=2, sort_keys=True) + "\n")
    print(f"{len(rendered)} dashboards for Grafana {sdk_grafana_version()} in {args.out}/: {', '.join(rendered)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
