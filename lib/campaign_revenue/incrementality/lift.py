"""Measured lift: exposed versus randomized holdout members of a campaign's audience.

For a campaign with holdout members in ``campaign_audiences`` and a window
[window_start, window_start + horizon days), a member's revenue is the sum of
all their conversions in the window, whichever campaign the platform credited
(zero when they bought nothing). The lift per member is the mean revenue of
exposed (listed, not held out) members minus that of holdout members; times the
exposed members it is the campaign's incremental revenue in the window. The
interval is the normal approximation with Welch's standard error.

Everything is aggregated in Spark: per-member sums, then count, mean and
variance per (campaign, window, group); no member row is collected.

Example:
    >>> lifts = measure_lift(tables, windows)  # doctest: +SKIP
    >>> write_lift(lakehouse, lifts)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue.tables import Lakehouse, WriteResult

LIFT_TABLE = "gold.lift_measurements"
LIFT_KEY = ("campaign_id", "window_start")
LIFT_COLUMNS = (
    "campaign_id",
    "window_start",
    "exposed_members",
    "holdout_members",
    "revenue_per_exposed",
    "revenue_per_holdout",
    "incremental_revenue",
    "se",
    "ci_lower",
    "ci_upper",
)


def z_value(level: float) -> float:
    """Two-sided normal quantile of a ``level`` interval (1.96 for 0.95)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"interval level must be within (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def holdout_windows(
    campaigns: DataFrame,
    audiences: DataFrame,
    as_of: dt.date,
    horizon_days: int = 30,
    count: int = 3,
) -> DataFrame:
    """Closed windows before ``as_of`` for every campaign with a holdout.

    Windows tile back from ``as_of``: [as_of - k * horizon, as_of - (k - 1) *
    horizon) for k = 1..count, kept where they overlap the campaign's flight.

    Returns:
        (campaign_id, window_start) rows.
    """
    starts = [as_of - dt.timedelta(days=horizon_days * k) for k in range(1, count + 1)]
    spark = campaigns.sparkSession
    grid = spark.createDataFrame([(s,) for s in starts], "window_start date")
    with_holdout = (
        audiences.where(F.col("is_holdout"))
        .select("campaign_id")
        .distinct()
    )
    return (
        campaigns.select("campaign_id", "start_date", "end_date")
        .join(with_holdout, "campaign_id")
        .crossJoin(grid)
        .where(F.col("start_date") < F.date_add("window_start", horizon_days))
        .where(
            F.col("end_date").isNull() | (F.col("end_date") >= F.col("window_start"))
        )
        .select("campaign_id", "window_start")
    )


def measure_lift(
    tables: dict[str, DataFrame],
    windows: DataFrame,
    horizon_days: int = 30,
    level: float = 0.95,
) -> DataFrame:
    """Incremental revenue of each (campaign, window) from its holdout.

    Args:
        tables: silver tables by name; needs ``campaign_audiences`` and
            ``conversions``.
        windows: (campaign_id, window_start) to measure.
        horizon_days: window length in days.
        level: confidence level of ``ci_lower`` and ``ci_upper``.

    Returns:
        ``LIFT_COLUMNS``, one row per window whose campaign has at least one
        exposed and one holdout member assigned before the window ends.

    Raises:
        ValueError: if a needed table is missing.
    """
    for name in ("campaign_audiences", "conversions"):
        if name not in tables:
            raise ValueError(
                f"measure_lift needs silver table {name!r}; got {', '.join(tables)}"
            )
    z = z_value(level)
    window_end = F.date_add("window_start", horizon_days)
    members = (
        tables["campaign_audiences"]
        .select("campaign_id", "customer_id", "assigned_date", "is_holdout")
        .join(windows.select("campaign_id", "window_start"), "campaign_id")
        .where(F.col("assigned_date") < window_end)
        .drop("assigned_date")
        .withColumn("window_end", window_end.cast("timestamp"))
        .withColumn("window_from", F.col("window_start").cast("timestamp"))
    )

    # Per-member revenue: conversions in the window, any credited campaign.
    bought = (
        members.join(
            tables["conversions"].select("customer_id", "ts", "revenue"),
            "customer_id",
        )
        .where((F.col("ts") >= F.col("window_from")) & (F.col("ts") < F.col("window_end")))
        .groupBy("campaign_id", "window_start", "customer_id")
        .agg(F.sum("revenue").alias("revenue"))
    )
    per_member = members.join(
        bought, ["campaign_id", "window_start", "customer_id"], "left"
    ).withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))

    groups = per_member.groupBy("campaign_id", "window_start").agg(
        *_group_stats("exposed", ~F.col("is_holdout")),
        *_group_stats("holdout", F.col("is_holdout")),
    )

    lift_per_member = F.col("revenue_per_exposed") - F.col("revenue_per_holdout")
    se_per_member = F.sqrt(
        F.col("_var_exposed") / F.col("exposed_members")
        + F.col("_var_holdout") / F.col("holdout_members")
    )
    return (
        groups.where((F.col("exposed_members") > 0) & (F.col("holdout_members") > 0))
        .withColumn("incremental_revenue", lift_per_member * F.col("exposed_members"))
        .withColumn("se", se_per_member * F.col("exposed_members"))
        .withColumn("ci_lower", F.col("incremental_revenue") - z * F.col("se"))
        .withColumn("ci_upper", F.col("incremental_revenue") + z * F.col("se"))
        .select(*LIFT_COLUMNS)
    )


def _group_stats(group: str, member: F.Column) -> list[F.Column]:
    """Count, mean and sample variance (0 for one member) of one group."""
    value = F.when(member, F.col("revenue"))
    return [
        F.count(value).cast("long").alias(f"{group}_members"),
        F.coalesce(F.avg(value), F.lit(0.0)).alias(f"revenue_per_{group}"),
        F.coalesce(F.var_samp(value), F.lit(0.0)).alias(f"_var_{group}"),
    ]


def write_lift(lakehouse: Lakehouse, lifts: DataFrame) -> WriteResult:
    """MERGE measured lifts into ``gold.lift_measurements`` on its key."""
    return lakehouse.merge(lifts.select(*LIFT_COLUMNS), LIFT_TABLE, key=LIFT_KEY)
