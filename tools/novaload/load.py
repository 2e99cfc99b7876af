"""The bounded workload: N agent sessions writing and reading across the tiers.

Each session loops over the tiers: one write (a session row, an embedding, an edge, a metric, a
working-memory key, an event), then one read, then a short think time. Every write that was
acknowledged goes to the ledger (JSON lines) with its tier, key, where it lives and the ack time;
every failed attempt goes there too (tier, error, start/end), so drills can compute when writes
were accepted again. The run stops by itself after ``duration`` seconds or ``max_writes``
acknowledged writes, whichever comes first (or on SIGTERM/SIGINT).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tools.novaload.tiers import TierClient


@dataclass
class LoadConfig:
    sessions: int = 150
    duration: float = 60.0
    max_writes: int = 200_000
    think: float = 2.0  # seconds between two rounds of a session (jittered +-50 %)
    op_timeout: float = 5.0  # bound of every single operation
    pool_size: int = 8  # connections per tier: agents share a pool, like a pooler would
    run: str = field(default_factory=lambda: "r" + uuid.uuid4().hex[:10])

    def __post_init__(self) -> None:
        for name in ("sessions", "duration", "max_writes", "op_timeout", "pool_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (got {getattr(self, name)!r})")
        if self.think < 0:
            raise ValueError(f"think must be >= 0 (got {self.think!r})")


class Ledger:
    """Append-only JSON lines, flushed at least every second (drills read it while it grows)."""

    def __init__(self, path: Path, header: dict):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fh: IO[str] = path.open("w", encoding="utf-8")
        self.last_flush = time.monotonic()
        self.write(header)

    def write(self, record: dict) -> None:
        self.fh.write(json.dumps(record, separators=(",", ":")) + "\n")
        if time.monotonic() - self.last_flush >= 1.0:
            self.flush()

    def flush(self) -> None:
        self.fh.flush()
        self.last_flush = time.monotonic()

    def close(self) -> None:
        self.fh.flush()
        self.fh.close()


def read_ledger(path: Path) -> tuple[dict, list[dict], list[dict], dict | None]:
    """(header, acknowledged writes, failed attempts, summary or None) of a ledger file."""
    header: dict = {}
    acks: list[dict] = []
    errors: list[dict] = []
    summary = None
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.endswith("\n"):
                break  # a line being written right now
            record = json.loads(line)
            if n == 0:
                header = record
            elif "summary" in record:
                summary = record["summary"]
            elif "err" in record:
                errors.append(record)
            else:
                acks.append(record)
    if not header.get("run"):
        raise ValueError(f"{path}: not a novaload ledger (no run header)")
    return header, acks, errors, summary


async def run_load(
    clients: dict[str, TierClient], config: LoadConfig, ledger_path: Path, stop: asyncio.Event | None = None
) -> dict:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    ledger = Ledger(
        ledger_path, {"run": config.run, "started": time.time(), "tiers": sorted(clients), "sessions": config.sessions}
    )
    for client in clients.values():
        await asyncio.wait_for(client.prepare(), 60)
    acked: Counter = Counter()
    failed: Counter = Counter()
    reads: Counter = Counter()
    read_errors: Counter = Counter()
    deadline = time.monotonic() + config.duration
    total = 0

    def done() -> bool:
        return stop.is_set() or time.monotonic() >= deadline or total >= config.max_writes

    async def session(number: int) -> None:
        nonlocal total
        await asyncio.sleep(random.uniform(0, config.think or 0.1))  # spread the first round
        turn = 0
        while not done():
            turn += 1
            for tier, client in clients.items():
                if done():
                    return
                key = f"{config.run}-{number}-{turn}-{tier}"
                started = time.time()
                try:
                    ref = await client.write(config.run, number, key)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # counted, never fatal: the drill is the fault
                    failed[tier] += 1
                    ledger.write(
                        {
                            "t": tier,
                            "err": type(exc).__name__,
                            "msg": str(exc)[:160],
                            "start": started,
                            "end": time.time(),
                        }
                    )
                    continue
                ack = time.time()
                total += 1
                acked[tier] += 1
                ledger.write({"t": tier, "k": key, "ref": ref, "start": started, "ack": ack})
                try:
                    await client.read(config.run, number)
                    reads[tier] += 1
                except asyncio.CancelledError:
                    raise
                except Exception:  # counted in read_errors, never fatal
                    read_errors[tier] += 1
            await asyncio.sleep(config.think * random.uniform(0.5, 1.5))

    started = time.monotonic()
    tasks = [asyncio.create_task(session(i)) for i in range(1, config.sessions + 1)]
    try:
        # Sessions end by themselves; the extra op_timeout covers the last operations in flight.
        _, pending = await asyncio.wait(tasks, timeout=config.duration + 2 * config.op_timeout + 5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for client in clients.values():
            try:
                await asyncio.wait_for(client.close(), 10)
            except Exception:  # closing is best effort
                pass
    summary = {
        "run": config.run,
        "seconds": round(time.monotonic() - started, 1),
        "acked": dict(acked),
        "failed": dict(failed),
        "reads": dict(reads),
        "read_errors": dict(read_errors),
    }
    ledger.write({"summary": summary})
    ledger.close()
    return summary


async def verify(clients: dict[str, TierClient], ledger_path: Path, acked_before: float | None = None) -> dict:
    """Per tier: acknowledged writes (optionally only those acked before a time) and how many are missing."""
    header, acks, _errors, _summary = read_ledger(ledger_path)
    result: dict[str, dict] = {}
    for tier, client in clients.items():
        await asyncio.wait_for(client.prepare(), 60)
        entries = [a for a in acks if a["t"] == tier and (acked_before is None or a["ack"] < acked_before)]
        found = await asyncio.wait_for(client.present(header["run"], entries), 300) if entries else set()
        missing = sorted({e["k"] for e in entries} - found)
        result[tier] = {"acked": len(entries), "lost": len(missing), "missing_sample": missing[:5]}
        await client.close()
    return result
