"""Planned spend of a campaign over a window: the one definition every method uses.

For ``as_of`` t and the window [t, t + horizon days), each day's planned spend is
the ``spend_plan`` value where the plan gives that day; otherwise it is derived
from what is known at t:

- a campaign with an end date: the budget not yet spent before t, spread evenly
  over its remaining flight days (from max(t, start_date) to end_date);
- an ongoing campaign (no end date): its monthly budget per day (budget x 12 / 365);
- zero outside the campaign's dates.

Example:
    >>> planned_spend(campaigns, spend_daily, None, as_of)  # doctest: +SKIP
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DAYS_PER_MONTH = 365.0 / 12.0


def planned_spend(
    campaigns: DataFrame,
    spend_daily: DataFrame,
    spend_plan: DataFrame | None,
    pairs: DataFrame,
    horizon_days: int = 30,
) -> DataFrame:
    """Planned spend per (campaign, as_of) over [as_of, as_of + horizon_days).

    Args:
        campaigns: ``silver.campaigns`` (campaign_id, budget, start_date, end_date).
        spend_daily: ``silver.spend_daily``; only rows dated before each as_of
            count as spent.
        spend_plan: ``silver.spend_plan`` or None when the dataset has none.
        pairs: (campaign_id, as_of_date) to compute, one row each.
        horizon_days: the window length in days.

    Returns:
        ``pairs`` with ``planned_spend`` (double, 0 when nothing is planned)
        and ``planned_days`` (in-flight days in the window).
    """
    c = campaigns.select("campaign_id", "budget", "start_date", "end_date")
    spent = (
        pairs.join(spend_daily.select("campaign_id", "date", "spend"), "campaign_id")
        .where(F.col("date") < F.col("as_of_date"))
        .groupBy("campaign_id", "as_of_date")
        .agg(F.sum("spend").alias("_spent"))
    )
    base = (
        pairs.join(c, "campaign_id", "left")
        .join(spent, ["campaign_id", "as_of_date"], "left")
        .withColumn("_flight_from", F.greatest("as_of_date", "start_date"))
        .withColumn(
            "_remaining_days",
            F.datediff("end_date", "_flight_from") + F.lit(1),
        )
        .withColumn(
            "_daily",
            F.when(
                F.col("end_date").isNull(), F.col("budget") / F.lit(DAYS_PER_MONTH)
            )
            .when(
                F.col("_remaining_days") > 0,
                F.greatest(F.col("budget") - F.coalesce("_spent", F.lit(0.0)), F.lit(0.0))
                / F.col("_remaining_days"),
            )
            .otherwise(F.lit(0.0)),
        )
    )

    # One row per window day; 30 rows per pair bounds the growth to the
    # number of (campaign, as_of) pairs, never to the touchpoint count.
    days = base.withColumn(
        "date",
        F.explode(
            F.sequence(
                F.col("as_of_date"),
                F.date_add("as_of_date", horizon_days - 1),
            )
        ),
    ).withColumn(
        "_in_flight",
        (F.col("date") >= F.col("start_date"))
        & (F.col("end_date").isNull() | (F.col("date") <= F.col("end_date"))),
    )
    if spend_plan is not None:
        plan = spend_plan.select("campaign_id", "date", "planned_spend").withColumnRenamed(
            "planned_spend", "_plan"
        )
        days = days.join(plan, ["campaign_id", "date"], "left")
    else:
        days = days.withColumn("_plan", F.lit(None).cast("double"))

    day_value = F.coalesce(
        F.col("_plan"),
        F.when(F.col("_in_flight"), F.col("_daily")).otherwise(F.lit(0.0)),
        F.lit(0.0),
    )
    return days.groupBy("campaign_id", "as_of_date").agg(
        F.sum(day_value).alias("planned_spend"),
        F.sum(F.col("_in_flight").cast("int")).alias("planned_days"),
    )
