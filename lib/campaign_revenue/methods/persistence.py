"""Persistence: the next 30 days repeat the platform-credited revenue of the last 30."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue.methods.base import (
    Method,
    MethodContext,
    as_predictions,
    daily_attributed_revenue,
    in_lookback,
    snapshot_pairs,
)


class Persistence(Method):
    """Revenue credited to the campaign in [as_of - horizon, as_of)."""

    name = "persistence"
    gives_intervals = False

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        pairs = snapshot_pairs(snapshots)
        daily = daily_attributed_revenue(ctx.table("conversions"))
        past = (
            pairs.join(daily, "campaign_id")
            .where(in_lookback("date", "as_of_date", ctx.horizon_days))
            .groupBy("campaign_id", "as_of_date")
            .agg(F.sum("revenue").alias("prediction"))
        )
        return as_predictions(pairs.join(past, ["campaign_id", "as_of_date"], "left"))
