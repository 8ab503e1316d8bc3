"""The report step: one self-contained HTML page of the gold tables, with charts.

People who would rather look than read get five sections: predicted against
actual revenue over past ``as_of`` dates, last-touch against incremental ROAS,
the budget reallocation, the top reasons behind each forecast and the backtest
of every method. Charts are inline SVG drawn here, the styles are inline and a
Content-Security-Policy forbids anything else, so the page opens without a
network (mail it, archive it, attach it to a ticket).

Only aggregates and top-N rows leave Spark: totals per as_of date (at most
``MAX_DATES``), the ``top`` campaigns of each list, one row per backtest
method. A section whose table is missing or empty says so on the page.

Example:
    >>> summary = run_report(spark, cfg, lakehouse)  # doctest: +SKIP
    >>> print(summary.path)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.incrementality.allocate import ALLOCATION_TABLE, top_moves
from campaign_revenue.query.compile import (
    AS_OF,
    LABEL,
    as_of_ts,
    fact_time,
    labelled_pairs,
    window_bounds,
)
from campaign_revenue.query.parser import PredictiveQuery, as_query
from campaign_revenue.scoring import ATTRIBUTIONS, PREDICTIONS
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

INCREMENTALITY = "gold.incrementality"
BACKTEST = "gold.backtest_metrics"
CAMPAIGNS = "silver.campaigns"
# Past as_of dates on the forecast chart: two years of weekly scoring. The
# history is aggregated per date in Spark, so only this many rows come back.
MAX_DATES = 104
# Campaigns per list (ROAS, reallocation, attributions): the lists grow with
# the campaign count, so only the top ones by spend, change or forecast leave
# Spark; the headlines are aggregates over all campaigns.
TOP_CAMPAIGNS = 15
# Backtest columns shown, in order, with their headers.
METRICS = (
    ("wape", "WAPE"),
    ("mae", "MAE ($)"),
    ("rmse", "RMSE ($)"),
    ("r2", "R\u00b2"),
    ("spearman", "Spearman"),
    ("coverage", "Interval coverage"),
)
MOVE_EPSILON = 0.005


@dataclass
class ReportSummary:
    """What the report step read and wrote.

    Attributes:
        as_of: the report's date.
        path: the HTML file written.
        tables: rows of each table read (missing tables are absent).
        charts: data points per chart drawn, by chart name.
        empty: the sections that said their data was missing.
        seconds: wall time of the step.
    """

    as_of: dt.date
    path: Path
    tables: dict[str, int]
    charts: dict[str, int]
    empty: list[str]
    seconds: float

    def __str__(self) -> str:
        charts = ", ".join(f"{k} ({v} points)" for k, v in self.charts.items())
        lines = [
            f"report as of {self.as_of} in {self.seconds:.0f} s: "
            f"charts {charts or 'none'}",
        ]
        if self.empty:
            lines.append(f"  sections without data: {', '.join(self.empty)}")
        lines.append(str(self.path))
        return "\n".join(lines)


# -- formatting -----------------------------------------------------------------------


def money(value: float | None) -> str:
    """Dollars with thousands separators, for tables."""
    if value is None or pd.isna(value):
        return "-"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def money_short(value: float) -> str:
    """Dollars in at most four characters of digits, for axis ticks."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}${v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{sign}${v / 1e3:.3g}k"
    return f"{sign}${v:.3g}"


def ratio(value: float | None) -> str:
    """A ROAS: revenue per dollar spent."""
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:.2f}x"


def number(value: float | None, digits: int = 3) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:.{digits}f}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- SVG charts -----------------------------------------------------------------------

