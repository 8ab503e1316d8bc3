"""Point-in-time campaign snapshot features: one row per (campaign, as_of_date).

Every feature of a pair reads only rows strictly before as_of (00:00 UTC of
the date): timestamps ``ts < as_of`` and dates ``date < as_of_date``.

How the work stays bounded (built-in functions only, no Python UDF, nothing
collected but the first and last as_of date, only ``campaigns`` and the as_of
dates broadcast):

- every source is cut to a literal time range before any shuffle
  (``before_as_of``): rows at or after the last as_of never count, and the
  customer-level features read only the lookback before the first as_of, so
  scoring one date reads 90 days of touchpoints, not their whole history;
- cumulative features (to date) read the per-campaign daily table (campaigns x
  days, independent of customers and events), joined to each pair on
  ``day < as_of_date``;
- customer-level features read the per (customer, campaign, day) touch table
  joined to the as_of dates on ``as_of - 90 days <= day < as_of``: with a weekly
  grid each row lands in at most 13 windows (90 / 7, rounded up);
- overlap pairs come from a self-join on (customer, as_of) of capped reach sets
  (see ``graph.algorithms.overlap_pairs``).

The audience for shares (high-LTV, organic buyers, overlap) is the campaign's
active audience: customers it touched in the 90 days before as_of.

Example:
    >>> feats = campaign_snapshot_features(tables, pairs, cfg.features)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from campaign_revenue.config import FeaturesConfig
from campaign_revenue.graph.algorithms import (
    connected_components,
    overlap_pairs,
    top_overlap,
)
from campaign_revenue.graph.edges import EXPOSURE_EVENTS, customer_campaign_days
from campaign_revenue.planning import DAYS_PER_MONTH, planned_spend

KEY = ("campaign_id", "as_of_date")
LOOKBACK_DAYS = 90
# channel saturation's longest window; its callers cut touchpoints to it
SATURATION_DAYS = 30

# Features a campaign without history (not launched at as_of) leaves null.
HISTORY_FEATURES = (
    "audience_reached",
    "audience_new_30d",
    "audience_growth_30d",
    "high_ltv_share_reached",
    "organic_buyer_share_30d",
    "organic_buyer_share_90d",
    "overlap_share",
    "overlap_share_same_channel",
    "campaign_age_days",
    "days_since_last_touch",
    "click_rate_30d",
    "spend_to_date",
    "spend_7d",
    "spend_30d",
    "pacing",
    "revenue_7d",
    "revenue_30d",
    "revenue_90d",
    "roas_30d",
    "roas_90d",
    "campaign_degree",
    "overlap_neighbours",
    "community_campaigns",
    "community_audience_share",
)
# Counts and sums that are 0, not null, for a launched campaign with no rows.
ZERO_WHEN_EMPTY = (
    "audience_reached",
    "audience_new_30d",
    "spend_to_date",
    "spend_7d",
    "spend_30d",
    "revenue_7d",
    "revenue_30d",
    "revenue_90d",
    "campaign_degree",
    "overlap_neighbours",
    "audience_listed",
    "holdout_size",
)

FEATURE_COLUMNS = (
    "is_launched",
    "channel",
    "targeting",
    "audience_reached",
    "audience_new_30d",
    "audience_growth_30d",
    "audience_listed",
    "high_ltv_share_reached",
    "high_ltv_share_listed",
    "organic_buyer_share_30d",
    "organic_buyer_share_90d",
    "overlap_share",
    "overlap_share_same_channel",
    "channel_saturation_7d",
    "channel_saturation_30d",
    "campaign_age_days",
    "days_since_last_touch",
    "click_rate_30d",
    "spend_to_date",
    "spend_7d",
    "spend_30d",
    "pacing",
    "planned_spend_30d",
    "revenue_7d",
    "revenue_30d",
    "revenue_90d",
    "roas_30d",
    "roas_90d",
    "has_holdout",
    "holdout_size",
    "campaign_degree",
    "overlap_neighbours",
    "community_campaigns",
    "community_audience_share",
)


def as_of_ts(as_of_date: Column) -> Column:
    """00:00 UTC of an as_of date (the session time zone is UTC)."""
    return as_of_date.cast("timestamp")


def _since(days: int) -> Column:
    """True for rows whose ``day`` lies in [as_of - days, as_of)."""
    return F.col("day") >= F.date_sub(F.col("as_of_date"), days)


def _ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator, null when the denominator is 0 or null."""
    return F.when(denominator > 0, numerator / denominator)


