"""Resilience drills under the novaload workload, with runbook-guided recovery.

    python -m tools.drills --stack drills [--only kill-primary-episodic,tier-down-graph] [--ci] [--list]

Each drill: workload on, fault, detection (alert at the dev webhook receiver), RTO (writes
acknowledged again through the operator endpoint), recovery with the playbook its runbook names
(MTTR), losses (acknowledged writes checked against the stores). Results are merged into
.novaops/<stack>/drills/results.{md,json} (a drill run again replaces its row) and printed.
Exit 1 when a drill missed a target or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import asdict

from tools.drills.drills import catalog, topology_tiers
from tools.drills.runner import Ctx, DrillError, Result, log, write_results
from tools.realizer.errors import RealizerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "dev"))
    parser.add_argument("--only", help="comma-separated drill names (see --list)")
    parser.add_argument("--ci", action="store_true", help="only the CI subset")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--sessions", type=int, default=150, help="agent sessions of the workload")
    args = parser.parse_args(argv)
    try:
        # The catalog comes from the topology (catalog + Pulumi.<stack>.yaml): --list needs no stack.
        drills = catalog(topology_tiers(args.stack))
    except (OSError, ValueError) as exc:
        print(f"drills: error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for d in drills:
            print(f"{d.name:32} {'ci ' if d.ci else '   '} runbooks/{d.runbook}  playbooks/{d.playbook}")
        return 0
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {d.name for d in drills})
        if unknown:
            print(
                f"drills: error: --only: unknown drill(s) {unknown}; known: {[d.name for d in drills]}", file=sys.stderr
            )
            return 2
        drills = [d for d in drills if d.name in wanted]
    elif args.ci:
        drills = [d for d in drills if d.ci]
    try:
        ctx = Ctx(args.stack, args.sessions)
    except (DrillError, RealizerError, ValueError) as exc:  # RealizerError: no stack state (not up)
        print(f"drills: error: {exc}", file=sys.stderr)
        return 2

    results: list[Result] = []
    for drill in drills:
        result = Result(drill.name, drill.runbook, drill.playbook)
        firing = ctx.settle_alerts()
        if firing:
            log(f"still firing at the receiver after the previous drill: {firing}")
        log(f"=== drill {drill.name}")
        started = time.monotonic()
        try:
            drill.run(ctx, result)
        except Exception as exc:
            result.fail(f"{type(exc).__name__}: {str(exc)[:400]}")
            traceback.print_exc()
        figures = {k: v for k, v in asdict(result).items() if k in ("detection_s", "rto_s", "acked", "lost", "mttr_s")}
        log(
            f"=== {drill.name}: {'ok' if result.passed else 'MISS'} in {time.monotonic() - started:.0f}s "
            f"{json.dumps(figures)}"
        )
        results.append(result)
        write_results(ctx, [result])
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
