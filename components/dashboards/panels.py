"""What an engine's dashboard part (components/engines/<package>/dashboards.py) builds with.

Each engine's part provides (components.engines.INTERFACE "dashboards"):

    rows(tier) -> tuple[Row, ...]   the tier dashboard's engine rows
    leader_expr(engine) -> str      PromQL per tier of the engine's members that lead it (the overview)
    LEADERS: Leaders                what leader_expr counts, in words (the overview's description)
    BACKUPS: Backups                how its tiers are backed up (the backups dashboard)

A tier dashboard selects its tier with the hidden constant variable ``tier``: expressions use
tier_selector(job), so the tiers of one engine share every panel definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.dashboards.spec import Panel, Query, q

TIER = "$tier"  # the tier variable: a constant on tier dashboards, multi-value elsewhere
SERVICE = "{{service}}"  # legend: one series per member


@dataclass(frozen=True)
class Leaders:
    """What an engine's leader_expr(engine) gives per tier, in words: "<engine> primaries".

    ``counted`` False: the expression says whether a leader exists (1) rather than counting leaders."""

    what: str
    counted: bool = True


@dataclass(frozen=True)
class Backups:
    """How an engine's tiers are backed up: the tool's name, what of the engine it keeps (the backups
    dashboard's description), and the engine's own panels in its backup host row."""

    tool: str
    keeps: str
    panels: tuple[Panel, ...] = ()


def tier_selector(job: str) -> str:
    """Label matchers of one scrape job's targets in the dashboard's tier."""
    return f'job="{job}", tier="{TIER}"'


def job_matcher(jobs: list[str]) -> str:
    """Label matcher of any of ``jobs``: an equality for one, a regex for several."""
    return f'job="{jobs[0]}"' if len(jobs) == 1 else f'job=~"{"|".join(jobs)}"'


def per_service(metric: str, sel: str) -> Query:
    """``metric`` of every member, as scraped."""
    return q(f"{metric}{{{sel}}}", SERVICE)


def rate_per_service(metric: str, sel: str, what: str = "") -> Query:
    """Per-second rate of the counter ``metric`` per member; ``what`` follows the member in the legend."""
    return q(f"sum by (service) (rate({metric}{{{sel}}}[$__rate_interval]))", f"{SERVICE} {what}".rstrip())