def _share(flag: Column) -> Column:
    """Share of rows where ``flag`` is true (null counts as false)."""
    return F.avg(F.coalesce(flag, F.lit(False)).cast("double"))


def _high_ltv(customers: DataFrame, cfg: FeaturesConfig) -> DataFrame:
    return customers.select(
        "customer_id",
        F.coalesce(F.col("ltv_tier").isin(*cfg.high_ltv_tiers), F.lit(False))
        .alias("is_high_ltv"),
    )


def as_of_range(as_of_dates: DataFrame) -> tuple[dt.date, dt.date] | None:
    """The first and last ``as_of_date``: one aggregate row, None when empty."""
    row = as_of_dates.agg(
        F.min("as_of_date").alias("first"), F.max("as_of_date").alias("last")
    ).first()
    if row is None or row["first"] is None:
        return None
    return row["first"], row["last"]


def before_as_of(
    facts: DataFrame,
    as_of_dates: DataFrame,
    lookback_days: int | None = None,
    ts: str = "ts",
) -> DataFrame:
    """The rows of ``facts`` that any as_of's features may read.

    Keeps ``ts`` before the last as_of (00:00 UTC) and, with
    ``lookback_days``, at or after the first as_of minus that many days. The
    bounds are literals, so the filter reaches the Parquet scan (and Delta's
    file statistics) and the rows outside never enter a shuffle. Exact: each
    as_of still applies its own cut afterwards; this only drops rows no
    as_of can see.

    Args:
        facts: rows with a timestamp column ``ts``.
        as_of_dates: frame with ``as_of_date``; its first and last value are
            read (one aggregate row).
        lookback_days: the longest window read before an as_of; None keeps
            the whole history before the last as_of.
        ts: the timestamp column.

    Returns:
        ``facts`` filtered; empty when there is no as_of date.
    """
    bounds = as_of_range(as_of_dates)
    if bounds is None:
        return facts.where(F.lit(False))
    first, last = bounds
    keep = F.col(ts) < F.lit(last).cast("timestamp")
    if lookback_days is not None:
        start = first - dt.timedelta(days=lookback_days)
        keep = keep & (F.col(ts) >= F.lit(start).cast("timestamp"))
    return facts.where(keep)


def cut_before_as_of(
    facts: DataFrame, as_of_dates: DataFrame, lookback_days: int = LOOKBACK_DAYS
) -> DataFrame:
    """Copy each fact with a ``day`` into every as_of window that contains it.

    A row joins the dates with ``as_of - lookback_days <= day < as_of``: on a
    weekly grid at most ceil(lookback_days / 7) + 1 copies (13 for 90 days).

    Args:
        facts: rows with a date column ``day``.
        as_of_dates: the distinct ``as_of_date`` values (small, broadcast).
        lookback_days: the window length.

    Returns:
        ``facts`` with ``as_of_date`` added.
    """
    dates = F.broadcast(as_of_dates.select("as_of_date").distinct())
    return facts.join(
        dates,
        (F.col("day") < F.col("as_of_date"))
        & (F.col("day") >= F.date_sub(F.col("as_of_date"), lookback_days)),
    )


