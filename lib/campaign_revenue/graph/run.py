"""The graph step: silver tables to graph.* edge lists and campaign snapshot features.

Example:
    >>> lh = Lakehouse(spark, cfg.lakehouse)  # doctest: +SKIP
    >>> summary = run_graph(spark, cfg, lh)  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.features.campaign import (
    KEY,
    audience_graph,
    campaign_snapshot_features,
    overlap_table,
)
from campaign_revenue.graph.edges import graph_edges, graph_vertices
from campaign_revenue.logs import Progress
from campaign_revenue.query.snapshots import read_silver_tables
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

REQUIRED_TABLES = (
    "campaigns",
    "customers",
    "touchpoints",
    "conversions",
    "spend_daily",
)
OPTIONAL_TABLES = ("campaign_audiences", "spend_plan")
TRAINING_EXAMPLES = "features.training_examples"
# Days after as_of in which a campaign's start makes it a planned campaign.
PLANNED_HORIZON_DAYS = 30


@dataclass
class GraphSummary:
    """Rows written per table and seconds per table, plus the step's total."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    pairs: int = 0
    as_of_dates: int = 0
    total_seconds: float = 0.0

    def __str__(self) -> str:
        lines = [
            f"graph step: {self.pairs:,} snapshot pairs over "
            f"{self.as_of_dates:,} as_of dates in {self.total_seconds:.1f}s",
            f"  {'table':<32}{'rows':>12}{'seconds':>10}",
        ]
        for table, rows in self.rows.items():
            lines.append(f"  {table:<32}{rows:>12,}{self.seconds[table]:>10.1f}")
        return "\n".join(lines)


def read_silver(lakehouse: Lakehouse) -> dict[str, DataFrame]:
    """The silver tables the graph step reads; optional ones when they exist."""
    present = [n for n in OPTIONAL_TABLES if lakehouse.exists(f"silver.{n}")]
    return read_silver_tables(lakehouse, [*REQUIRED_TABLES, *present])


def eligible_pairs(campaigns: DataFrame, as_of_dates: DataFrame) -> DataFrame:
    """Campaigns active at as_of or planned to start within 30 days of it.

    Active: ``start_date < as_of`` and no end date or ``end_date >= as_of``;
    planned: ``as_of <= start_date < as_of + 30 days`` (the query's rule).
    """
    t = F.col("as_of_date")
    start, end = F.col("start_date"), F.col("end_date")
    active = (start < t) & (end.isNull() | (end >= t))
    planned = (start >= t) & (start < F.date_add(t, PLANNED_HORIZON_DAYS))
    return (
        campaigns.select("campaign_id", "start_date", "end_date")
        .crossJoin(F.broadcast(as_of_dates))
        .where(active | planned)
        .select(*KEY)
    )


def weekly_as_of_dates(tables: dict[str, DataFrame], cfg: Config) -> DataFrame:
    """As_of dates every ``snapshots.step_days`` over the data, after the warm-up.

    Built from one aggregate row with ``sequence``: nothing is collected.
    """
    days = (
        tables["touchpoints"]
        .select(F.to_date("ts").alias("day"))
        .unionByName(tables["conversions"].select(F.to_date("ts").alias("day")))
    )
    extent = days.agg(F.min("day").alias("first"), F.max("day").alias("last"))
    first = cfg.snapshots.first_as_of
    last = cfg.snapshots.last_as_of
    first_col = (
        F.lit(first) if first else F.date_add("first", cfg.snapshots.warmup_days)
    )
    last_col = F.lit(last) if last else F.date_add("last", 1)
    step = F.make_interval(days=F.lit(cfg.snapshots.step_days))
    return extent.select(
        F.explode(
            F.when(
                first_col <= last_col, F.sequence(first_col, last_col, step)
            ).otherwise(F.array().cast("array<date>"))
        ).alias("as_of_date")
    )


