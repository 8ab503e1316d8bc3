"""Graph algorithms on DataFrames: campaign overlap pairs and connected components.

Everything here is DataFrame joins and aggregations. For per-snapshot cuts
this scales better than GraphFrames motifs or aggregateMessages, which would
need one graph per as_of date; a join keyed on (customer, as_of) handles every
snapshot in one pass. Connected components use GraphFrames when its JVM jar is
on the classpath and an iterative min-label propagation otherwise.

Example:
    >>> labels = connected_components(vertices, edges)  # doctest: +SKIP
    >>> labels.columns
    ['id', 'component']
"""

from __future__ import annotations

import logging
import warnings

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from campaign_revenue.spark import jvm_class_available

log = logging.getLogger(__name__)

GRAPHFRAME_CLASS = "org.graphframes.GraphFrame"


def overlap_pairs(
    reach: DataFrame, campaigns: DataFrame, max_campaigns_per_customer: int
) -> DataFrame:
    """Campaign pairs that share reached customers, per as_of date.

    Pairs come from a self-join of the per-customer reach sets on (customer,
    as_of): a customer reached by k campaigns before as_of yields k * (k - 1)
    ordered pairs, never a pair of customers. k is capped at
    ``max_campaigns_per_customer`` (the customer's most recently reached
    campaigns are kept), so the join emits at most customers x cap^2 rows per
    as_of date. The limit of scale that remains is that product for very broad
    reach windows; lower the cap or the lookback to bound it further.

    Args:
        reach: distinct (customer_id, campaign_id, as_of_date, last_day): who
            each campaign reached in the lookback before as_of.
        campaigns: (campaign_id, channel); small, broadcast.
        max_campaigns_per_customer: the cap k on each customer's reach set.

    Returns:
        Both orders of each pair: campaign_id, other_campaign_id, as_of_date,
        shared_customers, jaccard, same_channel.
    """
    recent_first = Window.partitionBy("customer_id", "as_of_date").orderBy(
        F.col("last_day").desc(), F.col("campaign_id")
    )
    capped = (
        reach.withColumn("_rank", F.row_number().over(recent_first))
        .where(F.col("_rank") <= max_campaigns_per_customer)
        .select("customer_id", "campaign_id", "as_of_date")
    )
    sizes = reach.groupBy("campaign_id", "as_of_date").agg(
        F.count(F.lit(1)).alias("_size")
    )
    a, b = capped.alias("a"), capped.alias("b")
    shared = (
        a.join(
            b,
            (F.col("a.customer_id") == F.col("b.customer_id"))
            & (F.col("a.as_of_date") == F.col("b.as_of_date"))
            & (F.col("a.campaign_id") != F.col("b.campaign_id")),
        )
        .groupBy(
            F.col("a.campaign_id").alias("campaign_id"),
            F.col("b.campaign_id").alias("other_campaign_id"),
            F.col("a.as_of_date").alias("as_of_date"),
        )
        .agg(F.count(F.lit(1)).alias("shared_customers"))
    )
    channel = F.broadcast(campaigns.select("campaign_id", "channel"))
    other_channel = channel.select(
        F.col("campaign_id").alias("other_campaign_id"),
        F.col("channel").alias("_other_channel"),
    )
    other_size = sizes.select(
        F.col("campaign_id").alias("other_campaign_id"),
        "as_of_date",
        F.col("_size").alias("_other_size"),
    )
    union_size = F.col("_size") + F.col("_other_size") - F.col("shared_customers")
    return (
        shared.join(sizes, ["campaign_id", "as_of_date"])
        .join(other_size, ["other_campaign_id", "as_of_date"])
        .join(channel, "campaign_id", "left")
        .join(F.broadcast(other_channel), "other_campaign_id", "left")
        .select(
            "campaign_id",
            "other_campaign_id",
            "as_of_date",
            "shared_customers",
            (F.col("shared_customers") / union_size).alias("jaccard"),
            F.coalesce(F.col("channel") == F.col("_other_channel"), F.lit(False))
            .alias("same_channel"),
        )
    )