def campaign_daily(tables: dict[str, DataFrame], cfg: FeaturesConfig) -> DataFrame:
    """Per campaign and day: new reach, touches, spend, revenue and new listings.

    ``new_reach`` counts customers whose first touch of the campaign is that
    day, so the cumulative sum up to any as_of is the distinct reach to date.

    Both aggregates read the touchpoints directly, not the per (customer,
    campaign, day) table: (customer, campaign) and (campaign, day) groups are
    few, so the map-side partial aggregation shrinks the shuffle to about
    their number instead of one row per customer-day.

    Returns:
        Columns: campaign_id, day, new_reach, new_reach_high, touches, clicks,
        exposures, spend, revenue, listed, listed_high, holdout.
    """
    touchpoints = tables["touchpoints"]
    high = _high_ltv(tables["customers"], cfg)
    first = (
        touchpoints.groupBy("customer_id", "campaign_id")
        .agg(F.min("ts").alias("_first_ts"))
        .join(high, "customer_id", "left")
        .groupBy("campaign_id", F.to_date("_first_ts").alias("day"))
        .agg(
            F.count(F.lit(1)).alias("new_reach"),
            F.count(F.when(F.col("is_high_ltv"), 1)).alias("new_reach_high"),
        )
    )
    event = F.col("event_type")
    touches = touchpoints.groupBy("campaign_id", F.to_date("ts").alias("day")).agg(
        F.count(F.lit(1)).alias("touches"),
        F.count(F.when(event == "click", 1)).alias("clicks"),
        F.count(F.when(event.isin(*EXPOSURE_EVENTS), 1)).alias("exposures"),
    )
    spend = tables["spend_daily"].select(
        "campaign_id", F.col("date").alias("day"), "spend"
    )
    revenue = (
        tables["conversions"]
        .where(F.col("campaign_id").isNotNull())
        .groupBy("campaign_id", F.to_date("ts").alias("day"))
        .agg(F.sum("revenue").alias("revenue"))
    )
    parts = [first, touches, spend, revenue]
    audiences = tables.get("campaign_audiences")
    if audiences is not None:
        listed = (
            audiences.join(high, "customer_id", "left")
            .groupBy("campaign_id", F.col("assigned_date").alias("day"))
            .agg(
                F.count(F.when(~F.col("is_holdout"), 1)).alias("listed"),
                F.count(F.when(~F.col("is_holdout") & F.col("is_high_ltv"), 1))
                .alias("listed_high"),
                F.count(F.when(F.col("is_holdout"), 1)).alias("holdout"),
            )
        )
        parts.append(listed)
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part, allowMissingColumns=True)
    value_cols = [
        "new_reach",
        "new_reach_high",
        "touches",
        "clicks",
        "exposures",
        "spend",
        "revenue",
        "listed",
        "listed_high",
        "holdout",
    ]
    for name in value_cols:
        if name not in out.columns:
            out = out.withColumn(name, F.lit(0))
    return out.groupBy("campaign_id", "day").agg(
        *[F.coalesce(F.sum(c), F.lit(0)).alias(c) for c in value_cols]
    )


