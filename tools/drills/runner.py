"""What every drill needs: the stack, the workload, alert polling, RTO from the ledger, the
recovery playbook (timed) and the results table. Every wait here is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.http_json import http_json
from tools.novaload import endpoints as ep
from tools.novaload.load import read_ledger
from tools.wait import wait_for

if TYPE_CHECKING:
    from components.model import Topology

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "ansible" / "playbooks"
RUNBOOKS = ROOT / "runbooks"

# Targets of the resilience issue.
TARGET_RTO_S = 10.0
TARGET_DETECTION_S = 60.0
TARGET_MTTR_S = 300.0


class DrillError(RuntimeError):
    """A drill could not be carried out (not a missed target: those are recorded)."""


@dataclass
class Result:
    drill: str
    runbook: str
    playbook: str | None
    alert: str | None = None
    detection_s: float | None = None
    rto_s: float | None = None
    acked: int | None = None
    lost: int | None = None
    mttr_s: float | None = None
    tiers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed: bool = True
    failures: list[str] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.passed = False
        self.failures.append(why)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Ctx:
    """The stack under drill: outputs, endpoints, docker, inventory, results directory."""

    def __init__(self, stack: str, sessions: int, results_dir: Path | None = None):
        import docker

        self.stack = stack
        self.sessions = sessions
        self.endpoints = ep.load(stack)
        self.outputs = self.endpoints.outputs
        if not self.endpoints.alert_receiver:
            raise DrillError(
                "stack outputs: monitoring.alert-receiver missing (dev stacks only: drills need the dev webhook)"
            )
        self.docker = docker.from_env(timeout=60)
        self.results_dir = results_dir or ROOT / ".novaops" / stack / "drills"
        self.previous_drill_start = time.time() - 300  # settle_alerts: since when to look
        self.results_dir.mkdir(parents=True, exist_ok=True)
        from components.inventory import inventory_path, inventory_text

        self.inventory = inventory_path(stack)
        if not self.inventory.exists():
            self.inventory.parent.mkdir(parents=True, exist_ok=True)
            self.inventory.write_text(inventory_text(stack))

    # -------------------------------------------------------------- names (from the outputs and the topology)

    def members(self, tier: str) -> dict[str, dict]:
        return self.outputs["tiers"][tier]["members"]

    def port(self, tier: str, member: str, name: str) -> int:
        return int(self.members(tier)[member][name].rsplit(":", 1)[1])

    def member_key(self, tier: str, container: str) -> str:
        """The service key (the alerts' ``service`` label) of ``tier``'s member named ``container``."""
        return next(k for k, m in self.members(tier).items() if m["container"] == container)

    def container(self, name: str):
        return self.docker.containers.get(name)

    @cached_property
    def topology(self) -> Topology:
        """The stack's topology (catalog + Pulumi.<stack>.yaml): what the drills' catalog is built from."""
        from components.model import build_topology
        from components.stack_files import load_stack_file

        return build_topology(self.stack, load_stack_file(self.stack))

    def prometheus_query(self, query: str) -> list[dict]:
        host, port = self.endpoints.prometheus
        url = f"http://{host}:{port}/api/v1/query?query=" + urllib.parse.quote(query)
        return http_json(url, auth=self.endpoints.monitoring_login)["data"]["result"]

    # -------------------------------------------------------------- alerts at the dev webhook receiver

    def received_alerts(self, since: float, alertname: str | None = None) -> list[dict]:
        host, port = self.endpoints.alert_receiver
        query = {"since": f"{since:.3f}"}
        if alertname:
            query["alertname"] = alertname
        return http_json(f"http://{host}:{port}/alerts?" + urllib.parse.urlencode(query)) or []

    def wait_alert(self, alertname: str, since: float, labels: dict[str, str], timeout: float = 150) -> float | None:
        """Seconds from ``since`` until a firing ``alertname`` with ``labels`` reached the receiver;
        None if not in time."""

        def arrived():
            hits = [
                a
                for a in self.received_alerts(since, alertname)
                if a.get("status") == "firing" and all(a["labels"].get(k) == v for k, v in labels.items())
            ]
            return min((a["received_at"] for a in hits), default=None)

        try:
            return wait_for(arrived, timeout, 1.0, what=f"alert {alertname} {labels}", error=DrillError) - since
        except DrillError:
            return None

    def settle_alerts(self, timeout: float = 90) -> list[str]:
        """Before a drill: wait (bounded) until every alert that reached the receiver firing since
        the previous drill started (the first time: in the last 5 minutes) and has resolved at
        Prometheus has reached the receiver resolved. Alertmanager sends a new alert of a group
        that still holds one only at the group's next group_interval (1 m), so a drill right after
        another with the same alert would measure that wait, not the detection. Returns the alert
        names still firing."""
        since = self.previous_drill_start

        def ident(labels: dict) -> tuple:
            return tuple(labels.get(k) for k in ("alertname", "tier", "service"))

        def still_firing() -> list[str]:
            last: dict[str, dict] = {}
            for alert in sorted(self.received_alerts(since), key=lambda a: a["received_at"]):
                last[json.dumps(alert["labels"], sort_keys=True)] = alert
            # Alerts that go on firing at Prometheus (an SLO burn over its hour) are not waited for.
            active = {ident(r["metric"]) for r in self.prometheus_query('ALERTS{alertstate="firing"}')}
            return sorted(
                {
                    a["labels"]["alertname"]
                    for a in last.values()
                    if a.get("status") == "firing" and ident(a["labels"]) not in active
                }
            )

        deadline = time.time() + timeout
        while (firing := still_firing()) and time.time() < deadline:
            time.sleep(2)
        self.previous_drill_start = time.time()
        return firing

    # -------------------------------------------------------------- recovery playbooks

    def playbook(self, name: str, extra: dict[str, Any], result: Result, timeout: float = 600) -> float:
        """Run ansible/playbooks/<name> as the runbook says; returns its wall time. Output kept in the results dir."""
        path = PLAYBOOKS / name
        if not path.exists():
            raise DrillError(f"playbook {path} does not exist")
        env = dict(
            os.environ,
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        )
        command = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(self.inventory),
            f"playbooks/{name}",
            "-e",
            json.dumps(extra),
        ]
        log(f"recovery: ansible-playbook playbooks/{name} -e '{json.dumps(extra)}'")
        started = time.monotonic()
        try:
            run = subprocess.run(
                command, cwd=ROOT / "ansible", env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise DrillError(f"{name}: not finished within {timeout:.0f}s") from exc
        seconds = time.monotonic() - started
        (self.results_dir / f"{result.drill}.{name}.log").write_text(run.stdout + run.stderr)
        if run.returncode != 0:
            raise DrillError(f"{name} failed (rc {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-1500:]}")
        return seconds


class Load:
    """The workload as a child process (its own event loop and CPU), bounded by --duration."""

    def __init__(
        self, ctx: Ctx, name: str, tiers: list[str] | None = None, duration: float = 600, sessions: int | None = None
    ):
        self.ledger = ctx.results_dir / f"{name}.ledger.jsonl"
        self.log = ctx.results_dir / f"{name}.load.log"
        command = [
            sys.executable,
            "-m",
            "tools.novaload",
            "run",
            "--stack",
            ctx.stack,
            "--ledger",
            str(self.ledger),
            "--duration",
            str(duration),
            "--sessions",
            str(sessions or ctx.sessions),
        ]
        if tiers:
            command += ["--tiers", ",".join(tiers)]
        self.ctx = ctx
        self.tiers = tiers
        self.duration = duration
        self.ledger.unlink(missing_ok=True)
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.summary: dict | None = None

    def wait_acks(self, count: int = 50, timeout: float = 90) -> None:
        def enough():
            if self.proc.poll() is not None:
                raise DrillError(f"load generator exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            return self.ledger.exists() and len(read_ledger(self.ledger)[1]) >= count

        wait_for(enough, timeout, 0.5, what=f"{count} acknowledged writes of the workload", error=DrillError)

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _, acks, errors, summary = read_ledger(self.ledger)
        self.summary = summary or {"acked": {}, "failed": {}}
        return self.summary

    def rto(self, tier: str, fault_at: float, until: float) -> float | None:
        """Fault -> the first acknowledgement of a write that started after the fault (writes in
        flight at the fault do not count); None when none was acknowledged before ``until``."""
        _, acks, _, _ = read_ledger(self.ledger)
        after = [a["ack"] for a in acks if a["t"] == tier and a["start"] > fault_at and a["ack"] <= until]
        return (min(after) - fault_at) if after else None

    def longest_wait(self, tier: str, since: float, until: float) -> float | None:
        """The longest a write of ``tier`` started in [since, until] waited for its acknowledgement
        (a fault that pauses writes without refusing them shows here, not in ``rto``)."""
        _, acks, _, _ = read_ledger(self.ledger)
        waits = [a["ack"] - a["start"] for a in acks if a["t"] == tier and since <= a["start"] <= until]
        return max(waits) if waits else None

    def failed_after(self, tier: str, fault_at: float, until: float) -> int:
        _, _, errors, _ = read_ledger(self.ledger)
        return sum(1 for e in errors if e["t"] == tier and fault_at <= e["end"] <= until)

    def verify(self, tiers: list[str], acked_before: float | None = None) -> dict:
        command = [
            sys.executable,
            "-m",
            "tools.novaload",
            "verify",
            "--stack",
            self.ctx.stack,
            "--ledger",
            str(self.ledger),
            "--tiers",
            ",".join(tiers),
        ]
        if acked_before is not None:
            command += ["--acked-before", str(acked_before)]
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if run.returncode not in (0, 1):
            raise DrillError(f"novaload verify failed: {run.stderr[-2000:]}")
        return json.loads(run.stdout)


def one_line(text: str, limit: int = 240) -> str:
    """A table cell: no newline, no pipe, bounded (the full text stays in results.json)."""
    flat = " ".join(text.replace("|", "/").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_results(ctx: Ctx, new: list[Result]) -> tuple[Path, Path]:
    """Merge ``new`` into results.{json,md} (a drill run again replaces its row) and print the table."""
    js = ctx.results_dir / "results.json"
    merged: dict[str, Result] = {}
    if js.exists():
        merged = {r["drill"]: Result(**r) for r in json.loads(js.read_text())}
    merged.update({r.drill: r for r in new})
    results = list(merged.values())

    def cell(value, fmt="{:.1f}"):
        return "-" if value is None else (fmt.format(value) if isinstance(value, float) else str(value))

    lines = [
        f"# Drills on stack `{ctx.stack}` ({time.strftime('%Y-%m-%d %H:%M:%S')})",
        "",
        f"Targets: detection <= {TARGET_DETECTION_S:.0f} s, PostgreSQL/Valkey RTO <= {TARGET_RTO_S:.0f} s, "
        f"0 acknowledged writes lost on synchronous tiers, MTTR < {TARGET_MTTR_S:.0f} s.",
        "detection: fault -> alert at the dev webhook receiver; RTO: fault -> writes acknowledged again through "
        "the operator endpoint; MTTR: fault -> recovery playbook finished with its checks passing.",
        "",
        "| drill | alert | detection s | RTO s | writes acked | writes lost | MTTR s | playbook | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.drill} | {r.alert or '-'} | {cell(r.detection_s)} | {cell(r.rto_s)} | {cell(r.acked)} | "
            f"{cell(r.lost)} | {cell(r.mttr_s)} | {r.playbook or '-'} | "
            f"{'ok' if r.passed else 'MISS: ' + one_line('; '.join(r.failures))} |"
        )
    notes = [f"- **{r.drill}**: " + "; ".join(r.notes) for r in results if r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    md = ctx.results_dir / "results.md"
    md.write_text("\n".join(lines) + "\n")
    js.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    print("\n".join(lines))
    return md, js
