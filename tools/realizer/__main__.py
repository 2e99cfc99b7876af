"""CLI: python -m tools.realizer {up,down,outputs} [options]  (run from the project root)."""

from __future__ import annotations

import argparse
import json
import sys

from .api import load_outputs, realize, secret_output_names, teardown
from .errors import RealizerError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.realizer",
        description="Run the Pulumi program under mocks and apply its docker resources "
        "to the local engine (a test harness, not Pulumi).",
    )
    p.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: current directory)")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--stack", default="dev", help="stack name (default: dev)")
        sp.add_argument(
            "--state-dir", default=None, help="state directory, relative to the project dir (default: .novaops)"
        )

    up = sub.add_parser("up", help="create/update the stack's containers, networks, volumes, images")
    common(up)
    up.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (VALUE read as YAML scalar/JSON); repeatable",
    )
    up.add_argument("--no-wait", action="store_true", help="do not wait for containers with wait=true")

    down = sub.add_parser("down", help="remove the stack's containers and networks (volumes: --delete-data)")
    common(down)
    down.add_argument("--delete-data", action="store_true", help="also delete the stack's volumes and its state")

    outs = sub.add_parser("outputs", help="print the stack outputs saved by the last up")
    common(outs)
    outs.add_argument("--show-secrets", action="store_true")
    outs.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "up":
            realize(args.project_dir, args.stack, config=args.config, state_dir=args.state_dir, wait=not args.no_wait)
        elif args.cmd == "down":
            teardown(args.project_dir, args.stack, delete_data=args.delete_data, state_dir=args.state_dir)
        elif args.cmd == "outputs":
            values = load_outputs(args.project_dir, args.stack, args.state_dir, show_secrets=args.show_secrets)
            if args.json:
                print(json.dumps(values, indent=2, sort_keys=True))
            else:
                secret = secret_output_names(args.project_dir, args.stack, args.state_dir)
                for name in sorted(values):
                    v = values[name]
                    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
                    mark = " (secret)" if name in secret and args.show_secrets else ""
                    print(f"{name}: {text}{mark}")
        return 0
    except RealizerError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