def history_to_date(daily: DataFrame, pairs: DataFrame) -> DataFrame:
    """Cumulative and trailing sums of the daily table before each as_of.

    Returns:
        Keyed on ``KEY``: audience_reached, audience_new_30d, reach_30d_ago,
        reach_high, audience_listed, listed_high, holdout_size, spend_to_date,
        spend_7d, spend_30d, spend_90d, revenue_7d, revenue_30d, revenue_90d,
        clicks_30d, exposures_30d, last_touch_day.
    """
    def total(column: str, days: int | None = None) -> Column:
        value = F.col(column) if days is None else F.when(_since(days), F.col(column))
        return F.coalesce(F.sum(value), F.lit(0))

    return (
        pairs.join(daily, "campaign_id")
        .where(F.col("day") < F.col("as_of_date"))
        .groupBy(*KEY)
        .agg(
            total("new_reach").alias("audience_reached"),
            total("new_reach", 30).alias("audience_new_30d"),
            total("new_reach_high").alias("reach_high"),
            total("listed").alias("audience_listed"),
            total("listed_high").alias("listed_high"),
            total("holdout").alias("holdout_size"),
            total("spend").alias("spend_to_date"),
            total("spend", 7).alias("spend_7d"),
            total("spend", 30).alias("spend_30d"),
            total("spend", 90).alias("spend_90d"),
            total("revenue", 7).alias("revenue_7d"),
            total("revenue", 30).alias("revenue_30d"),
            total("revenue", 90).alias("revenue_90d"),
            total("clicks", 30).alias("clicks_30d"),
            total("exposures", 30).alias("exposures_30d"),
            F.max(F.when(F.col("touches") > 0, F.col("day"))).alias("last_touch_day"),
        )
        .withColumn(
            "reach_30d_ago", F.col("audience_reached") - F.col("audience_new_30d")
        )
    )


def active_reach(
    touch_days: DataFrame, as_of_dates: DataFrame, lookback_days: int = LOOKBACK_DAYS
) -> DataFrame:
    """Who each campaign touched in the lookback before each as_of.

    Returns:
        Distinct customer_id, campaign_id, as_of_date with last_day (the
        latest touch day before as_of).
    """
    return (
        cut_before_as_of(touch_days, as_of_dates, lookback_days)
        .groupBy("customer_id", "campaign_id", "as_of_date")
        .agg(F.max("day").alias("last_day"))
    )


def organic_buyers(conversions: DataFrame, as_of_dates: DataFrame) -> DataFrame:
    """Customers with an organic purchase in the 30 and 90 days before as_of.

    An organic purchase is a conversion no campaign was credited for
    (``campaign_id`` null).

    Returns:
        customer_id, as_of_date, bought_30d, bought_90d (booleans).
    """
    organic = conversions.where(F.col("campaign_id").isNull()).select(
        "customer_id", F.to_date("ts").alias("day")
    )
    return (
        cut_before_as_of(organic, as_of_dates, 90)
        .groupBy("customer_id", "as_of_date")
        .agg(
            F.max(_since(30)).alias("bought_30d"),
            F.lit(True).alias("bought_90d"),
        )
    )


def audience_mix(
    reach: DataFrame,
    customers: DataFrame,
    conversions: DataFrame,
    campaigns: DataFrame,
    cfg: FeaturesConfig,
) -> DataFrame:
    """Shares of the active audience: high-LTV, organic buyers, overlapping.

    Overlap counts, per customer and as_of, the campaigns (and the campaigns
    of the same channel) that reached them; a customer counts as overlapping
    when that number is above one.

    Returns:
        Keyed on ``KEY``: campaign_degree, high_ltv_share_reached,
        organic_buyer_share_30d, organic_buyer_share_90d, overlap_share,
        overlap_share_same_channel.
    """
    as_of_dates = reach.select("as_of_date").distinct()
    per_customer = Window.partitionBy("customer_id", "as_of_date")
    per_channel = Window.partitionBy("customer_id", "as_of_date", "channel")
    return (
        reach.join(
            F.broadcast(campaigns.select("campaign_id", "channel")), "campaign_id"
        )
        .withColumn("_n_campaigns", F.count(F.lit(1)).over(per_customer))
        .withColumn("_n_channel", F.count(F.lit(1)).over(per_channel))
        .join(_high_ltv(customers, cfg), "customer_id", "left")
        .join(
            organic_buyers(conversions, as_of_dates),
            ["customer_id", "as_of_date"],
            "left",
        )
        .groupBy(*KEY)
        .agg(
            F.count(F.lit(1)).alias("campaign_degree"),
            _share(F.col("is_high_ltv")).alias("high_ltv_share_reached"),
            _share(F.col("bought_30d")).alias("organic_buyer_share_30d"),
            _share(F.col("bought_90d")).alias("organic_buyer_share_90d"),
            _share(F.col("_n_campaigns") > 1).alias("overlap_share"),
            _share(F.col("_n_channel") > 1).alias("overlap_share_same_channel"),
        )
    )