WIDTH = 760
FONT = 12


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering the range."""
    if not math.isfinite(low) or not math.isfinite(high):
        raise ValueError(f"tick range must be finite, got {low}..{high}")
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    start = math.floor(low / step + 1e-9) * step
    stop = math.ceil(high / step - 1e-9) * step
    n = max(1, round((stop - start) / step))
    return [round(start + i * step, 10) for i in range(n + 1)]


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _svg(height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{_e(label)}" font-size="{FONT}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>'
        f"{_e(text)}</text>"
    )


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    parts = []
    for name, color in items:
        parts.append(
            f'<rect class="legend-key" x="{x:.1f}" y="{y - 9:.1f}" width="12" '
            f'height="12" fill="{color}"/>'
        )
        parts.append(_text(x + 17, y + 1, name))
        x += 30 + 7 * len(name)
    return parts


@dataclass(frozen=True)
class Line:
    """One series of a line chart; None leaves a gap."""

    name: str
    values: list[float | None]
    color: str


def line_chart(
    dates: list[dt.date],
    lines: list[Line],
    band: tuple[list[float], list[float]] | None,
    *,
    y_label: str,
    band_name: str = "",
    fmt: Callable[[float], str] = money_short,
) -> str:
    """Series over dates with an optional shaded band, as an SVG element."""
    # right margin: half of a centred date label, so the last one is not cut
    height, left, right, top, bottom = 320, 78, 44, 34, 50
    values = [v for ln in lines for v in ln.values if v is not None]
    if band is not None:
        values += list(band[0]) + list(band[1])
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    y = _scale(ticks[0], ticks[-1], height - bottom, top)
    span = max((dates[-1] - dates[0]).days, 1)
    plot_w = WIDTH - left - right

    def x(d: dt.date) -> float:
        if len(dates) == 1:
            return left + plot_w / 2
        return left + plot_w * (d - dates[0]).days / span

    parts = _y_axis(ticks, y, left, WIDTH - right, fmt)
    step = max(1, math.ceil(len(dates) / 6))
    for d in dates[::step]:
        parts.append(_text(x(d), height - bottom + 18, d.isoformat(), "middle"))
    parts.append(_text(left + plot_w / 2, height - 8, "as_of date", "middle"))
    parts.append(_axis_title(y_label, top, height - bottom))

    if band is not None:
        upper = [f"{x(d):.1f},{y(v):.1f}" for d, v in zip(dates, band[1])]
        lower = [f"{x(d):.1f},{y(v):.1f}" for d, v in zip(dates, band[0])]
        points = " ".join(upper + lower[::-1])
        if len(dates) == 1:  # a band of one date is a short bar
            parts.append(
                f'<rect class="mark band" x="{x(dates[0]) - 6:.1f}" '
                f'y="{y(band[1][0]):.1f}" width="12" '
                f'height="{max(y(band[0][0]) - y(band[1][0]), 1):.1f}" '
                f'fill="#93c5fd" fill-opacity="0.45"/>'
            )
        else:
            parts.append(
                f'<polygon class="mark band" points="{points}" fill="#93c5fd" '
                f'fill-opacity="0.45"/>'
            )
    for ln in lines:
        parts += _series(ln, dates, x, y, fmt)

    legend = [(ln.name, ln.color) for ln in lines]
    if band is not None:
        legend.append((band_name, "#93c5fd"))
    parts += _legend(legend, left, 16)
    return _svg(height, y_label, parts)


def _y_axis(
    ticks: list[float],
    y: Callable[[float], float],
    x0: float,
    x1: float,
    fmt: Callable[[float], str],
) -> list[str]:
    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{x0}" x2="{x1}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#e5e7eb"/>'
        )
        parts.append(_text(x0 - 6, y(t) + 4, fmt(t), "end"))
    return parts


def _axis_title(label: str, top: float, bottom: float) -> str:
    mid = (top + bottom) / 2
    return _text(14, mid, label, "middle", transform=f"rotate(-90 14 {mid:.1f})")


def _series(
    line: Line,
    dates: list[dt.date],
    x: Callable[[dt.date], float],
    y: Callable[[float], float],
    fmt: Callable[[float], str],
) -> list[str]:
    """A series' path, split at gaps, and one dot per value with a tooltip."""
    parts: list[str] = []
    segment: list[str] = []
    for d, v in zip([*dates, None], [*line.values, None]):
        if v is not None and d is not None:
            segment.append(f"{x(d):.1f},{y(v):.1f}")
            continue
        if len(segment) > 1:
            parts.append(
                f'<polyline class="mark" points="{" ".join(segment)}" fill="none" '
                f'stroke="{line.color}" stroke-width="2"/>'
            )
        segment = []
    for d, v in zip(dates, line.values):
        if v is None:
            continue
        parts.append(
            f'<circle class="mark" cx="{x(d):.1f}" cy="{y(v):.1f}" r="3.5" '
            f'fill="{line.color}"><title>{_e(line.name)} {d}: {_e(fmt(v))}'
            "</title></circle>"
        )
    return parts


@dataclass(frozen=True)
class Bars:
    """One series of a horizontal bar chart; ``negative_color`` colours values < 0."""

    name: str
    values: list[float | None]
    color: str
    negative_color: str | None = None


def bar_chart(
    categories: list[str],
    series: list[Bars],
    *,
    x_label: str,
    fmt: Callable[[float], str],
    tick_fmt: Callable[[float], str] | None = None,
    legend: bool = True,
) -> str:
    """Horizontal bars, grouped per category; negative values extend left of 0.

    ``fmt`` labels each bar's value, ``tick_fmt`` (default ``fmt``) the axis.
    """
    tick_fmt = tick_fmt or fmt
    n_series = len(series)
    bar_h, gap = 13, 9
    row_h = bar_h * n_series + gap
    top = 34 if legend else 12
    bottom, right = 44, 70
    longest = max(len(c) for c in categories)
    left = min(310, 16 + 6.6 * min(longest, 44))
    height = top + row_h * len(categories) + bottom
    values = [v for s in series for v in s.values if v is not None] or [0.0]
    low, high = min(0.0, min(values)), max(0.0, max(values))
    pad = 0.12 * ((high - low) or 1.0)
    ticks = nice_ticks(low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0)
    x = _scale(ticks[0], ticks[-1], left, WIDTH - right)

    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 4}" '
            f'y2="{height - bottom}" stroke="#e5e7eb"/>'
        )
        parts.append(_text(x(t), height - bottom + 16, tick_fmt(t), "middle"))
    parts.append(_text((left + WIDTH - right) / 2, height - 8, x_label, "middle"))

    for i, category in enumerate(categories):
        row_top = top + i * row_h
        shown = category if len(category) <= 44 else category[:43] + "\u2026"
        parts.append(
            f'<text x="{left - 8:.1f}" y="{row_top + row_h / 2:.1f}" '
            f'text-anchor="end"><title>{_e(category)}</title>{_e(shown)}</text>'
        )
        for j, s in enumerate(series):
            parts += _bar(s, s.values[i], category, x, row_top + j * bar_h, bar_h, fmt)
    parts.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 4}" '
        f'y2="{height - bottom}" stroke="#374151"/>'
    )
    if legend:
        parts += _legend([(s.name, s.color) for s in series], left, 16)
    return _svg(height, x_label, parts)


