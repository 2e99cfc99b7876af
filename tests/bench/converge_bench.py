"""Benchmark: prints figures, asserts nothing.

    python -m tests.bench.converge_bench [--stack e2e] [--keep] [--reuse]

On a freshly provisioned stack (data volumes deleted first, unless --reuse), runs
`ansible-playbook site.yml` twice and prints the first converge time, the idempotent re-run
time (target <= 60 s) and the changed count and task results of each run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RERUN_TARGET_S = 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="e2e")
    parser.add_argument("--keep", action="store_true", help="leave the stack up at the end")
    parser.add_argument("--reuse", action="store_true", help="converge the stack as it is (no fresh provision)")
    args = parser.parse_args(argv)

    from tools.ansible_run import run_playbook
    from tools.realizer import realize, teardown
    from tools.stackctl import realizer_overrides, write_ansible_files

    if not args.reuse:
        teardown(str(ROOT), args.stack, delete_data=True, out=lambda line: None)
        started = time.monotonic()
        result = realize(str(ROOT), args.stack, realizer_overrides(args.stack), out=lambda line: None)
        write_ansible_files(args.stack, result.outputs)
        print(f"provisioned {args.stack} in {time.monotonic() - started:.1f}s", flush=True)
    rows = []
    for label in ("first converge", "idempotent re-run"):
        run = run_playbook(args.stack)
        if not run.ok:
            print(run.stdout[-6000:], run.stderr[-2000:])
            raise SystemExit(f"{label} failed (exit {run.returncode})")
        rows.append((label, run))
        print(f"{label}: {run.seconds:.1f}s, changed={run.changed}", flush=True)
    print("\n| run | wall s | changed | task results | hosts |\n|---|---|---|---|---|")
    for label, run in rows:
        print(f"| {label} | {run.seconds:.1f} | {run.changed} | {run.tasks_run} | {len(run.recap)} |")
    rerun = rows[1][1].seconds
    print(f"\nre-run target <= {RERUN_TARGET_S} s: {'met' if rerun <= RERUN_TARGET_S else 'missed'} ({rerun:.1f} s)")
    if not args.keep:
        teardown(str(ROOT), args.stack, delete_data=True, out=lambda line: None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
