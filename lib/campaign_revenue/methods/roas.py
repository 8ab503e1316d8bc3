"""Last-touch ROAS times planned spend, and the ROAS machinery the MTA methods share.

A ROAS method credits revenue to campaigns (here: the platform's last touch),
divides a campaign's credited revenue over a lookback before as_of by its spend
over the same days, and multiplies by the campaign's planned spend in the window.
A campaign without spend in the lookback (not launched yet) gets its channel's
pooled ROAS, and without that the ROAS pooled over all campaigns.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue.methods.base import (
    Method,
    MethodContext,
    as_predictions,
    daily_attributed_revenue,
    in_lookback,
    snapshot_pairs,
    window_planned_spend,
)

log = logging.getLogger(__name__)


class RoasMethod(Method):
    """Credited revenue / spend over a lookback, times planned spend.

    Subclasses override ``credited_daily`` (credit per campaign and day) or
    ``credited_by_as_of`` (credit per campaign over each as_of's lookback).

    Args:
        lookback_days: history used for the ROAS; default from the config
            (``roas_lookback_days``, 90).
    """

    gives_intervals = False

    def __init__(self, lookback_days: int | None = None) -> None:
        self.lookback_days = lookback_days

    def _lookback(self, ctx: MethodContext) -> int:
        return self.lookback_days or ctx.config.roas_lookback_days

    def credited_daily(self, ctx: MethodContext) -> DataFrame:
        """Credited revenue per (campaign_id, date)."""
        raise NotImplementedError

    def credited_by_as_of(self, as_ofs: DataFrame, ctx: MethodContext) -> DataFrame:
        """Credited revenue per (campaign_id, as_of_date) over the lookback.

        Args:
            as_ofs: one column ``as_of_date``, distinct dates.
            ctx: tables and settings.
        """
        return _window_sum(
            as_ofs, self.credited_daily(ctx), "revenue", self._lookback(ctx)
        ).withColumnRenamed("revenue", "credited")

    def roas(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        """Point-in-time ROAS of each snapshot and where it came from.

        Returns:
            (campaign_id, as_of_date, roas, roas_source) with roas_source one of
            campaign, channel, all, none.
        """
        pairs = snapshot_pairs(snapshots)
        as_ofs = pairs.select("as_of_date").distinct()
        lookback = self._lookback(ctx)
        spend = _window_sum(
            as_ofs, ctx.table("spend_daily"), "spend", lookback
        )
        credited = self.credited_by_as_of(as_ofs, ctx)
        channel = ctx.table("campaigns").select("campaign_id", "channel")

        # Both sides are O(campaigns x as_of dates), never O(events).
        per = (
            spend.join(credited, ["campaign_id", "as_of_date"], "full")
            .na.fill(0.0, ["spend", "credited"])
            .join(channel, "campaign_id", "left")
        )
        by_channel = per.groupBy("channel", "as_of_date").agg(
            F.sum("credited").alias("ch_credited"), F.sum("spend").alias("ch_spend")
        )
        overall = per.groupBy("as_of_date").agg(
            F.sum("credited").alias("all_credited"), F.sum("spend").alias("all_spend")
        )
        own = F.col("spend") > 0
        ch = F.col("ch_spend") > 0
        al = F.col("all_spend") > 0
        return (
            pairs.join(channel, "campaign_id", "left")
            .join(per.drop("channel"), ["campaign_id", "as_of_date"], "left")
            .join(by_channel, ["channel", "as_of_date"], "left")
            .join(overall, "as_of_date", "left")
            .select(
                "campaign_id",
                "as_of_date",
                F.when(own, F.col("credited") / F.col("spend"))
                .when(ch, F.col("ch_credited") / F.col("ch_spend"))
                .when(al, F.col("all_credited") / F.col("all_spend"))
                .otherwise(F.lit(0.0))
                .alias("roas"),
                F.when(own, "campaign")
                .when(ch, "channel")
                .when(al, "all")
                .otherwise("none")
                .alias("roas_source"),
            )
        )

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        pairs = snapshot_pairs(snapshots)
        planned = window_planned_spend(pairs, ctx)
        out = self.roas(pairs, ctx).join(planned, ["campaign_id", "as_of_date"], "left")
        return as_predictions(
            out.withColumn(
                "prediction",
                F.col("roas") * F.coalesce(F.col("planned_spend"), F.lit(0.0)),
            )
        )


class LastTouchRoas(RoasMethod):
    """Platform (last-touch) credited revenue / spend, times planned spend."""

    name = "last_touch_roas"

    def credited_daily(self, ctx: MethodContext) -> DataFrame:
        return daily_attributed_revenue(ctx.table("conversions"))


def _window_sum(
    as_ofs: DataFrame, daily: DataFrame, value: str, lookback_days: int
) -> DataFrame:
    """Sum ``value`` per (campaign_id, as_of_date) over [as_of - lookback, as_of).

    ``daily`` has campaign_id, date and ``value``; the range join against the
    few as_of dates yields O(campaigns x as_of dates) rows.
    """
    return (
        as_ofs.join(daily.select("campaign_id", "date", value), how="cross")
        .where(in_lookback("date", "as_of_date", lookback_days))
        .groupBy("campaign_id", "as_of_date")
        .agg(F.sum(value).alias(value))
    )