def _bar(
    s: Bars,
    value: float | None,
    category: str,
    x: Callable[[float], float],
    y: float,
    h: float,
    fmt: Callable[[float], str],
) -> list[str]:
    if value is None or pd.isna(value):
        return [_text(x(0) + 4, y + h - 3, "n/a", fill="#6b7280")]
    x0, x1 = sorted((x(0), x(value)))
    color = s.negative_color if value < 0 and s.negative_color else s.color
    label_x, anchor = (x1 + 4, "start") if value >= 0 else (x0 - 4, "end")
    return [
        f'<rect class="mark" x="{x0:.1f}" y="{y + 1:.1f}" '
        f'width="{max(x1 - x0, 1):.1f}" height="{h - 2}" fill="{color}">'
        f"<title>{_e(category)}: {_e(s.name)} {_e(fmt(value))}</title></rect>",
        _text(label_x, y + h - 3, fmt(value), anchor),
    ]


def figure(chart: str, points: int, title: str, svg: str, caption: str) -> str:
    """A chart with its title and caption, marked for machine checks."""
    return (
        f'<figure class="chart" data-chart="{_e(chart)}" data-points="{points}">'
        f"<h3>{_e(title)}</h3>{svg}<figcaption>{caption}</figcaption></figure>"
    )


def empty(message: str) -> str:
    """The plain-words note of a section whose data is missing."""
    return f'<p class="empty">{message}</p>'


def table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table from already escaped cells."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_) + "</tr>" for rows_ in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(text: str, **data: object) -> str:
    attrs = "".join(f' data-{k}="{_e(v)}"' for k, v in data.items())
    return f"<td{attrs}>{_e(text)}</td>"


# -- reads ----------------------------------------------------------------------------


def read_tables(lakehouse: Lakehouse, names: Sequence[str]) -> dict[str, DataFrame]:
    """The tables that exist, by name; logs each one's location and rows.

    Returns:
        Logical name to frame, for the tables present only.
    """
    frames: dict[str, DataFrame] = {}
    for name in dict.fromkeys(names):
        if not lakehouse.exists(name):
            log.info("report read table=%s missing", name)
            continue
        frames[name] = lakehouse.read(name)
    return frames


def latest_date(df: DataFrame, as_of: dt.date | None = None) -> dt.date | None:
    """The latest ``as_of_date`` of ``df``, on or before ``as_of`` when given."""
    if as_of is not None:
        df = df.where(F.col(AS_OF) <= F.lit(as_of))
    return df.agg(F.max(AS_OF)).first()[0]


def campaign_names(campaigns: DataFrame | None) -> DataFrame | None:
    """campaign_id and a readable ``label``: the name with the id (names repeat)."""
    if campaigns is None:
        return None
    return campaigns.select(
        "campaign_id",
        F.concat_ws(" ", "campaign_name", F.concat(F.lit("("), "campaign_id", F.lit(")")))
        .alias("label"),
    )


def _labelled(df: DataFrame, names: DataFrame | None) -> DataFrame:
    """Add ``label`` to a top-N frame (the id where the name is unknown)."""
    if names is None:
        return df.withColumn("label", F.col("campaign_id"))
    return df.join(names, "campaign_id", "left").withColumn(
        "label", F.coalesce("label", "campaign_id")
    )


# -- section data: Spark to small pandas frames --------------------------------------


def realised_labels(
    query: PredictiveQuery, tables: dict[str, DataFrame], dates: DataFrame
) -> DataFrame | None:
    """The query's label of each (campaign, as_of) whose window has closed.

    The label is computed from ``silver.*`` exactly as the snapshots compute
    it; a window is closed when it ends by the day after the latest fact.

    Returns:
        campaign_id, as_of_date, label; None when the query is not per
        campaign or its silver tables are missing.
    """
    entities = tables.get(f"silver.{query.entity_table}")
    facts = tables.get(f"silver.{query.fact_table}")
    if query.entity_key != "campaign_id" or entities is None or facts is None:
        return None
    last = facts.agg(F.to_date(F.max(fact_time(query)))).first()[0]
    if last is None:
        return None
    data_end = last + dt.timedelta(days=1)
    _, window_end = window_bounds(query)
    closed = dates.where(window_end <= as_of_ts(F.lit(data_end)))
    return labelled_pairs(query, entities, facts, closed).select(
        "campaign_id", AS_OF, LABEL
    )