def channel_saturation(
    touch_days: DataFrame, campaigns: DataFrame, as_of_dates: DataFrame
) -> DataFrame:
    """Touches per reached customer in each channel over 7 and 30 days.

    Returns:
        channel, as_of_date, channel_saturation_7d, channel_saturation_30d.
    """
    recent = cut_before_as_of(touch_days, as_of_dates, SATURATION_DAYS).join(
        F.broadcast(campaigns.select("campaign_id", "channel")), "campaign_id"
    )
    return (
        recent.groupBy("channel", "as_of_date")
        .agg(
            F.sum(F.when(_since(7), F.col("n_events"))).alias("_touches_7d"),
            F.count_distinct(F.when(_since(7), F.col("customer_id")))
            .alias("_reach_7d"),
            F.sum("n_events").alias("_touches_30d"),
            F.count_distinct("customer_id").alias("_reach_30d"),
        )
        .select(
            "channel",
            "as_of_date",
            _ratio(F.col("_touches_7d"), F.col("_reach_7d"))
            .alias("channel_saturation_7d"),
            _ratio(F.col("_touches_30d"), F.col("_reach_30d"))
            .alias("channel_saturation_30d"),
        )
    )


@dataclass(frozen=True)
class AudienceGraph:
    """Who each campaign reached before each as_of, and the campaign pairs
    that share those customers: the customer-level part of the features.

    Attributes:
        reach: distinct customer_id, campaign_id, as_of_date, last_day.
        overlap: every campaign pair sharing reach at an as_of (both orders),
            as ``graph.algorithms.overlap_pairs`` returns it.
    """

    reach: DataFrame
    overlap: DataFrame


def audience_graph(
    tables: dict[str, DataFrame],
    as_of_dates: DataFrame,
    cfg: FeaturesConfig,
    materialize: bool = False,
) -> AudienceGraph:
    """The active reach and overlap pairs at each as_of date.

    Args:
        tables: silver frames; ``touchpoints`` and ``campaigns`` are read.
        as_of_dates: frame with ``as_of_date``.
        cfg: feature settings (the per-customer campaign cap).
        materialize: compute both now and keep them (local checkpoints) so
            that the overlap table, the audience shares and the communities
            read them instead of each rescanning the touchpoints. Their size
            is reach rows (customers x campaigns in the lookback, per date)
            and overlap pairs; on a weekly grid over a large world that is
            the step's largest intermediate, spilled to local disk.

    Returns:
        The reach and the overlap pairs.
    """
    recent = before_as_of(tables["touchpoints"], as_of_dates, LOOKBACK_DAYS)
    reach = active_reach(customer_campaign_days(recent), as_of_dates)
    if materialize:
        reach = reach.localCheckpoint()
    overlap = overlap_pairs(reach, tables["campaigns"], cfg.max_campaigns_per_customer)
    if materialize:
        overlap = overlap.localCheckpoint()
    return AudienceGraph(reach, overlap)


def overlap_table(
    tables: dict[str, DataFrame],
    pairs: DataFrame,
    cfg: FeaturesConfig,
    audience: AudienceGraph | None = None,
) -> DataFrame:
    """``graph.campaign_overlap``: the top-K overlap pairs per campaign and as_of."""
    if audience is None:
        audience = audience_graph(tables, pairs.select("as_of_date"), cfg)
    return top_overlap(audience.overlap, cfg.top_overlap_pairs)