def snapshot_pairs(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    tables: dict[str, DataFrame],
    as_of: dt.date | None,
) -> DataFrame:
    """The (campaign_id, as_of_date) pairs to compute.

    With ``as_of``: the campaigns eligible then, plus the training examples of
    that date. Without it: every pair of ``features.training_examples`` when
    it exists, else the campaigns eligible at weekly as_of dates over the data.
    """
    campaigns = tables["campaigns"]
    one_date = (
        spark.createDataFrame([(as_of,)], "as_of_date date")
        if as_of is not None
        else None
    )
    if lakehouse.exists(TRAINING_EXAMPLES):
        pairs = lakehouse.read(TRAINING_EXAMPLES).select(*KEY)
        if one_date is not None:
            # one date only (scoring): the other dates' rows are already there
            # and recomputing them would cost the whole history every day
            pairs = pairs.where(F.col("as_of_date") == F.lit(as_of)).unionByName(
                eligible_pairs(campaigns, one_date)
            )
        source = "training_examples"
    elif one_date is not None:
        pairs, source = eligible_pairs(campaigns, one_date), "as_of"
    else:
        pairs = eligible_pairs(campaigns, weekly_as_of_dates(tables, cfg))
        source = "weekly_grid"
    log.info("graph_pairs source=%s as_of=%s", source, as_of)
    return pairs.distinct()


def run_graph(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date | None = None,
    edge_lists: bool = True,
) -> GraphSummary:
    """Write graph.vertices, graph.edges, graph.campaign_overlap and snapshots.

    Args:
        spark: the session.
        cfg: run configuration.
        lakehouse: where silver is read and graph/features are written.
        as_of: one snapshot date; its rows are merged on the key (replacing
            that date's rows) when the pairs hold no other date. Without it
            the overlap and snapshot tables are overwritten.
        edge_lists: rewrite graph.vertices and graph.edges (the whole
            history's edge lists, which nothing in scoring reads). Scoring
            turns it off: at the large preset the edge lists are most of the
            step, and the daily graph job refreshes them anyway.

    Returns:
        Rows written and seconds per table.

    Raises:
        FileNotFoundError: when a required silver table is missing.
    """
    started = time.perf_counter()
    summary = GraphSummary()
    tables = read_silver(lakehouse)

    # The tables written in turn: the stage count shows how far the step is.
    bar = Progress("graph", total=4 if edge_lists else 2, logger=log)

    def record(name: str, inserted: int, updated: int, seconds: float) -> None:
        summary.rows[name] = inserted + updated
        summary.seconds[name] = seconds
        bar.advance(f"wrote {name} rows={inserted + updated} seconds={seconds:.1f}")

    if edge_lists:
        for name, frame in (
            ("graph.vertices", graph_vertices(tables)),
            ("graph.edges", graph_edges(tables)),
        ):
            result = lakehouse.overwrite(frame, name)
            record(name, result.inserted, result.updated, result.seconds)

    pairs = snapshot_pairs(spark, cfg, lakehouse, tables, as_of).localCheckpoint()
    counts = pairs.agg(
        F.count(F.lit(1)).alias("pairs"),
        F.count_distinct("as_of_date").alias("dates"),
    ).first()
    summary.pairs, summary.as_of_dates = int(counts["pairs"]), int(counts["dates"])
    merge_one_date = as_of is not None and summary.as_of_dates == 1

    # reach and overlap once for both tables, not a touchpoint scan for each
    audience = audience_graph(
        tables, pairs.select("as_of_date"), cfg.features, materialize=True
    )
    outputs = (
        (
            "graph.campaign_overlap",
            overlap_table(tables, pairs, cfg.features, audience),
            ["campaign_id", "other_campaign_id", "as_of_date"],
        ),
        (
            "features.campaign_snapshots",
            campaign_snapshot_features(tables, pairs, cfg.features, audience),
            list(KEY),
        ),
    )
    for name, frame, key in outputs:
        if merge_one_date:
            result = lakehouse.merge(
                frame,
                name,
                key,
                delete_unmatched=F.col("t.as_of_date") == F.lit(as_of),
            )
        else:
            result = lakehouse.overwrite(frame, name)
        record(name, result.inserted, result.updated, result.seconds)

    summary.total_seconds = time.perf_counter() - started
    log.info(
        "graph done pairs=%d as_of_dates=%d seconds=%.1f",
        summary.pairs,
        summary.as_of_dates,
        summary.total_seconds,
    )
    return summary