def forecast_history(
    predictions: DataFrame, dates: DataFrame, labels: DataFrame | None
) -> pd.DataFrame:
    """Totals per as_of date: forecast, summed interval bounds and actual.

    Returns:
        One row per date, in order: as_of_date, campaigns, predicted, lower,
        upper, interval_level, actual (null while the window is open),
        with_actual (campaigns whose label is known).
    """
    rows = predictions.join(F.broadcast(dates), AS_OF)
    if labels is None:
        rows = rows.withColumn(LABEL, F.lit(None).cast("double"))
    else:
        rows = rows.join(labels, ["campaign_id", AS_OF], "left")
    return (
        rows.groupBy(AS_OF)
        .agg(
            F.count("*").alias("campaigns"),
            F.sum("predicted_revenue").alias("predicted"),
            F.sum("revenue_lower").alias("lower"),
            F.sum("revenue_upper").alias("upper"),
            F.max("interval_level").alias("interval_level"),
            F.sum(LABEL).alias("actual"),
            F.count(LABEL).alias("with_actual"),
        )
        .orderBy(AS_OF)
        .toPandas()  # one row per date, at most MAX_DATES
    )


def roas_by_campaign(
    predictions_at: DataFrame,
    incrementality_at: DataFrame | None,
    names: DataFrame | None,
    top: int,
) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Both ROAS views of the ``top`` campaigns by planned spend, and overall.

    Incremental ROAS comes from the forecast row, else from
    ``gold.incrementality`` of the same date.

    Returns:
        The top rows (campaign_id, label, planned_spend, last_touch_roas,
        incremental_roas) and the spend-weighted ROAS over all campaigns.
    """
    rows = predictions_at.select(
        "campaign_id", "planned_spend", "last_touch_roas", "incremental_roas"
    )
    if incrementality_at is not None:
        rows = (
            rows.join(
                incrementality_at.select(
                    "campaign_id", F.col("incremental_roas").alias("_estimate")
                ),
                "campaign_id",
                "left",
            )
            .withColumn(
                "incremental_roas", F.coalesce("incremental_roas", "_estimate")
            )
            .drop("_estimate")
        )
    rows = rows.cache()
    overall = rows.agg(
        *[
            (
                F.sum(F.col(c) * F.col("planned_spend"))
                / F.sum(F.when(F.col(c).isNotNull(), F.col("planned_spend")))
            ).alias(c)
            for c in ("last_touch_roas", "incremental_roas")
        ]
    ).first()
    leaders = rows.orderBy(F.desc("planned_spend"), "campaign_id").limit(top)
    frame = (
        _labelled(leaders, names)
        .orderBy(F.desc("planned_spend"), "campaign_id")
        .toPandas()  # top campaigns only
    )
    rows.unpersist()
    return frame, overall.asDict()


@dataclass
class Reallocation:
    """The allocation of one date: totals over all campaigns, the largest moves."""

    as_of: dt.date
    totals: dict[str, float]
    changes: pd.DataFrame
    moves: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def gain(self) -> float:
        return self.totals["revenue_recommended"] - self.totals["revenue_current"]


def reallocation(
    allocations_at: DataFrame, names: DataFrame | None, as_of: dt.date, top: int
) -> Reallocation:
    """Budget moves of one date: totals in Spark, the ``top`` largest changes out.

    Who gives to whom pairs the largest givers with the largest takers among
    those ``top`` changes (``allocate.top_moves``).
    """
    change = F.col("recommended_spend") - F.col("current_spend")
    rows = allocations_at.withColumn("change", change)
    totals = rows.agg(
        F.count("*").alias("campaigns"),
        F.sum("current_spend").alias("spend_current"),
        F.sum("recommended_spend").alias("spend_recommended"),
        F.sum("expected_incremental_revenue_current").alias("revenue_current"),
        F.sum("expected_incremental_revenue_recommended").alias(
            "revenue_recommended"
        ),
        F.sum(F.when(F.col("change") < 0, -F.col("change"))).alias("moved"),
        F.count(F.when(F.col("change") < -MOVE_EPSILON, 1)).alias("givers"),
        F.count(F.when(F.col("change") > MOVE_EPSILON, 1)).alias("takers"),
    ).first()
    movers = (
        rows.where(F.abs("change") > MOVE_EPSILON)
        .orderBy(F.desc(F.abs("change")), "campaign_id")
        .limit(top)
    )
    changes = (
        _labelled(movers, names)
        .orderBy(F.desc("change"), "campaign_id")
        .toPandas()  # top changes only
    )
    moves = top_moves(changes, count=top) if len(changes) else pd.DataFrame()
    totals_ = {k: float(v or 0.0) for k, v in totals.asDict().items()}
    return Reallocation(as_of=as_of, totals=totals_, changes=changes, moves=moves)


def attribution_rows(
    attributions_at: DataFrame,
    predictions_at: DataFrame | None,
    names: DataFrame | None,
    top: int,
) -> pd.DataFrame:
    """The reasons of the ``top`` campaigns by forecast, ranked within each.

    Returns:
        campaign_id, label, predicted_revenue (null without forecasts), rank,
        description, display_value, direction, share.
    """
    if predictions_at is None:
        leaders = (
            attributions_at.select("campaign_id")
            .distinct()
            .withColumn("predicted_revenue", F.lit(None).cast("double"))
        )
    else:
        leaders = predictions_at.select("campaign_id", "predicted_revenue")
    leaders = leaders.orderBy(
        F.desc_nulls_last("predicted_revenue"), "campaign_id"
    ).limit(top)
    rows = attributions_at.select(
        "campaign_id", "rank", "description", "display_value", "direction", "share"
    ).join(F.broadcast(leaders), "campaign_id")
    return (
        _labelled(rows, names)
        .orderBy(F.desc_nulls_last("predicted_revenue"), "campaign_id", "rank")
        .toPandas()  # top campaigns x their few ranks
    )


def backtest_summary(metrics: DataFrame) -> tuple[pd.DataFrame, str]:
    """Each method's pooled metrics from its latest backtest run.

    The latest run is the one whose rows were written last (the Delta file's
    modification time), within the query of the latest run overall; methods
    run separately (the graph model) keep their own latest run.

    Returns:
        One row per method (method, run_id, the ``METRICS`` columns, n),
        best WAPE first, and the query they predict.
    """
    pooled = metrics.select(
        "*", F.col("_metadata.file_modification_time").alias("_written_at")
    ).where(F.col(AS_OF).isNull() & (F.col("slice") == "all"))
    runs = pooled.groupBy("run_id", "query", "method").agg(
        F.max("_written_at").alias("written_at")
    )
    latest = runs.orderBy(F.desc("written_at"), F.desc("run_id")).first()
    if latest is None:
        return pd.DataFrame(), ""
    newest_first = Window.partitionBy("method").orderBy(
        F.desc("written_at"), F.desc("run_id")
    )
    chosen = (
        runs.where(F.col("query") == latest["query"])
        .withColumn("_n", F.row_number().over(newest_first))
        .where(F.col("_n") == 1)
        .select("run_id", "method")
    )
    metric = F.col("metric")
    frame = (
        pooled.join(chosen, ["run_id", "method"])
        .groupBy("method", "run_id")
        .agg(
            *[F.max(F.when(metric == m, F.col("value"))).alias(m) for m, _ in METRICS],
            F.max(F.when(metric == "wape", F.col("n"))).alias("n"),
        )
        .orderBy(F.asc_nulls_last("wape"), "method")
        .toPandas()  # one row per method
    )
    return frame, str(latest["query"])


# -- sections: small frames to HTML ---------------------------------------------------


@dataclass
class Section:
    """One part of the page: its anchor, heading, body and what it drew."""

    anchor: str
    title: str
    body: str
    charts: dict[str, int] = field(default_factory=dict)
    empty: bool = False


def _missing(anchor: str, title: str, message: str) -> Section:
    return Section(anchor, title, empty(message), empty=True)


def forecast_section(
    history: pd.DataFrame, horizon: int, actual_note: str | None
) -> Section:
    """Totals of predicted and actual revenue per as_of date, with the band."""
    title = f"Predicted vs actual {horizon}-day revenue"
    dates = list(history[AS_OF])
    actual = [
        None if pd.isna(v) or n == 0 else float(v)
        for v, n in zip(history["actual"], history["with_actual"])
    ]
    level = float(history["interval_level"].max())
    band_name = f"{level:.0%} interval (sum of bounds)"
    svg = line_chart(
        dates,
        [
            Line("predicted", [float(v) for v in history["predicted"]], "#2563eb"),
            Line("actual", actual, "#d97706"),
        ],
        (list(history["lower"].astype(float)), list(history["upper"].astype(float))),
        y_label=f"{horizon}-day revenue, all campaigns ($)",
        band_name=band_name,
    )
    caption = (
        f"Total forecast of the campaigns scored on each as_of date against the "
        f"revenue they actually got in the {horizon} days that followed. The band "
        "adds up the campaigns' interval bounds, so it is wider than an interval "
        "of the total. Actuals appear once a window has closed."
    )
    if actual_note:
        caption += f" {_e(actual_note)}"
    rows = [
        [
            _cell(d.isoformat()),
            _cell(str(int(n))),
            _cell(money(p), date=d, predicted=f"{p:.2f}"),
            _cell(f"{money(lo)} .. {money(hi)}"),
            _cell(money(a), date=d, actual="" if a is None else f"{a:.2f}"),
            _cell(f"{(p - a) / a:+.0%}" if a else "-"),
        ]
        for d, n, p, lo, hi, a in zip(
            dates,
            history["campaigns"],
            history["predicted"],
            history["lower"],
            history["upper"],
            actual,
        )
    ]
    numbers = table(
        ["as_of", "campaigns", "predicted", "interval", "actual", "error"],
        rows[::-1],
        "numbers forecast",
    )
    body = (
        figure("forecast", len(dates), title + " (totals per as_of date)", svg, caption)
        + f"<details><summary>numbers per date</summary>{numbers}</details>"
    )
    return Section("forecast", title, body, {"forecast": len(dates)})


def roas_section(
    frame: pd.DataFrame, overall: dict[str, float | None], as_of: dt.date
) -> Section:
    """Last-touch against incremental ROAS of the campaigns spending most."""
    title = "Last-touch vs incremental ROAS"
    svg = bar_chart(
        list(frame["label"]),
        [
            Bars("last-touch ROAS", _values(frame["last_touch_roas"]), "#9ca3af"),
            Bars("incremental ROAS", _values(frame["incremental_roas"]), "#059669"),
        ],
        x_label="revenue per $ of spend (x)",
        fmt=ratio,
        tick_fmt=lambda v: f"{v:g}x",
    )
    caption = (
        f"As of {as_of}, the {len(frame)} campaigns with the largest planned spend. "
        "Last touch credits each campaign with every sale it touched last; "
        "incremental ROAS counts only the revenue that would not have happened "
        "without it. Spend-weighted over all campaigns: last touch "
        f"{ratio(overall.get('last_touch_roas'))}, incremental "
        f"{ratio(overall.get('incremental_roas'))}."
    )
    body = figure("roas", len(frame), title, svg, caption)
    return Section("roas", title, body, {"roas": len(frame)})


def reallocation_section(r: Reallocation, horizon: int) -> Section:
    """The budget moves and the incremental revenue they add, as a headline."""
    title = "Budget reallocation"
    t = r.totals
    share = r.gain / t["revenue_current"] if t["revenue_current"] else float("nan")
    headline = (
        f'<p class="headline">Moving <strong>{money(t["moved"])}</strong> of the '
        f'{money(t["spend_current"])} {horizon}-day budget from '
        f'{int(t["givers"])} campaigns to {int(t["takers"])} adds '
        f'<strong class="headline-value" data-value="{r.gain:.2f}">'
        f"{'+' if r.gain >= 0 else '-'}{money(abs(r.gain))}</strong> expected "
        f"incremental revenue ({money(t['revenue_current'])} to "
        f"{money(t['revenue_recommended'])}"
        + ("" if math.isnan(share) else f", {share:+.1%}")
        + f") as of {r.as_of}, with the same total.</p>"
    )
    if r.changes.empty:
        return Section(
            "reallocation",
            title,
            headline + empty("the allocation keeps every campaign's budget as it is"),
        )
    svg = bar_chart(
        list(r.changes["label"]),
        [
            Bars(
                "budget change",
                _values(r.changes["change"]),
                "#059669",
                negative_color="#dc2626",
            )
        ],
        x_label=f"change of {horizon}-day spend ($): left gives, right takes",
        fmt=money_short,
        legend=False,
    )
    caption = (
        f"The {len(r.changes)} largest changes of {int(t['campaigns'])} campaigns: "
        "red bars give budget, green bars take it."
    )
    label = dict(zip(r.changes["campaign_id"], r.changes["label"]))
    moves = table(
        ["gives", "to", "amount"],
        [
            [
                _cell(label[m.from_campaign]),
                _cell(label[m.to_campaign]),
                _cell(money(m.amount)),
            ]
            for m in r.moves.itertuples(index=False)
        ],
        "numbers moves",
    )
    body = (
        headline
        + figure("reallocation", len(r.changes), "Who gives and who takes", svg, caption)
        + "<h3>Largest moves</h3>"
        + moves
    )
    return Section("reallocation", title, body, {"reallocation": len(r.changes)})


def attribution_section(frame: pd.DataFrame, as_of: dt.date) -> Section:
    """The top reasons per campaign in plain words, with their shares as bars."""
    title = "Why: top reasons per forecast"
    rows = []
    for campaign_id, group in frame.groupby("campaign_id", sort=False):
        first = True
        for r in group.itertuples(index=False):
            arrow = "\u25b2 raises" if r.direction == "raises" else "\u25bc lowers"
            lead = (
                f'<td rowspan="{len(group)}" class="campaign">{_e(r.label)}<br>'
                f'<span class="muted">forecast {money(r.predicted_revenue)}</span></td>'
                if first
                else ""
            )
            rows.append([
                lead,
                _cell(str(int(r.rank))),
                _cell(r.description),
                _cell(r.display_value),
                f'<td class="{_e(r.direction)}">{arrow}</td>',
                f'<td><span class="share" style="width:{100 * r.share:.0f}px"></span>'
                f" {r.share:.0%}</td>",
            ])
            first = False
    n = frame["campaign_id"].nunique()
    body = (
        f'<p class="muted">As of {as_of}, the {n} campaigns with the largest '
        "forecasts. Share: the reason's part of the sum of all absolute "
        "attributions of that forecast.</p>"
        + table(
            ["campaign", "#", "reason", "value", "effect", "share"],
            rows,
            "attributions",
        )
    )
    return Section("attributions", title, body)


def backtest_section(frame: pd.DataFrame, query: str) -> Section:
    """Every method's pooled metrics, as a table and a WAPE bar chart."""
    title = "Backtest of every method"
    rows = []
    for r in frame.itertuples(index=False):
        cells = [_cell(r.method, method=r.method)]
        for m, _ in METRICS:
            v = getattr(r, m)
            text = money(v) if m in ("mae", "rmse") else number(v)
            cells.append(_cell(text, method=r.method, metric=m))
        cells.append(_cell("-" if pd.isna(r.n) else str(int(r.n))))
        rows.append(cells)
    numbers = table(
        ["method", *[h for _, h in METRICS], "snapshots"], rows, "numbers backtest"
    )
    scored = frame[frame["wape"].notna()]
    body = numbers
    charts: dict[str, int] = {}
    if len(scored):
        svg = bar_chart(
            list(scored["method"]),
            [Bars("WAPE", _values(scored["wape"]), "#6366f1")],
            x_label="WAPE (weighted absolute percentage error; lower is better)",
            fmt=lambda v: f"{v:.2f}",
            tick_fmt=lambda v: f"{v:g}",
            legend=False,
        )
        caption = (
            "Pooled over the rolling origins of each method's latest run; "
            f"query <code>{_e(query)}</code>."
        )
        body = figure("backtest", len(scored), "WAPE per method", svg, caption) + body
        charts["backtest"] = len(scored)
    return Section("backtest", title, body, charts)