def overlap_communities(
    overlap: DataFrame, degree: DataFrame, pairs: DataFrame, cfg: FeaturesConfig
) -> DataFrame:
    """Overlap neighbours and the campaign's community at each as_of.

    Communities are connected components of the campaign graph whose edges are
    overlap pairs with Jaccard at or above ``cfg.community_jaccard_threshold``.
    The campaign-level graph is chosen over the customer-campaign graph: that
    one is nearly a single component once a few broad campaigns reach
    everyone, while overlap above a threshold separates audiences that really
    are shared. Vertex ids carry the as_of date, so one run serves all dates.

    Args:
        overlap: every pair from ``audience_graph``.
        degree: KEY with campaign_degree (active audience size).
        pairs: the (campaign_id, as_of_date) pairs.
        cfg: feature settings.

    Returns:
        Keyed on ``KEY``: overlap_neighbours, community_campaigns,
        community_audience_share.
    """
    def node(campaign: str) -> Column:
        return F.concat_ws("|", F.col("as_of_date").cast("string"), F.col(campaign))

    vertices = pairs.select(*KEY, node("campaign_id").alias("id"))
    edges = overlap.where(
        F.col("jaccard") >= cfg.community_jaccard_threshold
    ).select(node("campaign_id").alias("src"), node("other_campaign_id").alias("dst"))
    labels = connected_components(
        vertices.select("id"), edges, cfg.max_component_iterations
    )
    per_community = Window.partitionBy("as_of_date", "component")
    neighbours = overlap.groupBy(*KEY).agg(
        F.count(F.lit(1)).alias("overlap_neighbours")
    )
    degree_value = F.coalesce(F.col("campaign_degree"), F.lit(0))
    return (
        vertices.join(labels, "id")
        .join(degree, list(KEY), "left")
        .withColumn("community_campaigns", F.count(F.lit(1)).over(per_community))
        .withColumn("_community_degree", F.sum(degree_value).over(per_community))
        .join(neighbours, list(KEY), "left")
        .select(
            *KEY,
            "overlap_neighbours",
            "community_campaigns",
            _ratio(degree_value, F.col("_community_degree"))
            .alias("community_audience_share"),
        )
    )


def campaign_attributes(campaigns: DataFrame, pairs: DataFrame) -> DataFrame:
    """Launch flag, channel, targeting, age and the budget expected by as_of.

    ``expected_spend`` is the budget share elapsed: for a flight, the budget
    times the share of its days before as_of; for an ongoing campaign, its
    monthly budget per day times the days since launch.
    """
    targeting = (
        F.col("targeting")
        if "targeting" in campaigns.columns
        else F.lit(None).cast("string")
    )
    elapsed = F.datediff("as_of_date", "start_date")
    flight_days = F.datediff("end_date", "start_date") + F.lit(1)
    elapsed_share = F.least(
        F.greatest(elapsed / flight_days, F.lit(0.0)), F.lit(1.0)
    )
    expected = F.when(
        F.col("end_date").isNull(),
        F.col("budget") / F.lit(DAYS_PER_MONTH) * F.greatest(elapsed, F.lit(0)),
    ).otherwise(F.col("budget") * elapsed_share)
    return pairs.join(
        F.broadcast(
            campaigns.select(
                "campaign_id",
                "channel",
                targeting.alias("targeting"),
                "budget",
                "start_date",
                "end_date",
            )
        ),
        "campaign_id",
    ).select(
        *KEY,
        (F.col("start_date") < F.col("as_of_date")).alias("is_launched"),
        "channel",
        "targeting",
        elapsed.alias("campaign_age_days"),
        expected.cast("double").alias("expected_spend"),
    )


