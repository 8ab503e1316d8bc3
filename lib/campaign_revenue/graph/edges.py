"""Vertices and edge lists of the relational graph, in GraphFrames' format.

Vertex ids carry their type as a prefix (``customer:cus_1``, ``campaign:cmp_1``,
``channel:social``, ``segment:family``, ``ltv_tier:high``) because source ids of
different tables can collide. Edges have ``src``, ``dst`` and ``relationship``;
customer edges keep their timestamps so any as_of cut can be taken later.

Example:
    >>> v = graph_vertices(tables)  # doctest: +SKIP
    >>> e = graph_edges(tables)  # doctest: +SKIP
    >>> GraphFrame(v, e)  # where the GraphFrames jar is on the classpath
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Vertex types and edge relationships, named once.
CUSTOMER, CAMPAIGN, CHANNEL, SEGMENT, LTV_TIER = (
    "customer",
    "campaign",
    "channel",
    "segment",
    "ltv_tier",
)
TOUCHED = "touched"
CONVERTED_VIA = "converted_via"
IN_CHANNEL = "in_channel"
IN_SEGMENT = "in_segment"
IN_LTV_TIER = "in_ltv_tier"

# Event types that expose a customer to a campaign (the denominator of a click rate).
EXPOSURE_EVENTS = ("impression", "open")


def vertex_id(vertex_type: str, key: Column | str) -> Column:
    """The prefixed vertex id ``type:key`` of a key column."""
    col = F.col(key) if isinstance(key, str) else key
    return F.concat(F.lit(f"{vertex_type}:"), col.cast("string"))


def customer_campaign_days(touchpoints: DataFrame) -> DataFrame:
    """Touchpoints aggregated per customer, campaign and UTC day.

    This is the ``touched`` edge before its ids are prefixed, and the base of
    every customer-level campaign feature: one row per (customer, campaign,
    day) bounds the work by reach, not by the number of ad events.

    Args:
        touchpoints: ``silver.touchpoints``.

    Returns:
        Columns: customer_id, campaign_id, day, first_ts, last_ts, n_events,
        n_impressions, n_clicks, n_exposures (impressions and opens).
    """
    event = F.col("event_type")
    return (
        touchpoints.withColumn("day", F.to_date("ts"))
        .groupBy("customer_id", "campaign_id", "day")
        .agg(
            F.min("ts").alias("first_ts"),
            F.max("ts").alias("last_ts"),
            F.count(F.lit(1)).alias("n_events"),
            F.count(F.when(event == "impression", 1)).alias("n_impressions"),
            F.count(F.when(event == "click", 1)).alias("n_clicks"),
            F.count(F.when(event.isin(*EXPOSURE_EVENTS), 1)).alias("n_exposures"),
        )
    )


def graph_vertices(tables: dict[str, DataFrame]) -> DataFrame:
    """One row per customer, campaign, channel, segment and LTV tier.

    Args:
        tables: silver frames by name; ``customers`` and ``campaigns`` are used.

    Returns:
        Columns: id, type, key, name, channel, targeting, segment, ltv_tier,
        budget, start_date, end_date, signup_date (attributes of other types
        are null).
    """
    customers, campaigns = tables["customers"], tables["campaigns"]
    targeting = (
        F.col("targeting")
        if "targeting" in campaigns.columns
        else F.lit(None).cast("string")
    )
    customer_v = customers.select(
        vertex_id(CUSTOMER, "customer_id").alias("id"),
        F.lit(CUSTOMER).alias("type"),
        F.col("customer_id").alias("key"),
        F.col("segment"),
        F.col("ltv_tier"),
        F.col("signup_date"),
    )
    campaign_v = campaigns.select(
        vertex_id(CAMPAIGN, "campaign_id").alias("id"),
        F.lit(CAMPAIGN).alias("type"),
        F.col("campaign_id").alias("key"),
        F.col("campaign_name").alias("name"),
        F.col("channel"),
        targeting.alias("targeting"),
        F.col("budget"),
        F.col("start_date"),
        F.col("end_date"),
    )

    def category(frame: DataFrame, column: str, vertex_type: str) -> DataFrame:
        return (
            frame.where(F.col(column).isNotNull())
            .select(column)
            .distinct()
            .select(
                vertex_id(vertex_type, column).alias("id"),
                F.lit(vertex_type).alias("type"),
                F.col(column).alias("key"),
            )
        )

    return (
        customer_v.unionByName(campaign_v, allowMissingColumns=True)
        .unionByName(category(campaigns, "channel", CHANNEL), allowMissingColumns=True)
        .unionByName(category(customers, "segment", SEGMENT), allowMissingColumns=True)
        .unionByName(
            category(customers, "ltv_tier", LTV_TIER), allowMissingColumns=True
        )
        .select(
            "id",
            "type",
            "key",
            F.col("name").cast("string").alias("name"),
            F.col("channel").cast("string").alias("channel"),
            F.col("targeting").cast("string").alias("targeting"),
            F.col("segment").cast("string").alias("segment"),
            F.col("ltv_tier").cast("string").alias("ltv_tier"),
            F.col("budget").cast("double").alias("budget"),
            F.col("start_date").cast("date").alias("start_date"),
            F.col("end_date").cast("date").alias("end_date"),
            F.col("signup_date").cast("date").alias("signup_date"),
        )
    )


EDGE_COLUMNS = (
    "src",
    "dst",
    "relationship",
    "day",
    "first_ts",
    "last_ts",
    "n_events",
    "n_impressions",
    "n_clicks",
    "n_exposures",
    "revenue",
    "conversion_id",
)


def _edge_frame(frame: DataFrame) -> DataFrame:
    """``frame`` with every edge column, in order, missing ones null."""
    types = {
        "day": "date",
        "first_ts": "timestamp",
        "last_ts": "timestamp",
        "revenue": "double",
        "conversion_id": "string",
    }
    cols = [
        F.col(c) if c in frame.columns else F.lit(None).cast(types.get(c, "long"))
        for c in EDGE_COLUMNS
    ]
    return frame.select(*[c.alias(n) for c, n in zip(cols, EDGE_COLUMNS)])


def graph_edges(tables: dict[str, DataFrame]) -> DataFrame:
    """Every edge of the graph in one frame, told apart by ``relationship``.

    Relationships (src -> dst):

    - ``touched``: customer -> campaign, one row per UTC day with first/last
      ts and event counts;
    - ``converted_via``: customer -> campaign, one row per attributed conversion
      with its ts and revenue;
    - ``in_channel``: campaign -> channel;
    - ``in_segment``, ``in_ltv_tier``: customer -> segment / LTV tier.

    Edges are directed as listed; a GNN adds the reverse relations itself.

    Args:
        tables: silver frames by name (customers, campaigns, touchpoints,
            conversions).

    Returns:
        Columns ``EDGE_COLUMNS``; fields that do not apply to a relationship
        are null.
    """
    customers, campaigns = tables["customers"], tables["campaigns"]
    touched = customer_campaign_days(tables["touchpoints"]).select(
        vertex_id(CUSTOMER, "customer_id").alias("src"),
        vertex_id(CAMPAIGN, "campaign_id").alias("dst"),
        F.lit(TOUCHED).alias("relationship"),
        "day",
        "first_ts",
        "last_ts",
        "n_events",
        "n_impressions",
        "n_clicks",
        "n_exposures",
    )
    converted = (
        tables["conversions"]
        .where(F.col("campaign_id").isNotNull())
        .select(
            vertex_id(CUSTOMER, "customer_id").alias("src"),
            vertex_id(CAMPAIGN, "campaign_id").alias("dst"),
            F.lit(CONVERTED_VIA).alias("relationship"),
            F.to_date("ts").alias("day"),
            F.col("ts").alias("first_ts"),
            F.col("ts").alias("last_ts"),
            F.col("revenue"),
            F.col("conversion_id"),
        )
    )

    def belongs(
        frame: DataFrame,
        key: str,
        src_type: str,
        column: str,
        dst_type: str,
        relationship: str,
    ) -> DataFrame:
        return frame.where(F.col(column).isNotNull()).select(
            vertex_id(src_type, key).alias("src"),
            vertex_id(dst_type, column).alias("dst"),
            F.lit(relationship).alias("relationship"),
        )

    parts = [
        touched,
        converted,
        belongs(campaigns, "campaign_id", CAMPAIGN, "channel", CHANNEL, IN_CHANNEL),
        belongs(customers, "customer_id", CUSTOMER, "segment", SEGMENT, IN_SEGMENT),
        belongs(
            customers, "customer_id", CUSTOMER, "ltv_tier", LTV_TIER, IN_LTV_TIER
        ),
    ]
    out = _edge_frame(parts[0])
    for part in parts[1:]:
        out = out.unionByName(_edge_frame(part))
    return out