def _values(column: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in column]


# -- page -----------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#111827;margin:0 auto;max-width:1000px;padding:24px;line-height:1.45}
h1{margin:0 0 4px}h2{border-bottom:1px solid #e5e7eb;padding-bottom:4px;margin-top:36px}
h3{font-size:15px;margin:8px 0}nav a{margin-right:14px}
.muted,.meta,figcaption{color:#4b5563;font-size:13px}
figure.chart{margin:12px 0;padding:8px;border:1px solid #e5e7eb;border-radius:6px}
figure.chart svg{max-width:100%;height:auto}
svg text{fill:#1f2937}table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
td[data-metric],td[data-predicted],td[data-actual]{text-align:right}
.empty{background:#fef3c7;border:1px solid #f59e0b;padding:10px;border-radius:6px}
.headline{font-size:17px}.raises{color:#047857}.lowers{color:#b91c1c}
.share{display:inline-block;height:10px;background:#6366f1;vertical-align:middle}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
"""
# Nothing but inline styles and inline SVG may load: the page works offline.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_page(
    as_of: dt.date, sections: list[Section], counts: dict[str, int], query: str
) -> str:
    """The whole page: header, table of contents, sections, what was read."""
    nav = "".join(f'<a href="#{s.anchor}">{_e(s.title)}</a>' for s in sections)
    parts = [
        f'<section id="{s.anchor}"><h2>{i}. {_e(s.title)}</h2>{s.body}</section>'
        for i, s in enumerate(sections, start=1)
    ]
    read = ", ".join(f"{_e(k)} ({v:,} rows)" for k, v in counts.items()) or "none"
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Campaign revenue report, as of {as_of}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>Campaign revenue report</h1>"
        f'<p class="meta">As of <time datetime="{as_of}">{as_of}</time>; '
        f"generated {generated}; query <code>{_e(query)}</code></p>"
        f"<nav>{nav}</nav></header>"
        + "".join(parts)
        + f'<footer class="muted"><h2>Tables read</h2><p>{read}</p></footer>'
        "</body></html>\n"
    )


# -- the step -------------------------------------------------------------------------


def default_out(cfg: Config, as_of: dt.date) -> Path:
    """``<lakehouse.root>/reports/report_<as_of>.html`` for a local root.

    Raises:
        ValueError: when the root is an object-store URI, which a plain file
            write cannot reach.
    """
    root = cfg.lakehouse.root
    if "://" in root:
        raise ValueError(
            f"lakehouse.root {root} is not a local folder; pass --out PATH for the "
            "report's HTML file"
        )
    return Path(root).expanduser() / "reports" / f"report_{as_of}.html"


def run_report(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date | None = None,
    out: str | Path | None = None,
    top: int | None = None,
) -> ReportSummary:
    """The report step: read the gold tables, draw the page, write one file.

    Args:
        spark: the session.
        cfg: run configuration (``query``, ``backtest.horizon_days``,
            ``lakehouse.root``).
        lakehouse: where ``gold.*`` and ``silver.*`` live.
        as_of: the report's date; default the latest as_of_date of
            ``gold.campaign_predictions`` (today when it is missing).
        out: the HTML file, or a folder (an existing one, or a path ending in
            ``/``) to write ``report_<as_of>.html`` into; default
            ``default_out``.
        top: campaigns per list; default ``TOP_CAMPAIGNS``.

    Returns:
        What was read and drawn, and the file written.

    Raises:
        ValueError: when ``top`` is below 1 or the default file would lie on
            an object store.
    """
    top = TOP_CAMPAIGNS if top is None else top
    if top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    started = time.perf_counter()
    query = as_query(cfg.query)
    horizon = cfg.backtest.horizon_days
    frames = read_tables(
        lakehouse,
        [
            PREDICTIONS,
            ATTRIBUTIONS,
            ALLOCATION_TABLE,
            INCREMENTALITY,
            BACKTEST,
            CAMPAIGNS,
            f"silver.{query.entity_table}",
            f"silver.{query.fact_table}",
        ],
    )
    counts = {name: df.count() for name, df in frames.items()}
    for name, rows in counts.items():
        log.info("report read table=%s rows=%d", name, rows)
    predictions = frames.get(PREDICTIONS)
    if as_of is None:
        as_of = latest_date(predictions) if predictions is not None else None
        as_of = as_of or dt.datetime.now(dt.timezone.utc).date()
    names = campaign_names(frames.get(CAMPAIGNS))

    sections = [
        _forecast(frames, query, as_of, horizon),
        _roas(frames, names, as_of, top),
        _reallocation(frames, names, as_of, top, horizon),
        _attributions(frames, names, as_of, top),
        _backtest(frames),
    ]
    page = render_page(as_of, sections, counts, str(query))
    path = default_out(cfg, as_of) if out is None else Path(out)
    if out is not None and (str(out).endswith("/") or path.is_dir()):
        # a folder (a Databricks volume, say): one dated file per run inside it
        path = path / f"report_{as_of}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")

    charts = {k: v for s in sections for k, v in s.charts.items()}
    summary = ReportSummary(
        as_of=as_of,
        path=path,
        tables=counts,
        charts=charts,
        empty=[s.anchor for s in sections if s.empty],
        seconds=time.perf_counter() - started,
    )
    log.info(
        "report as_of=%s out=%s bytes=%d tables=%s charts=%s empty=%s seconds=%.1f",
        as_of,
        path,
        len(page.encode("utf-8")),
        ",".join(f"{k}:{v}" for k, v in counts.items()) or "none",
        ",".join(f"{k}:{v}" for k, v in charts.items()) or "none",
        ",".join(summary.empty) or "none",
        summary.seconds,
    )
    return summary


def _on_date(
    frames: dict[str, DataFrame], name: str, as_of: dt.date
) -> tuple[DataFrame | None, dt.date | None]:
    """The rows of ``name`` at its latest date on or before ``as_of``."""
    df = frames.get(name)
    if df is None:
        return None, None
    day = latest_date(df, as_of)
    if day is None:
        return None, None
    return df.where(F.col(AS_OF) == F.lit(day)), day


def _forecast(
    frames: dict[str, DataFrame], query: PredictiveQuery, as_of: dt.date, horizon: int
) -> Section:
    title = f"Predicted vs actual {horizon}-day revenue"
    predictions = frames.get(PREDICTIONS)
    if predictions is None:
        return _missing(
            "forecast", title, "no forecasts yet: run <code>campaign-revenue score</code>"
        )
    dates = (
        predictions.where(F.col(AS_OF) <= F.lit(as_of))
        .select(AS_OF)
        .distinct()
        .orderBy(F.desc(AS_OF))
        .limit(MAX_DATES)
    )
    labels = realised_labels(query, frames, dates)
    history = forecast_history(predictions, dates, labels)
    if history.empty:
        return _missing(
            "forecast",
            title,
            f"no forecasts on or before {as_of}: run "
            f"<code>campaign-revenue score --as-of {as_of}</code>",
        )
    note = None
    if labels is None:
        note = (
            f"Actual revenue needs silver.{query.entity_table} and "
            f"silver.{query.fact_table} (run campaign-revenue ingest)."
        )
    elif not (history["with_actual"] > 0).any():
        note = f"No {horizon}-day window has closed yet, so no actual is known."
    return forecast_section(history, horizon, note)


def _roas(
    frames: dict[str, DataFrame], names: DataFrame | None, as_of: dt.date, top: int
) -> Section:
    title = "Last-touch vs incremental ROAS"
    predictions_at, day = _on_date(frames, PREDICTIONS, as_of)
    if predictions_at is None or day is None:
        return _missing(
            "roas", title, "no forecasts yet: run <code>campaign-revenue score</code>"
        )
    estimates = frames.get(INCREMENTALITY)
    if estimates is not None:
        estimates = estimates.where(F.col(AS_OF) == F.lit(day))
    frame, overall = roas_by_campaign(predictions_at, estimates, names, top)
    return roas_section(frame, overall, day)


def _reallocation(
    frames: dict[str, DataFrame],
    names: DataFrame | None,
    as_of: dt.date,
    top: int,
    horizon: int,
) -> Section:
    allocations_at, day = _on_date(frames, ALLOCATION_TABLE, as_of)
    if allocations_at is None or day is None:
        return _missing(
            "reallocation",
            "Budget reallocation",
            "no allocation yet: run <code>campaign-revenue allocate</code>",
        )
    return reallocation_section(reallocation(allocations_at, names, day, top), horizon)


def _attributions(
    frames: dict[str, DataFrame], names: DataFrame | None, as_of: dt.date, top: int
) -> Section:
    attributions_at, day = _on_date(frames, ATTRIBUTIONS, as_of)
    if attributions_at is None or day is None:
        return _missing(
            "attributions",
            "Why: top reasons per forecast",
            "no attributions yet: run <code>campaign-revenue score</code>",
        )
    predictions = frames.get(PREDICTIONS)
    predictions_at = (
        None if predictions is None else predictions.where(F.col(AS_OF) == F.lit(day))
    )
    return attribution_section(
        attribution_rows(attributions_at, predictions_at, names, top), day
    )


def _backtest(frames: dict[str, DataFrame]) -> Section:
    title = "Backtest of every method"
    metrics = frames.get(BACKTEST)
    frame, query = (pd.DataFrame(), "") if metrics is None else backtest_summary(metrics)
    if frame.empty:
        return _missing(
            "backtest", title, "no backtest yet: run <code>campaign-revenue evaluate</code>"
        )
    return backtest_section(frame, query)
