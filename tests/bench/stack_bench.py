"""Benchmark: prints figures, asserts nothing.

    python -m tests.bench.stack_bench [--stack e2e] [--keep]

Measures, on the `e2e` stack (ports offset so a dev stack can stay up):
cold stack up with images already built, warm re-up with nothing changed,
the stack's peak memory (sum of each container's cgroup peak), teardown with data,
and the unit-test wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[2]


def cgroup_peak_bytes(container_id: str) -> int | None:
    for path in (
        f"/sys/fs/cgroup/memory/docker/{container_id}/memory.max_usage_in_bytes",  # cgroup v1
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.peak",
    ):  # cgroup v2
        p = Path(path)
        if p.exists():
            return int(p.read_text().strip())
    return None


def stack_memory(client: docker.DockerClient, stack: str) -> tuple[int, int, int]:
    """(sum of peaks, sum of current usage, containers counted) over the stack's containers."""
    peak = current = counted = 0
    for c in client.containers.list(filters={"label": f"novaops.stack={stack}"}):
        value = cgroup_peak_bytes(c.id)
        stats = c.stats(stream=False)
        current += stats.get("memory_stats", {}).get("usage", 0)
        if value is not None:
            peak += value
            counted += 1
    return peak, current, counted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="e2e")
    parser.add_argument("--keep", action="store_true", help="leave the stack up at the end")
    args = parser.parse_args(argv)

    from tools.realizer import realize, teardown
    from tools.stackctl import realizer_overrides

    quiet = lambda line: None  # noqa: E731
    client = docker.from_env()
    overrides = realizer_overrides(args.stack)
    rows: list[tuple[str, str]] = []

    teardown(str(ROOT), args.stack, delete_data=True, out=quiet)
    t = time.monotonic()
    first = realize(str(ROOT), args.stack, overrides, out=quiet)
    built = first.count("created") and [a for a in first.actions if a.kind == "image" and a.action == "created"]
    if built:  # images were not cached: that run is a build, not the cold up asked for
        rows.append(("image build + first up", f"{time.monotonic() - t:.1f} s ({len(built)} images built)"))
        teardown(str(ROOT), args.stack, delete_data=True, out=quiet)
        cold = realize(str(ROOT), args.stack, overrides, out=quiet)
    else:
        cold = first
    rows.append(("cold up (images cached, empty volumes)", f"{cold.elapsed:.1f} s ({cold.count('created')} created)"))

    warm = realize(str(ROOT), args.stack, overrides, out=quiet)
    rows.append(
        (
            "warm re-up, nothing changed",
            f"{warm.elapsed:.1f} s ({warm.count('unchanged')} unchanged, "
            f"{warm.count('created') + warm.count('replaced')} created/replaced)",
        )
    )

    time.sleep(10)  # let every service settle before reading memory
    peak, current, counted = stack_memory(client, args.stack)
    rows.append(("stack memory: sum of container peaks", f"{peak / 2**20:.0f} MiB over {counted} containers"))
    rows.append(("stack memory: current usage", f"{current / 2**20:.0f} MiB"))

    if not args.keep:
        t = time.monotonic()
        teardown(str(ROOT), args.stack, delete_data=True, out=quiet)
        rows.append(("teardown (containers, networks, volumes)", f"{time.monotonic() - t:.1f} s"))

    t = time.monotonic()
    unit = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    summary = (unit.stdout.strip().splitlines() or ["?"])[-1]
    rows.append(("unit tests (pulumi mocks, validation)", f"{time.monotonic() - t:.1f} s ({summary})"))

    width = max(len(k) for k, _ in rows)
    print(f"\nNovaOps stack benchmark — stack {args.stack}, {len(cold.outputs.get('containers', []))} containers")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
