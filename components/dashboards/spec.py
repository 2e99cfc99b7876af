"""A small description of dashboards (panels, queries, variables) and its rendering to
Grafana dashboard JSON through grafana-foundation-sdk's builders.

The catalog-driven content lives in ``catalog_dashboards.py``; this module knows only
how a panel becomes Grafana JSON. Panel ids are assigned here, in order, per dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gprom
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import statetimeline as gstate
from grafana_foundation_sdk.builders import table as gtable
from grafana_foundation_sdk.builders import text as gtext
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as gprom_models
from grafana_foundation_sdk.models import text as text_model

DATASOURCE_UID = "novaops-prometheus"  # the provisioned Prometheus datasource (provisioning.py)
DATASOURCE_TYPE = "prometheus"
GRID_COLUMNS = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One query panel. ``viz``: timeseries | stat | state-timeline | table."""

    title: str
    queries: tuple[Query, ...]
    viz: str = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 8
    height: int = 7
    # value -> (text, color): e.g. {"1": ("up", "green"), "0": ("down", "red")}
    mappings: dict[str, tuple[str, str]] = field(default_factory=dict)
    # (from value or None for the base, color), ascending
    thresholds: tuple[tuple[float | None, str], ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Text:
    title: str
    markdown: str
    width: int = 24
    height: int = 6


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel | Text, ...]


@dataclass(frozen=True)
class Variable:
    """A variable whose values come from the catalog (custom), or a hidden constant.

    Values are never looked up in Prometheus: a catalog entry without metrics must show
    as an empty panel, not vanish from the picker."""

    name: str
    label: str
    values: tuple[str, ...]
    constant: bool = False
    include_all: bool = True


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    time_from: str = "now-6h"


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


UP_DOWN = {"1": ("up", "green"), "0": ("down", "red")}


# --------------------------------------------------------------------------- rendering


def _datasource() -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


def _thresholds(steps: tuple[tuple[float | None, str], ...]) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def _mappings(mappings: dict[str, tuple[str, str]]) -> list[dm.ValueMap]:
    return [
        dm.ValueMap(
            options={
                value: dm.ValueMappingResult(text=text, color=color, index=i)
                for i, (value, (text, color)) in enumerate(mappings.items())
            }
        )
    ]


_VIZ = {"timeseries": gts.Panel, "stat": gstat.Panel, "state-timeline": gstate.Panel, "table": gtable.Panel}


def _query_panel(panel: Panel, panel_id: int) -> Any:
    if panel.viz not in _VIZ:
        raise ValueError(f"panel {panel.title!r}: unknown viz {panel.viz!r} (known: {', '.join(_VIZ)})")
    if not panel.queries:
        raise ValueError(f"panel {panel.title!r} has no query")
    builder = (
        _VIZ[panel.viz]()
        .id(panel_id)
        .title(panel.title)
        .datasource(_datasource())
        .span(panel.width)
        .height(panel.height)
        .unit(panel.unit)
    )
    if panel.description:
        builder = builder.description(panel.description)
    for i, query in enumerate(panel.queries):
        target = gprom.Dataquery().expr(query.expr).ref_id(chr(ord("A") + i)).datasource(_datasource())
        if query.legend:
            target = target.legend_format(query.legend)
        if panel.viz == "table":
            target = target.instant().format(gprom_models.PromQueryFormat.TABLE)
        builder = builder.with_target(target)
    if panel.mappings:
        builder = builder.mappings(_mappings(panel.mappings))
    if panel.thresholds:
        builder = builder.thresholds(_thresholds(panel.thresholds))
    if panel.min is not None:
        builder = builder.min(panel.min)
    if panel.max is not None:
        builder = builder.max(panel.max)
    return builder


def _text_panel(panel: Text, panel_id: int) -> Any:
    return (
        gtext.Panel()
        .id(panel_id)
        .title(panel.title)
        .span(panel.width)
        .height(panel.height)
        .mode(text_model.TextMode.MARKDOWN)
        .content(panel.markdown)
    )


def _variable(var: Variable) -> Any:
    if not var.values:
        raise ValueError(f"variable {var.name!r} has no values")
    if var.constant:
        if len(var.values) != 1:
            raise ValueError(f"constant variable {var.name!r} needs exactly one value")
        return gd.ConstantVariable(var.name).label(var.label).value(var.values[0])
    options = [dm.VariableOption(selected=False, text=v, value=v) for v in var.values]
    builder = gd.CustomVariable(var.name).label(var.label).values(",".join(var.values)).multi(True).options(options)
    if var.include_all:  # opens on All
        return builder.include_all(True).current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
    return builder.current(dm.VariableOption(selected=True, text=[var.values[0]], value=[var.values[0]]))


def render(spec: Dashboard) -> dict[str, Any]:
    """Grafana dashboard JSON (a plain dict) for ``spec``."""
    builder = (
        gd.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .time(spec.time_from, "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            gd.DashboardLink("NovaOps")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags(["novaops"])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(False)
        )
    )
    for var in spec.variables:
        builder = builder.with_variable(_variable(var))
    panel_id = 0
    for row in spec.rows:
        panel_id += 1
        builder = builder.with_row(gd.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            builder = builder.with_panel(
                _text_panel(panel, panel_id) if isinstance(panel, Text) else _query_panel(panel, panel_id)
            )
    # Through the SDK's encoder, then back to plain JSON types.
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))
