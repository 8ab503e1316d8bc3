"""Multi-touch attribution ROAS: linear, time-decay, position-based and Markov.

A journey is the converting customer's touchpoints at or before the conversion
and within ``journey_lookback_days`` of it. Rule-based methods split each
conversion's revenue over the journey's touches; the Markov method credits
campaigns by their removal effect on a first-order chain of campaign states.
Conversions without any touch in the lookback stay organic (uncredited).
Credited revenue over the ROAS lookback, divided by spend, times planned spend,
is the prediction (see ``roas.RoasMethod``).

Example:
    >>> markov_removal_effects(["A", "B"], counts)  # doctest: +SKIP
    {'A': 0.75, 'B': 0.5}
"""

from __future__ import annotations

import logging

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from campaign_revenue.methods.base import MethodContext, in_lookback
from campaign_revenue.methods.roas import RoasMethod

log = logging.getLogger(__name__)

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_DAY = 86400.0


def journeys(
    touchpoints: DataFrame, conversions: DataFrame, lookback_days: int
) -> DataFrame:
    """Touches of each conversion's journey with position and recency.

    Args:
        touchpoints: ``silver.touchpoints``.
        conversions: ``silver.conversions``.
        lookback_days: how far before a conversion a touch still counts.

    Returns:
        (conversion_id, conversion_date, revenue, campaign_id, position
        (1-based, by time), touches (journey length), age_days (conversion ts
        minus touch ts, in days)); conversions without touches are absent.
    """
    c = conversions.select(
        "conversion_id",
        "customer_id",
        "revenue",
        F.col("ts").alias("conv_ts"),
    )
    t = touchpoints.select(
        "touchpoint_id", "customer_id", "campaign_id", F.col("ts").alias("touch_ts")
    )
    age = F.unix_timestamp("conv_ts") - F.unix_timestamp("touch_ts")
    by_conv = Window.partitionBy("conversion_id")
    ordered = by_conv.orderBy("touch_ts", "touchpoint_id")
    return (
        c.join(t, "customer_id")
        .where((age >= 0) & (age <= lookback_days * 86400))
        .select(
            "conversion_id",
            F.to_date("conv_ts").alias("conversion_date"),
            "revenue",
            "campaign_id",
            F.row_number().over(ordered).alias("position"),
            F.count(F.lit(1)).over(by_conv).alias("touches"),
            (age / F.lit(_DAY)).alias("age_days"),
        )
    )


def linear_weight() -> F.Column:
    """Each of n touches gets 1/n."""
    return F.lit(1.0) / F.col("touches")


def position_weight(first: float = 0.4, last: float = 0.4) -> F.Column:
    """U-shape: first and last get 40% each, the middle share the rest.

    One touch gets all of it; two touches get half each.
    """
    n, k = F.col("touches"), F.col("position")
    middle = F.lit(1.0 - first - last) / (n - F.lit(2))
    return (
        F.when(n == 1, F.lit(1.0))
        .when(n == 2, F.lit(0.5))
        .when(k == 1, F.lit(first))
        .when(k == n, F.lit(last))
        .otherwise(middle)
    )


def time_decay_raw(half_life_days: float) -> F.Column:
    """2^(-age/half_life); normalized per conversion by the caller."""
    return F.pow(F.lit(2.0), -F.col("age_days") / F.lit(half_life_days))


def credit(journey: DataFrame, weight: F.Column, normalize: bool = False) -> DataFrame:
    """Credited revenue per touch: revenue x weight (normalized when asked).

    Returns:
        (conversion_id, conversion_date, campaign_id, weight, credit).
    """
    out = journey.withColumn("weight", weight)
    if normalize:
        total = F.sum("weight").over(Window.partitionBy("conversion_id"))
        out = out.withColumn("weight", F.col("weight") / total)
    return out.select(
        "conversion_id",
        "conversion_date",
        "campaign_id",
        "weight",
        (F.col("revenue") * F.col("weight")).alias("credit"),
    )


class _RuleMta(RoasMethod):
    """Rule-based MTA: a weight per touch, revenue split by weight."""

    normalize = False

    def weight(self, ctx: MethodContext) -> F.Column:
        raise NotImplementedError

    def credited_daily(self, ctx: MethodContext) -> DataFrame:
        journey = journeys(
            ctx.table("touchpoints"),
            ctx.table("conversions"),
            ctx.config.journey_lookback_days,
        )
        return (
            credit(journey, self.weight(ctx), self.normalize)
            .groupBy("campaign_id", F.col("conversion_date").alias("date"))
            .agg(F.sum("credit").alias("revenue"))
        )