def top_overlap(pairs: DataFrame, top_k: int) -> DataFrame:
    """The ``top_k`` pairs per (campaign, as_of) by shared customers, then Jaccard."""
    best = Window.partitionBy("campaign_id", "as_of_date").orderBy(
        F.col("shared_customers").desc(),
        F.col("jaccard").desc(),
        F.col("other_campaign_id"),
    )
    return (
        pairs.withColumn("_rank", F.row_number().over(best))
        .where(F.col("_rank") <= top_k)
        .drop("_rank")
    )


def connected_components(
    vertices: DataFrame,
    edges: DataFrame,
    max_iterations: int = 30,
    checkpoint_every: int = 3,
    use_graphframes: bool | None = None,
) -> DataFrame:
    """Connected components of an undirected graph.

    Args:
        vertices: a frame with a string column ``id``.
        edges: a frame with ``src`` and ``dst``; direction is ignored and
            edges to unknown vertices are dropped.
        max_iterations: bound on label-propagation rounds.
        checkpoint_every: truncate the lineage every this many rounds.
        use_graphframes: force (True) or avoid (False) GraphFrames; None uses
            it when its JVM class is on the classpath.

    Returns:
        Columns ``id`` and ``component``: the smallest vertex id of the
        component, so both implementations give the same labels.
    """
    spark = vertices.sparkSession
    if use_graphframes is None:
        use_graphframes = jvm_class_available(spark, GRAPHFRAME_CLASS)
    ids = vertices.select(F.col("id").cast("string").alias("id")).distinct()
    known = ids.select(F.col("id").alias("src"))
    links = (
        edges.select(F.col("src").cast("string"), F.col("dst").cast("string"))
        .where(F.col("src") != F.col("dst"))
        .join(known, "src", "left_semi")
        .join(known.withColumnRenamed("src", "dst"), "dst", "left_semi")
    )
    if use_graphframes:
        return _graphframes_components(ids, links)
    return _label_propagation(ids, links, max_iterations, checkpoint_every)


def _graphframes_components(ids: DataFrame, links: DataFrame) -> DataFrame:
    from graphframes import GraphFrame

    labels = GraphFrame(ids, links).connectedComponents()
    smallest = labels.groupBy("component").agg(F.min("id").alias("_min_id"))
    log.info("connected_components engine=graphframes")
    return labels.join(smallest, "component").select(
        "id", F.col("_min_id").alias("component")
    )


def _label_propagation(
    ids: DataFrame, links: DataFrame, max_iterations: int, checkpoint_every: int
) -> DataFrame:
    """Each vertex takes the smallest label among itself and its neighbours."""
    both = (
        links.unionByName(
            links.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
        )
        .distinct()
        .localCheckpoint()
    )
    labels = ids.select("id", F.col("id").alias("component")).localCheckpoint()
    for iteration in range(1, max_iterations + 1):
        offered = both.join(
            labels.withColumnRenamed("id", "src"), "src"
        ).select(F.col("dst").alias("id"), "component")
        updated = (
            labels.unionByName(offered)
            .groupBy("id")
            .agg(F.min("component").alias("component"))
        )
        updated = (
            updated.localCheckpoint()
            if iteration % checkpoint_every == 0
            else updated.cache()
        )
        changed = (
            updated.alias("n")
            .join(labels.alias("o"), "id")
            .where(F.col("n.component") != F.col("o.component"))
            .count()
        )
        labels.unpersist()
        labels = updated
        if changed == 0:
            log.info(
                "connected_components engine=dataframe iterations=%d", iteration
            )
            return labels
    warnings.warn(
        f"connected components did not converge in {max_iterations} rounds; "
        "labels are partial (raise features.max_component_iterations)",
        RuntimeWarning,
        stacklevel=3,
    )
    return labels
