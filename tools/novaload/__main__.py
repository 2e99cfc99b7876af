"""novaload: N agent sessions writing and reading across the tiers through the operator endpoints.

    python -m tools.novaload run    --stack drills [--sessions 150] [--duration 60] [--max-writes N]
                                    [--tiers KEY,KEY,...] --ledger FILE
    python -m tools.novaload verify --stack drills --ledger FILE [--acked-before UNIX_TS]

`run` prints a JSON summary (acknowledged / failed writes per tier); `verify` prints, per tier,
the acknowledged writes and how many of them are missing now (exit 1 when any is missing).
Endpoints and secrets come from the stack outputs; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tools.novaload import endpoints as ep
from tools.novaload.load import LoadConfig, read_ledger, run_load, verify
from tools.novaload.tiers import clients, writable


def catalog_extensions(stack: str) -> dict[str, list[str]]:
    from components.model import build_topology
    from components.stack_files import load_stack_file

    return {k: list(t.extensions) for k, t in build_topology(stack, load_stack_file(stack)).tiers.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    check = sub.add_parser("verify")
    for p in (run, check):
        p.add_argument("--stack", required=True)
        p.add_argument("--ledger", required=True, type=Path)
        p.add_argument("--tiers", help="comma-separated tier keys (default: every tier it can write to)")
        p.add_argument("--op-timeout", type=float, default=5.0)
    run.add_argument("--sessions", type=int, default=150)
    run.add_argument("--duration", type=float, default=60.0, help="seconds (the run stops by itself)")
    run.add_argument("--max-writes", type=int, default=200_000, help="acknowledged writes at most")
    run.add_argument("--think", type=float, default=2.0, help="seconds between a session's rounds")
    run.add_argument("--pool-size", type=int, default=8, help="connections per tier")
    check.add_argument("--acked-before", type=float, help="only writes acknowledged before this unix time")
    args = parser.parse_args(argv)

    try:
        endpoints = ep.load(args.stack)
        wanted = args.tiers.split(",") if args.tiers else writable(endpoints)
        if args.command == "run":
            config = LoadConfig(
                sessions=args.sessions,
                duration=args.duration,
                max_writes=args.max_writes,
                think=args.think,
                op_timeout=args.op_timeout,
                pool_size=args.pool_size,
            )
        made = clients(
            endpoints, wanted, getattr(args, "pool_size", 2), args.op_timeout, catalog_extensions(args.stack)
        )
        if not made:
            raise ValueError("no tier to write to (no tier of the stack has a workload client)")
        if args.command == "verify" and not args.ledger.is_file():
            raise ValueError(f"--ledger: {args.ledger} does not exist")
    except (ValueError, ep.EndpointError) as exc:
        print(f"novaload: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        summary = asyncio.run(run_load(made, config, args.ledger))
        print(json.dumps(summary, sort_keys=True))
        return 0
    header, _, _, _ = read_ledger(args.ledger)
    recorded = {t: c for t, c in made.items() if t in header["tiers"]}
    result = asyncio.run(verify(recorded, args.ledger, args.acked_before))
    print(json.dumps(result, sort_keys=True))
    return 1 if any(r["lost"] for r in result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