class MtaLinear(_RuleMta):
    """Equal credit to every touch of the journey."""

    name = "mta_linear"

    def weight(self, ctx: MethodContext) -> F.Column:
        return linear_weight()


class MtaTimeDecay(_RuleMta):
    """Credit halving every ``half_life_days`` before the conversion.

    Args:
        half_life_days: default from the config (7).
        lookback_days: ROAS lookback, default from the config (90).
    """

    name = "mta_time_decay"
    normalize = True

    def __init__(
        self, half_life_days: float | None = None, lookback_days: int | None = None
    ) -> None:
        super().__init__(lookback_days)
        self.half_life_days = half_life_days

    def weight(self, ctx: MethodContext) -> F.Column:
        return time_decay_raw(self.half_life_days or ctx.config.half_life_days)


class MtaPosition(_RuleMta):
    """40% first touch, 40% last, 20% shared by the middle (U-shape)."""

    name = "mta_position"

    def weight(self, ctx: MethodContext) -> F.Column:
        return position_weight()


def markov_paths(
    touchpoints: DataFrame, conversions: DataFrame, lookback_days: int
) -> DataFrame:
    """Transitions of every customer path, converting or not.

    Each touch joins the path of the customer's next conversion when that comes
    within ``lookback_days``; other touches form null paths, one per customer
    between two conversions. A path ends on its conversion's date (converting)
    or its last touch's date (null).

    Returns:
        (src, dst, end_date, revenue): one row per transition, the states being
        campaign ids, ``(start)``, ``(conversion)`` and ``(null)``; revenue is
        set on the transition into ``(conversion)`` only.
    """
    events = touchpoints.select(
        "customer_id",
        "campaign_id",
        "ts",
        F.lit(0).alias("kind"),
        "touchpoint_id",
        F.lit(None).cast("string").alias("conversion_id"),
        F.lit(None).cast("double").alias("revenue"),
    ).unionByName(
        conversions.select(
            "customer_id",
            F.lit(None).cast("string").alias("campaign_id"),
            "ts",
            F.lit(1).alias("kind"),
            F.lit(None).cast("string").alias("touchpoint_id"),
            "conversion_id",
            "revenue",
        )
    )
    ahead = (
        Window.partitionBy("customer_id")
        .orderBy("ts", "kind", "touchpoint_id", "conversion_id")
        .rowsBetween(1, Window.unboundedFollowing)
    )
    nxt = F.struct(
        F.col("ts").alias("ts"),
        F.col("conversion_id").alias("id"),
        F.col("revenue").alias("revenue"),
    )
    nxt_conv = F.first(F.when(F.col("kind") == 1, nxt), ignorenulls=True).over(ahead)
    touches = (
        events.withColumn("_next", nxt_conv)
        .where(F.col("kind") == 0)
        .withColumn(
            "_converts",
            F.col("_next").isNotNull()
            & (
                F.unix_timestamp("_next.ts") - F.unix_timestamp("ts")
                <= lookback_days * 86400
            ),
        )
        .withColumn(
            "path_id",
            F.concat_ws(
                "|",
                "customer_id",
                F.when(F.col("_converts"), F.lit("c")).otherwise(F.lit("n")),
                F.coalesce(F.col("_next.id"), F.lit("end")),
            ),
        )
    )
    in_path = Window.partitionBy("path_id").orderBy("ts", "touchpoint_id")
    whole = Window.partitionBy("path_id")
    steps = (
        touches.withColumn("src", F.lag("campaign_id").over(in_path))
        .withColumn("_is_last", F.lead("campaign_id").over(in_path).isNull())
        .withColumn(
            "end_date",
            F.when(F.col("_converts"), F.to_date("_next.ts")).otherwise(
                F.max(F.to_date("ts")).over(whole)
            ),
        )
    )
    moves = steps.select(
        F.coalesce("src", F.lit(START)).alias("src"),
        F.col("campaign_id").alias("dst"),
        "end_date",
        F.lit(None).cast("double").alias("revenue"),
    )
    ends = steps.where("_is_last").select(
        F.col("campaign_id").alias("src"),
        F.when(F.col("_converts"), F.lit(CONVERSION))
        .otherwise(F.lit(NULL))
        .alias("dst"),
        "end_date",
        F.when(F.col("_converts"), F.col("_next.revenue")).alias("revenue"),
    )
    return moves.unionByName(ends)