def campaign_snapshot_features(
    tables: dict[str, DataFrame],
    pairs: DataFrame,
    cfg: FeaturesConfig,
    audience: AudienceGraph | None = None,
) -> DataFrame:
    """Every snapshot feature of each (campaign_id, as_of_date) pair.

    Args:
        tables: silver frames by name: campaigns, customers, touchpoints,
            conversions, spend_daily, and optionally campaign_audiences and
            spend_plan.
        pairs: distinct (campaign_id, as_of_date); pairs of campaigns not in
            ``campaigns`` are dropped.
        cfg: feature settings.
        audience: the reach and overlap at these pairs' dates when the
            caller already has them (``audience_graph``); built here if not.

    Returns:
        ``KEY`` followed by ``FEATURE_COLUMNS``. A campaign not launched at
        as_of has nulls in ``HISTORY_FEATURES``.
    """
    pairs = pairs.select("campaign_id", F.col("as_of_date").cast("date")).distinct()
    as_of_dates = pairs.select("as_of_date").distinct()
    campaigns = tables["campaigns"]
    # history up to the last as_of for the cumulative features; the lookback
    # before the first as_of for the customer-level ones
    to_date = {
        **tables,
        "touchpoints": before_as_of(tables["touchpoints"], as_of_dates),
        "conversions": before_as_of(tables["conversions"], as_of_dates),
    }
    touch_days = customer_campaign_days(
        before_as_of(tables["touchpoints"], as_of_dates, SATURATION_DAYS)
    )
    recent_conversions = before_as_of(
        tables["conversions"], as_of_dates, LOOKBACK_DAYS
    )
    if audience is None:
        audience = audience_graph(tables, as_of_dates, cfg)

    attributes = campaign_attributes(campaigns, pairs)
    history = history_to_date(campaign_daily(to_date, cfg), pairs)
    mix = audience_mix(
        audience.reach, tables["customers"], recent_conversions, campaigns, cfg
    )
    saturation = channel_saturation(touch_days, campaigns, as_of_dates)
    communities = overlap_communities(
        audience.overlap, mix.select(*KEY, "campaign_degree"), pairs, cfg
    )
    planned = planned_spend(
        campaigns, tables["spend_daily"], tables.get("spend_plan"), pairs, 30
    ).select(*KEY, F.col("planned_spend").alias("planned_spend_30d"))

    joined = (
        attributes.join(history, list(KEY), "left")
        .join(mix, list(KEY), "left")
        .join(saturation, ["channel", "as_of_date"], "left")
        .join(communities, list(KEY), "left")
        .join(planned, list(KEY), "left")
    )
    for name in ZERO_WHEN_EMPTY:
        joined = joined.withColumn(name, F.coalesce(F.col(name), F.lit(0)))

    derived = {
        "audience_growth_30d": _ratio(
            F.col("audience_new_30d"), F.col("reach_30d_ago")
        ),
        "high_ltv_share_listed": _ratio(
            F.col("listed_high"), F.col("audience_listed")
        ),
        "days_since_last_touch": F.datediff("as_of_date", "last_touch_day"),
        "click_rate_30d": _ratio(F.col("clicks_30d"), F.col("exposures_30d")),
        "pacing": _ratio(F.col("spend_to_date"), F.col("expected_spend")),
        "roas_30d": _ratio(F.col("revenue_30d"), F.col("spend_30d")),
        "roas_90d": _ratio(F.col("revenue_90d"), F.col("spend_90d")),
        "has_holdout": F.col("holdout_size") > 0,
    }
    for name, value in derived.items():
        joined = joined.withColumn(name, value)

    launched = F.col("is_launched")
    casts = {"spend_to_date": "double", "spend_7d": "double", "spend_30d": "double"}
    for name in ("revenue_7d", "revenue_30d", "revenue_90d", "planned_spend_30d"):
        casts[name] = "double"
    columns = []
    for name in FEATURE_COLUMNS:
        value = F.col(name)
        if name in HISTORY_FEATURES:
            value = F.when(launched, value)
        if name in casts:
            value = value.cast(casts[name])
        elif name in ZERO_WHEN_EMPTY or name in (
            "campaign_age_days",
            "days_since_last_touch",
            "community_campaigns",
        ):
            value = value.cast("long")
        columns.append(value.alias(name))
    return joined.select(*KEY, *columns)