def markov_removal_effects(
    states: list[str], counts: dict[tuple[str, str], float]
) -> dict[str, float]:
    """Removal effect of each campaign state on a first-order absorbing chain.

    The chain starts in ``(start)`` and ends in ``(conversion)`` or ``(null)``.
    Removing a state sends every path that reaches it to ``(null)``; its
    removal effect is 1 - P(conversion without it) / P(conversion).

    Args:
        states: the campaign states.
        counts: transition counts keyed (src, dst).

    Returns:
        Removal effect per state (0 for all when nothing converts).
    """
    index = {s: i for i, s in enumerate([START, *states])}
    n = len(index)
    q = np.zeros((n, n))
    r = np.zeros((n, 2))
    for (src, dst), k in counts.items():
        if src not in index:
            continue
        if dst == CONVERSION:
            r[index[src], 0] += k
        elif dst == NULL:
            r[index[src], 1] += k
        elif dst in index:
            q[index[src], index[dst]] += k
    out_total = q.sum(1) + r.sum(1)
    # A state never left (no outgoing counts) ends the path without converting.
    dead = out_total == 0
    r[dead, 1] = 1.0
    out_total[dead] = 1.0
    q, r = q / out_total[:, None], r / out_total[:, None]

    def p_convert(qq: np.ndarray, rr: np.ndarray) -> float:
        absorbed = np.linalg.lstsq(np.eye(n) - qq, rr[:, 0], rcond=None)[0]
        return float(absorbed[0])

    base = p_convert(q, r)
    effects: dict[str, float] = {}
    for s in states:
        i = index[s]
        qq, rr = q.copy(), r.copy()
        qq[i, :] = 0.0
        rr[i] = (0.0, 1.0)
        effects[s] = 0.0 if base <= 0 else max(0.0, 1.0 - p_convert(qq, rr) / base)
    return effects


def markov_shares(effects: dict[str, float]) -> dict[str, float]:
    """Removal effects normalized to shares summing to 1."""
    total = sum(effects.values())
    return {s: (e / total if total > 0 else 0.0) for s, e in effects.items()}


class MtaMarkov(RoasMethod):
    """Data-driven MTA: credit by removal effect on a campaign Markov chain.

    At each as_of, the chain is estimated from paths ending in the ROAS lookback
    before it; the revenue of converting paths there is split over campaigns by
    removal-effect share.
    """

    name = "mta_markov"

    def credited_by_as_of(self, as_ofs: DataFrame, ctx: MethodContext) -> DataFrame:
        spark = as_ofs.sparkSession
        paths = markov_paths(
            ctx.table("touchpoints"),
            ctx.table("conversions"),
            ctx.config.journey_lookback_days,
        )
        windowed = as_ofs.join(paths, how="cross").where(
            in_lookback("end_date", "as_of_date", self._lookback(ctx))
        )
        # Hand-off to numpy: transition counts are O(as_of dates x campaigns^2)
        # at most, revenue totals O(as_of dates).
        counts = (
            windowed.groupBy("as_of_date", "src", "dst")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("revenue").alias("revenue"))
            .collect()
        )
        by_date: dict = {}
        for row in counts:
            d = by_date.setdefault(row["as_of_date"], ({}, [0.0]))
            d[0][(row["src"], row["dst"])] = float(row["n"])
            if row["dst"] == CONVERSION:
                d[1][0] += float(row["revenue"] or 0.0)
        rows = []
        for as_of, (cnt, revenue) in by_date.items():
            seen = {s for s, _ in cnt} | {d for _, d in cnt}
            states = sorted(seen - {START, CONVERSION, NULL})
            shares = markov_shares(markov_removal_effects(states, cnt))
            rows += [(s, as_of, revenue[0] * v) for s, v in shares.items()]
            log.info(
                "markov as_of=%s states=%d converting_revenue=%.1f",
                as_of,
                len(states),
                revenue[0],
            )
        return spark.createDataFrame(
            rows, "campaign_id string, as_of_date date, credited double"
        )
